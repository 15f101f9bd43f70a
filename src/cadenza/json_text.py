r"""JSON text as models and clients write it.

- Reading JSON out of a model's answer: Markdown fences removed, never anything added
  (`strip_fences`, `parse_json_answer`).
- Lone UTF-16 surrogates in JSON text, found and replaced in linear time without parsing
  (`lone_surrogate`, `replace_lone_surrogates`).

Models often wrap JSON in a Markdown code fence (three backticks and ``json``), even
when decoding was constrained to plain JSON by another provider. `parse_json_answer` removes
such a fence (and only that: nothing is completed, coerced or filled in), then parses.
It never raises on a bad answer: a truncated object, stray text or no JSON at all come
back as a `JsonAnswer` with an `error`, which is a failed candidate, not a crash.

JSON may spell a UTF-16 surrogate as an escape (``"\ud800"``). A pair of them is one
character (``"\ud83d\ude00"`` is 😀); one alone is not a character at all, and a Python
string holding it cannot be encoded as UTF-8, so whatever later writes it out fails.

    lone_surrogate(r'{"a": "\ud800"}')            # '\ud800'
    lone_surrogate(r'{"a": "\ud83d\ude00"}')      # None: a pair
    lone_surrogate(r'{"a": "\\ud800"}')           # None: a backslash, then text
    replace_lone_surrogates(r'"x\udc00"')          # '"x\ufffd"'

The patterns have no nested repetition: each runs in time linear in the text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "JsonAnswer",
    "lone_surrogate",
    "parse_json_answer",
    "replace_lone_surrogates",
    "strip_fences",
]


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


_HINT = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
# What is not a lone surrogate: an escaped backslash (so that "\\ud800" is text, not an
# escape) and a well-formed pair. Matched left to right, like a JSON parser reads escapes.
_HARMLESS = r"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_LONE = r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|[\ud800-\udfff]"
_HARMLESS_RE = re.compile(_HARMLESS)
_LONE_RE = re.compile(_LONE)
_EITHER_RE = re.compile(f"{_HARMLESS}|({_LONE})")


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in `text` (JSON), as an escape (``\\ud800``); else None."""
    if not _HINT.search(text):
        return None
    # Removing what is harmless leaves every lone escape whole: a backslash that was not
    # removed is followed by a character that was not removed either.
    match = _LONE_RE.search(_HARMLESS_RE.sub("", text))
    if match is None:
        return None
    found = match.group(0)
    return found if found.startswith("\\") else f"\\u{ord(found):04x}"


def replace_lone_surrogates(text: str) -> str:
    """`text` (JSON) with each lone surrogate, escaped or not, replaced by U+FFFD."""
    if lone_surrogate(text) is None:
        return text
    return _EITHER_RE.sub(lambda m: m.group(0) if m.group(1) is None else "\\ufffd", text)
