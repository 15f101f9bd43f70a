"""Property: whatever the plan and the model's answers, no budget cap is ever exceeded."""

from __future__ import annotations

import asyncio
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cadenza
from cadenza import Requirement, RunOptions
from cadenza.engine import CallSettings
from cadenza.errors import TransientProviderError
from cadenza.models.base import ModelRequest
from cadenza.planner import SearchSettings
from cadenza.testing import ScriptedModel

budgets = st.fixed_dictionaries(
    {},
    optional={
        "max_tokens": st.integers(min_value=1, max_value=3000),
        "max_calls": st.integers(min_value=1, max_value=40),
    },
).filter(lambda d: bool(d))


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    budget=budgets,
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    n_code=st.integers(min_value=0, max_value=3),
    n_judged=st.integers(min_value=0, max_value=2),
    width=st.integers(min_value=1, max_value=6),
    max_out=st.integers(min_value=1, max_value=400),
    fail_rate=st.sampled_from([0.0, 0.1, 0.3]),
)
def test_no_budget_is_ever_exceeded(
    budget: dict[str, int],
    seed: int,
    n_code: int,
    n_judged: int,
    width: int,
    max_out: int,
    fail_rate: float,
) -> None:
    rng = random.Random(seed)

    def answer(req: ModelRequest) -> str:
        if rng.random() < fail_rate:
            raise TransientProviderError("503 overloaded")
        words = rng.randint(0, 600)  # often more than max_tokens allows: the fake truncates
        return " ".join(rng.choice(["sea", "sky,", "blue", "Wave"]) for _ in range(words))

    def judge(req: str, text: str) -> float | str:
        if rng.random() < 0.2:
            return "no idea"  # unparseable
        return rng.random()

    fake = ScriptedModel(default=answer, judge=judge)
    reqs: list[Requirement] = [
        Requirement(
            description=f"code {i}",
            validator=lambda t, i=i: (len(t) + i) % 3 == 0,
            is_mandatory=rng.random() < 0.3,
        )
        for i in range(n_code)
    ] + [Requirement(description=f"judged {i}") for i in range(n_judged)]
    options = RunOptions(
        calls=CallSettings(retries=1, backoff_s=0.0),
        search=SearchSettings(max_output_tokens=max_out, width=width, patience=3),
        compile_requirements=False,
    )
    result = asyncio.run(cadenza.arun("write", reqs, models=[fake], budget=budget, options=options))
    used = result.usage
    traced = sum(n.input_tokens + n.output_tokens for n in result.trace if n.kind != "run")
    if "max_tokens" in budget:
        assert used.total_tokens <= budget["max_tokens"]
        assert traced <= budget["max_tokens"]
    if "max_calls" in budget:
        assert used.calls <= budget["max_calls"]
    assert len(fake.requests) == used.calls
    assert result.requirements_result.finish_reason in (
        "all_requirements_met",
        "threshold_reached",
        "budget_exhausted",
        "no_further_improvement",
        "error",
    )
