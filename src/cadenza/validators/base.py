"""Code validators: plain Python callables that score a candidate, registered by name.

A validator takes the candidate text (and, if it accepts a second argument, a
`CheckContext`) and returns one of:

- a ``bool`` (pass = 1.0, fail = 0.0),
- a ``float`` score in 0..1,
- a `Verdict` with a score and a reason a model can act on.

It may be sync or async. Register it with ``@validator`` (or ``@validator("name")``)
so that a requirement can refer to it by name from Python, the CLI or HTTP.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias, overload

from ..errors import UnknownValidatorError, ValidatorError

__all__ = [
    "CheckContext",
    "RepairFn",
    "Validator",
    "ValidatorFn",
    "Verdict",
    "get_validator",
    "register_validator",
    "registered_validators",
    "run_validator",
    "validator",
]


@dataclass(frozen=True)
class Verdict:
    """A validator's judgement of one candidate against one requirement."""

    score: float
    reason: str

    def __post_init__(self) -> None:
        if not (isinstance(self.score, int | float) and 0.0 <= self.score <= 1.0):
            raise ValueError(f"Verdict score must be in 0..1, got {self.score!r}")

    @property
    def passed(self) -> bool:
        return self.score >= 1.0


@dataclass(frozen=True)
class CheckContext:
    """What a validator may want besides the candidate itself."""

    instruction: str
    """The user's input, as text (the last user message when the input is a chat)."""
    requirement_name: str
    requirement_description: str
    args: Mapping[str, Any] = field(default_factory=dict)
    """The requirement's ``validator_args`` (e.g. ``{"num_words": 300}``)."""


ValidatorResult: TypeAlias = bool | float | Verdict
ValidatorFn: TypeAlias = Callable[..., ValidatorResult | Awaitable[ValidatorResult]]


RepairFn: TypeAlias = Callable[[str, CheckContext], str | None]


@dataclass(frozen=True)
class Validator:
    """A named code validator, optionally with a deterministic repair.

    A repair takes a failing candidate and returns a fixed text where a fix is safe and
    mechanical (lowercasing, removing commas), or None. The planner applies repairs only
    when repairs are on, and the trace marks a repaired candidate as such.
    """

    name: str
    fn: ValidatorFn
    description: str = ""
    repair: RepairFn | None = None

    @property
    def wants_context(self) -> bool:
        try:
            params = inspect.signature(self.fn).parameters.values()
        except (TypeError, ValueError):
            return False
        positional = [
            p
            for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
        return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in positional)


_REGISTRY: dict[str, Validator] = {}


def register_validator(
    name: str, fn: ValidatorFn, *, description: str = "", repair: RepairFn | None = None
) -> Validator:
    """Register `fn` under `name`; a later registration under the same name replaces it."""
    if not name or not isinstance(name, str):
        raise ValueError("a validator needs a non-empty name")
    v = Validator(
        name=name, fn=fn, description=description or (inspect.getdoc(fn) or ""), repair=repair
    )
    _REGISTRY[name] = v
    return v


@overload
def validator(fn: ValidatorFn, /) -> ValidatorFn: ...
@overload
def validator(
    name: str | None = None, /, *, description: str = ""
) -> Callable[[ValidatorFn], ValidatorFn]: ...
def validator(
    arg: ValidatorFn | str | None = None, /, *, description: str = ""
) -> ValidatorFn | Callable[[ValidatorFn], ValidatorFn]:
    """Register a code validator: ``@validator`` or ``@validator("name")``."""
    if callable(arg):
        register_validator(getattr(arg, "__name__", "validator"), arg, description=description)
        return arg

    def deco(fn: ValidatorFn) -> ValidatorFn:
        name = arg if isinstance(arg, str) and arg else str(getattr(fn, "__name__", "validator"))
        register_validator(name, fn, description=description)
        return fn

    return deco


def get_validator(name: str) -> Validator:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)[:12])
        raise UnknownValidatorError(
            f"no validator is registered as {name!r}; register it with @cadenza.validator"
            f"({name!r}) before the run, or use one of: {known}"
            + (" ..." if len(_REGISTRY) > 12 else "")
        ) from None


def registered_validators() -> dict[str, Validator]:
    return dict(_REGISTRY)


def _to_verdict(value: object, name: str) -> Verdict:
    if isinstance(value, Verdict):
        return value
    if isinstance(value, bool):
        return Verdict(1.0 if value else 0.0, f"{name}: {'passed' if value else 'failed'}")
    if isinstance(value, int | float) and not math.isnan(value):
        if not 0.0 <= value <= 1.0:
            raise ValidatorError(
                f"validator {name!r} returned {value!r}; a score must be between 0 and 1"
            )
        return Verdict(float(value), f"{name}: score {float(value):.2f}")
    raise ValidatorError(
        f"validator {name!r} returned {type(value).__name__}; return a bool, a score in "
        "0..1, or a cadenza.Verdict"
    )


async def run_validator(v: Validator, candidate: str, ctx: CheckContext) -> Verdict:
    """Call `v` and normalise what it returns; any exception becomes a `ValidatorError`."""
    try:
        out = v.fn(candidate, ctx) if v.wants_context else v.fn(candidate)
        if inspect.isawaitable(out):
            out = await out
    except ValidatorError:
        raise
    except Exception as exc:
        raise ValidatorError(
            f"validator {v.name!r} raised {type(exc).__name__}: {exc}; fix the validator "
            "so it returns a bool, a score in 0..1 or a Verdict"
        ) from exc
    return _to_verdict(out, v.name)
