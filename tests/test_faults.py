"""Fault injection: 30 % of model and judge calls fail; every run ends with a clear status."""

from __future__ import annotations

import asyncio
import random

import pytest

import cadenza
from cadenza import Requirement, RunOptions
from cadenza.engine import CallSettings
from cadenza.errors import PermanentProviderError, TransientProviderError
from cadenza.models.base import ModelRequest, ModelResponse
from cadenza.planner import SearchSettings
from cadenza.testing import ScriptedModel


class FlakyModel(ScriptedModel):
    """Fails 30 % of calls: rate limits, 5xx, hangs past the timeout, dropped
    connections, garbage judge answers, and (rarely) a permanent error."""

    rng: random.Random = random.Random(0)
    permanent: bool = False

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if self.rng.random() < 0.3:
            fault = self.rng.choice(["429", "500", "hang", "drop", "garbage", "permanent"])
            if fault == "429":
                raise TransientProviderError("429 rate limited", status_code=429)
            if fault == "500":
                raise TransientProviderError("500 internal server error", status_code=500)
            if fault == "hang":
                await asyncio.sleep(10)
            if fault == "drop":
                raise TransientProviderError("connection dropped by peer")
            if fault == "garbage":
                return ModelResponse(text="", input_tokens=3, output_tokens=0)
            if fault == "permanent" and self.permanent:
                raise PermanentProviderError("400 bad request: context length exceeded")
            raise ConnectionResetError("socket closed")  # a provider bug, not mapped
        return await super().complete(request)


def comma_free(text: str) -> bool:
    return "," not in text


@pytest.mark.parametrize("seed", range(60))
async def test_runs_finish_with_a_clear_status(seed: int) -> None:
    rng = random.Random(seed)
    fake = FlakyModel(
        default=lambda req: rng.choice(["a, b", "a b", "x, y, z", "plain words"]),
        judge=lambda req, text: rng.random(),
    )
    fake.rng = rng
    fake.permanent = seed % 5 == 0
    options = RunOptions(
        calls=CallSettings(retries=2, backoff_s=0.001, timeout_s=0.05),
        search=SearchSettings(max_output_tokens=32, patience=3),
        compile_requirements=False,
    )
    result = await cadenza.arun(
        "write",
        [Requirement(description="no commas", validator=comma_free), "Be nice"],
        models=[fake],
        options=options,
        budget={"max_calls": 25, "max_tokens": 3000},
    )
    rr = result.requirements_result
    assert rr.finish_reason in (
        "all_requirements_met",
        "threshold_reached",
        "budget_exhausted",
        "no_further_improvement",
        "error",
    )
    assert rr.finish_message
    assert result.usage.calls <= 25
    for node in result.trace:
        assert node.status in ("ok", "failed", "cancelled"), node
        if node.status == "failed":
            assert node.error
    if result.best_candidate_id is not None:
        assert result.result == next(
            n.response.strip()
            for n in result.trace
            if n.candidate_id == result.best_candidate_id
            and n.kind in ("generate", "revise")
            and n.response is not None
        )
    if rr.finish_reason == "error":
        assert rr.finish_message
    else:
        assert result.best_candidate_id is not None


async def test_a_response_format_goes_only_to_a_model_that_enforces_it() -> None:
    from cadenza.engine import BudgetLedger, CallRunner
    from cadenza.models.base import Message, ResponseFormat
    from cadenza.task import Budget
    from cadenza.testing import ScriptedModel
    from cadenza.trace import TraceRecorder

    trace = TraceRecorder()
    runner = CallRunner(BudgetLedger(Budget(max_tokens=1000)), trace)
    with pytest.raises(ValueError, match="cannot enforce a json_object"):
        await runner.call(
            kind="generate",
            parent=None,
            model=ScriptedModel(["{}"]),
            messages=(Message("user", "hi"),),
            max_tokens=10,
            response_format=ResponseFormat("json_object"),
        )
    assert len(trace.nodes) == 1  # only the root: nothing was called
