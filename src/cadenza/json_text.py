"""Reading JSON out of a model's answer: Markdown fences removed, never anything added.

Models often wrap JSON in a Markdown code fence (three backticks and ``json``), even
when decoding was constrained to plain JSON by another provider. `parse_json_answer` removes
such a fence (and only that: nothing is completed, coerced or filled in), then parses.
It never raises on a bad answer: a truncated object, stray text or no JSON at all come
back as a `JsonAnswer` with an `error`, which is a failed candidate, not a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["JsonAnswer", "parse_json_answer", "strip_fences"]

FENCE = "```"
_INFO = frozenset({"", "json", "json5", "jsonc", "javascript", "js"})
"""Info strings of a fence that may hold JSON (lowercased)."""


@dataclass(frozen=True)
class JsonAnswer:
    """The JSON in an answer, or why there is none."""

    text: str
    """What was parsed: the answer without its fence."""
    value: Any = None
    """The parsed value (when `error` is None)."""
    error: str | None = None
    """Why the answer is not JSON, in a short sentence; None when it is."""
    unfenced: bool = False
    """Whether a Markdown fence was removed (a traced, switchable change)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def truncated(self) -> bool:
        return self.error is not None and self.error.startswith("truncated")


def strip_fences(text: str) -> tuple[str, bool]:
    """`text` without a Markdown code fence around its JSON, and whether one was removed.

    A fenced block inside prose is taken out of the prose; an opening fence whose closing
    one never came (the answer was cut) is removed too. Linear in the text's length.
    """
    stripped = text.strip()
    start = stripped.find(FENCE)
    while start != -1:
        line_end = stripped.find("\n", start)
        if line_end == -1:
            break
        info = stripped[start + len(FENCE) : line_end].strip().lower()
        end = stripped.find(FENCE, line_end)
        if info in _INFO:
            inner = stripped[line_end + 1 : end if end != -1 else len(stripped)]
            return inner.strip(), True
        if end == -1:
            break
        start = stripped.find(FENCE, end + len(FENCE))  # past another language's block
    return stripped, False


def parse_json_answer(text: str, *, unfence: bool = True) -> JsonAnswer:
    """Parse a model's answer as JSON (after removing a Markdown fence when `unfence`)."""
    body, unfenced = strip_fences(text) if unfence else (text.strip(), False)
    if not body:
        return JsonAnswer(body, error="the answer is empty", unfenced=unfenced)
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(body.rstrip()) or "Unterminated string" in exc.msg:
            why = "truncated: the JSON ends before it is complete"
        elif exc.msg == "Extra data":
            why = f"extra text after the JSON, at character {exc.pos}"
        else:
            why = f"not JSON: {exc.msg} at character {exc.pos}"
        return JsonAnswer(body, error=why, unfenced=unfenced)
    except RecursionError:
        return JsonAnswer(body, error="the JSON is nested too deeply", unfenced=unfenced)
    return JsonAnswer(body, value=value, unfenced=unfenced)
