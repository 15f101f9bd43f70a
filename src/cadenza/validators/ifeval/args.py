"""The arguments of the IFEval checks: their kinds, and how a given value is read.

IFEval's kwargs arrive from requests (``validator_args``) and from data files, so each
value is checked against its kind and normalised, or refused with an `InvalidTaskError`
that names the argument and says what it must be. Every text argument (keywords,
forbidden words, section markers, postscript markers, end phrases) is plain text: the
checks match it literally, never as a regular expression.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidTaskError
from .language import LANGDETECT_CODES

__all__ = ["KIND_HELP", "RELATIONS", "Arg", "Params", "parse_arg"]

Params = Mapping[str, Any]
"""Validated, normalised kwargs of one instruction (see `spec.parse_kwargs`)."""

RELATIONS = ("less than", "at least")

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Arg:
    name: str
    kind: str
    """count (int >= 0), nth (int >= 1), relation, text, texts, letter, language, prompt."""


KIND_HELP = {
    "count": "an integer >= 0",
    "nth": "an integer >= 1",
    "relation": "'less than' or 'at least'",
    "text": "a non-empty string",
    "texts": "a non-empty list of non-empty strings",
    "letter": "a single character",
    "language": "a language code such as 'en' or 'de'",
    "prompt": "the request to repeat (a non-empty string)",
}


def _bad(iid: str, arg: Arg, value: object) -> InvalidTaskError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidTaskError(
        f"{iid}: invalid argument {arg.name!r}: {shown}; it must be {KIND_HELP[arg.kind]}"
    )


def _as_int(iid: str, arg: Arg, value: object, minimum: int) -> int:
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number < minimum:
        raise _bad(iid, arg, value)
    return number


def parse_arg(iid: str, arg: Arg, value: object, prompt: str) -> object:
    kind = arg.kind
    if kind == "count":
        return _as_int(iid, arg, value, 0)
    if kind == "nth":
        return _as_int(iid, arg, value, 1)
    if kind == "relation":
        relation = (
            _SPACES.sub(" ", value.replace("_", " ")).strip().lower()
            if isinstance(value, str)
            else None
        )
        if relation not in RELATIONS:
            raise _bad(iid, arg, value)
        return relation
    if kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise _bad(iid, arg, value)
        return value.strip()
    if kind == "texts":
        items: object = [value] if isinstance(value, str) else value
        if (
            not isinstance(items, Sequence)
            or isinstance(items, bytes)
            or not items
            or not all(isinstance(x, str) and x.strip() for x in items)
        ):
            raise _bad(iid, arg, value)
        return sorted(set(items)) if iid == "keywords:forbidden_words" else list(items)
    if kind == "letter":
        if not isinstance(value, str) or len(value) != 1 or not value.strip():
            raise _bad(iid, arg, value)
        return value.lower()
    if kind == "language":
        code = value.strip().lower() if isinstance(value, str) else None
        if code not in LANGDETECT_CODES:
            raise _bad(iid, arg, value)
        return code
    if kind == "prompt":
        text = value if isinstance(value, str) and value.strip() else prompt
        if value is not None and not isinstance(value, str):
            raise _bad(iid, arg, value)
        if not text.strip():
            raise _bad(iid, arg, value)
        return text
    raise AssertionError(kind)  # pragma: no cover
