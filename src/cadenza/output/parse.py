"""Reading a model's answer as JSON: strictly, and saying precisely why not.

`parse_json` takes the answer as it is: one JSON value, nothing around it but
whitespace, no NaN or Infinity. `unwrap_fence` finds a JSON value the model wrapped in a
Markdown code fence (```json ... ```), with the shared `cadenza.json_text.strip_fences`;
taking it out only removes text, so it is an allowed repair, traced as such.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from ..json_text import strip_fences

__all__ = ["CUT_OFF", "JsonReading", "parse_json", "unwrap_fence"]

CUT_OFF = "cut off"
"""Words every problem of an answer that ended before its JSON value closed holds."""


@dataclass(frozen=True)
class JsonReading:
    """The outcome of reading text as JSON: `value` if `ok`, else `problem` and whether the
    text looks cut off (`truncated`) or fenced (`fenced`)."""

    ok: bool
    value: Any = None
    problem: str = ""
    truncated: bool = False
    fenced: bool = False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _strict_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:20]} is too large for a JSON number")
    return value


def parse_json(text: str) -> JsonReading:
    """Read `text` as exactly one JSON value."""
    stripped = text.strip()
    if not stripped:
        return JsonReading(False, problem="the answer is empty; reply with a JSON value")
    try:
        value = json.loads(stripped, parse_constant=_reject_constant, parse_float=_strict_float)
    except json.JSONDecodeError as exc:
        fenced = unwrap_fence(text) is not None
        if fenced:
            return JsonReading(
                False,
                problem="the JSON is wrapped in a Markdown code fence; reply with the bare "
                "JSON value, with no other text",
                fenced=True,
            )
        if exc.pos >= len(stripped) - 1 and exc.msg != "Extra data":
            return JsonReading(
                False,
                problem=f"the JSON is {CUT_OFF}: the answer ended before the value was closed "
                "(keep it shorter)",
                truncated=True,
            )
        if exc.msg.startswith("Unterminated string"):
            return JsonReading(
                False,
                problem=f"the JSON is {CUT_OFF} inside a string (keep it shorter)",
                truncated=True,
            )
        if exc.msg == "Extra data":
            return JsonReading(
                False,
                problem=f"there is text after the JSON value (at character {exc.pos}); reply "
                "with the JSON value only",
            )
        where = f"line {exc.lineno} column {exc.colno}"
        if exc.pos == 0:
            return JsonReading(
                False, problem="the answer is not JSON; reply with the JSON value only"
            )
        return JsonReading(False, problem=f"invalid JSON at {where}: {exc.msg}")
    except (ValueError, RecursionError) as exc:
        return JsonReading(False, problem=f"invalid JSON: {exc}")
    return JsonReading(True, value=value)


def unwrap_fence(text: str) -> str | None:
    """The JSON inside the Markdown code fence of `text` (the text around the fence goes
    too), or None when `text` has no such fence. Only removes text around the value."""
    inner, removed = strip_fences(text)
    return inner if removed else None
