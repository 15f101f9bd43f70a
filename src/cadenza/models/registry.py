"""Model names -> models. Every provider, built-in or not, comes in through `register_provider`.

    resolve_model("local:smollm2")                    # the embedded default (alias: "local")
    resolve_model("local:/models/qwen2.5-1.5b.gguf")  # any GGUF file, embedded llama.cpp
    resolve_model("openai:gpt-4.1-mini")              # OPENAI_API_KEY (OPENAI_BASE_URL)
    resolve_model("anthropic:claude-sonnet-4-5")      # ANTHROPIC_API_KEY
    resolve_model("openrouter:openai/gpt-4.1-mini")   # OPENROUTER_API_KEY
    resolve_model("ollama:llama3.2")                  # OLLAMA_HOST, default localhost:11434
    resolve_model("vllm:Qwen/Qwen2.5-7B-Instruct")    # CADENZA_BASE_URL (also llamacpp:)
    resolve_model("http://gpu-box:8000/v1#my-model")  # any OpenAI-compatible server
    resolve_model("fake:anything")                    # cadenza.testing.ScriptedModel

The built-in providers live in `cadenza.models.providers` (one small module per endpoint)
and register themselves here through `register_provider`, the same door a third party
uses; `cadenza.testing` registers ``fake:`` the same way. This module imports none of them.

Resolving is cheap (no network, no server start) and cached by name, so the engine and
the judge share one instance (and one embedded server). `available_models()` says which
models can be reached from here, for ``cadenza models``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import UnknownModelError
from .base import Model

__all__ = [
    "ModelInfo",
    "ProviderFactory",
    "available_models",
    "clear_model_cache",
    "register_provider",
    "registered_prefixes",
    "resolve_model",
    "unregister_provider",
]

ProviderFactory = Callable[[str, str], Model]
"""``factory(name, model) -> Model``: `name` is the full name the user gave
(``"myco:big-model"``), to be the Model's `name`; `model` is what follows the prefix
(``"big-model"``). Raise `UsageError` (or a subclass) when it cannot work, e.g. a key
is missing; do no network I/O."""


@dataclass(frozen=True)
class ModelInfo:
    """One row of ``cadenza models``."""

    name: str
    """A name `resolve_model` accepts."""
    provider: str
    reachable: bool
    """Usable from here as far as cadenza can tell without spending tokens."""
    detail: str
    """What was checked, or what to do to make it reachable."""


Describer = Callable[[], list[ModelInfo]]


@dataclass(frozen=True)
class _Provider:
    prefix: str
    factory: ProviderFactory
    forms: tuple[str, ...]
    describe: Describer | None


_lock = threading.RLock()
_providers: dict[str, _Provider] = {}
_cache: dict[str, Model] = {}

_PREFIX = re.compile(r"[a-z][a-z0-9_.+-]*")


def register_provider(
    prefix: str,
    factory: ProviderFactory,
    *,
    forms: Sequence[str] | None = None,
    describe: Describer | None = None,
    replace: bool = False,
) -> None:
    """Make ``"<prefix>:<model>"`` names resolve through `factory`.

    - `forms`: how to write its names, shown when a name is not understood
      (default ``"<prefix>:<model>"``; ``()`` shows none).
    - `describe`: lists its models for `available_models` (cheap: at most a short probe).
    - `replace`: allow taking over a prefix that is already registered.
    """
    key = prefix.strip().lower()
    if not _PREFIX.fullmatch(key):
        raise ValueError(f"a provider prefix is a lowercase word like 'myco', not {prefix!r}")
    with _lock:
        if key in _providers and not replace:
            raise ValueError(
                f"provider prefix {key!r} is already registered; pass replace=True to replace it"
            )
        _providers[key] = _Provider(
            key, factory, (f"{key}:<model>",) if forms is None else tuple(forms), describe
        )
        for name in [n for n in _cache if _prefix_of(n) == key]:
            del _cache[name]


def unregister_provider(prefix: str) -> bool:
    """Stop resolving ``"<prefix>:..."`` names (e.g. ``fake`` on a server); its cached
    models are forgotten. Returns whether the prefix was registered."""
    key = prefix.strip().lower()
    with _lock:
        for name in [n for n in _cache if _prefix_of(n) == key]:
            del _cache[name]
        return _providers.pop(key, None) is not None


def registered_prefixes() -> list[str]:
    with _lock:
        return list(_providers)


def resolve_model(spec: str | Model) -> Model:
    """The model a name stands for (a `Model` passes through unchanged).

    Raises UnknownModelError for a name no provider understands, UsageError when the
    provider needs something that is missing (an API key, an SDK), and
    ModelNotFoundError for a local model file that is not there.
    """
    if isinstance(spec, Model):
        return spec
    if not isinstance(spec, str):
        raise UnknownModelError(f"a model is a name or a Model, not {type(spec).__name__}")
    name = spec.strip()
    if name.lower() == "local":
        name = "local:smollm2"
    prefix, sep, rest = name.partition(":")
    name = f"{prefix.lower()}{sep}{rest}"  # "OpenAI:gpt-4.1" is "openai:gpt-4.1"
    with _lock:
        cached = _cache.get(name)
        if cached is not None:
            return cached
        provider = _providers.get(prefix.lower()) if sep and rest.strip() else None
        if provider is None:
            raise UnknownModelError(_unknown(spec))
        model = provider.factory(name, rest)
        if not isinstance(model, Model):
            raise TypeError(f"provider {provider.prefix!r} returned {model!r}, not a Model")
        _cache[name] = model
        return model


def clear_model_cache() -> None:
    """Forget resolved models (they are not closed), e.g. after changing API keys."""
    with _lock:
        _cache.clear()


def available_models() -> list[ModelInfo]:
    """The models each provider can reach from here (probes local servers for 0.5 s)."""
    with _lock:
        describers = [(p.prefix, p.describe) for p in _providers.values() if p.describe]
    rows: list[ModelInfo] = []
    for prefix, describe in describers:
        try:
            rows.extend(describe())
        except Exception as exc:  # a provider's bug must not break the listing
            rows.append(ModelInfo(f"{prefix}:<model>", prefix, False, f"cannot tell: {exc}"))
    return rows


def _prefix_of(name: str) -> str:
    return name.partition(":")[0].lower()


def _unknown(spec: str) -> str:
    with _lock:
        forms = [form for p in _providers.values() for form in p.forms]
    return f"unknown model name {spec!r}; use one of:\n  " + "\n  ".join(forms)
