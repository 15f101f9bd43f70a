"""What llama.cpp and the strict modes enforce of a schema, found before any call."""

from __future__ import annotations

from typing import Any

import pytest

from cadenza.models.schema_fit import SchemaFit, llamacpp_fit
from cadenza.models.strict_schema import (
    ANTHROPIC_STRICT,
    OPENAI_STRICT,
    StrictSchema,
    to_strict,
)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 9}, "maxItems": 3},
        {"type": "string", "pattern": "^[a-z]+$"},
        {"type": "string", "format": "date-time"},
        {"enum": ["a", "b"]},
        {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}]},
        {"type": ["string", "null"]},
        {"$defs": {"n": {"type": "integer"}}, "type": "array", "items": {"$ref": "#/$defs/n"}},
        {
            "$defs": {
                "node": {
                    "type": "object",
                    "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                }
            },
            "$ref": "#/$defs/node",
        },
        {"title": "T", "description": "d", "type": "boolean", "default": True},
    ],
)
def test_llamacpp_enforces_these_completely(schema: dict[str, Any]) -> None:
    assert llamacpp_fit(schema).complete


@pytest.mark.parametrize(
    ("schema", "gap"),
    [
        ({"type": "array", "items": {"type": "string"}, "uniqueItems": True}, "$: uniqueItems"),
        ({"type": "string", "pattern": "[a-z]+"}, "$: pattern (not anchored"),
        ({"type": "string", "pattern": "^(?=a)b$"}, "$: pattern (uses syntax"),
        ({"type": "string", "format": "email"}, "$: format"),
        ({"type": "number", "minimum": 0.5}, "$: minimum"),
        ({"type": "integer", "multipleOf": 3}, "$: multipleOf"),
        ({"type": "object", "properties": {}, "minProperties": 1}, "$: minProperties"),
        ({"not": {"type": "null"}}, "$: not"),
        ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, "$: oneOf"),
        ({"type": "string", "pattern": "^a+$", "maxLength": 3}, "$: maxLength"),
        (
            {"type": "object", "properties": {"tags": {"type": "array", "contains": {}}}},
            "$.tags: contains",
        ),
    ],
)
def test_llamacpp_gaps(schema: dict[str, Any], gap: str) -> None:
    fit = llamacpp_fit(schema)
    assert fit.refusal is None
    assert any(g.startswith(gap) for g in fit.gaps), fit.gaps


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ({"$ref": "https://example.com/s.json"}, "not a reference into the same schema"),
        ({"$ref": "#/$defs/missing"}, "points to nothing"),
        ("not a schema", "not a JSON object"),
        ({"type": "array", "items": True}, "boolean schema"),
        ({"type": "spaceship"}, "unknown type"),
    ],
)
def test_llamacpp_refusals(schema: Any, why: str) -> None:
    fit = llamacpp_fit(schema)
    assert fit.refusal is not None and why in fit.refusal


def test_a_hostile_depth_is_refused_not_a_crash() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(5000):
        schema = {"type": "array", "items": schema}
    assert llamacpp_fit(schema).refusal is not None
    assert isinstance(
        to_strict({"type": "object", "properties": {"a": schema}}, OPENAI_STRICT), SchemaFit
    )


def test_strict_narrows_and_drops() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "default": "x"},
            "kind": {"oneOf": [{"const": "a"}, {"const": "b"}]},
            "inner": {"type": "object", "properties": {"x": {"type": "number"}}},
        },
        "required": ["name"],
        "additionalProperties": True,
    }
    out = to_strict(schema, OPENAI_STRICT)
    assert isinstance(out, StrictSchema)
    assert out.schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "kind": {"anyOf": [{"const": "a"}, {"const": "b"}]},
            "inner": {
                "type": "object",
                "properties": {"x": {"type": "number"}},
                "required": ["x"],
                "additionalProperties": False,
            },
        },
        "required": ["name", "kind", "inner"],
        "additionalProperties": False,
    }
    assert out.gaps == (
        "$.name: minLength",
        "$.kind: oneOf (enforced as anyOf: more than one may match)",
    )


def test_strict_rewrites_definitions() -> None:
    schema = {
        "type": "object",
        "properties": {"p": {"$ref": "#/$defs/point"}},
        "$defs": {"point": {"type": "object", "properties": {"x": {"type": "integer"}}}},
    }
    out = to_strict(schema, OPENAI_STRICT)
    assert isinstance(out, StrictSchema)
    assert out.schema["$defs"]["point"]["additionalProperties"] is False
    assert out.schema["$defs"]["point"]["required"] == ["x"]


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ({"type": "array"}, "object at the root"),
        ({"type": "object", "properties": {}, "required": ["x"]}, "not among the properties"),
        ({"type": "object", "properties": {"a": {"$ref": "http://x/y"}}}, "not a reference into"),
        ({"type": "object", "properties": {"a": {"type": "array", "items": [{}]}}}, "tuple"),
    ],
)
def test_strict_refusals(schema: dict[str, Any], why: str) -> None:
    out = to_strict(schema, OPENAI_STRICT)
    assert isinstance(out, SchemaFit) and out.refusal is not None and why in out.refusal


def test_anthropic_strict_refuses_recursion_that_openai_takes() -> None:
    tree = {
        "type": "object",
        "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/t"}}},
        "$defs": {
            "t": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/t"}}},
            }
        },
    }
    assert isinstance(to_strict(tree, OPENAI_STRICT), StrictSchema)
    refused = to_strict(tree, ANTHROPIC_STRICT)
    assert isinstance(refused, SchemaFit) and "recursive" in (refused.refusal or "")
