"""Self-hosted OpenAI-compatible servers: ``vllm:`` and ``llamacpp:`` at
``CADENZA_BASE_URL``, and any server named by URL (``http(s)://host:port/v1#<model>``).

``CADENZA_API_KEY`` goes only to ``CADENZA_BASE_URL``'s origin. A server named by URL gets
the key configured for its origin (see `cadenza.models.keys`), or none.
"""

from __future__ import annotations

from ...errors import UnknownModelError, UsageError
from ..base import Model
from ..constraints import LLAMACPP, NO_CONSTRAINTS, VLLM, ConstraintDialect
from ..keys import LOCAL_FALLBACK, NO_KEY, env, key_for_url, origin
from ..registry import ModelInfo, ProviderFactory, register_provider
from .probe import probe_models

__all__ = ["register"]


def _server(kind: str, default_port: int, constraints: ConstraintDialect) -> ProviderFactory:
    def provide(name: str, model: str) -> Model:
        from ..openai import OpenAICompatibleModel

        base = env("CADENZA_BASE_URL")
        if not base:
            example = f"http://localhost:{default_port}/v1"
            raise UsageError(
                f"{name}: set CADENZA_BASE_URL to the {kind} server's API root "
                f"(e.g. {example}), or name it as {example}#{model}"
            )
        if origin(base) is None:
            raise UsageError(f"CADENZA_BASE_URL must be an http(s) URL, not {base!r}")
        return OpenAICompatibleModel(
            name,
            model,
            base,
            env("CADENZA_API_KEY") or NO_KEY,
            api_key_env="CADENZA_API_KEY",
            unreachable_hint=f"check CADENZA_BASE_URL, or use {LOCAL_FALLBACK}",
            constraints=constraints,
        )

    return provide


def provide_url(name: str, model: str) -> Model:
    from ..openai import OpenAICompatibleModel

    url, _, model_id = name.partition("#")
    if origin(url) is None:
        raise UnknownModelError(
            f"malformed server URL {name!r}: write http(s)://host:port/v1#<model>"
        )
    configured = key_for_url(url)
    key, key_env = (
        configured
        if configured
        else (NO_KEY, "CADENZA_API_KEY (with CADENZA_BASE_URL set to this server's API root)")
    )
    return OpenAICompatibleModel(
        name,
        model_id.strip() or None,
        url,
        key,
        api_key_env=key_env,
        unreachable_hint=f"check the URL, or use {LOCAL_FALLBACK}",
        # An unknown server: constraining it could be silently ignored, so cadenza validates.
        constraints=NO_CONSTRAINTS,
    )


def describe_base_url() -> list[ModelInfo]:
    base = env("CADENZA_BASE_URL").rstrip("/")
    if not base:
        return []
    ids = probe_models(base)
    if ids is None:
        return [ModelInfo(base, "server", False, "CADENZA_BASE_URL is set but not answering")]
    if not ids:
        return [ModelInfo(base, "server", True, "CADENZA_BASE_URL answers but lists no models")]
    return [ModelInfo(f"{base}#{i}", "server", True, "from CADENZA_BASE_URL") for i in ids]


def register(*, replace: bool = False) -> None:
    register_provider(
        "vllm",
        _server("vLLM", 8000, VLLM),
        forms=("vllm:<model>: a vLLM server at CADENZA_BASE_URL",),
        replace=replace,
    )
    register_provider(
        "llamacpp",
        _server("llama.cpp", 8080, LLAMACPP),
        forms=("llamacpp:<model>: a llama.cpp server at CADENZA_BASE_URL",),
        replace=replace,
    )
    register_provider(
        "http",
        provide_url,
        forms=("http(s)://host:port/v1#<model> (#<model> optional): any OpenAI-compatible server",),
        describe=describe_base_url,
        replace=replace,
    )
    register_provider("https", provide_url, forms=(), replace=replace)
