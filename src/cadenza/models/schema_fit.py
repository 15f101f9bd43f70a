"""How much of a JSON Schema an engine enforces while decoding, found before the call.

llama.cpp turns a schema into a grammar (``common/json-schema-to-grammar.cpp``); it
understands part of JSON Schema and silently lets the rest through (``uniqueItems``,
``not``, ``multipleOf``, most ``format`` values, bounds on non-integers...), warns for some
("JSON schema conversion was incomplete") and fails for others (a remote ``$ref``). The
warning goes to the server's stderr, where a caller cannot see it, so `llamacpp_fit`
follows the converter's own decisions over the schema instead and lists what it will not
enforce. Ollama converts schemas with the same code.

A `SchemaFit` with `refusal` set means the engine cannot take the schema at all (the
provider's `supports` says no); `gaps` are parts it will not enforce: the call runs
constrained by the rest, and cadenza's own validation of the answer decides. Providers
record the gaps in the trace node's detail (``constraint_gaps``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ANNOTATIONS", "ASSERTIONS", "SchemaFit", "llamacpp_fit"]

ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$schema",
        "$id",
        "$comment",
        "$anchor",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$defs",
        "definitions",
        "contentMediaType",
        "contentEncoding",
    }
)
"""Keywords that describe and never reject: no engine needs to enforce them."""

ASSERTIONS = frozenset(
    {
        "type",
        "enum",
        "const",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "format",
        "items",
        "prefixItems",
        "additionalItems",
        "contains",
        "minContains",
        "maxContains",
        "maxItems",
        "minItems",
        "uniqueItems",
        "unevaluatedItems",
        "properties",
        "patternProperties",
        "additionalProperties",
        "propertyNames",
        "maxProperties",
        "minProperties",
        "required",
        "dependentRequired",
        "dependentSchemas",
        "dependencies",
        "unevaluatedProperties",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "$ref",
    }
)
"""JSON Schema keywords that can reject an instance."""

MAX_DEPTH = 64
"""Deeper schemas are refused: a hostile schema must not exhaust the stack."""

_PRIMITIVES = frozenset({"boolean", "number", "integer", "string", "null", "object", "array"})
_LLAMACPP_FORMATS = frozenset({"date", "time", "date-time", "uuid", "uuid1", "uuid2"})
_LLAMACPP_FORMATS |= {"uuid3", "uuid4", "uuid5"}
_UNSUPPORTED_PATTERN_SYNTAX = ("(?", "\\b", "\\B", "\\1", "\\2", "\\p", "\\P", "\\k<")


@dataclass
class SchemaFit:
    """What an engine makes of a schema: refused outright, or enforced but for `gaps`."""

    gaps: list[str] = field(default_factory=list)
    """Parts not enforced while decoding, as ``path: keyword`` (``$.tags: uniqueItems``)."""
    refusal: str | None = None
    """Why the engine cannot take the schema at all, or None."""

    @property
    def complete(self) -> bool:
        return self.refusal is None and not self.gaps


def llamacpp_fit(schema: Any) -> SchemaFit:
    """What llama.cpp's schema-to-grammar converter enforces of `schema`."""
    fit = SchemaFit()
    if not isinstance(schema, Mapping):
        fit.refusal = "the schema is not a JSON object"
        return fit
    _LlamaCpp(schema, fit).visit(schema, "$", 0, frozenset())
    return fit


class _LlamaCpp:
    """Mirrors ``common_schema_converter::visit``: the first branch that applies wins, and
    every assertion keyword of the node that branch does not read is a gap."""

    def __init__(self, root: Mapping[str, Any], fit: SchemaFit) -> None:
        self.root = root
        self.fit = fit

    def gap(self, path: str, what: str) -> None:
        entry = f"{path}: {what}"
        if entry not in self.fit.gaps:
            self.fit.gaps.append(entry)

    def rest(self, node: Mapping[str, Any], path: str, used: set[str]) -> None:
        for key in node:
            if key in ASSERTIONS and key not in used:
                self.gap(path, key)

    def visit(self, node: Any, path: str, depth: int, refs: frozenset[str]) -> None:
        if self.fit.refusal is not None:
            return
        if depth > MAX_DEPTH:
            self.fit.refusal = f"the schema is nested deeper than {MAX_DEPTH} levels"
            return
        if not isinstance(node, Mapping):
            # llama.cpp takes `true`/`false` only as additionalProperties.
            self.fit.refusal = f"{path}: a boolean schema is not supported"
            return
        kind = node.get("type")
        fmt = node.get("format") if isinstance(node.get("format"), str) else ""
        if "$ref" in node:
            self.rest(node, path, {"$ref"})
            self.follow(node["$ref"], path, depth, refs)
            return
        if "oneOf" in node or "anyOf" in node:
            key = "oneOf" if "oneOf" in node else "anyOf"
            alternatives = node[key]
            self.rest(node, path, {key})
            if key == "oneOf":
                self.gap(path, "oneOf (enforced as anyOf: more than one may match)")
            if not isinstance(alternatives, list):
                self.fit.refusal = f"{path}: {key} is not a list"
                return
            for i, alt in enumerate(alternatives):
                self.visit(alt, f"{path}.{key}[{i}]", depth + 1, refs)
            return
        if isinstance(kind, list):
            for t in kind:
                self.visit({**node, "type": t}, path, depth + 1, refs)
            return
        if "const" in node:
            self.rest(node, path, {"const"})
            return
        if "enum" in node:
            self.rest(node, path, {"enum"})
            return
        additional = node.get("additionalProperties")
        if kind in (None, "object") and (
            "properties" in node or ("additionalProperties" in node and additional is not True)
        ):
            self.rest(node, path, {"type", "properties", "required", "additionalProperties"})
            properties = node.get("properties") or {}
            if not isinstance(properties, Mapping):
                self.fit.refusal = f"{path}: properties is not an object"
                return
            for name, sub in properties.items():
                self.visit(sub, f"{path}.{name}", depth + 1, refs)
            if isinstance(additional, Mapping):
                self.visit(additional, f"{path}.*", depth + 1, refs)
            return
        if kind in (None, "object", "string") and "allOf" in node:
            self.rest(node, path, {"type", "allOf"})
            self.all_of(node["allOf"], path, depth, refs)
            return
        if kind in (None, "array") and ("items" in node or "prefixItems" in node):
            used = {"type", "minItems", "maxItems"}
            items = node["items"] if "items" in node else node["prefixItems"]
            used.add("items" if "items" in node else "prefixItems")
            self.rest(node, path, used)
            if isinstance(items, list):
                for i, sub in enumerate(items):
                    self.visit(sub, f"{path}[{i}]", depth + 1, refs)
            else:
                self.visit(items, f"{path}[*]", depth + 1, refs)
            return
        if kind in (None, "string") and "pattern" in node:
            self.rest(node, path, {"type", "pattern"})
            self.pattern(node["pattern"], path)
            return
        if kind in (None, "string") and fmt in _LLAMACPP_FORMATS:
            self.rest(node, path, {"type", "format"})
            return
        if kind == "string" and ("minLength" in node or "maxLength" in node):
            self.rest(node, path, {"type", "minLength", "maxLength"})
            return
        bounds = {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"}
        if kind == "integer" and bounds & set(node):
            for key in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
                if key in node and not _is_int(node[key]):
                    self.gap(path, f"{key} (not a whole number)")
            self.rest(node, path, {"type"} | bounds)
            return
        if not node or kind == "object":
            self.rest(node, path, {"type"})
            return
        if kind is None:
            self.rest(node, path, set())
            return
        if kind not in _PRIMITIVES:
            self.fit.refusal = f"{path}: unknown type {kind!r}"
            return
        self.rest(node, path, {"type"})

    def all_of(self, parts: Any, path: str, depth: int, refs: frozenset[str]) -> None:
        if not isinstance(parts, list):
            self.fit.refusal = f"{path}: allOf is not a list"
            return
        for i, part in enumerate(parts):
            where = f"{path}.allOf[{i}]"
            components = part.get("anyOf") if isinstance(part, Mapping) else None
            for comp in components if isinstance(components, list) else [part]:
                if not isinstance(comp, Mapping):
                    self.fit.refusal = f"{where}: a boolean schema is not supported"
                    return
                if "$ref" in comp:
                    target = self.resolve(comp["$ref"], where)
                    if target is None:
                        return
                    comp = target
                if "properties" in comp:
                    self.rest(comp, where, {"type", "properties", "required"})
                    for name, sub in (comp.get("properties") or {}).items():
                        self.visit(sub, f"{path}.{name}", depth + 1, refs)
                elif "enum" in comp:
                    self.rest(comp, where, {"type", "enum"})
                else:
                    self.rest(comp, where, {"type"})

    def pattern(self, pattern: Any, path: str) -> None:
        if not isinstance(pattern, str) or not pattern:
            self.gap(path, "pattern (not a string)")
        elif not (pattern.startswith("^") and pattern.endswith("$")):
            self.gap(path, "pattern (not anchored with ^ and $: any string is accepted)")
        elif any(s in pattern for s in _UNSUPPORTED_PATTERN_SYNTAX):
            self.gap(path, "pattern (uses syntax llama.cpp's converter does not support)")

    def follow(self, ref: Any, path: str, depth: int, refs: frozenset[str]) -> None:
        if not isinstance(ref, str):
            self.fit.refusal = f"{path}: $ref is not a string"
            return
        if ref in refs:
            return  # recursion: llama.cpp makes a recursive rule; its body is checked once
        target = self.resolve(ref, path)
        if target is not None:
            self.visit(target, ref, depth + 1, refs | {ref})

    def resolve(self, ref: Any, path: str) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            self.fit.refusal = (
                f"{path}: $ref {str(ref)[:80]!r} is not a reference into the same schema"
            )
            return None
        node: Any = self.root
        for token in [t for t in ref[1:].split("/") if t]:
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                self.fit.refusal = f"{path}: $ref {ref[:80]!r} points to nothing"
                return None
        return node


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
