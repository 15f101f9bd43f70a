"""Planner decisions, driven by the scripted fake model."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

import cadenza
from cadenza import Requirement, RunOptions, Verdict
from cadenza.errors import PermanentProviderError, TransientProviderError
from cadenza.models.base import ModelRequest, ModelResponse
from cadenza.planner import SearchSettings
from cadenza.testing import ScriptedModel


def no_commas(text: str) -> Verdict:
    n = text.count(",")
    return Verdict(1.0 if n == 0 else 1 / (1 + n), f"{n} commas found")


def is_revision(req: ModelRequest) -> bool:
    return "Rewrite your answer" in req.messages[-1].content


async def test_no_requirements_one_call(fast_options: RunOptions) -> None:
    # With nothing to choose between, best-of-N would only spend: one call is enough.
    fake = ScriptedModel(["hello", "hi", "hey", "yo"])
    result = await cadenza.arun("Say hello", models=[fake], options=fast_options)
    assert result.result == "hello"
    assert result.requirements_result.score == 1.0
    assert result.requirements_result.finish_reason == "all_requirements_met"
    assert len(fake.requests) == 1
    assert result.usage.calls == 1
    assert [n.kind for n in result.trace] == ["run", "generate"]


async def test_no_requirements_tries_again_when_the_call_fails(fast_options: RunOptions) -> None:
    fake = ScriptedModel([TransientProviderError("503")] * 3 + ["hello"])
    result = await cadenza.arun("Say hello", models=[fake], options=fast_options)
    assert result.result == "hello"
    assert result.requirements_result.finish_reason == "all_requirements_met"
    generations = [n for n in result.trace if n.kind == "generate"]
    assert [n.status for n in generations] == ["failed", "ok"]


async def test_first_prompt_is_the_input_plus_unstated_requirements(
    fast_options: RunOptions,
) -> None:
    fake = ScriptedModel(["x, y"] * 4 + ["x y"])
    await cadenza.arun(
        "Write a haiku about the sea.",
        [Requirement(description="Do not use any commas", validator=no_commas)],
        models=[fake],
        options=fast_options,
    )
    first = fake.generation_requests[0]
    assert first.temperature == 0.0
    assert first.messages[-1].content == "Write a haiku about the sea.\n\nDo not use any commas."
    # one sample in four sends the input exactly as the user wrote it
    plain = [
        r
        for r in fake.generation_requests
        if r.messages[-1].content == "Write a haiku about the sea."
    ]
    assert plain


async def test_input_that_states_its_requirements_is_sent_unchanged(
    fast_options: RunOptions,
) -> None:
    fake = ScriptedModel(["a b"])
    prompt = "Write a poem. Do not use any commas."
    await cadenza.arun(
        prompt,
        [Requirement(description="Do not use any commas", validator=no_commas)],
        models=[fake],
        options=fast_options,
    )
    assert all(r.messages[-1].content == prompt for r in fake.generation_requests)


async def test_stops_and_cancels_when_a_candidate_meets_everything(
    fast_options: RunOptions,
) -> None:
    calls = 0

    def answer(req: ModelRequest) -> str:
        nonlocal calls
        calls += 1
        return "clean answer" if req.temperature == 0.0 else "a, b, c"

    fast = ScriptedModel(default=answer, delay=0.0)

    class Slow(ScriptedModel):
        async def complete(self, request: ModelRequest):  # type: ignore[no-untyped-def]
            if request.temperature != 0.0:
                await asyncio.sleep(5)
            return await super().complete(request)

    slow = Slow(default=answer, name="fake:slow")
    result = await cadenza.arun(
        "Write",
        [Requirement(description="no commas", validator=no_commas)],
        models=[slow],
        options=fast_options,
    )
    assert result.result == "clean answer"
    assert result.requirements_result.finish_reason == "all_requirements_met"
    statuses = [n.status for n in result.trace if n.kind == "generate"]
    assert statuses.count("ok") == 1 and statuses.count("cancelled") >= 1
    assert result.seconds < 4
    del fast


async def test_generate_and_fix_uses_the_feedback(fast_options: RunOptions) -> None:
    def answer(req: ModelRequest) -> str:
        if is_revision(req):
            return "the sea is calm and blue"
        return "the sea, calm, blue"

    fake = ScriptedModel(default=answer)
    result = await cadenza.arun(
        "Write about the sea",
        [Requirement(description="Do not use any commas", validator=no_commas)],
        models=[fake],
        options=fast_options,
    )
    assert result.result == "the sea is calm and blue"
    assert result.requirements_result.finish_reason == "all_requirements_met"
    revise = [n for n in result.trace if n.kind == "revise"]
    assert revise, "expected a revision"
    parent = next(n for n in result.trace if n.id == revise[0].parent)
    assert parent.kind == "generate"
    fix_prompt = revise[0].messages[-1]["content"]
    assert "2 commas found" in fix_prompt and "Do not use any commas" in fix_prompt
    assert revise[0].messages[-2] == {"role": "assistant", "content": "the sea, calm, blue"}


async def test_llm_judged_requirement(fast_options: RunOptions) -> None:
    fake = ScriptedModel(
        ["hi", "hello please", "yo", "hey"],
        judge=lambda req, text: 1.0 if "please" in text else 0.2,
    )
    result = await cadenza.arun("Greet me", ["Be polite"], models=[fake], options=fast_options)
    assert result.result == "hello please"
    r = result.requirements_result.requirements[0]
    assert r.score == 1.0 and r.validator == "judge:fake:scripted"
    assert [n for n in result.trace if n.kind == "judge" and n.scores]


async def test_unparseable_judge_is_a_failed_judgement_not_a_pass(
    fast_options: RunOptions,
) -> None:
    fake = ScriptedModel(["answer"], judge=lambda req, text: "I like it a lot!")
    opts = RunOptions(
        calls=fast_options.calls,
        search=SearchSettings(max_output_tokens=16, patience=1),
        compile_requirements=False,
    )
    result = await cadenza.arun(
        "Do it", ["Be brief"], models=[fake], options=opts, budget={"max_calls": 6}
    )
    r = result.requirements_result.requirements[0]
    assert r.score == 0.0
    assert "failed judgement" in r.reason
    assert result.requirements_result.finish_reason != "all_requirements_met"
    assert any(n.kind == "judge" and n.status == "failed" for n in result.trace)


async def test_mandatory_requirement_zeroes_the_score(fast_options: RunOptions) -> None:
    fake = ScriptedModel(default="a, b")
    result = await cadenza.arun(
        "x",
        [
            Requirement(description="no commas", validator=no_commas, is_mandatory=True),
            Requirement(description="short", validator=lambda t: True),
        ],
        models=[fake],
        options=fast_options,
        budget={"max_calls": 4},
    )
    rr = result.requirements_result
    assert rr.requirements[1].score == 1.0 and rr.requirements[0].score < 1.0
    assert rr.score == 0.0


async def test_weighted_mean_and_threshold(fast_options: RunOptions) -> None:
    fake = ScriptedModel(default="a, b")
    result = await cadenza.arun(
        "x",
        [
            Requirement(description="no commas", validator=no_commas, weight=1),
            Requirement(description="always", validator=lambda t: True, weight=3),
        ],
        models=[fake],
        options=fast_options,
        threshold=0.8,
        budget={"max_calls": 10},
    )
    rr = result.requirements_result
    assert rr.score == pytest.approx((1 / 2 + 3) / 4)  # "a, b": one comma scores 1/2
    assert rr.finish_reason == "threshold_reached"
    assert result.usage.calls == 1 or rr.score >= 0.8


async def test_weak_candidates_are_dropped_before_judging(fast_options: RunOptions) -> None:
    def answer(req: ModelRequest) -> str:
        return "good answer" if req.temperature == 0.0 else "bad, bad, bad"

    fake = ScriptedModel(default=answer, judge=lambda req, text: 0.5)
    opts = RunOptions(
        calls=fast_options.calls,
        compile_requirements=False,
        search=SearchSettings(max_output_tokens=16, width=1, patience=4),
    )
    result = await cadenza.arun(
        "x",
        [
            Requirement(description="no commas", validator=no_commas, is_mandatory=True),
            "Be interesting",
        ],
        models=[fake],
        options=opts,
        budget={"max_calls": 12},
    )
    judged_candidates = {n.candidate_id for n in result.trace if n.kind == "judge"}
    bad = {
        n.candidate_id
        for n in result.trace
        if n.kind in ("generate", "revise") and n.response == "bad, bad, bad"
    }
    assert bad, "expected some bad candidates"
    assert not (judged_candidates & bad)


async def test_a_validator_that_always_raises_stops_the_run(fast_options: RunOptions) -> None:
    # Generation cannot fix a broken validator: spending the budget would only hide it.
    def broken(text: str) -> bool:
        raise KeyError("oops")

    fake = ScriptedModel(["answer one", "answer two", "answer three", "answer four"])
    result = await cadenza.arun(
        "x",
        [Requirement(name="keyed", description="d", validator=broken)],
        models=[fake],
        options=fast_options,
        budget={"max_calls": 16},
    )
    rr = result.requirements_result
    assert rr.finish_reason == "error"
    assert "'broken'" in rr.finish_message and "KeyError" in rr.finish_message
    assert "'keyed'" in rr.finish_message
    assert result.usage.calls <= 4  # the first answers only, not the 16 the budget allows
    r = rr.requirements[0]
    assert r.score == 0.0 and "validator failed" in r.reason and "KeyError" in r.reason
    assert result.result.startswith("answer")  # the best candidate is kept...
    assert any(n.kind == "check" and n.status == "failed" for n in result.trace)  # ...and the trace
    assert result.trace[0].error == rr.finish_message


async def test_a_validator_that_raises_on_the_same_answer_twice_stops(
    fast_options: RunOptions,
) -> None:
    # The repeated answer is not checked again, but it counts: the check would raise again.
    def broken(text: str) -> bool:
        raise ValueError("bad")

    fake = ScriptedModel(default="answer")
    result = await cadenza.arun(
        "x",
        [Requirement(description="d", validator=broken)],
        models=[fake],
        options=fast_options,
        budget={"max_calls": 16},
    )
    assert result.requirements_result.finish_reason == "error"
    assert result.usage.calls < 16
    assert result.result == "answer"


async def test_a_validator_that_raises_on_some_answers_only_is_a_failed_requirement(
    fast_options: RunOptions,
) -> None:
    # json.loads on prose raises; on JSON it answers. That validator is not broken.
    import json

    def has_key(text: str) -> bool:
        return "key" in json.loads(text)

    def answer(req: ModelRequest) -> str:
        return '{"key": 1}' if is_revision(req) else "prose, not JSON"

    fake = ScriptedModel(default=answer)
    opts = RunOptions(
        calls=fast_options.calls,
        compile_requirements=False,
        # only a revision writes JSON here (focused samples off: they would write prose)
        search=SearchSettings(max_output_tokens=16, width=1, focus=False),
    )
    result = await cadenza.arun(
        "x",
        [Requirement(description="JSON with a key", validator=has_key)],
        models=[fake],
        options=opts,
        budget={"max_calls": 8},
    )
    assert result.requirements_result.finish_reason == "all_requirements_met"
    assert result.result == '{"key": 1}'
    assert any(n.kind == "check" and n.status == "failed" for n in result.trace)


async def test_budget_exhausted_keeps_best(fast_options: RunOptions) -> None:
    fake = ScriptedModel(default="one, two three four")
    result = await cadenza.arun(
        "count",
        [Requirement(description="no commas", validator=no_commas)],
        models=[fake],
        options=fast_options,
        budget={"max_tokens": 120},
    )
    assert result.requirements_result.finish_reason == "budget_exhausted"
    assert result.result == "one, two three four"
    assert result.usage.total_tokens <= 120
    assert "tokens" in result.requirements_result.finish_message


async def test_permanent_error_stops_with_clear_status(fast_options: RunOptions) -> None:
    fake = ScriptedModel(default=PermanentProviderError("401: set OPENAI_API_KEY"))
    result = await cadenza.arun("x", ["y"], models=[fake], options=fast_options)
    rr = result.requirements_result
    assert rr.finish_reason == "error"
    assert "OPENAI_API_KEY" in rr.finish_message
    assert result.result == ""
    assert all(n.status in ("failed", "cancelled") for n in result.trace if n.kind == "generate")


async def test_transient_errors_are_retried(fast_options: RunOptions) -> None:
    fake = ScriptedModel([TransientProviderError("429 rate limited"), "fine"])
    result = await cadenza.arun(
        "x",
        models=[fake],
        options=RunOptions(
            calls=fast_options.calls, compile_requirements=False, search=SearchSettings(width=1)
        ),
    )
    assert result.result == "fine"
    node = next(n for n in result.trace if n.kind == "generate")
    assert node.attempts == 2 and node.status == "ok"
    assert result.usage.calls == 2


async def test_time_limit(fast_options: RunOptions) -> None:
    fake = ScriptedModel(default="a, b", delay=0.2)
    result = await cadenza.arun(
        "x",
        [Requirement(description="no commas", validator=no_commas)],
        models=[fake],
        options=fast_options,
        budget={"max_calls": 100, "max_seconds": 0.7},
    )
    assert result.requirements_result.finish_reason == "budget_exhausted"
    assert "time limit" in result.requirements_result.finish_message
    assert result.result == "a, b"
    assert result.seconds < 2


async def test_no_call_is_started_that_the_time_left_cannot_finish(
    fast_options: RunOptions,
) -> None:
    # Calls take 0.2 s; once the run has seen that, it does not start one with less left.
    fake = ScriptedModel(default=lambda r: f"a, b {len(fake.requests)}", delay=0.2)
    opts = RunOptions(
        calls=fast_options.calls,
        compile_requirements=False,
        search=SearchSettings(max_output_tokens=16, width=1),
    )
    result = await cadenza.arun(
        "x",
        [Requirement(description="no commas", validator=no_commas)],
        models=[fake],
        options=opts,
        budget={"max_calls": 100, "max_seconds": 0.9},
    )
    rr = result.requirements_result
    assert rr.finish_reason == "budget_exhausted"
    assert "time limit" in rr.finish_message and "expected" in rr.finish_message
    assert not [n for n in result.trace if n.status == "cancelled"]
    assert 2 <= result.usage.calls <= 4


async def test_no_call_is_started_that_the_dollars_left_would_cut_short(
    fast_options: RunOptions,
) -> None:
    # Without the estimate, the last call gets only the few tokens the dollars left buy.
    cadenza.register_price("fake:priced", 1000.0, 1000.0)  # $0.001 a token
    words = " ".join(["word"] * 40)
    fake = ScriptedModel(default=lambda r: f"{words} {len(fake.requests)}", name="fake:priced")
    result = await cadenza.arun(
        "Write",
        [Requirement(description="d", validator=lambda t: 0.5)],
        models=[fake],
        options=fast_options,
        budget={"max_usd": 0.2},
    )
    assert result.requirements_result.finish_reason == "budget_exhausted"
    assert result.usage.cost_usd <= 0.2
    generated = [n for n in result.trace if n.kind in ("generate", "revise")]
    assert len(generated) >= 2
    assert all(n.detail.get("finish_reason") == "stop" for n in generated)


@dataclass
class _AnswersOnce(ScriptedModel):
    """Its first call answers; every later call waits until it is cancelled."""

    waiting: asyncio.Event = field(default_factory=asyncio.Event)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if self.requests:
            self.requests.append(request)
            self.waiting.set()
            await asyncio.Event().wait()
        return await super().complete(request)


async def test_cancel_returns_best_so_far(fast_options: RunOptions) -> None:
    # Cancelled once the first answer is the best and another call is under way (no
    # timing: under load a timed cancel could fall where no call was running).
    fake = _AnswersOnce(default="a, b")
    control = cadenza.RunControl()
    best = asyncio.Event()

    def on_event(event: cadenza.RunEvent) -> None:
        if event.kind == "best_changed":
            best.set()

    async def cancel_while_a_call_runs() -> None:
        await best.wait()
        await fake.waiting.wait()
        control.cancel()

    canceller = asyncio.get_running_loop().create_task(cancel_while_a_call_runs())
    result = await cadenza.arun(
        "x",
        [Requirement(description="no commas", validator=no_commas)],
        models=[fake],
        options=fast_options,
        budget={"max_calls": 1000},
        control=control,
        on_event=on_event,
    )
    canceller.cancel()  # a run that ended on its own fails below instead of hanging here
    assert result.requirements_result.finish_reason == "cancelled"
    assert result.result == "a, b"
    assert any(n.status == "cancelled" for n in result.trace)


async def test_several_models_share_the_work(fast_options: RunOptions) -> None:
    a = ScriptedModel(default="a, a", name="fake:a")
    b = ScriptedModel(default="b, b", name="fake:b")
    result = await cadenza.arun(
        "x",
        [Requirement(description="no commas", validator=no_commas)],
        models=[a, b],
        options=fast_options,
        budget={"max_calls": 8},
    )
    assert a.requests and b.requests
    assert {n.model for n in result.trace if n.kind == "generate"} == {"fake:a", "fake:b"}


def test_sync_run_refuses_inside_a_loop() -> None:
    async def inner() -> None:
        with pytest.raises(RuntimeError, match="arun"):
            cadenza.run("x", models=[ScriptedModel(["y"])])

    asyncio.run(inner())


def test_sync_run() -> None:
    result = cadenza.run("x", models=[ScriptedModel(["y"])])
    assert result.result == "y"


async def test_deterministic_repair_is_marked_and_can_be_turned_off(
    fast_options: RunOptions,
) -> None:
    cadenza.validators.register_validator(
        "test_lowercase",
        lambda text: text == text.lower(),
        repair=lambda text, ctx: text.lower(),
    )
    req = Requirement(description="all lowercase", validator="test_lowercase")
    fake = ScriptedModel(default="Hello World")
    result = await cadenza.arun("x", [req], models=[fake], options=fast_options)
    assert result.result == "hello world"
    assert result.requirements_result.finish_reason == "all_requirements_met"
    repair = [n for n in result.trace if n.kind == "repair"]
    assert len(repair) == 1 and repair[0].detail["repairs"] == ["test_lowercase"]
    assert repair[0].input_tokens == 0 and repair[0].model is None
    assert result.usage.calls == len(fake.requests)

    off = RunOptions(
        calls=fast_options.calls,
        compile_requirements=False,
        search=SearchSettings(max_output_tokens=16, repairs=False, patience=2),
    )
    fake = ScriptedModel(default="Hello World")
    result = await cadenza.arun("x", [req], models=[fake], options=off, budget={"max_calls": 6})
    assert result.result == "Hello World"
    assert not [n for n in result.trace if n.kind == "repair"]


async def test_repairs_are_reapplied_when_one_undoes_another(
    fast_options: RunOptions,
) -> None:
    # Appending the end phrase brings capitals back after lowercasing; a second pass
    # of the free checks lowercases again, and both requirements end up met.
    reqs = [
        Requirement(
            name="lower", description="all lowercase", validator="change_case:english_lowercase"
        ),
        Requirement(
            name="end",
            description="end with the phrase",
            validator="startend:end_checker",
            validator_args={"end_phrase": "Any questions?"},
        ),
    ]
    fake = ScriptedModel(default="The sea is wide and calm today.")
    result = await cadenza.arun("x", reqs, models=[fake], options=fast_options)
    assert result.requirements_result.finish_reason == "all_requirements_met"
    assert result.result == "the sea is wide and calm today.\n\nany questions?"
    (node,) = [n for n in result.trace if n.kind == "repair"]
    assert node.detail["repairs"] == ["change_case:english_lowercase", "startend:end_checker"]
    assert result.usage.calls == len(fake.requests)


async def test_identical_answers_are_not_evaluated_twice(fast_options: RunOptions) -> None:
    checked: list[str] = []

    def check(text: str) -> bool:
        checked.append(text)
        return False

    fake = ScriptedModel(default="same answer")
    result = await cadenza.arun(
        "x",
        [Requirement(description="never", validator=check)],
        models=[fake],
        options=fast_options,
        budget={"max_calls": 8},
    )
    assert checked == ["same answer"]
    dups = [n for n in result.trace if n.detail.get("duplicate_of")]
    assert len(dups) == len(fake.requests) - 1


async def test_unaffordable_calls_leave_no_node(fast_options: RunOptions) -> None:
    fake = ScriptedModel(default="a, b")
    result = await cadenza.arun(
        "x",
        [Requirement(description="no commas", validator=no_commas)],
        models=[fake],
        options=fast_options,
        budget={"max_calls": 3},
    )
    calls = [n for n in result.trace if n.kind in ("generate", "revise", "judge")]
    assert len(calls) == result.usage.calls == 3
    assert all(n.status in ("ok", "failed", "cancelled") for n in result.trace)
