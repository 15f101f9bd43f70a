"""JSON Schemas rewritten for the strict structured-output modes of OpenAI and Anthropic.

Strict modes enforce a schema while decoding but take only a subset of JSON Schema: every
object closed (``additionalProperties: false``) with every property required, and a fixed
list of keywords. `to_strict` rewrites a schema into that subset:

- it *narrows* where that keeps every answer valid under the original schema: objects are
  closed, and optional properties become required;
- it *drops* keywords the mode rejects; each dropped assertion is a gap, recorded in the
  trace, and cadenza's validation of the answer enforces it;
- it *refuses* (returns a `SchemaFit` with a refusal) what it cannot express: a root that is
  not an object, a reference outside the schema, a required property the closed object
  would forbid, a schema past the mode's size limits. The provider's ``supports`` then
  says no and the answer is validated instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .schema_fit import ANNOTATIONS, ASSERTIONS, MAX_DEPTH, SchemaFit

__all__ = ["ANTHROPIC_STRICT", "OPENAI_STRICT", "StrictProfile", "StrictSchema", "to_strict"]


@dataclass(frozen=True)
class StrictProfile:
    """What one provider's strict mode accepts."""

    name: str
    keep: frozenset[str]
    """Keywords sent as they are (after their subschemas are rewritten)."""
    formats: frozenset[str]
    """``format`` values the mode enforces; others are dropped (a gap)."""
    max_depth: int
    max_properties: int
    max_enum: int
    recursion: bool
    """Whether a ``$ref`` may point back to an enclosing schema."""
    max_min_items: int | None = None
    """The largest ``minItems`` the mode takes (None: any); larger ones are dropped."""


_STRUCTURE = frozenset(
    {"type", "properties", "required", "additionalProperties", "items", "enum", "const"}
)
_STRUCTURE |= {"anyOf", "$ref", "$defs", "definitions", "description", "title"}

OPENAI_STRICT = StrictProfile(
    name="OpenAI strict structured outputs",
    keep=_STRUCTURE
    | {
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    },
    formats=frozenset(
        {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
    ),
    max_depth=10,
    max_properties=5000,
    max_enum=1000,
    recursion=True,
)

ANTHROPIC_STRICT = StrictProfile(
    name="Anthropic strict tool use",
    keep=_STRUCTURE | {"allOf", "format", "default", "minItems"},
    formats=frozenset(
        {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6"}
    )
    | {"uuid"},
    max_depth=MAX_DEPTH,
    max_properties=5000,
    max_enum=1000,
    recursion=False,
    max_min_items=1,
)


@dataclass(frozen=True)
class StrictSchema:
    schema: dict[str, Any]
    gaps: tuple[str, ...]


def to_strict(schema: Any, profile: StrictProfile) -> StrictSchema | SchemaFit:
    """`schema` in `profile`'s subset, or a `SchemaFit` saying why it cannot be."""
    fit = SchemaFit()
    if not isinstance(schema, Mapping):
        fit.refusal = "the schema is not a JSON object"
        return fit
    if schema.get("type") != "object" and "properties" not in schema:
        fit.refusal = f"{profile.name} needs an object at the root of the schema"
        return fit
    rewriter = _Rewriter(schema, profile, fit)
    out = rewriter.node(schema, "$", 0, frozenset())
    for defs in ("$defs", "definitions"):
        if isinstance(schema.get(defs), Mapping) and isinstance(out, dict):
            out[defs] = {
                name: rewriter.node(sub, f"#/{defs}/{name}", 1, frozenset({f"#/{defs}/{name}"}))
                for name, sub in schema[defs].items()
            }
    if rewriter.properties > profile.max_properties:
        fit.refusal = f"{profile.name} takes at most {profile.max_properties} properties"
    if fit.refusal is not None or not isinstance(out, dict):
        return fit
    return StrictSchema(out, tuple(fit.gaps))


class _Rewriter:
    def __init__(self, root: Mapping[str, Any], profile: StrictProfile, fit: SchemaFit) -> None:
        self.root = root
        self.profile = profile
        self.fit = fit
        self.properties = 0

    def gap(self, path: str, what: str) -> None:
        entry = f"{path}: {what}"
        if entry not in self.fit.gaps:
            self.fit.gaps.append(entry)

    def refuse(self, why: str) -> None:
        if self.fit.refusal is None:
            self.fit.refusal = why

    def node(self, node: Any, path: str, depth: int, refs: frozenset[str]) -> Any:
        if self.fit.refusal is not None:
            return {}
        if depth > self.profile.max_depth:
            self.refuse(f"{self.profile.name} takes at most {self.profile.max_depth} levels")
            return {}
        if not isinstance(node, Mapping):
            self.refuse(f"{path}: a boolean schema is not supported by {self.profile.name}")
            return {}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("$defs", "definitions") and path != "$":
                self.refuse(f"{path}: {key} below the root is not supported")
            elif key == "oneOf" and "anyOf" not in node:
                self.gap(path, "oneOf (enforced as anyOf: more than one may match)")
                out["anyOf"] = self.many(value, f"{path}.oneOf", depth, refs)
            elif key not in self.profile.keep:
                if key in ASSERTIONS:
                    self.gap(path, key)
                elif key not in ANNOTATIONS:
                    pass  # unknown keywords assert nothing: drop them
            elif key == "format" and value not in self.profile.formats:
                self.gap(path, f"format {str(value)[:40]!r}")
            elif key == "minItems" and (
                self.profile.max_min_items is not None
                and isinstance(value, int)
                and value > self.profile.max_min_items
            ):
                self.gap(path, f"minItems {value}")
            elif key == "enum" and isinstance(value, list) and len(value) > self.profile.max_enum:
                limit = self.profile.max_enum
                self.refuse(f"{path}: {self.profile.name} takes at most {limit} enum values")
            elif key in ("anyOf", "allOf"):
                if path == "$":
                    self.refuse(f"{self.profile.name} needs a plain object at the root, not {key}")
                out[key] = self.many(value, f"{path}.{key}", depth, refs)
            elif key == "items":
                if isinstance(value, list):
                    self.refuse(f"{path}: a list of items (a tuple) is not supported")
                else:
                    out[key] = self.node(value, f"{path}[*]", depth + 1, refs)
            elif key == "properties":
                out[key] = self.props(value, path, depth, refs)
            elif key == "$ref":
                out[key] = self.ref(value, path, refs)
            elif key in ("$defs", "definitions", "additionalProperties", "required"):
                pass  # definitions: rewritten once at the root; objects: closed below
            else:
                out[key] = value
        if node.get("type") == "object" or "properties" in node:
            self.close(node, out, path)
        return out

    def many(self, value: Any, path: str, depth: int, refs: frozenset[str]) -> list[Any]:
        if not isinstance(value, list):
            self.refuse(f"{path} is not a list")
            return []
        return [self.node(v, f"{path}[{i}]", depth + 1, refs) for i, v in enumerate(value)]

    def props(self, value: Any, path: str, depth: int, refs: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            self.refuse(f"{path}: properties is not an object")
            return {}
        self.properties += len(value)
        return {
            str(name): self.node(sub, f"{path}.{name}", depth + 1, refs)
            for name, sub in value.items()
        }

    def close(self, node: Mapping[str, Any], out: dict[str, Any], path: str) -> None:
        """Close the object and require every property: both only narrow what is valid."""
        properties = out.setdefault("properties", {})
        required = node.get("required") or []
        missing = [r for r in required if isinstance(r, str) and r not in properties]
        if missing:
            self.refuse(
                f"{path}: required {missing[0]!r} is not among the properties, and "
                f"{self.profile.name} closes every object"
            )
        out["required"] = list(properties)
        out["additionalProperties"] = False

    def ref(self, value: Any, path: str, refs: frozenset[str]) -> Any:
        if not isinstance(value, str) or not (
            value.startswith("#/$defs/") or value.startswith("#/definitions/") or value == "#"
        ):
            self.refuse(f"{path}: $ref {str(value)[:80]!r} is not a reference into $defs")
            return value
        if not self.profile.recursion and (value == "#" or _in_cycle(self.root, value)):
            self.refuse(f"{path}: recursive schemas are not supported by {self.profile.name}")
        section, _, name = value[2:].partition("/")
        if value != "#" and not (
            isinstance(self.root.get(section), Mapping) and name in self.root[section]
        ):
            self.refuse(f"{path}: $ref {value[:80]!r} points to nothing")
        return value


def _refs_in(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(v for k, v in item.items() if k not in ("$defs", "definitions"))
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _target(root: Mapping[str, Any], ref: str) -> Any:
    section, _, name = ref[2:].partition("/")
    defs = root.get(section)
    return defs.get(name) if isinstance(defs, Mapping) else None


def _in_cycle(root: Mapping[str, Any], start: str) -> bool:
    """Whether following references from `start` comes back to it (or to the root)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        ref = todo.pop()
        for nxt in _refs_in(_target(root, ref)):
            if nxt == start or nxt == "#":
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False
