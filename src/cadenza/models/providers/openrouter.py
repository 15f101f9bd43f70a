"""``openrouter:``: OpenRouter's OpenAI-compatible API (``OPENROUTER_API_KEY``).

Whether a response format is enforced depends on the model OpenRouter routes to, so
cadenza asks for none and validates answers itself.
"""

from __future__ import annotations

from ..base import Model
from ..keys import LOCAL_FALLBACK, env, require_key
from ..registry import ModelInfo, register_provider

__all__ = ["OPENROUTER_URL", "register"]

OPENROUTER_URL = "https://openrouter.ai/api/v1"


def provide(name: str, model: str) -> Model:
    from ..openai import OpenAICompatibleModel

    return OpenAICompatibleModel(
        name,
        model,
        OPENROUTER_URL,
        require_key("OPENROUTER_API_KEY", name),
        default_headers={"X-Title": "cadenza"},
        api_key_env="OPENROUTER_API_KEY",
        unreachable_hint=f"check your network, or use {LOCAL_FALLBACK}",
        not_found_hint="check the name at https://openrouter.ai/models, "
        "e.g. openrouter:openai/gpt-4.1-mini",
    )


def describe() -> list[ModelInfo]:
    name = "openrouter:openai/gpt-4.1-mini"
    if env("OPENROUTER_API_KEY"):
        return [ModelInfo(name, "openrouter", True, "OPENROUTER_API_KEY is set")]
    return [
        ModelInfo(name, "openrouter", False, "set OPENROUTER_API_KEY to use openrouter:<model>")
    ]


def register(*, replace: bool = False) -> None:
    register_provider(
        "openrouter",
        provide,
        forms=("openrouter:<vendor>/<model>: needs OPENROUTER_API_KEY",),
        describe=describe,
        replace=replace,
    )
