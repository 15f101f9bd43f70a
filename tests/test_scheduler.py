"""The event-driven search: no rounds, one decision at a time, the work in flight counted."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cadenza
from cadenza import Requirement, RunOptions, Verdict
from cadenza.engine import BudgetLedger, CallRunner, CallSettings
from cadenza.models.base import ModelRequest, ModelResponse
from cadenza.planner import (
    Action,
    ActionContext,
    Candidate,
    Estimate,
    Judged,
    KindStats,
    Policy,
    Produced,
    Revise,
    RunState,
    Sample,
    Search,
    SearchSettings,
    SearchView,
    default_kinds,
)
from cadenza.planner.costs import CostModel
from cadenza.planner.evaluation import Evaluator
from cadenza.planner.state import RunState as _RunState
from cadenza.task import make_task
from cadenza.testing import ScriptedModel
from cadenza.trace import TraceRecorder


def no_commas(text: str) -> Verdict:
    n = text.count(",")
    return Verdict(1.0 if n == 0 else 1 / (1 + n), f"{n} commas found")


def is_revision(req: ModelRequest) -> bool:
    return "Rewrite your answer" in req.messages[-1].content


COMMAS = Requirement(name="commas", description="Do not use any commas", validator=no_commas)


async def test_a_revision_starts_while_a_slow_sample_is_still_running(
    fast_options: RunOptions,
) -> None:
    # The samples at temperature > 0 cannot finish until a revision has started. With
    # rounds, the revision would wait for them and the run would never end: the deadline
    # below only catches that deadlock, it measures nothing.
    revision_started = asyncio.Event()
    events: list[str] = []

    class Gated(ScriptedModel):
        async def complete(self, request: ModelRequest) -> ModelResponse:
            if is_revision(request):
                events.append("revision started")
                revision_started.set()
            elif request.temperature > 0:
                await revision_started.wait()
            response = await super().complete(request)
            events.append(f"{'revision' if is_revision(request) else 'sample'} done")
            return response

    fake = Gated(default=lambda r: "no commas here" if is_revision(r) else f"a, b {r.temperature}")
    # No call timeout may end the slow samples: only a revision can (focused samples
    # off: at temperature > 0 they would wait like the samples).
    options = replace(
        fast_options,
        calls=CallSettings(retries=0, timeout_s=600),
        search=replace(fast_options.search, focus=False),
    )
    result = await asyncio.wait_for(
        cadenza.arun("Write", [COMMAS], models=[fake], options=options), timeout=20
    )
    assert result.requirements_result.finish_reason == "all_requirements_met"
    assert result.result == "no commas here"
    assert events[0] == "sample done"  # the greedy sample
    assert events[1] == "revision started"  # ...revised while the others still ran
    revise = next(n for n in result.trace if n.kind == "revise")
    parent = next(n for n in result.trace if n.id == revise.parent)
    assert parent.kind == "generate" and parent.temperature == 0.0
    assert not [n for n in result.trace if n.status == "failed"]


async def test_every_slot_is_used_without_rounds(fast_options: RunOptions) -> None:
    # 8 slots: the first wave is 8 samples, and each sample's end starts the next action
    # at once. Whatever the order, no more than 8 calls ever run at once, and the run
    # reaches 8 at the start.
    running = 0
    peak: list[int] = []

    class Counting(ScriptedModel):
        async def complete(self, request: ModelRequest) -> ModelResponse:
            nonlocal running
            running += 1
            peak.append(running)
            await asyncio.sleep(0)
            try:
                return await super().complete(request)
            finally:
                running -= 1

    fake = Counting(default=lambda r: f"a, b, c {len(fake.requests)}", max_concurrency=8)
    result = await cadenza.arun(
        "Write", [COMMAS], models=[fake], options=fast_options, budget={"max_calls": 24}
    )
    assert max(peak) == 8
    assert result.usage.calls == 24 == len(fake.requests)


def _state_with(*texts_and_scores: tuple[str, float]) -> tuple[RunState, list[Candidate]]:
    state = _RunState([COMMAS])
    cands = []
    for i, (text, score) in enumerate(texts_and_scores, 1):
        c = Candidate(id=f"c{i}", text=text, node_id=f"n{i}", origin="sample")
        c.verdicts["commas"] = Judged(score, "commas found", "code:no_commas")
        state.candidates[c.id] = c
        state.consider(c)
        cands.append(c)
    return state, cands


def test_the_policy_does_not_revise_a_candidate_more_than_twice_at_once() -> None:
    settings = SearchSettings()
    revise, sample = Revise(settings), Sample(settings)
    policy = Policy([revise, sample])
    state, (c1,) = _state_with(("a, b", 0.5))
    two = (Action(revise, target=c1.id), Action(revise, target=c1.id))
    for _ in two:
        revise.stats.launched += 1
        revise.stats.launched_on[c1.id] += 1
    view = SearchView(state, settings, pending=two)
    choice = policy.choose(view)
    assert choice and all(a.kind is sample for a in choice)


def test_the_policy_revises_a_new_best_first_whatever_is_in_flight() -> None:
    settings = SearchSettings()
    revise, sample = Revise(settings), Sample(settings)
    policy = Policy([revise, sample])
    state, (c1, c2) = _state_with(("a, b, c", 0.25), ("a, b", 0.5))
    assert state.best_id == c2.id
    busy = tuple(Action(revise, target=c1.id) for _ in range(2))
    choice = policy.choose(SearchView(state, settings, pending=busy))
    assert choice[0].kind is revise and choice[0].target == c2.id


def test_the_policy_splits_work_in_flight_by_success_rate() -> None:
    # Priors 0.6 (revise) and 0.3 (sample): with three revisions in flight and no
    # sample, the next action is a sample; with none in flight, a revision.
    settings = SearchSettings()
    revise, sample = Revise(settings), Sample(settings)
    policy = Policy([revise, sample])
    state, cands = _state_with(("a,", 0.5), ("b,,", 0.3), ("c,,,", 0.2), ("d,,,,", 0.1))
    pending = tuple(Action(revise, target=c.id) for c in cands[:3])
    assert policy.choose(SearchView(state, settings, pending=pending))[0].kind is sample
    assert policy.choose(SearchView(state, settings))[0].kind is revise


def test_the_policy_samples_once_when_there_is_nothing_to_choose_between() -> None:
    settings = SearchSettings()
    sample = Sample(settings)
    policy = Policy([Revise(settings), sample])
    state = _RunState([])
    assert [a.kind for a in policy.choose(SearchView(state, settings))] == [sample]
    in_flight = SearchView(state, settings, pending=(Action(sample),))
    assert policy.choose(in_flight) == []


def test_the_policy_waits_for_a_repair_in_flight() -> None:
    settings = SearchSettings()
    kinds = default_kinds(settings, {})
    repair = kinds[0]
    assert repair.name == "repair"
    policy = Policy(kinds)
    state, (c1,) = _state_with(("a, b", 0.5))
    view = SearchView(state, settings, pending=(Action(repair, target=c1.id),))
    assert policy.choose(view) == []


def test_a_kind_is_registered_once() -> None:
    settings = SearchSettings()
    policy = Policy([Sample(settings)])
    with pytest.raises(ValueError, match="already registered"):
        policy.register(Sample(settings))


def test_samples_do_not_repeat_the_greedy_temperature() -> None:
    sample = Sample(SearchSettings(sample_temperatures=(0.0, 0.7, 0.9)))
    assert [sample.temperature(k) for k in range(7)] == [0.0, 0.7, 0.9, 0.7, 0.9, 0.7, 0.9]


@pytest.mark.parametrize(
    "bad",
    [
        {"width": 0},
        {"patience": 0},
        {"revise_prior": 0.0},
        {"sample_temperatures": ()},
        {"revise_temperatures": (3.0,)},
        {"unseen_output_share": 1.5},
        {"validator_errors_to_stop": -1},
    ],
)
def test_settings_refuse_nonsense(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="SearchSettings"):
        SearchSettings(**bad)  # type: ignore[arg-type]


class Canned:
    """A kind of action from outside the planner: one fixed answer, no model call."""

    name = "canned"
    uses_model = False
    prior = 1.0

    def __init__(self, text: str) -> None:
        self.text = text
        self.stats = KindStats()

    def propose(self, view: SearchView) -> list[Action]:
        return [] if self.stats.launched else [Action(self)]

    def estimate(self, action: Action, ctx: ActionContext, costs: CostModel) -> Estimate:
        return costs.evaluation()

    async def execute(self, action: Action, ctx: ActionContext) -> Produced | None:
        cid = ctx.new_candidate_id()
        node = ctx.trace.start("repair", parent=ctx.trace.root.id, candidate_id=cid)
        ctx.trace.finish(node, "ok", response=self.text, detail={"canned": True})
        return Produced(cid, self.text, node, origin=self.name)

    def succeeded(
        self, cand: Candidate, parent: Candidate | None, new_best: bool, state: RunState
    ) -> bool:
        return new_best


async def test_a_new_kind_of_action_is_one_class_registered_with_the_policy() -> None:
    settings = SearchSettings(max_output_tokens=16)
    task = make_task("Write", [COMMAS], budget={"max_calls": 8})
    fake = ScriptedModel(default="a, b")
    trace = TraceRecorder()
    ledger = BudgetLedger(task.budget)
    calls = CallRunner(ledger, trace)
    evaluator = Evaluator(
        task=task, code={"commas": _validator()}, judge=fake, calls=calls, trace=trace
    )
    kinds = [Canned("no commas at all"), *default_kinds(settings, evaluator.code)]
    search = Search(task, [fake], evaluator, calls, ledger, trace, settings, kinds=kinds)
    outcome = await search.run()
    assert outcome.finish_reason == "all_requirements_met"
    assert outcome.state.best is not None and outcome.state.best.origin == "canned"
    assert kinds[0].stats.improved == 1


def _validator() -> cadenza.validators.Validator:
    from cadenza.validators.base import Validator

    return Validator(name="no_commas", fn=no_commas)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    slots=st.integers(min_value=1, max_value=8),
    n_judged=st.integers(min_value=0, max_value=2),
    cancel_after=st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
)
def test_the_trace_stays_exact_whatever_the_timing(
    seed: int, slots: int, n_judged: int, cancel_after: int | None
) -> None:
    # Calls end in a random order (and the run may be cancelled at any point): every call
    # made is one node, every node is final, every parent exists and makes sense.
    rng = random.Random(seed)
    control = cadenza.RunControl()
    ended = 0

    class Jittery(ScriptedModel):
        async def complete(self, request: ModelRequest) -> ModelResponse:
            nonlocal ended
            await asyncio.sleep(rng.random() * 0.003)
            ended += 1
            if cancel_after is not None and ended > cancel_after:
                control.cancel()
            return await super().complete(request)

    def answer(req: ModelRequest) -> str:
        return "x" + ", y" * rng.randint(0, 3) + f" {rng.random():.3f}"

    fake = Jittery(default=answer, judge=lambda r, t: rng.random(), max_concurrency=slots)
    reqs: list[Requirement | str] = [COMMAS] + [f"judged {i}" for i in range(n_judged)]
    options = RunOptions(
        search=SearchSettings(max_output_tokens=16, patience=2), compile_requirements=False
    )
    result = asyncio.run(
        cadenza.arun(
            "write", reqs, models=[fake], budget={"max_calls": 20}, options=options, control=control
        )
    )
    by_id = {n.id: n for n in result.trace}
    calls = [n for n in result.trace if n.kind in ("generate", "revise", "judge")]
    assert len(calls) == result.usage.calls <= 20
    # A call cancelled as it starts counts (the engine cannot know the provider did not
    # see it) without reaching the fake; otherwise each call is one request.
    cancelled = sum(n.status == "cancelled" for n in calls)
    assert result.usage.calls - cancelled <= len(fake.requests) <= result.usage.calls
    assert all(n.status in ("ok", "failed", "cancelled") for n in result.trace)
    for n in result.trace[1:]:
        assert n.parent in by_id
        parent = by_id[n.parent]
        if n.kind == "generate" and parent.kind == "run":
            pass
        elif n.kind in ("generate", "revise", "repair", "check", "judge"):
            # (a focused sample hangs under the candidate whose misses it restates)
            assert parent.kind in ("generate", "revise", "repair")
            assert parent.status == "ok"


async def test_the_same_answer_again_waits_for_its_evaluation(fast_options: RunOptions) -> None:
    # An instant model that always gives the same failing answer, and a slow check: the
    # search must not spend the budget on copies while the first copy is being checked.
    def slow_no_commas(text: str) -> Verdict:
        import time

        time.sleep(0.2)
        return no_commas(text)

    fake = ScriptedModel(default=lambda req: "a b" if is_revision(req) else "a, b")
    result = await cadenza.arun(
        "write",
        [Requirement(name="commas", description="No commas", validator=slow_no_commas)],
        models=[fake],
        options=fast_options,
        budget={"max_calls": 12},
    )
    assert result.requirements_result.finish_reason == "all_requirements_met"
    # (focused samples, which restate the failing check, start only once it has run)
    generates = [n for n in result.trace if n.kind == "generate" and "focus" not in n.detail]
    assert len(generates) <= 4, [n.detail.get("duplicate_of") for n in generates]
