"""The built-in ``regex`` validator: the answer must (or must not) match a pattern.

This is the one built-in check whose argument is a pattern. Patterns arrive in requests,
so they run on RE2 (the ``google-re2`` package): matching takes time linear in the text
whatever the pattern, and RE2 has no backreferences or lookaround. ``validator_args``:

- ``pattern`` (required): RE2 syntax, at most `MAX_PATTERN_CHARS` characters;
- ``ignore_case`` (default false);
- ``full`` (default false): the whole answer must match, not only a part of it;
- ``forbid`` (default false): the requirement is met when the pattern does *not* occur.

    {"description": "Give a US phone number", "validator": "regex",
     "validator_args": {"pattern": "\\\\(?\\\\d{3}\\\\)?[ -]?\\\\d{3}-\\\\d{4}"}}
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import re2

from ..errors import InvalidTaskError
from .base import CheckContext, Verdict, register_validator

__all__ = ["MAX_PATTERN_CHARS", "check_regex", "compile_pattern"]

MAX_PATTERN_CHARS = 1000
_MAX_PROGRAM_BYTES = 1 << 20
"""RE2's memory cap for one compiled pattern (a bound on the work per character)."""
_FLAGS = ("ignore_case", "full", "forbid")


@lru_cache(maxsize=256)
def compile_pattern(pattern: str, *, ignore_case: bool = False) -> Any:
    """`pattern` compiled by RE2; an `InvalidTaskError` says what is wrong with it."""
    if not pattern:
        raise InvalidTaskError("regex: 'pattern' must be a non-empty string (RE2 syntax)")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise InvalidTaskError(
            f"regex: the pattern has {len(pattern)} characters; at most {MAX_PATTERN_CHARS}"
        )
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = not ignore_case
    options.max_mem = _MAX_PROGRAM_BYTES
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        why = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise InvalidTaskError(
            f"regex: invalid pattern {pattern[:60]!r}: {why}; use RE2 syntax (no "
            "backreferences or lookaround)"
        ) from None


def check_regex(text: str, args: Mapping[str, Any]) -> Verdict:
    """Whether `text` matches ``args["pattern"]`` as `args` asks (see the module doc)."""
    unknown = sorted(set(args) - {"pattern", *_FLAGS})
    if unknown:
        raise InvalidTaskError(
            f"regex: unknown argument(s) {', '.join(map(repr, unknown))}; accepted: "
            "pattern, ignore_case, full, forbid"
        )
    flags = {name: args.get(name, False) for name in _FLAGS}
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise InvalidTaskError(f"regex: {name!r} must be true or false, not {value!r}")
    pattern = args.get("pattern")
    if not isinstance(pattern, str):
        raise InvalidTaskError("regex: 'pattern' must be a non-empty string (RE2 syntax)")
    compiled = compile_pattern(pattern, ignore_case=flags["ignore_case"])
    found = compiled.fullmatch(text) if flags["full"] else compiled.search(text)
    shown = pattern if len(pattern) <= 40 else pattern[:37] + "..."
    if flags["forbid"]:
        if found is None:
            return Verdict(1.0, f"nothing matches /{shown}/")
        return Verdict(0.0, f"must not match /{shown}/, but {_excerpt(found.group(0))} does")
    if found is not None:
        return Verdict(1.0, f"matches /{shown}/ at {_excerpt(found.group(0))}")
    where = "the whole answer must match" if flags["full"] else "no part of the answer matches"
    return Verdict(0.0, f"{where} /{shown}/")


def _excerpt(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 3] + "...")


def _regex(text: str, ctx: CheckContext) -> Verdict:
    return check_regex(text, ctx.args or {})


register_validator(
    "regex",
    _regex,
    description="the answer matches validator_args.pattern (RE2 syntax); options: "
    "ignore_case, full, forbid",
    builtin=True,
)
