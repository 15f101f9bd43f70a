"""Built-in JSON checks beyond IFEval's: ``json:object``, a JSON object with given keys.

    requirement = Requirement(
        description="Return JSON with the keys 'capital' and 'country'",
        validator="json:object",
        validator_args={"keys": ["capital", "country"]},
    )

The whole response must be one JSON object (a ```json fence around it is fine, as in
IFEval's ``detectable_format:json_format``) holding every key in ``keys`` at its top
level; keys are compared exactly (case matters). Without ``keys`` any object passes.
Importing this module registers the check.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidTaskError
from .base import CheckContext, Verdict, register_validator

__all__ = ["JSON_OBJECT", "check_json_object"]

JSON_OBJECT = "json:object"

_MAX_KEYS = 200
_MAX_KEY_CHARS = 500


def _keys(args: Mapping[str, Any]) -> list[str]:
    unknown = set(args) - {"keys"}
    if unknown:
        raise InvalidTaskError(
            f"{JSON_OBJECT}: unknown argument(s) {', '.join(sorted(map(repr, unknown)))}; "
            "it takes only 'keys', a list of key names"
        )
    keys = args.get("keys", [])
    if (
        not isinstance(keys, list)
        or len(keys) > _MAX_KEYS
        or not all(isinstance(k, str) and 0 < len(k) <= _MAX_KEY_CHARS for k in keys)
    ):
        raise InvalidTaskError(
            f"{JSON_OBJECT}: 'keys' must be a list of at most {_MAX_KEYS} non-empty strings "
            f'(each up to {_MAX_KEY_CHARS} characters), e.g. {{"keys": ["capital"]}}'
        )
    return keys


def _unfenced(response: str) -> str:
    """The response without a surrounding markdown fence (as IFEval's JSON check)."""
    return (
        response.strip()
        .removeprefix("```json")
        .removeprefix("```Json")
        .removeprefix("```JSON")
        .removeprefix("```")
        .removesuffix("```")
        .strip()
    )


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def check_json_object(response: str, keys: list[str]) -> Verdict:
    """Whether `response` is one JSON object holding every key in `keys`."""
    try:
        value = json.loads(_unfenced(response))
    except json.JSONDecodeError as exc:
        return Verdict(
            0.0,
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; output only "
            "one JSON object (a ``` block is fine)",
        )
    except (ValueError, RecursionError):
        return Verdict(0.0, "not valid JSON; output only one JSON object (a ``` block is fine)")
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")
        kind = "null" if value is None else kind
        return Verdict(0.0, f"the JSON is {kind}, not an object; output one JSON object {{...}}")
    missing = [k for k in keys if k not in value]
    if not missing:
        named = ", ".join(_short(k) for k in keys[:8]) + (" ..." if len(keys) > 8 else "")
        return Verdict(1.0, "a JSON object" + (f" with the keys {named}" if keys else ""))
    have = ", ".join(_short(k, 20) for k in list(value)[:6]) or "none"
    return Verdict(
        (1 + len(keys) - len(missing)) / (1 + len(keys)),
        "the JSON object lacks the key(s) "
        + ", ".join(_short(k) for k in missing[:8])
        + (" ..." if len(missing) > 8 else "")
        + f" (its keys: {have})",
    )


def _json_object(candidate: str, ctx: CheckContext) -> Verdict:
    """A JSON object (```json fence allowed) holding every key in `keys` at its top level."""
    return check_json_object(candidate, _keys(ctx.args or {}))


register_validator(JSON_OBJECT, _json_object)
