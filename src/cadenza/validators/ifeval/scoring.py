"""IFEval's strict and loose scoring of a response (ported from ``evaluation_lib.py``).

Strict: the instruction's check on the response as it is; an empty (or all
whitespace) response fails every instruction.

Loose: the response passes if any of eight variants passes strict: the response,
without its first line, without its last line, without both, and each of those
with every ``*`` removed (the three line-dropping variants are stripped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import InvalidTaskError
from ..base import Verdict
from .args import Params
from .spec import parse_kwargs, resolve_id, run_check

__all__ = ["check_instruction", "loose_variants", "score_response"]


def loose_variants(response: str) -> list[tuple[str, str]]:
    """IFEval's eight loose variants of `response`, as (label, text), the response first."""
    lines = response.split("\n")
    without_first = "\n".join(lines[1:]).strip()
    without_last = "\n".join(lines[:-1]).strip()
    without_both = "\n".join(lines[1:-1]).strip()
    return [
        ("as is", response),
        ("without '*'", response.replace("*", "")),
        ("without the first line", without_first),
        ("without the last line", without_last),
        ("without the first and last lines", without_both),
        ("without the first line and '*'", without_first.replace("*", "")),
        ("without the last line and '*'", without_last.replace("*", "")),
        ("without the first and last lines and '*'", without_both.replace("*", "")),
    ]


def _strict(iid: str, response: str, params: Params) -> Verdict:
    if not response.strip():
        return Verdict(0.0, "the response is empty")
    return run_check(iid, response, params)


def _loose(iid: str, response: str, params: Params, strict: Verdict | None = None) -> Verdict:
    if strict is None:
        strict = _strict(iid, response, params)
    if strict.passed:
        return strict
    for label, text in loose_variants(response)[1:]:
        if text.strip():
            verdict = run_check(iid, text, params)
            if verdict.passed:
                reason = f"{verdict.reason} (loose: {label})"
                if len(reason) > 199:
                    reason = f"passes loosely ({label})"
                return Verdict(1.0, reason)
    return strict


def check_instruction(
    instruction_id: str,
    response: str,
    kwargs: Mapping[str, Any] | None,
    *,
    prompt: str = "",
    loose: bool = False,
) -> Verdict:
    """Check `response` against one IFEval instruction; strict unless `loose`.

    `kwargs` are IFEval's (None values count as absent). `prompt` is the request; it
    stands in for ``prompt_to_repeat`` when that is missing. Raises
    `UnknownValidatorError` for an unknown id and `InvalidTaskError` for bad kwargs.
    The verdict's score is 1.0 on pass; on fail it is graded in [0, 1) and its reason
    says what to change.
    """
    iid = resolve_id(instruction_id)
    params = parse_kwargs(iid, kwargs, prompt=prompt)
    return _loose(iid, response, params) if loose else _strict(iid, response, params)


def score_response(
    prompt: str,
    response: str,
    instruction_ids: Sequence[str],
    kwargs: Sequence[Mapping[str, Any] | None],
) -> list[tuple[str, bool, bool]]:
    """IFEval's per-instruction result for one response: (id, strict_pass, loose_pass)."""
    if isinstance(instruction_ids, str):
        raise InvalidTaskError("instruction_ids must be a list of ids, not one string")
    if len(instruction_ids) != len(kwargs):
        raise InvalidTaskError(
            f"got {len(instruction_ids)} instruction ids but {len(kwargs)} kwargs; "
            "give one kwargs dict (or None) per id"
        )
    parsed = [
        (iid, resolve_id(iid), parse_kwargs(iid, kw, prompt=prompt))
        for iid, kw in zip(instruction_ids, kwargs, strict=True)
    ]
    results = []
    for given, iid, params in parsed:
        strict = _strict(iid, response, params)
        loose = _loose(iid, response, params, strict)
        results.append((given, strict.passed, loose.passed))
    return results
