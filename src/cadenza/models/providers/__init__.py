"""The built-in providers: one small module per endpoint, each registered through
`cadenza.models.registry.register_provider`, the door a third-party provider uses too.

| module | prefixes | wire API |
|---|---|---|
| `local` | ``local:`` | OpenAI-compatible (the embedded llama.cpp server) |
| `openai` | ``openai:`` | OpenAI-compatible |
| `anthropic` | ``anthropic:`` | Anthropic Messages |
| `openrouter` | ``openrouter:`` | OpenAI-compatible |
| `ollama` | ``ollama:`` | OpenAI-compatible |
| `servers` | ``vllm:``, ``llamacpp:``, ``http://``, ``https://`` | OpenAI-compatible |

``fake:`` is registered by `cadenza.testing`.
"""

from __future__ import annotations

from . import anthropic, local, ollama, openai, openrouter, servers

__all__ = ["register_builtins"]

_BUILTINS = (local, openai, anthropic, openrouter, ollama, servers)


def register_builtins(*, replace: bool = False) -> None:
    """Register every built-in provider (``replace=True`` restores them after a test
    or a plugin replaced one)."""
    for module in _BUILTINS:
        module.register(replace=replace)
