"""Properties: whatever the plan, the model's answers and its failures, no budget cap is
ever exceeded, and a run's usage is the sum of its trace."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cadenza
from cadenza import Requirement, RunOptions
from cadenza.engine import CallSettings
from cadenza.errors import TransientProviderError, UnreachableProviderError
from cadenza.models.base import ModelRequest, ModelResponse
from cadenza.planner import SearchSettings
from cadenza.testing import ScriptedModel

PRICED = "fake:priced-for-the-property"
cadenza.register_price(PRICED, 1.0, 4.0)


class FaultyModel(ScriptedModel):
    """Besides the scripted 503s: refused connections (nothing sent, so nothing billed)
    and hangs past the call timeout (sent, so the input may be billed)."""

    rng: random.Random = random.Random(0)
    refuse_rate: float = 0.0
    hang_rate: float = 0.0

    async def complete(self, request: ModelRequest) -> ModelResponse:
        roll = self.rng.random()
        if roll < self.refuse_rate:
            self.requests.append(request)
            raise UnreachableProviderError("fake: connection refused")
        if roll < self.refuse_rate + self.hang_rate:
            self.requests.append(request)
            await asyncio.sleep(5)
        return await super().complete(request)


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
    refuse_rate=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    hang_rate=st.sampled_from([0.0, 0.05]),
    priced=st.booleans(),
)
def test_no_budget_is_ever_exceeded(
    budget: dict[str, int],
    seed: int,
    n_code: int,
    n_judged: int,
    width: int,
    max_out: int,
    fail_rate: float,
    refuse_rate: float,
    hang_rate: float,
    priced: bool,
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

    fake = FaultyModel(default=answer, judge=judge, name=PRICED if priced else "unpriced-scripted")
    fake.rng, fake.refuse_rate, fake.hang_rate = rng, refuse_rate, hang_rate
    reqs: list[Requirement] = [
        Requirement(
            description=f"code {i}",
            validator=lambda t, i=i: (len(t) + i) % 3 == 0,
            is_mandatory=rng.random() < 0.3,
        )
        for i in range(n_code)
    ] + [Requirement(description=f"judged {i}") for i in range(n_judged)]
    options = RunOptions(
        calls=CallSettings(retries=1, backoff_s=0.0, timeout_s=0.005),
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
    # Usage is the sum of the trace: tokens, cost and calls (= attempts of the nodes).
    nodes = [n for n in result.trace if n.kind != "run"]
    assert used.input_tokens == sum(n.input_tokens for n in nodes)
    assert used.output_tokens == sum(n.output_tokens for n in nodes)
    assert used.calls == sum(n.attempts for n in nodes)
    assert used.cost_usd == pytest.approx(sum(n.cost_usd or 0.0 for n in nodes), abs=1e-12)
    assert used.unpriced_calls == (0 if priced else used.calls)
    root = result.trace[0]
    assert (root.input_tokens, root.output_tokens) == (used.input_tokens, used.output_tokens)
    if refuse_rate == 1.0:  # nothing ever reached the provider: nothing is billed
        assert used.total_tokens == 0 and used.cost_usd == 0.0
    assert result.requirements_result.finish_reason in (
        "all_requirements_met",
        "threshold_reached",
        "budget_exhausted",
        "no_further_improvement",
        "error",
    )
