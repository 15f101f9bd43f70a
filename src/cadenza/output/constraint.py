"""The schema sent to a decoding engine, tightened step by step when answers run long.

A weak model under a JSON Schema grammar often never closes a string or an array and runs
to the token limit: the answer is cut off and invalid. The engine can be made to close
them by a *tighter* schema — every instance of the tighter schema is an instance of the
user's schema, and every value in it is still the model's own:

- level 0: the user's schema as given (only boolean property schemas, which some engines
  cannot read, are spelled as objects);
- level 1: strings without a length, pattern, enum or exact format get ``maxLength``
  `STRING_CHARS[1]`; arrays get ``maxItems`` `ARRAY_ITEMS[1]` (never below ``minItems``);
  objects that list their properties (and get none through other keywords) allow no
  others;
- level 2: as level 1 with shorter strings and arrays, and objects keep only their
  required properties.

cadenza still validates every answer against the user's own schema.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_LEVEL", "engine_schema"]

MAX_LEVEL = 2
STRING_CHARS = {1: 48, 2: 16}
ARRAY_ITEMS = {1: 3, 2: 1}

_EXACT_FORMATS = frozenset({"date", "time", "date-time", "uuid"})
"""Formats an engine spells out character by character (llama.cpp does): already bounded."""
_OTHER_PROPERTIES = (
    "additionalProperties",
    "patternProperties",
    "unevaluatedProperties",
    "allOf",
    "anyOf",
    "oneOf",
    "$ref",
    "if",
    "dependentSchemas",
    "dependencies",
    "minProperties",
)
"""Keywords through which an object may get properties its own list does not name."""

_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMAS = (
    "items",
    "additionalItems",
    "additionalProperties",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
)


def engine_schema(schema: Any, level: int) -> Any:
    """`schema` tightened to `level` (0..MAX_LEVEL), as a new object."""
    return _tighten(schema, max(0, min(level, MAX_LEVEL)), depth=0)


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type")
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return {x for x in t if isinstance(x, str)}
    return set()


def _tighten(node: Any, level: int, depth: int) -> Any:
    if not isinstance(node, dict) or depth > 64:
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            out[key] = {
                k: _as_object(_tighten(v, level, depth + 1))
                if key == "properties"
                else _tighten(v, level, depth + 1)
                for k, v in value.items()
                if not (key == "properties" and v is False)
            }
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [_tighten(v, level, depth + 1) for v in value]
        elif key in _SUBSCHEMAS:
            out[key] = (
                [_tighten(v, level, depth + 1) for v in value]
                if isinstance(value, list)
                else _tighten(value, level, depth + 1)
            )
        else:
            out[key] = value
    if level == 0:
        return out
    types = _types(out)
    fixed = any(k in out for k in ("enum", "const", "$ref"))
    exact_format = out.get("format") in _EXACT_FORMATS
    if (
        "string" in types
        and not fixed
        and not exact_format
        and not any(k in out for k in ("maxLength", "pattern"))
    ):
        out["maxLength"] = max(int(out.get("minLength", 0) or 0), STRING_CHARS[level])
    if "array" in types and not fixed and "maxItems" not in out:
        out["maxItems"] = max(int(out.get("minItems", 0) or 0), ARRAY_ITEMS[level])
    if "properties" in out and isinstance(out["properties"], dict):
        required = [r for r in out.get("required", []) if isinstance(r, str)]
        props: dict[str, Any] = out["properties"]
        for name in required:  # a required property the schema does not describe
            props.setdefault(name, {})
        if level >= 2 and not _needs_optional(out):
            out["properties"] = {k: v for k, v in props.items() if k in required}
        if not any(k in out for k in _OTHER_PROPERTIES):
            out["additionalProperties"] = False
    return out


def _as_object(schema: Any) -> Any:
    return {} if schema is True else schema


def _needs_optional(schema: dict[str, Any]) -> bool:
    """Whether keeping only the required properties might rule out every instance."""
    return any(
        k in schema
        for k in ("minProperties", "dependencies", "dependentRequired", "anyOf", "oneOf", "allOf")
    )
