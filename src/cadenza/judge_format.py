"""What a judge prompt and a judge's answer look like, shared by the judge
(`cadenza.validators.judge`), the planner's judge call, and the scripted fake
(`cadenza.testing`), none of which needs to import another for it.

A verdict is a score from 0 to 10, then a short reason; score first, so an answer cut at
the token limit still has its score. Models that can enforce a format while decoding are
held to one of `VERDICT_FORMATS`:

- `VERDICT_GRAMMAR`: the plain-text form the judge prompt asks for, ``SCORE: <0-10>`` then
  ``REASON: <one line>`` (GBNF, for llama.cpp and vLLM);
- `VERDICT_SCHEMA`: ``{"score": <0-10>, "reason": "..."}`` (JSON Schema, for the others).

Both bound the reason (`REASON_MAX_CHARS`), so a small model cannot spend the call's
whole token limit inside it.
"""

from __future__ import annotations

from typing import Any

from .models.base import ResponseFormat

__all__ = [
    "CANDIDATE_TAG",
    "REASON_MAX_CHARS",
    "VERDICT_FORMATS",
    "VERDICT_GRAMMAR",
    "VERDICT_SCHEMA",
]

CANDIDATE_TAG = "candidate"
"""The candidate sits between <candidate> and </candidate> in every judge prompt."""

REASON_MAX_CHARS = 120

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "score": {"type": "integer", "minimum": 0, "maximum": 10},
        "reason": {"type": "string", "minLength": 1, "maxLength": REASON_MAX_CHARS},
    },
    "required": ["score", "reason"],
    "additionalProperties": False,
}

VERDICT_GRAMMAR = (
    'root ::= "SCORE: " score "\\nREASON: " reason\n'
    'score ::= "10" | [0-9]\n'
    f"reason ::= [^\\n\\r] [^\\n\\r]{{0,{REASON_MAX_CHARS - 1}}}\n"
)

VERDICT_FORMATS = (
    ResponseFormat("grammar", grammar=VERDICT_GRAMMAR, name="verdict"),
    ResponseFormat("json_schema", schema=VERDICT_SCHEMA, name="verdict"),
)
"""In order of preference: the first one a judge model supports is used."""
