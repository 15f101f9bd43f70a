"""Constrained decoding on OpenAI-compatible servers: which formats each server enforces,
and how a `ResponseFormat` is written on its wire.

Every such server takes the same chat request but its own way of constraining it:

- `LLAMACPP` (the embedded ``local:``, ``llamacpp:``): JSON mode and JSON Schema in
  ``response_format`` (through llama.cpp's converter; `llamacpp_fit` finds its gaps), GBNF
  grammars in the ``grammar`` field;
- `OPENAI` (api.openai.com): JSON mode, and JSON Schema as strict ``json_schema``
  (rewritten by `to_strict`); no grammars;
- `VLLM`: JSON mode and JSON Schema in ``response_format``, grammars in
  ``structured_outputs.grammar`` (vLLM 0.12 and later);
- `OLLAMA`: JSON mode and JSON Schema in ``response_format`` (Ollama hands the schema to
  llama.cpp's converter); no grammars;
- `NO_CONSTRAINTS` (OpenRouter, a server named only by URL: cadenza cannot tell what it
  enforces): none.

A dialect's `wire` gives the request fields and the `gaps`: parts of the format the server
will not enforce, recorded in the trace; cadenza validates the answer in any case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .base import ResponseFormat
from .schema_fit import SchemaFit, llamacpp_fit
from .strict_schema import OPENAI_STRICT, StrictSchema, to_strict

__all__ = [
    "FORMAT_DROPPED",
    "JSON_OBJECT_NOTE",
    "LLAMACPP",
    "NO_CONSTRAINTS",
    "OLLAMA",
    "OPENAI",
    "VLLM",
    "ConstraintDialect",
    "WireConstraint",
]

FORMAT_DROPPED = "the server refused the response format: this answer was not constrained"
"""The gap recorded when a server refuses a format cadenza thought it took: the call is
made again without it, and cadenza's validation decides."""

JSON_OBJECT_NOTE = "Reply with a JSON object."
"""Added as a system message when OpenAI's JSON mode is asked for and no message says
"JSON": OpenAI refuses JSON mode otherwise."""


@dataclass(frozen=True)
class WireConstraint:
    """How one constrained request looks on the wire."""

    response_format: dict[str, Any] | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    gaps: tuple[str, ...] = ()
    needs_json_word: bool = False
    """OpenAI's JSON mode needs the word "JSON" in the messages."""


SchemaHandling = Literal["none", "llamacpp", "openai_strict", "as_is"]


@dataclass(frozen=True)
class ConstraintDialect:
    """One server family's constrained decoding."""

    name: str
    json_object: bool = False
    json_schema: SchemaHandling = "none"
    """How the server takes a schema: not at all, through llama.cpp's converter, OpenAI's
    strict mode, or as it is (a server whose gaps cadenza cannot tell)."""
    grammar_field: tuple[str, ...] = ()
    """Where a GBNF grammar goes in the request body; empty: no grammars."""
    json_word: bool = False
    """JSON mode needs the word "JSON" in the messages (OpenAI)."""

    def fit(self, fmt: ResponseFormat) -> SchemaFit | None:
        """What the server makes of `fmt`'s schema (None: nothing cadenza can tell)."""
        if fmt.kind != "json_schema":
            return None
        if self.json_schema == "openai_strict":
            strict = to_strict(fmt.schema, OPENAI_STRICT)
            return SchemaFit(list(strict.gaps)) if isinstance(strict, StrictSchema) else strict
        if self.json_schema == "llamacpp":
            return llamacpp_fit(fmt.schema)
        return None

    def supports(self, fmt: ResponseFormat) -> bool:
        if fmt.kind == "json_object":
            return self.json_object
        if fmt.kind == "grammar":
            return bool(self.grammar_field)
        if self.json_schema == "none":
            return False
        if self.json_schema == "openai_strict" and not fmt.strict:
            return False  # OpenAI enforces a schema only in strict mode
        fit = self.fit(fmt)
        return fit is None or fit.refusal is None

    def wire(self, fmt: ResponseFormat) -> WireConstraint:
        """The request fields for `fmt`; raises ValueError if `supports` says no."""
        if not self.supports(fmt):
            raise ValueError(f"{self.name} cannot enforce a {fmt.kind} response format")
        if fmt.kind == "json_object":
            return WireConstraint({"type": "json_object"}, needs_json_word=self.json_word)
        if fmt.kind == "grammar":
            body: dict[str, Any] = {}
            inner = body
            for key in self.grammar_field[:-1]:
                inner = inner.setdefault(key, {})
            inner[self.grammar_field[-1]] = fmt.grammar or ""
            return WireConstraint(extra_body=body)
        schema: dict[str, Any] = dict(fmt.schema or {})
        strict: dict[str, Any] = {}
        gaps: tuple[str, ...] = ()
        if self.json_schema == "openai_strict":
            rewritten = to_strict(fmt.schema, OPENAI_STRICT)
            assert isinstance(rewritten, StrictSchema)  # supports() said yes
            schema, gaps, strict = rewritten.schema, rewritten.gaps, {"strict": True}
        else:
            fit = self.fit(fmt)
            gaps = tuple(fit.gaps) if fit is not None else ()
        json_schema = {"name": _name(fmt.name), "schema": schema, **strict}
        return WireConstraint({"type": "json_schema", "json_schema": json_schema}, gaps=gaps)


def _name(name: str) -> str:
    """OpenAI's rule for a format's name: a-z, A-Z, 0-9, _ and -, at most 64."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in name)
    return cleaned[:64] or "output"


NO_CONSTRAINTS = ConstraintDialect("this server")
LLAMACPP = ConstraintDialect(
    "llama.cpp", json_object=True, json_schema="llamacpp", grammar_field=("grammar",)
)
OPENAI = ConstraintDialect("OpenAI", json_object=True, json_schema="openai_strict", json_word=True)
VLLM = ConstraintDialect(
    "vLLM", json_object=True, json_schema="as_is", grammar_field=("structured_outputs", "grammar")
)
OLLAMA = ConstraintDialect("Ollama", json_object=True, json_schema="llamacpp")
