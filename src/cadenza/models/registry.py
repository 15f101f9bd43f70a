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

Resolving is cheap (no network, no server start) and cached by name, so the engine and
the judge share one instance (and one embedded server). `available_models()` says which
models can be reached from here, for ``cadenza models``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import UnknownModelError, UsageError
from .base import Model

__all__ = [
    "ModelInfo",
    "ProviderFactory",
    "available_models",
    "clear_model_cache",
    "register_provider",
    "registered_prefixes",
    "resolve_model",
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

PROBE_TIMEOUT_S = 0.5
DEFAULT_OPENAI_URL = "https://api.openai.com/v1"
OPENROUTER_URL = "https://openrouter.ai/api/v1"
DEFAULT_OLLAMA = "http://localhost:11434"
LOCAL_FALLBACK = "--model local:smollm2, which runs on this machine"


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


def _env(var: str) -> str:
    return os.environ.get(var, "").strip()


def _api_key(var: str, name: str) -> str:
    key = _env(var)
    if not key:
        raise UsageError(f"{name} needs an API key: set {var} (or use {LOCAL_FALLBACK})")
    return key


# -- built-in providers -------------------------------------------------------------------


def _local(name: str, model: str) -> Model:
    from .local import EMBEDDED_MODELS, LocalModel, embedded_model_path

    model = model.strip()
    if model in EMBEDDED_MODELS:
        return LocalModel(name, embedded_model_path(model))
    if model.lower().endswith(".gguf") or "/" in model or "\\" in model or model[:1] == "~":
        return LocalModel(name, model)
    aliases = ", ".join(f"local:{alias}" for alias in EMBEDDED_MODELS)
    raise UnknownModelError(
        f"unknown embedded model {model!r}: the embedded models are {aliases}; "
        "or name a GGUF file: local:/path/to/model.gguf"
    )


def _describe_local() -> list[ModelInfo]:
    from .local import EMBEDDED_INSTALL_HINT, find_embedded_model

    path = find_embedded_model()
    if path is None:
        return [ModelInfo("local:smollm2", "local", False, EMBEDDED_INSTALL_HINT)]
    size = path.stat().st_size / 1e6
    detail = f"embedded llama.cpp, runs on this machine ({size:.0f} MB GGUF at {path})"
    return [ModelInfo("local:smollm2", "local", True, detail)]


def _openai(name: str, model: str) -> Model:
    from .openai import OpenAICompatibleModel

    base = _env("OPENAI_BASE_URL") or DEFAULT_OPENAI_URL
    official = urlsplit(base).hostname == "api.openai.com"
    key = _api_key("OPENAI_API_KEY", name) if official else (_env("OPENAI_API_KEY") or "EMPTY")
    return OpenAICompatibleModel(
        name,
        model,
        base,
        key,
        api_key_env="OPENAI_API_KEY",
        unreachable_hint=f"check your network, or set OPENAI_BASE_URL, or use {LOCAL_FALLBACK}",
        not_found_hint="check the model name, e.g. openai:gpt-4.1-mini",
    )


def _describe_openai() -> list[ModelInfo]:
    base = _env("OPENAI_BASE_URL")
    where = f" (OPENAI_BASE_URL={base})" if base else ""
    if _env("OPENAI_API_KEY"):
        return [ModelInfo("openai:gpt-4.1-mini", "openai", True, f"OPENAI_API_KEY is set{where}")]
    return [
        ModelInfo(
            "openai:gpt-4.1-mini", "openai", False, "set OPENAI_API_KEY to use openai:<model>"
        )
    ]


def _anthropic(name: str, model: str) -> Model:
    from .anthropic import AnthropicModel

    key = _api_key("ANTHROPIC_API_KEY", name)
    return AnthropicModel(name, model, key, base_url=_env("ANTHROPIC_BASE_URL") or None)


def _describe_anthropic() -> list[ModelInfo]:
    from .anthropic import INSTALL_HINT, anthropic_installed

    name = "anthropic:claude-sonnet-4-5"
    has_key = bool(_env("ANTHROPIC_API_KEY"))
    if not anthropic_installed():
        return [ModelInfo(name, "anthropic", False, INSTALL_HINT)]
    if not has_key:
        return [
            ModelInfo(name, "anthropic", False, "set ANTHROPIC_API_KEY to use anthropic:<model>")
        ]
    return [ModelInfo(name, "anthropic", True, "ANTHROPIC_API_KEY is set, SDK installed")]


def _openrouter(name: str, model: str) -> Model:
    from .openai import OpenAICompatibleModel

    return OpenAICompatibleModel(
        name,
        model,
        OPENROUTER_URL,
        _api_key("OPENROUTER_API_KEY", name),
        default_headers={"X-Title": "cadenza"},
        api_key_env="OPENROUTER_API_KEY",
        unreachable_hint=f"check your network, or use {LOCAL_FALLBACK}",
        not_found_hint="check the name at https://openrouter.ai/models, "
        "e.g. openrouter:openai/gpt-4.1-mini",
    )


def _describe_openrouter() -> list[ModelInfo]:
    name = "openrouter:openai/gpt-4.1-mini"
    if _env("OPENROUTER_API_KEY"):
        return [ModelInfo(name, "openrouter", True, "OPENROUTER_API_KEY is set")]
    return [
        ModelInfo(name, "openrouter", False, "set OPENROUTER_API_KEY to use openrouter:<model>")
    ]


def ollama_url() -> str:
    """Ollama's OpenAI-compatible API root, from OLLAMA_HOST (``host``, ``host:port`` or a URL)."""
    host = _env("OLLAMA_HOST") or DEFAULT_OLLAMA
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


def _ollama(name: str, model: str) -> Model:
    from .openai import OpenAICompatibleModel

    return OpenAICompatibleModel(
        name,
        model,
        ollama_url(),
        "ollama",
        unreachable_hint="start it with `ollama serve` (or set OLLAMA_HOST)",
        not_found_hint=f"run `ollama pull {model}`",
    )


def _describe_ollama() -> list[ModelInfo]:
    base = ollama_url()
    ids = _probe_models(base)
    if ids is None:
        detail = f"no Ollama answering at {base}: start `ollama serve` or set OLLAMA_HOST"
        return [ModelInfo("ollama:<model>", "ollama", False, detail)]
    if not ids:
        detail = f"Ollama is up at {base} but has no models: `ollama pull llama3.2`"
        return [ModelInfo("ollama:<model>", "ollama", False, detail)]
    return [ModelInfo(f"ollama:{i}", "ollama", True, f"Ollama at {base}") for i in ids]


def _server(kind: str, default_port: int) -> ProviderFactory:
    def factory(name: str, model: str) -> Model:
        from .openai import OpenAICompatibleModel

        base = _env("CADENZA_BASE_URL")
        if not base:
            example = f"http://localhost:{default_port}/v1"
            raise UsageError(
                f"{name}: set CADENZA_BASE_URL to the {kind} server's API root "
                f"(e.g. {example}), or name it as {example}#{model}"
            )
        return OpenAICompatibleModel(
            name,
            model,
            base,
            _env("CADENZA_API_KEY") or "EMPTY",
            api_key_env="CADENZA_API_KEY",
            unreachable_hint=f"check CADENZA_BASE_URL, or use {LOCAL_FALLBACK}",
        )

    return factory


def _url(name: str, model: str) -> Model:
    from .openai import OpenAICompatibleModel

    url, _, model_id = name.partition("#")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UnknownModelError(
            f"malformed server URL {name!r}: write http(s)://host:port/v1#<model>"
        )
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise UnknownModelError(f"malformed server URL {name!r}: {exc}") from exc
    return OpenAICompatibleModel(
        name,
        model_id.strip() or None,
        url,
        _env("CADENZA_API_KEY") or "EMPTY",
        api_key_env="CADENZA_API_KEY",
        unreachable_hint=f"check the URL, or use {LOCAL_FALLBACK}",
    )


def _describe_base_url() -> list[ModelInfo]:
    base = _env("CADENZA_BASE_URL").rstrip("/")
    if not base:
        return []
    ids = _probe_models(base)
    if ids is None:
        return [ModelInfo(base, "server", False, "CADENZA_BASE_URL is set but not answering")]
    if not ids:
        return [ModelInfo(base, "server", True, "CADENZA_BASE_URL answers but lists no models")]
    return [ModelInfo(f"{base}#{i}", "server", True, "from CADENZA_BASE_URL") for i in ids]


def _fake(name: str, model: str) -> Model:
    from ..testing import ScriptedModel

    return ScriptedModel(name=name)


def _probe_models(base: str) -> list[str] | None:
    """The model ids an OpenAI-compatible server lists, or None when it does not answer."""
    import httpx2

    try:
        response = httpx2.get(f"{base.rstrip('/')}/models", timeout=PROBE_TIMEOUT_S)
        response.raise_for_status()
        data = response.json().get("data", [])
    except Exception:
        return None
    if not isinstance(data, list):
        return []
    return [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id")]


def _register_builtins() -> None:
    register_provider(
        "local",
        _local,
        forms=(
            "local:smollm2 (or just local): the embedded default, runs on this machine",
            "local:/path/to/model.gguf: any GGUF file, on the embedded llama.cpp",
        ),
        describe=_describe_local,
    )
    register_provider(
        "openai",
        _openai,
        forms=("openai:<model>: needs OPENAI_API_KEY (OPENAI_BASE_URL for another server)",),
        describe=_describe_openai,
    )
    register_provider(
        "anthropic",
        _anthropic,
        forms=("anthropic:<model>: needs ANTHROPIC_API_KEY and pip install 'cadenza[anthropic]'",),
        describe=_describe_anthropic,
    )
    register_provider(
        "openrouter",
        _openrouter,
        forms=("openrouter:<vendor>/<model>: needs OPENROUTER_API_KEY",),
        describe=_describe_openrouter,
    )
    register_provider(
        "ollama",
        _ollama,
        forms=(f"ollama:<model>: a running Ollama (OLLAMA_HOST, default {DEFAULT_OLLAMA})",),
        describe=_describe_ollama,
    )
    register_provider(
        "vllm", _server("vLLM", 8000), forms=("vllm:<model>: a vLLM server at CADENZA_BASE_URL",)
    )
    register_provider(
        "llamacpp",
        _server("llama.cpp", 8080),
        forms=("llamacpp:<model>: a llama.cpp server at CADENZA_BASE_URL",),
    )
    register_provider(
        "http",
        _url,
        forms=("http(s)://host:port/v1#<model> (#<model> optional): any OpenAI-compatible server",),
        describe=_describe_base_url,
    )
    register_provider("https", _url, forms=())
    register_provider("fake", _fake, forms=("fake:<anything>: a scripted test model",))


_register_builtins()
