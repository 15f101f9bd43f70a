"""JSON Schema validation for typed results, with the `jsonschema` library.

- The draft is the one the schema declares in ``$schema`` (Draft 2020-12 when it declares
  none), and formats are checked as JSONSchemaBench counts them: jsonschema's
  `FormatChecker` with every format it knows (date-time, uri, email, ...) plus the
  benchmark's ipv4, ipv6 and uuid checks.
- Schemas may come from an HTTP request, so every regular expression they hold
  (``pattern``, ``patternProperties``, ``additionalProperties`` next to them) is run with
  RE2, in linear time; a schema with a pattern RE2 cannot compile is refused up front.
  Remote ``$ref`` URLs are never fetched.
- `SchemaProblem` is one validation error as a model can act on it: where (a JSON path
  such as ``$.items[0].name``) and what, both bounded in length.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import jsonschema
import re2
from jsonschema import FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError, relevance
from jsonschema.protocols import Validator
from referencing.exceptions import Unresolvable

from ..errors import InvalidTaskError

__all__ = [
    "FORMAT_CHECKER",
    "SchemaChecker",
    "SchemaProblem",
    "check_schema",
    "find_pattern_problems",
    "json_path",
    "value_at",
]

MAX_MESSAGE_CHARS = 160
"""One problem's message is cut to this; a model needs the gist, not a dump."""
MAX_PROBLEMS = 50
"""Validation stops counting after this many errors."""

FORMAT_CHECKER = FormatChecker()
"""Every format jsonschema knows, plus JSONSchemaBench's own ipv4, ipv6 and uuid checks."""


@FORMAT_CHECKER.checks("ipv4", raises=ValueError)
def _ipv4(value: object) -> bool:
    if isinstance(value, str):
        ipaddress.IPv4Address(value)
    return True


@FORMAT_CHECKER.checks("ipv6", raises=ValueError)
def _ipv6(value: object) -> bool:
    if isinstance(value, str):
        ipaddress.IPv6Address(value)
    return True


@FORMAT_CHECKER.checks("uuid", raises=ValueError)
def _uuid(value: object) -> bool:
    if isinstance(value, str):
        uuid.UUID(value)
    return True


# -- RE2 for the regular expressions a schema holds ----------------------------------------
class PatternError(Exception):
    """A pattern RE2 cannot compile (lookaround, backreference, bad syntax)."""


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@lru_cache(maxsize=2048)
def _compiled(pattern: str) -> Any:
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS)
    except Exception as exc:
        raise PatternError(f"{pattern!r}: {exc}") from None


def _search(pattern: str, text: str) -> bool:
    return _compiled(pattern).search(text) is not None


def _additional(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [k for k in instance if k not in properties and not any(_search(p, k) for p in patterns)]


# jsonschema calls keyword functions with its concrete validator (which has `descend`,
# unlike the protocol its stubs describe): hence `Any`.
def _kw_pattern(
    validator: Any, patrn: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _search(patrn, instance):
        yield ValidationError(f"{_short(instance)} does not match {patrn!r}")


def _kw_pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for k, v in instance.items():
            if _search(pattern, k):
                yield from validator.descend(v, subschema, path=k, schema_path=pattern)


def _kw_additional_properties(
    validator: Any, ap: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    extras = _additional(instance, schema)
    if validator.is_type(ap, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], ap, path=extra)
    elif ap is False and extras:
        names = ", ".join(repr(e) for e in sorted(extras))
        verb = "was" if len(extras) == 1 else "were"
        yield ValidationError(f"Additional properties are not allowed ({names} {verb} unexpected)")


_RE2_KEYWORDS = {
    "pattern": _kw_pattern,
    "patternProperties": _kw_pattern_properties,
    "additionalProperties": _kw_additional_properties,
}


@lru_cache(maxsize=16)
def _validator_class(base: type[Validator]) -> type[Validator]:
    return cast(
        "type[Validator]",
        jsonschema.validators.extend(base, validators=_RE2_KEYWORDS),  # type: ignore[no-untyped-call]
    )


# -- checking a schema ----------------------------------------------------------------------
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "example"})


def _walk(node: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, keyword, value) of every keyword in schema positions (not in data values)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _DATA_KEYWORDS:
                continue
            yield path, key, value
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


def find_pattern_problems(schema: Any) -> list[str]:
    """The patterns of `schema` that RE2 cannot run, each with where it is and why."""
    problems = []
    for path, key, value in _walk(schema, "#"):
        patterns: list[str] = []
        if key == "pattern" and isinstance(value, str):
            patterns = [value]
        elif key == "patternProperties" and isinstance(value, dict):
            patterns = list(value)
        for p in patterns:
            try:
                _compiled(p)
            except PatternError as exc:
                problems.append(f"{path}/{key}: {exc}")
    return problems


def check_schema(schema: Any, *, where: str = "the output schema") -> type[Validator]:
    """The validator class for `schema`'s draft; InvalidTaskError if it is not a usable
    JSON Schema, naming the problem and where it is."""
    if not isinstance(schema, dict | bool):
        raise InvalidTaskError(
            f"{where} must be a JSON Schema object (a dict), not {type(schema).__name__}"
        )
    base = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        base.check_schema(cast("dict[str, Any]", schema))
        problems = find_pattern_problems(schema)
        uses = {key for _, key, _ in _walk(schema, "#")}
    except SchemaError as exc:
        at = json_path(exc.path) if exc.path else "$"
        raise InvalidTaskError(
            f"{where} is not a valid JSON Schema ({_draft(base)}): at {at}: {_cut(exc.message)}"
        ) from None
    except RecursionError:
        raise InvalidTaskError(f"{where} is nested too deeply to check") from None
    if problems:
        raise InvalidTaskError(
            f"{where} has a pattern cadenza cannot check in linear time (RE2 has no "
            f"lookaround or backreferences): {problems[0]}; simplify the pattern"
        )
    if {"unevaluatedProperties", "patternProperties"} <= uses and _draft(base) in (
        "Draft 2019-09",
        "Draft 2020-12",
    ):
        raise InvalidTaskError(
            f"{where} combines unevaluatedProperties with patternProperties, which cadenza "
            "cannot check in linear time; drop one of the two"
        )
    return _validator_class(base)


def _draft(cls: type[Validator]) -> str:
    name = cls.__name__.removesuffix("Validator").removeprefix("Draft")
    return {"201909": "Draft 2019-09", "202012": "Draft 2020-12"}.get(name, f"Draft {name}")


# -- validation errors as a model can act on them -------------------------------------------
@dataclass(frozen=True)
class SchemaProblem:
    path: str
    """Where, as a JSON path: ``$`` is the whole value, ``$.items[0].name`` a part of it."""
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def json_path(parts: Any) -> str:
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and p.isidentifier():
            out += f".{p}"
        else:
            out += f"[{json.dumps(p, ensure_ascii=False)}]"
    return out


def _cut(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message(error: ValidationError) -> str:
    msg = error.message
    full = repr(error.instance)
    if len(full) > 40 and msg.startswith(full):  # most messages open with the value itself
        msg = _short(error.instance) + msg[len(full) :]
    return _cut(msg)


class SchemaChecker:
    """Validates instances against one schema; build it once, use it for every candidate."""

    def __init__(self, schema: dict[str, Any] | bool, *, where: str = "the output schema"):
        self.schema = schema
        self._validator = check_schema(schema, where=where)(schema, format_checker=FORMAT_CHECKER)

    @property
    def draft(self) -> str:
        return _draft(type(self._validator))

    def problems(self, instance: Any, *, limit: int = MAX_PROBLEMS) -> list[SchemaProblem]:
        """What is wrong with `instance`, most relevant first; [] when it is valid."""
        errors: list[ValidationError] = []
        try:
            for err in self._validator.iter_errors(instance):
                errors.append(err)
                if len(errors) >= limit:
                    break
        except Unresolvable as exc:
            return [SchemaProblem("$", _cut(f"the schema's reference {exc} cannot be resolved"))]
        except PatternError as exc:
            return [SchemaProblem("$", _cut(f"the schema's pattern {exc} cannot be run"))]
        except RecursionError:
            return [SchemaProblem("$", "the value or the schema is nested too deeply to check")]
        errors.sort(key=relevance, reverse=True)
        return [SchemaProblem(json_path(e.absolute_path), _message(e)) for e in errors]

    def forbidden(self, instance: Any) -> list[tuple[list[str | int], str]]:
        """Properties the schema forbids, as (path of the object, property name).

        Only what ``additionalProperties: false``, ``unevaluatedProperties: false`` or a
        ``false`` property schema rules out; nothing else is ever removed."""
        found: list[tuple[list[str | int], str]] = []
        try:
            errors = list(self._validator.iter_errors(instance))
        except (Unresolvable, PatternError, RecursionError):
            return []
        pending = list(errors)
        while pending:
            err = pending.pop()
            pending.extend(err.context or [])
            parent = list(err.absolute_path)
            if err.validator == "additionalProperties" and err.validator_value is False:
                if isinstance(err.instance, dict) and isinstance(err.schema, dict):
                    found += [(parent, k) for k in _additional(err.instance, err.schema)]
            elif err.validator == "unevaluatedProperties" and err.validator_value is False:
                found += [(parent, k) for k in _unevaluated(self._validator, err)]
            elif err.validator is None and err.message.startswith("False schema"):
                # jsonschema leaves the property's name out of this error's path: find
                # the member of the object that is this very value.
                obj = value_at(instance, parent)
                if isinstance(obj, dict):
                    found += [(parent, k) for k, v in obj.items() if v is err.instance][:1]
        unique: list[tuple[list[str | int], str]] = []
        for item in found:
            if item not in unique:
                unique.append(item)
        return unique


def _unevaluated(validator: Validator, err: ValidationError) -> list[str]:
    if not isinstance(err.instance, dict) or not isinstance(err.schema, dict):
        return []
    from jsonschema import _utils  # the same evaluation jsonschema itself does

    # Safe from Python regular expressions: check_schema refuses this keyword next to
    # patternProperties, the only place where the helper would run one.
    scoped = validator.evolve(schema=err.schema)
    try:
        evaluated = set(
            _utils.find_evaluated_property_keys_by_schema(scoped, err.instance, err.schema)
        )
    except (Unresolvable, RecursionError):
        return []
    return [k for k in err.instance if k not in evaluated]


def value_at(instance: Any, path: list[str | int]) -> Any:
    node = instance
    for p in path:
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            return None
    return node
