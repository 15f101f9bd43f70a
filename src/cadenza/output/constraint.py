"""The schema sent to a decoding engine, tightened step by step when answers run long.

A weak model under a JSON Schema grammar often never closes a string or an array and runs
to the token limit: the answer is cut off and invalid. The engine can be made to close
them by a *tighter* schema: every instance of the tighter schema is an instance of the
user's schema, and every value in it is still the model's own choice. A tightening never
leaves a single possible value where the user's schema allowed several (no array is
forced empty, no object forced to ``{}``): that would be cadenza choosing the value.

- level 0: the user's schema, written the way engines read it: boolean property schemas
  as objects; patterns anchored (llama.cpp enforces only ``^...$``) and with the
  character-class escapes its converter cannot read (``[\\w.-]``) spelled out
  (``[A-Za-z0-9_.-]``): the same strings match (a subset, for a pattern whose
  alternatives carry anchors of their own);
- level 1: strings without a length, enum or exact format get ``maxLength``
  `STRING_CHARS[1]` (and a format such as ``uri`` or ``email`` a pattern of its valid
  forms), pattern repetitions (``*``, ``+``, ``{n,}``) at most `PATTERN_REPEAT` more;
  arrays get ``maxItems`` `ARRAY_ITEMS[1]` (never below ``minItems``) and, if their items
  may be anything, short scalar items; objects that list
  their properties (and get none through other keywords) allow no others; a schema that
  accepts anything accepts short scalars;
- level 2: as level 1 with shorter strings and arrays, and objects keep only their
  required properties (when they have some).

cadenza still validates every answer against the user's own schema.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MAX_LEVEL", "engine_pattern", "engine_schema"]

MAX_LEVEL = 2
STRING_CHARS = {1: 48, 2: 16}
ARRAY_ITEMS = {1: 3, 2: 1}
PATTERN_REPEAT = {1: 12, 2: 6}

_EXACT_FORMATS = frozenset({"date", "date-time", "uuid"})
"""Formats an engine spells out character by character (llama.cpp does): already bounded."""
_FORMAT_PATTERNS = {
    "uri": r"^https://[a-z]{1,12}\.[a-z]{2,3}(/[a-z0-9]{1,8}){0,2}$",
    "url": r"^https://[a-z]{1,12}\.[a-z]{2,3}(/[a-z0-9]{1,8}){0,2}$",
    "iri": r"^https://[a-z]{1,12}\.[a-z]{2,3}(/[a-z0-9]{1,8}){0,2}$",
    "uri-reference": r"^(https://[a-z]{1,12}\.[a-z]{2,3})?(/[a-z0-9]{1,8}){1,2}$",
    "email": r"^[a-z0-9._]{1,12}@[a-z]{1,12}\.[a-z]{2,3}$",
    "hostname": r"^[a-z0-9]{1,12}(\.[a-z0-9]{1,12}){0,2}$",
    # As the format checker counts "time" (jsonschema's all-drafts FormatChecker, hence
    # JSONSchemaBench): HH:MM:SS, where llama.cpp's own grammar adds a time zone.
    "time": r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$",
    "ipv4": r"^([1-9]?[0-9]|1[0-9][0-9]|2[0-4][0-9])(\.([1-9]?[0-9]|1[0-9][0-9])){3}$",
}
"""Valid forms of formats an engine does not spell out: a model under one can only write
a value the format accepts. Only used where the schema gives no pattern of its own."""

_SCALARS = ["string", "number", "boolean", "null"]
_ASSERTIONS = frozenset(
    {
        "type", "enum", "const", "properties", "patternProperties", "additionalProperties",
        "items", "prefixItems", "additionalItems", "contains", "required", "minProperties",
        "maxProperties", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength",
        "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "multipleOf", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "$ref",
        "$dynamicRef", "$recursiveRef", "dependencies", "dependentRequired",
        "dependentSchemas", "propertyNames", "unevaluatedProperties", "unevaluatedItems",
    }
)  # fmt: skip
"""Keywords that can reject a value; a schema with none of them accepts anything."""
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
_NEEDS_OPTIONAL = (
    "minProperties",
    "dependencies",
    "dependentRequired",
    "anyOf",
    "oneOf",
    "allOf",
    "$ref",
    "if",
)
"""Keywords under which keeping only the required properties might rule out every value."""

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
_DATA = frozenset({"enum", "const", "default", "examples"})


def engine_schema(schema: Any, level: int) -> Any:
    """`schema` written for an engine at tightening `level` (0..MAX_LEVEL), as a new object."""
    targets = {_pointer(ref) for ref in _refs(schema, 0)}
    return _tighten(schema, max(0, min(level, MAX_LEVEL)), 0, False, "", targets)


def _refs(node: Any, depth: int) -> list[str]:
    """The local ``$ref`` targets of a schema (JSON pointers such as ``#/definitions/a``)."""
    if depth > 64:
        return []
    if isinstance(node, dict):
        out = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for key, value in node.items():
            if key not in _DATA:
                out += _refs(value, depth + 1)
        return out
    if isinstance(node, list):
        return [r for v in node for r in _refs(v, depth + 1)]
    return []


def _pointer(ref: str) -> str:
    return ref.split("#", 1)[1] if "#" in ref else ref


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type")
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return {x for x in t if isinstance(x, str)}
    return set()


def _tighten(
    node: Any, level: int, depth: int, under_not: bool, path: str, targets: set[str]
) -> Any:
    if not isinstance(node, dict) or depth > 64:
        return node

    def sub(value: Any, where: str, frozen: bool) -> Any:
        return _tighten(value, level, depth + 1, frozen, where, targets)

    out: dict[str, Any] = {}
    for key, value in node.items():
        # Below "not" (and in an "if" condition) tightening would widen what the whole
        # schema accepts: left as it is.
        inner = under_not or key in ("not", "if")
        here = f"{path}/{_escape(key)}"
        if key in _DATA:
            out[key] = value
        elif key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            out[key] = {
                k: sub(
                    {} if v is True and key == "properties" else v, f"{here}/{_escape(k)}", inner
                )
                for k, v in value.items()
                if not (key == "properties" and v is False)
            }
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [sub(v, f"{here}/{i}", inner) for i, v in enumerate(value)]
        elif key in _SUBSCHEMAS:
            out[key] = (
                [sub(v, f"{here}/{i}", inner) for i, v in enumerate(value)]
                if isinstance(value, list)
                else sub(value, here, inner)
            )
        elif key == "pattern" and isinstance(value, str):
            out[key] = engine_pattern(value, None if under_not else PATTERN_REPEAT.get(level))
        elif isinstance(value, dict | list) and any(t.startswith(here) for t in targets):
            # Not a schema keyword, but a $ref points in here (e.g. "#/definitons/a").
            out[key] = _containing(value, here, level, depth + 1, targets)
        else:
            out[key] = value
    if level == 0 or under_not:
        return out
    if not any(k in out for k in _ASSERTIONS):  # accepts anything: short scalars will do
        out["type"] = list(_SCALARS)
    types = _types(out)
    fixed = any(k in out for k in ("enum", "const", "$ref"))
    fmt = out.get("format")
    if "string" in types and not fixed and "pattern" not in out and fmt in _FORMAT_PATTERNS:
        out["pattern"] = _FORMAT_PATTERNS[fmt]
    elif (
        "string" in types
        and not fixed
        and fmt not in _EXACT_FORMATS
        and "maxLength" not in out
        and "pattern" not in out
    ):
        out["maxLength"] = max(_int(out.get("minLength")), STRING_CHARS[level])
    if "array" in types and not fixed:
        if "maxItems" not in out:
            out["maxItems"] = max(_int(out.get("minItems")), ARRAY_ITEMS[level])
        if not any(k in out for k in ("items", "prefixItems", "contains")):
            # items of any kind: engines then bound neither them nor their number
            out["items"] = {"type": list(_SCALARS), "maxLength": STRING_CHARS[level]}
    if "properties" in out and isinstance(out["properties"], dict):
        required = [r for r in out.get("required", []) if isinstance(r, str)]
        props: dict[str, Any] = out["properties"]
        for name in required:  # a required property the schema does not describe
            props.setdefault(name, {"type": list(_SCALARS), "maxLength": STRING_CHARS[level]})
        if level >= 2 and required and not any(k in out for k in _NEEDS_OPTIONAL):
            out["properties"] = {k: v for k, v in props.items() if k in required}
        if not any(k in out for k in _OTHER_PROPERTIES):
            out["additionalProperties"] = False
    return out


def _containing(node: Any, path: str, level: int, depth: int, targets: set[str]) -> Any:
    """Walk a non-schema part of a schema, writing the schemas $refs point at."""
    if path in targets:
        return _tighten(node, level, depth, False, path, targets)
    if depth > 64:
        return node
    if isinstance(node, dict):
        return {
            k: _containing(v, f"{path}/{_escape(k)}", level, depth + 1, targets)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [
            _containing(v, f"{path}/{i}", level, depth + 1, targets) for i, v in enumerate(node)
        ]
    return node


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# -- patterns --------------------------------------------------------------------------------
_CLASS_ESCAPES = {"w": "A-Za-z0-9_", "d": "0-9"}
_CLASS_KEEP = frozenset("-]\\^")
"""Escapes that mean something inside a class; every other escaped punctuation is itself."""
_SHORTHANDS = {"d": "[0-9]", "D": "[^0-9]", "w": "[A-Za-z0-9_]", "W": "[^A-Za-z0-9_]"}
"""As RE2 reads them; llama.cpp's converter reads neither these nor \\s."""
_SPACE_SHORTHANDS = {"s": " ", "S": "[!-~]"}
"""When tightening: a space for any whitespace, printable ASCII for any other (subsets)."""
_PLAIN_PUNCTUATION = frozenset("/-#@:,=!~%&'\" _<>")
"""Escaped outside a class, these are themselves: the escape only confuses engines."""
_OPEN_REPEAT = re.compile(r"\{(\d+),\}")


def engine_pattern(pattern: str, repeat: int | None) -> str:
    """`pattern` as an engine can enforce it.

    Always: the character-class escapes engines often cannot read spelled out (``\\w``,
    ``\\d``, escaped punctuation: the same strings match, as RE2 reads them), and the
    pattern anchored (JSON Schema patterns match anywhere in the string; llama.cpp takes
    only ``^...$``): ``p`` becomes ``^.*(p).*$``. With `repeat` set (tightening), the anchors
    hold the whole string instead, ``^(p)$``, and open repetitions are bounded (``*`` to
    ``{0,repeat}``, ``+`` to ``{1,repeat}``, ``{n,}`` to ``{n,n+repeat}``): fewer strings
    match, never more. A pattern this scanner does not follow (an unclosed class) is
    returned as it is."""
    body = _rewrite(pattern, repeat)
    if body is None:
        return pattern
    starts = body.startswith("^")
    ends = body.endswith("$") and not body.endswith("\\$")
    if starts and ends:
        return body
    core = body[1 if starts else 0 : len(body) - 1 if ends else len(body)]
    if repeat is not None:
        return f"^({core})$"
    return f"^{'' if starts else '.*'}({core}){'' if ends else '.*'}$"


def _rewrite(pattern: str, repeat: int | None) -> str | None:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if e in _PLAIN_PUNCTUATION:
                out.append(e)
            elif e in _SHORTHANDS:
                out.append(_SHORTHANDS[e])
            elif repeat is not None and e in _SPACE_SHORTHANDS:
                out.append(_SPACE_SHORTHANDS[e])
            else:
                out.append(pattern[i : i + 2])
            i += 2
        elif c == "[":
            j = i + 1
            part = ["["]
            if j < n and pattern[j] == "^":
                part.append("^")
                j += 1
            if j < n and pattern[j] == "]":  # a leading "]" is literal
                part.append("\\]")
                j += 1
            while j < n and pattern[j] != "]":
                if pattern[j] == "\\" and j + 1 < n:
                    e = pattern[j + 1]
                    if e in _CLASS_ESCAPES:
                        part.append(_CLASS_ESCAPES[e])
                    elif repeat is not None and e in _SPACE_SHORTHANDS:
                        part.append(_SPACE_SHORTHANDS[e].strip("[]"))
                    elif not e.isalnum() and e not in _CLASS_KEEP and e.isascii():
                        part.append(e)
                    else:
                        part.append(pattern[j : j + 2])
                    j += 2
                else:
                    part.append(pattern[j])
                    j += 1
            if j >= n:
                return None
            part.append("]")
            out.append("".join(part))
            i = j + 1
        elif repeat is not None and c in "*+" and out:
            out.append(f"{{{0 if c == '*' else 1},{repeat}}}")
            i += 1
        elif repeat is not None and c == "{" and (m := _OPEN_REPEAT.match(pattern, i)):
            low = int(m.group(1))
            out.append(f"{{{low},{low + repeat}}}")
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)
