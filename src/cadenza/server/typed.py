"""Typed results over HTTP: the output schema a request asks for, and the run's output.

- OpenAI: ``response_format`` ``{"type": "json_object"}`` (any JSON object) or
  ``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``, as the openai
  SDK sends them (``client.chat.completions.parse(response_format=MyModel)`` included).
  cadenza validates every answer against the schema whether ``strict`` is set or not.
- Maestro and ``/v1/runs``: the extension field ``output_schema`` (a JSON Schema).

A run's ``output`` is its answer as JSON when the answer matched the schema, else null;
it is derived from the stored answer and the ``output_schema`` requirement's result, so
nothing more is stored.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidTaskError
from ..output import OutputSpec
from ..output.requirement import OUTPUT_REQUIREMENT
from ..store import RunRecord
from .errors import ApiError, usage_error

__all__ = ["JSON_OBJECT", "check_output_schema", "output_of", "refusal_of", "schema_of_format"]

JSON_OBJECT: dict[str, Any] = {"type": "object"}
"""OpenAI's JSON mode: any JSON object."""


def check_output_schema(schema: Any, param: str) -> dict[str, Any] | bool:
    """`schema` if cadenza can validate against it; else a 422 naming `param` and why."""
    try:
        OutputSpec.of(schema, where=param)
    except InvalidTaskError as exc:
        raise usage_error(exc, param=param) from None
    assert isinstance(schema, dict | bool)
    return schema


def schema_of_format(response_format: dict[str, Any] | None) -> dict[str, Any] | bool | None:
    """The output schema an OpenAI ``response_format`` asks for; None for plain text."""
    if not response_format:
        return None
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return JSON_OBJECT
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or "schema" not in spec:
            raise ApiError(
                400,
                "response_format.json_schema.schema: give the JSON Schema the answer must "
                'match, e.g. {"type": "json_schema", "json_schema": {"name": "answer", '
                '"schema": {...}}}',
                param="response_format.json_schema.schema",
            )
        return check_output_schema(spec["schema"], "response_format.json_schema.schema")
    raise ApiError(
        400,
        f"response_format.type {kind!r} is not supported; use text, json_object or json_schema",
        param="response_format.type",
    )


def _schema_result(record: RunRecord) -> dict[str, Any] | None:
    rr = record.requirements_result or {}
    for r in rr.get("requirements", []):
        if isinstance(r, dict) and r.get("name") == OUTPUT_REQUIREMENT:
            return r
    return None


def output_of(record: RunRecord) -> Any:
    """The run's answer as JSON if it matched the requested schema; None otherwise."""
    checked = _schema_result(record)
    if checked is None or checked.get("score", 0) < 1.0 or record.result is None:
        return None
    try:
        return json.loads(record.result)
    except ValueError:  # cannot happen for an answer that passed the check
        return None


def refusal_of(record: RunRecord) -> str | None:
    """Why a finished typed run has no output (None when it has one, or is untyped)."""
    checked = _schema_result(record)
    if checked is None or checked.get("score", 0) >= 1.0:
        return None
    reason = checked.get("reason") or "no answer was checked"
    return f"cadenza found no answer that matches the schema within the budget: {reason}"
