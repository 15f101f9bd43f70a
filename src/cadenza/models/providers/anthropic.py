"""``anthropic:``: Claude through Anthropic's Messages API (``ANTHROPIC_API_KEY``)."""

from __future__ import annotations

from ..base import Model
from ..keys import env, require_key
from ..registry import ModelInfo, register_provider

__all__ = ["register"]


def provide(name: str, model: str) -> Model:
    from ..anthropic import AnthropicModel

    key = require_key("ANTHROPIC_API_KEY", name)
    return AnthropicModel(name, model, key, base_url=env("ANTHROPIC_BASE_URL") or None)


def describe() -> list[ModelInfo]:
    from ..anthropic import INSTALL_HINT, anthropic_installed

    name = "anthropic:claude-sonnet-4-5"
    if not anthropic_installed():
        return [ModelInfo(name, "anthropic", False, INSTALL_HINT)]
    if not env("ANTHROPIC_API_KEY"):
        return [
            ModelInfo(name, "anthropic", False, "set ANTHROPIC_API_KEY to use anthropic:<model>")
        ]
    return [ModelInfo(name, "anthropic", True, "ANTHROPIC_API_KEY is set, SDK installed")]


def register(*, replace: bool = False) -> None:
    register_provider(
        "anthropic",
        provide,
        forms=("anthropic:<model>: needs ANTHROPIC_API_KEY and pip install 'cadenza[anthropic]'",),
        describe=describe,
        replace=replace,
    )
