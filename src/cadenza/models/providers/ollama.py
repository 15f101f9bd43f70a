"""``ollama:``: a running Ollama, through its OpenAI-compatible API (``OLLAMA_HOST``).

Ollama takes a JSON Schema in ``response_format`` and hands it to llama.cpp's converter;
ollama.com's hosted models accept the field without enforcing it, so no response format
is offered there.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..base import Model
from ..keys import env
from ..registry import ModelInfo, register_provider
from .probe import probe_models

__all__ = ["DEFAULT_OLLAMA", "ollama_url", "register"]

DEFAULT_OLLAMA = "http://localhost:11434"


def ollama_url() -> str:
    """Ollama's OpenAI-compatible API root, from OLLAMA_HOST (``host``, ``host:port`` or a URL)."""
    host = env("OLLAMA_HOST") or DEFAULT_OLLAMA
    if "://" not in host:
        host = f"http://{host}"
    parts = urlsplit(host)
    hostname = parts.hostname or "localhost"
    if hostname in ("0.0.0.0", "::"):  # a bind-everything address: talk to it on loopback
        hostname = "127.0.0.1"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    if parts.port:
        hostname += f":{parts.port}"
    elif parts.scheme == "http":
        hostname += ":11434"
    return f"{parts.scheme}://{hostname}{parts.path.rstrip('/')}/v1"


def provide(name: str, model: str) -> Model:
    from ..constraints import NO_CONSTRAINTS, OLLAMA
    from ..openai import OpenAICompatibleModel

    base = ollama_url()
    hosted = (urlsplit(base).hostname or "").endswith("ollama.com") or model.endswith("-cloud")
    return OpenAICompatibleModel(
        name,
        model,
        base,
        "ollama",  # Ollama wants some key and ignores it
        unreachable_hint="start it with `ollama serve` (or set OLLAMA_HOST)",
        not_found_hint=f"run `ollama pull {model}`",
        constraints=NO_CONSTRAINTS if hosted else OLLAMA,
    )


def describe() -> list[ModelInfo]:
    base = ollama_url()
    ids = probe_models(base)
    if ids is None:
        detail = f"no Ollama answering at {base}: start `ollama serve` or set OLLAMA_HOST"
        return [ModelInfo("ollama:<model>", "ollama", False, detail)]
    if not ids:
        detail = f"Ollama is up at {base} but has no models: `ollama pull llama3.2`"
        return [ModelInfo("ollama:<model>", "ollama", False, detail)]
    return [ModelInfo(f"ollama:{i}", "ollama", True, f"Ollama at {base}") for i in ids]


def register(*, replace: bool = False) -> None:
    register_provider(
        "ollama",
        provide,
        forms=(f"ollama:<model>: a running Ollama (OLLAMA_HOST, default {DEFAULT_OLLAMA})",),
        describe=describe,
        replace=replace,
    )
