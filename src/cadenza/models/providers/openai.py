"""``openai:``: OpenAI (strict structured outputs), or any server at ``OPENAI_BASE_URL``."""

from __future__ import annotations

from ..base import Model
from ..keys import LOCAL_FALLBACK, NO_KEY, KeyBinding, env, origin, require_key
from ..registry import ModelInfo, register_provider

__all__ = ["DEFAULT_OPENAI_URL", "register"]

DEFAULT_OPENAI_URL = "https://api.openai.com/v1"


def provide(name: str, model: str) -> Model:
    from ..constraints import NO_CONSTRAINTS, OPENAI
    from ..openai import OpenAICompatibleModel

    base = KeyBinding("OPENAI_API_KEY", "OPENAI_BASE_URL", DEFAULT_OPENAI_URL).base_url()
    assert base is not None
    official = origin(base) == origin(DEFAULT_OPENAI_URL)
    # The official API needs a key; a server of one's own at OPENAI_BASE_URL may not.
    key = require_key("OPENAI_API_KEY", name) if official else (env("OPENAI_API_KEY") or NO_KEY)
    return OpenAICompatibleModel(
        name,
        model,
        base,
        key,
        api_key_env="OPENAI_API_KEY",
        unreachable_hint=f"check your network, or set OPENAI_BASE_URL, or use {LOCAL_FALLBACK}",
        not_found_hint="check the model name, e.g. openai:gpt-4.1-mini",
        # Another server at OPENAI_BASE_URL may constrain differently, or not at all.
        constraints=OPENAI if official else NO_CONSTRAINTS,
    )


def describe() -> list[ModelInfo]:
    base = env("OPENAI_BASE_URL")
    where = f" (OPENAI_BASE_URL={base})" if base else ""
    if env("OPENAI_API_KEY"):
        return [ModelInfo("openai:gpt-4.1-mini", "openai", True, f"OPENAI_API_KEY is set{where}")]
    return [
        ModelInfo(
            "openai:gpt-4.1-mini", "openai", False, "set OPENAI_API_KEY to use openai:<model>"
        )
    ]


def register(*, replace: bool = False) -> None:
    register_provider(
        "openai",
        provide,
        forms=("openai:<model>: needs OPENAI_API_KEY (OPENAI_BASE_URL for another server)",),
        describe=describe,
        replace=replace,
    )
