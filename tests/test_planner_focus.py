"""Focused samples, the first round and how the policy picks the work on the best."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

import cadenza
from cadenza import Requirement, RunOptions, Verdict
from cadenza.models.base import Message, ModelRequest
from cadenza.planner import SearchSettings
from cadenza.planner.actions import Action, KindStats, SearchView
from cadenza.planner.kinds import default_kinds
from cadenza.planner.policy import Policy
from cadenza.planner.prompts import focus_messages
from cadenza.planner.state import Candidate, Judged, RunState
from cadenza.testing import ScriptedModel


def no_commas(text: str) -> Verdict:
    n = text.count(",")
    return Verdict(1.0 if n == 0 else 1 / (1 + n), f"{n} commas found")


NO_COMMAS = Requirement(name="no_commas", description="Do not use any commas", validator=no_commas)


def is_focus(req: ModelRequest) -> bool:
    first = req.messages[0]
    return first.role == "system" and "Do not use any commas." in first.content


def test_focus_messages_state_the_missed_requirements_before_the_request() -> None:
    base = (Message("user", "Write about the sea."),)
    failing = [(NO_COMMAS, Judged(0.5, "2 commas found", "code:no_commas"))]
    before = focus_messages(base, failing, style="before")
    assert [m.content for m in before] == [
        "Important: Do not use any commas.\n\nWrite about the sea."
    ]
    after = focus_messages(base, failing, style="after")
    assert after[-1].content == "Write about the sea.\n\nImportant: Do not use any commas."
    system = focus_messages(base, failing, style="system")
    assert system[0] == Message("system", "Follow these rules exactly:\n- Do not use any commas.")
    assert system[1] == base[0]
    # an existing system message is extended, not replaced
    with_sys = focus_messages((Message("system", "Be brief."), *base), failing, style="system")
    assert with_sys[0].content.startswith("Be brief.\n\nFollow these rules exactly:")
    assert focus_messages(base, []) == base
    with pytest.raises(ValueError, match="focus style"):
        focus_messages(base, failing, style="sideways")


def test_focus_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="focus_style"):
        SearchSettings(focus_style="sideways")
    with pytest.raises(ValueError, match="first_round"):
        SearchSettings(first_round=0)
    with pytest.raises(ValueError, match="focus_temperatures"):
        SearchSettings(focus_temperatures=())


async def test_a_focused_sample_finds_what_sampling_and_revising_miss(
    fast_options: RunOptions,
) -> None:
    # The model only drops its commas when the rule is stated before the request.
    fake = ScriptedModel(default=lambda r: "the sea is calm" if is_focus(r) else "the sea, calm")
    result = await cadenza.arun(
        "Write about the sea",
        [NO_COMMAS],
        models=[fake],
        options=fast_options,
    )
    assert result.result == "the sea is calm"
    assert result.requirements_result.finish_reason == "all_requirements_met"
    focused = [n for n in result.trace if n.kind == "generate" and "focus" in n.detail]
    assert focused and focused[-1].detail["focus"] == ["no_commas"]
    # the earlier answer is not sent back: a focused sample costs what a sample costs
    assert all(m["role"] != "assistant" for m in focused[-1].messages)
    # it hangs under the candidate whose misses it restates (it waited for its checks)
    by_id = {n.id: n for n in result.trace}
    assert by_id[focused[-1].parent or ""].candidate_id == focused[-1].detail["focus_of"]


async def test_focus_off_never_sends_a_focused_prompt(fast_options: RunOptions) -> None:
    fake = ScriptedModel(default="the sea, calm")
    options = replace(fast_options, search=replace(fast_options.search, focus=False, patience=1))
    await cadenza.arun("Write about the sea", [NO_COMMAS], models=[fake], options=options)
    assert fake.generation_requests
    assert not any(is_focus(r) for r in fake.generation_requests)


async def test_first_round_of_one_waits_for_the_first_verdict(fast_options: RunOptions) -> None:
    seen_before_first_answer: list[int] = []

    class Recording(ScriptedModel):
        async def complete(self, request: ModelRequest):  # type: ignore[no-untyped-def]
            if not self.requests:
                seen_before_first_answer.append(0)
                await asyncio.sleep(0.05)  # other slots are free meanwhile
                seen_before_first_answer[0] = len(self.requests)
            return await super().complete(request)

    fake = Recording(default=lambda r: "the sea is calm" if is_focus(r) else "the sea, calm")
    options = replace(fast_options, search=replace(fast_options.search, first_round=1))
    result = await cadenza.arun("Write about the sea", [NO_COMMAS], models=[fake], options=options)
    assert seen_before_first_answer == [0]  # no second call while the first ran
    assert result.result == "the sea is calm"
    second = fake.generation_requests[1]
    assert is_focus(second) or "Rewrite your answer" in second.messages[-1].content

    # by default the free slots fill at once
    fake2 = Recording(default="the sea, calm")
    seen_before_first_answer.clear()
    await cadenza.arun(
        "Write about the sea",
        [NO_COMMAS],
        models=[fake2],
        options=replace(fast_options, search=replace(fast_options.search, patience=1)),
    )
    assert seen_before_first_answer[0] > 0


class _Kind:
    uses_model = True

    def __init__(self, name: str, prior: float) -> None:
        self.name = name
        self.prior = prior
        self.stats = KindStats()
        self.target: str | None = None

    def propose(self, view: SearchView) -> list[Action]:
        return [Action(self, target=self.target)]  # type: ignore[arg-type]


def test_work_on_the_best_goes_to_the_kind_that_has_gained_most() -> None:
    state = RunState([NO_COMMAS])
    best = Candidate("c1", "a, b", "n1", "sample")
    best.verdicts["no_commas"] = Judged(0.5, "1 comma found", "code:no_commas")
    state.candidates["c1"] = best
    state.consider(best)
    revise, focus = _Kind("revise", 0.6), _Kind("focus", 0.45)
    revise.target = focus.target = "c1"
    policy = Policy([revise, focus])  # type: ignore[list-item]
    view = SearchView(state=state, settings=SearchSettings())
    assert policy.choose(view)[0].kind is revise  # by the priors
    revise.stats.tried, revise.stats.improved = 4, 0  # revisions never helped here
    focus.stats.tried, focus.stats.improved = 2, 1
    assert policy.choose(view)[0].kind is focus


def test_the_first_answer_of_a_run_is_no_success_of_sampling() -> None:
    # It is always "the new best"; counting it made sampling look better than revising
    # or focusing on the very first decision.
    sample = next(k for k in default_kinds(SearchSettings(), {}) if k.name == "sample")
    state = RunState([NO_COMMAS])
    first = Candidate("c1", "a, b", "n1", "sample")
    first.verdicts["no_commas"] = Judged(0.5, "1 comma found", "code:no_commas")
    state.candidates["c1"] = first
    assert state.consider(first)
    assert not sample.succeeded(first, None, True, state)
    second = Candidate("c2", "a b", "n2", "sample")
    second.verdicts["no_commas"] = Judged(1.0, "0 commas found", "code:no_commas")
    state.candidates["c2"] = second
    assert state.consider(second)
    assert sample.succeeded(second, None, True, state)


async def test_a_short_budget_starts_with_one_call(fast_options: RunOptions) -> None:
    # first_round=None with short_budget_calls: one call first while the budget pays for
    # fewer than that many; a larger budget fills the free slots at once.
    async def calls_before_first_answer(budget: dict[str, int], short: float = 6.0) -> int:
        seen: list[int] = []

        class Recording(ScriptedModel):
            async def complete(self, request: ModelRequest):  # type: ignore[no-untyped-def]
                if not self.requests:
                    seen.append(0)
                    await asyncio.sleep(0.05)
                    seen[0] = len(self.requests)
                return await super().complete(request)

        fake = Recording(default="the sea, calm")
        search = replace(fast_options.search, short_budget_calls=short)
        options = replace(fast_options, priors=False)
        await cadenza.arun(
            "Write about the sea",
            [NO_COMMAS],
            models=[fake],
            options=replace(options, search=search),
            budget=budget,
        )
        return seen[0]

    # fake tokens are words: ~48 expected output + a 4-word prompt per call
    # (other calls started while the first one ran)
    assert await calls_before_first_answer({"max_tokens": 200}) == 0
    assert await calls_before_first_answer({"max_calls": 4}) == 0
    assert await calls_before_first_answer({"max_calls": 16}) > 0
    # off by default (short_budget_calls=0): a tight token budget fits more calls when
    # they start together
    assert await calls_before_first_answer({"max_tokens": 200}, short=0) > 0


def test_a_requirement_stated_twice_is_named_once() -> None:
    base = (Message("user", "Write."),)
    quote = Requirement(name="q1", description="Wrap it in quotes", validator=no_commas)
    again = Requirement(name="q2", description="Wrap it in quotes", validator=no_commas)
    failing = [(r, Judged(0.0, "no quotes", "code:x")) for r in (quote, again, NO_COMMAS)]
    msgs = focus_messages(base, failing, max_items=2)
    assert msgs[0].content == (
        "Follow these rules exactly:\n- Wrap it in quotes.\n- Do not use any commas."
    )


def test_work_on_the_best_weighs_what_each_kind_costs() -> None:
    # A revision carries the whole answer: on a long one, a focused sample that gains a
    # little less per try is worth more per token.
    state = RunState([NO_COMMAS])
    best = Candidate("c1", "a, b", "n1", "sample")
    best.verdicts["no_commas"] = Judged(0.5, "1 comma found", "code:no_commas")
    state.candidates["c1"] = best
    state.consider(best)
    revise, focus = _Kind("revise", 0.6), _Kind("focus", 0.45)
    revise.target = focus.target = "c1"
    policy = Policy([revise, focus])  # type: ignore[list-item]

    def view(revise_tokens: float) -> SearchView:
        return SearchView(
            state=state,
            settings=SearchSettings(),
            tokens_of=lambda a: revise_tokens if a.kind is revise else 400.0,
        )

    assert policy.choose(view(revise_tokens=800))[0].kind is focus  # a long answer
    assert policy.choose(view(revise_tokens=450))[0].kind is revise  # a short one
