r"""Lone surrogates in JSON text: found and replaced in linear time, without parsing.

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

import re

__all__ = ["lone_surrogate", "replace_lone_surrogates"]

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
