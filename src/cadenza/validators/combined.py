"""``all_of``: several code checks that must all pass, as one requirement.

    Requirement(
        description="all lowercase and no commas",
        validator="all_of",
        validator_args={"checks": [
            {"validator": "change_case:english_lowercase", "args": {}},
            {"validator": "punctuation:no_comma", "args": {}},
        ]},
    )

The verdict's score is the lowest of its parts' scores, and its reason names each part
that failed ("part 2 of 2 (punctuation:no_comma) failed: 3 commas found ...") or, when
all pass, says so. Its repair applies the repairs of the failing parts in turn, and
keeps a fix only if no part that passed before fails after it. The requirement compiler
produces it for a requirement that holds several constraints; it can also be named by
hand. Parts must be registered, synchronous validators (the built-in checks are), and
may not themselves be ``all_of``. Importing this module registers it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidTaskError, ValidatorError
from .base import CheckContext, Validator, Verdict, get_validator, register_validator

__all__ = ["ALL_OF", "check_all_of"]

ALL_OF = "all_of"
_MAX_PARTS = 10
_MAX_REASON = 600


def _parts(args: Mapping[str, Any]) -> list[tuple[Validator, dict[str, Any]]]:
    checks = args.get("checks")
    if (
        set(args) != {"checks"}
        or not isinstance(checks, list)
        or not 1 <= len(checks) <= _MAX_PARTS
        or not all(
            isinstance(c, dict)
            and isinstance(c.get("validator"), str)
            and isinstance(c.get("args", {}), dict)
            and set(c) <= {"validator", "args"}
            for c in checks
        )
    ):
        raise InvalidTaskError(
            f"{ALL_OF} takes 'checks': a list of 1 to {_MAX_PARTS} objects "
            '{"validator": <a registered validator>, "args": {...}}'
        )
    out = []
    for c in checks:
        if c["validator"] == ALL_OF:
            raise InvalidTaskError(f"{ALL_OF}: a part cannot itself be {ALL_OF}; list its parts")
        out.append((get_validator(c["validator"]), dict(c.get("args", {}))))
    return out


def _context(ctx: CheckContext, args: dict[str, Any]) -> CheckContext:
    return CheckContext(ctx.instruction, ctx.requirement_name, ctx.requirement_description, args)


def _verdict(v: Validator, candidate: str, ctx: CheckContext) -> Verdict:
    out = v.fn(candidate, ctx) if v.wants_context else v.fn(candidate)
    if inspect.isawaitable(out):
        close = getattr(out, "close", None)
        if close is not None:
            close()
        raise ValidatorError(
            f"{ALL_OF}: part {v.name!r} is asynchronous; only synchronous validators can be "
            "combined (give it its own requirement instead)"
        )
    if isinstance(out, Verdict):
        return out
    if isinstance(out, bool):
        return Verdict(1.0 if out else 0.0, "passed" if out else "failed")
    if isinstance(out, int | float) and not math.isnan(out) and 0.0 <= out <= 1.0:
        return Verdict(float(out), f"score {float(out):.2f}")
    raise ValidatorError(
        f"{ALL_OF}: part {v.name!r} returned {out!r}; a validator returns a bool, a score in "
        "0..1 or a Verdict"
    )


def check_all_of(
    candidate: str, parts: Sequence[tuple[Validator, dict[str, Any]]], ctx: CheckContext
) -> Verdict:
    """The combined verdict of `parts` on `candidate`: the lowest score, failures named."""
    verdicts = [_verdict(v, candidate, _context(ctx, args)) for v, args in parts]
    n = len(parts)
    failed = [
        f"part {i} of {n} ({v.name}) failed: {verdict.reason}"
        for i, ((v, _), verdict) in enumerate(zip(parts, verdicts, strict=True), start=1)
        if not verdict.passed
    ]
    if failed:
        reason = "; ".join(failed)
    else:
        reason = f"all {n} parts met: " + "; ".join(v.reason for v in verdicts)
    if len(reason) > _MAX_REASON:
        reason = reason[: _MAX_REASON - 3] + "..."
    return Verdict(min(v.score for v in verdicts), reason)


def _all_of(candidate: str, ctx: CheckContext) -> Verdict:
    """Every check in `checks` passes (score: the lowest; reason: the parts that failed)."""
    return check_all_of(candidate, _parts(ctx.args or {}), ctx)


def _repair(candidate: str, ctx: CheckContext) -> str | None:
    parts = _parts(ctx.args or {})
    contexts = [_context(ctx, args) for _, args in parts]
    passed = [_verdict(v, candidate, c).passed for (v, _), c in zip(parts, contexts, strict=True)]
    text = candidate
    for (v, _), c, ok in zip(parts, contexts, passed, strict=True):
        if ok or v.repair is None:
            continue
        fixed = v.repair(text, c)
        if fixed is None or fixed == text:
            continue
        still = all(
            _verdict(w, fixed, d).passed
            for (w, _), d, was in zip(parts, contexts, passed, strict=True)
            if was
        )
        if still:
            text = fixed
    return text if text != candidate else None


register_validator(ALL_OF, _all_of, repair=_repair)
