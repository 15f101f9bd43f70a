"""`OutputSpec`: what a typed result must be, and how an answer is checked against it.

``output_type`` is either a JSON Schema (a dict) — validated with `jsonschema`, see
`schema.py` — or a type pydantic can validate (a `BaseModel` subclass, ``list[int]``, a
``TypedDict``, a dataclass, ...) — validated by a pydantic `TypeAdapter` in strict mode, so
that no value is coerced into another type (``"3"`` is not an ``int``). Either way the
answer must be one bare JSON value; `repair` lists the only changes cadenza makes on its
own, all of which remove text: unwrapping a Markdown code fence, dropping properties the
schema forbids.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic.errors import PydanticUserError

from ..errors import InvalidTaskError
from .constraint import engine_schema
from .parse import parse_json, unwrap_fence
from .schema import SchemaChecker, SchemaProblem, json_path, value_at

__all__ = ["OutputCheck", "OutputSpec", "Repaired"]

MAX_REASON_CHARS = 600
MAX_REASON_PROBLEMS = 5
PROMPT_SCHEMA_CHARS = 4000
"""The schema as shown in a prompt is cut to this many characters (descriptions go first)."""

_NOTE_KEYS = ("description", "title", "examples", "$comment", "default")
_NAMED_SUBSCHEMAS = ("properties", "patternProperties", "$defs", "definitions")


@dataclass(frozen=True)
class OutputCheck:
    """One answer checked: `ok` and its `value`, or what is wrong (`problems`, or a
    `parse_problem` when it is not JSON at all)."""

    ok: bool
    value: Any = None
    problems: tuple[SchemaProblem, ...] = ()
    parse_problem: str = ""
    truncated: bool = False

    @property
    def score(self) -> float:
        """1 when valid; for JSON with errors 0.5 / number of errors (closer answers rank
        higher, so revisions can climb); 0 when it is not JSON."""
        if self.ok:
            return 1.0
        if self.parse_problem:
            return 0.0
        return 0.5 / max(1, len(self.problems))

    @property
    def reason(self) -> str:
        if self.ok:
            return "a valid JSON value for the output schema"
        if self.parse_problem:
            return self.parse_problem
        n = len(self.problems)
        head = f"{n} schema error{'s' if n != 1 else ''}: " if n > 1 else "schema error: "
        text = head + "; ".join(str(p) for p in self.problems[:MAX_REASON_PROBLEMS])
        if n > MAX_REASON_PROBLEMS:
            text += f"; and {n - MAX_REASON_PROBLEMS} more"
        return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


@dataclass(frozen=True)
class Repaired:
    text: str
    notes: tuple[str, ...]
    """What was removed, e.g. ``unwrapped a Markdown code fence``."""


@dataclass(frozen=True, eq=False)
class OutputSpec:
    """The output type of a run: a JSON Schema, or a Python type with its derived schema.

    Build it with `OutputSpec.of(output_type)`; bad input raises `InvalidTaskError`.
    """

    schema: dict[str, Any] | bool
    """The JSON Schema an answer must match (as given, or derived from the type)."""
    name: str = "output"
    python_type: Any = None
    """The type given, or None for a plain JSON Schema."""
    _checker: SchemaChecker | None = field(default=None, repr=False)
    _adapter: TypeAdapter[Any] | None = field(default=None, repr=False)
    _engine: dict[int, Any] = field(default_factory=dict, repr=False)
    """Engine schemas by level, made once (a large schema is walked on every call else)."""

    @classmethod
    def of(cls, output_type: Any, *, where: str = "output_type") -> OutputSpec:
        if isinstance(output_type, OutputSpec):
            return output_type
        if isinstance(output_type, dict | bool):
            checker = SchemaChecker(output_type, where=f"{where} (a JSON Schema)")
            title = output_type.get("title") if isinstance(output_type, dict) else None
            return cls(output_type, _name(title), None, checker, None)
        if output_type is None or isinstance(output_type, str | int | float | list | tuple):
            raise InvalidTaskError(
                f"{where} must be a JSON Schema (a dict) or a type such as a pydantic model "
                f"or list[int], not {output_type!r}"
            )
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(output_type)
            schema = adapter.json_schema()
        except (PydanticUserError, TypeError, ValueError) as exc:
            raise InvalidTaskError(
                f"{where}: pydantic cannot validate {output_type!r} as JSON ({exc}); give a "
                "pydantic model, a type such as list[int], or a JSON Schema dict"
            ) from None
        name = getattr(output_type, "__name__", None)
        return cls(schema, _name(name or schema.get("title")), output_type, None, adapter)

    # -- checking ----------------------------------------------------------------------
    def check(self, text: str) -> OutputCheck:
        """Check `text` as it is: one bare JSON value that the type or schema accepts."""
        reading = parse_json(text)
        if not reading.ok:
            return OutputCheck(False, parse_problem=reading.problem, truncated=reading.truncated)
        if self._adapter is not None:
            try:
                value = self._adapter.validate_json(text.strip(), strict=True)
            except ValidationError as exc:
                return OutputCheck(False, problems=tuple(_pydantic_problems(exc)))
            return OutputCheck(True, value=value)
        assert self._checker is not None
        problems = self._checker.problems(reading.value)
        if problems:
            return OutputCheck(False, problems=tuple(problems))
        return OutputCheck(True, value=reading.value)

    def value(self, text: str) -> Any:
        """The typed value of an answer that checks; None otherwise."""
        checked = self.check(text)
        return checked.value if checked.ok else None

    def repair(self, text: str) -> Repaired | None:
        """Remove what keeps `text` from checking, where removing is all it takes: a
        Markdown fence around the JSON, properties the schema forbids. Never adds or
        changes a value; None when there is nothing such to remove."""
        notes: list[str] = []
        inner = unwrap_fence(text)
        if inner is not None and inner != text.strip():
            text = inner
            notes.append("unwrapped a Markdown code fence")
        reading = parse_json(text)
        if reading.ok:
            value = reading.value
            dropped: list[str] = []
            for _ in range(8):  # dropping a property can expose another, deeper down
                found = self._forbidden(text, value)
                if not found:
                    break
                value = copy.deepcopy(value) if not dropped else value
                for path, key in found:
                    parent = value_at(value, path)
                    if isinstance(parent, dict) and key in parent:
                        del parent[key]
                        dropped.append(json_path([*path, key]))
                text = json.dumps(value, ensure_ascii=False)
            if dropped:
                notes.append("dropped properties the schema forbids: " + ", ".join(dropped[:10]))
        return Repaired(text, tuple(notes)) if notes else None

    def _forbidden(self, text: str, value: Any) -> list[tuple[list[str | int], str]]:
        if self._checker is not None:
            return self._checker.forbidden(value)
        assert self._adapter is not None
        try:
            self._adapter.validate_json(text, strict=True)
        except ValidationError as exc:
            return [
                ([p for p in err["loc"][:-1]], str(err["loc"][-1]))
                for err in exc.errors(include_url=False)
                if err["type"] == "extra_forbidden" and err["loc"]
            ]
        return []

    # -- what the model and the engine see ---------------------------------------------------
    def engine_schema(self, level: int) -> Any:
        """The schema to constrain decoding with, tightened to `level` (see constraint.py)."""
        if level not in self._engine:
            self._engine[level] = engine_schema(self.schema, level)
        return self._engine[level]

    def prompt_schema(self, max_chars: int = PROMPT_SCHEMA_CHARS) -> str:
        """The schema as compact JSON for a prompt: without its notes if it is too long,
        then cut (and marked as cut) if it still is."""
        text = _compact(self.schema)
        if len(text) > max_chars:
            text = _compact(_without_notes(self.schema))
        if len(text) > max_chars:
            text = text[: max_chars - 20] + " …(schema cut short)"
        return text


def _name(title: Any) -> str:
    """A name engines accept (OpenAI: letters, digits, _ and -, at most 64)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", str(title or "")).strip("_")[:64]
    return name or "output"


def _compact(schema: Any) -> str:
    return json.dumps(schema, ensure_ascii=False, separators=(",", ":"))


def _without_notes(node: Any) -> Any:
    if isinstance(node, list):
        return [_without_notes(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in _NAMED_SUBSCHEMAS and isinstance(v, dict):  # names stay, even "title"
            out[k] = {name: _without_notes(s) for name, s in v.items()}
        elif k in ("enum", "const"):
            out[k] = v
        elif k not in _NOTE_KEYS:
            out[k] = _without_notes(v)
    return out


def _pydantic_problems(exc: ValidationError) -> list[SchemaProblem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "this property is not allowed"
        out.append(SchemaProblem(json_path(loc), " ".join(msg.split())[:160]))
    return out
