"""How the models package is put together: no import cycle through the test doubles or
the validators, one module per endpoint, every provider through the public door."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import cadenza
from cadenza.errors import UnknownModelError
from cadenza.models import registry
from cadenza.models.providers import register_builtins
from cadenza.models.registry import (
    clear_model_cache,
    register_provider,
    resolve_model,
    unregister_provider,
)
from cadenza.testing import ScriptedModel, register_fake_provider

SRC = Path(cadenza.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the cadenza modules `path` imports (at any depth in the file)."""
    package = ".".join(("cadenza", *path.relative_to(SRC).with_suffix("").parts))
    if path.name == "__init__.py":
        package = package.removesuffix(".__init__")
    else:
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.startswith("cadenza")}


def modules_under(folder: str) -> Iterator[Path]:
    yield from sorted((SRC / folder).rglob("*.py"))


def test_models_never_import_the_test_doubles_or_the_validators() -> None:
    for path in modules_under("models"):
        for module in imported_modules(path):
            assert not module.startswith("cadenza.testing"), f"{path} imports {module}"
            assert not module.startswith("cadenza.validators"), f"{path} imports {module}"


def test_the_test_doubles_and_the_judge_share_a_neutral_module() -> None:
    testing = imported_modules(SRC / "testing.py")
    judge = imported_modules(SRC / "validators" / "judge.py")
    assert not any(m.startswith("cadenza.validators") for m in testing)
    assert not any(m.startswith("cadenza.testing") for m in judge)
    assert "cadenza.judge_format.CANDIDATE_TAG" in testing
    assert "cadenza.judge_format.CANDIDATE_TAG" in judge


def test_the_anthropic_adapter_does_not_borrow_from_the_openai_adapter() -> None:
    imported = imported_modules(SRC / "models" / "anthropic.py")
    assert not any(m.startswith("cadenza.models.openai") for m in imported)


def test_the_registry_imports_no_provider() -> None:
    imported = imported_modules(SRC / "models" / "registry.py")
    assert imported <= {
        "cadenza.errors",
        "cadenza.errors.UnknownModelError",
        "cadenza.models.base",
        "cadenza.models.base.Model",
    }


def test_each_endpoint_has_its_own_module() -> None:
    names = {p.stem for p in (SRC / "models" / "providers").glob("*.py")}
    assert {"local", "openai", "anthropic", "openrouter", "ollama", "servers"} <= names


@pytest.fixture
def restore_providers() -> Iterator[None]:
    saved = dict(registry._providers)
    clear_model_cache()
    yield
    clear_model_cache()
    registry._providers.clear()
    registry._providers.update(saved)


@pytest.mark.usefixtures("restore_providers")
def test_fake_is_registered_by_the_testing_module_through_the_public_door() -> None:
    assert unregister_provider("fake")
    with pytest.raises(UnknownModelError):
        resolve_model("fake:x")
    register_fake_provider()
    assert isinstance(resolve_model("fake:x"), ScriptedModel)
    register_fake_provider()  # idempotent


@pytest.mark.usefixtures("restore_providers")
def test_builtins_register_through_the_public_door() -> None:
    for prefix in registry.registered_prefixes():
        unregister_provider(prefix)
    assert registry.registered_prefixes() == []
    register_builtins()
    assert set(registry.registered_prefixes()) == {
        "local",
        "openai",
        "anthropic",
        "openrouter",
        "ollama",
        "vllm",
        "llamacpp",
        "http",
        "https",
    }
    with pytest.raises(ValueError, match="already registered"):
        register_builtins()
    register_provider("openai", lambda name, model: ScriptedModel(name=name), replace=True)
    register_builtins(replace=True)
    assert not isinstance(resolve_model("ollama:x"), ScriptedModel)


def test_unregistering_an_unknown_prefix() -> None:
    assert unregister_provider("no-such-prefix") is False
