"""``local:``: the embedded llama.cpp server, serving a shipped or a named GGUF file."""

from __future__ import annotations

from ...errors import UnknownModelError
from ..base import Model
from ..registry import ModelInfo, register_provider

__all__ = ["register"]


def provide(name: str, model: str) -> Model:
    from ..local import EMBEDDED_MODELS, LocalModel, embedded_model_path

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


def describe() -> list[ModelInfo]:
    from ..local import EMBEDDED_INSTALL_HINT, find_embedded_model

    path = find_embedded_model()
    if path is None:
        return [ModelInfo("local:smollm2", "local", False, EMBEDDED_INSTALL_HINT)]
    size = path.stat().st_size / 1e6
    detail = f"embedded llama.cpp, runs on this machine ({size:.0f} MB GGUF at {path})"
    return [ModelInfo("local:smollm2", "local", True, detail)]


def register(*, replace: bool = False) -> None:
    register_provider(
        "local",
        provide,
        forms=(
            "local:smollm2 (or just local): the embedded default, runs on this machine",
            "local:/path/to/model.gguf: any GGUF file, on the embedded llama.cpp",
        ),
        describe=describe,
        replace=replace,
    )
