"""The model names a request may use: those the server's operator configured, no other.

A request that names a model by URL, by file (``local:/path``), the scripted fake or any
name the operator did not configure is refused with one 400 listing the names it may use,
before anything resolves the name: nothing about the server's network or files can be
learned from the answer, and no request can send the server's keys to a URL of its choice.

The names (and `/v1/models`, as ``cadenza/<name>``) are:

- the default models (``-m``; cadenza's own default when none) and the default judge;
- ``--allow-model NAME``, each;
- ``--model-alias NAME=MODEL``: NAME stands for MODEL (e.g. AI21's ``jamba-large`` for
  ``openai:gpt-4.1-mini``), which a request cannot name unless it is configured too;
- with ``--allow-fake-models``, any ``fake:<name>`` (the scripted fake: demos and tests).

Names match exactly (no case folding, no trimming).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..task import DEFAULT_MODEL
from .run_errors import ModelNotAllowed
from .settings import ServerSettings

__all__ = ["FAKE_PREFIX", "ModelCatalog"]

FAKE_PREFIX = "fake:"


class ModelCatalog:
    def __init__(self, settings: ServerSettings) -> None:
        self.defaults: tuple[str, ...] = tuple(settings.models) or (DEFAULT_MODEL,)
        self.default_judge = settings.judge_model
        self.aliases = dict(settings.model_aliases)
        judge = (settings.judge_model,) if settings.judge_model else ()
        self.names: tuple[str, ...] = tuple(
            dict.fromkeys([*self.defaults, *judge, *settings.allowed_models, *self.aliases])
        )
        """Every name a request may use, in the order the operator gave them."""
        self.fake_allowed = settings.allow_fake_models

    def allows(self, name: str) -> bool:
        if name in self.names:
            return True
        return self.fake_allowed and name.startswith(FAKE_PREFIX) and len(name) > len(FAKE_PREFIX)

    def model(self, name: str) -> str:
        """The model `name` stands for (an alias's target, else itself)."""
        return self.aliases.get(name, name)

    def check(self, name: str, param: str) -> str:
        """The model a request's `name` stands for; `ModelNotAllowed` if it may not use it."""
        if not self.allows(name):
            raise ModelNotAllowed(
                name, param=param, allowed=self.names, fake_allowed=self.fake_allowed
            )
        return self.model(name)

    def run_models(self, requested: Sequence[str] | None, param: str | None = None) -> list[str]:
        """The models of a run that asked for `requested` (None: the defaults)."""
        if not requested:
            return [self.model(n) for n in self.defaults]
        return [self.check(n, param or f"models.{i}") for i, n in enumerate(requested)]

    def judge(self, requested: str | None, param: str = "judge_model") -> str | None:
        """The judge of a run that asked for `requested` (None: the default judge)."""
        if requested is None:
            return self.model(self.default_judge) if self.default_judge else None
        return self.check(requested, param)
