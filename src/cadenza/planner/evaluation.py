"""Scoring a candidate: free code checks first, then LLM judgements in parallel.

A candidate whose code checks already show it cannot beat the best one (even if every
judged requirement came back perfect) is dropped before any judge is paid; a judged
candidate is dropped, and its pending judge calls cancelled, as soon as that becomes
true during judging.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from ..engine import BudgetExhausted, CallFailed, CallRunner
from ..engine.cancel import cancel_and_wait
from ..models.base import Model
from ..task import Requirement, Task
from ..trace import RunEvent, TraceRecorder
from ..validators.base import CheckContext, Validator, run_validator
from ..validators.judge import (
    UnparseableJudgement,
    judge_messages,
    parse_judgement,
    verdict_format,
)
from .state import Candidate, Judged, RunState, rank_key

__all__ = ["Evaluator"]

JUDGE_MAX_TOKENS = 60


@dataclass
class Evaluator:
    task: Task
    code: dict[str, Validator]
    """Requirement name -> its code validator; the rest go to the judge."""
    judge: Model
    calls: CallRunner
    trace: TraceRecorder

    @property
    def judged_requirements(self) -> list[Requirement]:
        return [r for r in self.task.requirements if r.name not in self.code]

    async def evaluate(self, cand: Candidate, state: RunState) -> None:
        for req in self.task.requirements:
            if req.name in self.code:
                cand.verdicts[req.name] = await self._check(cand, req, self.code[req.name])
        if self._hopeless(cand, state):
            cand.dropped = "its code checks already rank it below the best candidate"
            return
        pending = {
            asyncio.create_task(self._judge(cand, req), name=req.name)
            for req in self.judged_requirements
        }
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    judged = t.result()
                    if judged is not None:
                        cand.verdicts[t.get_name()] = judged
                if pending and self._hopeless(cand, state):
                    cand.dropped = "a judgement ranked it below the best candidate"
                    await cancel_and_wait(pending)
                    pending = set()
        except asyncio.CancelledError:
            await cancel_and_wait(pending)
            raise

    def context(self, req: Requirement) -> CheckContext:
        return CheckContext(
            instruction=self.task.instruction,
            requirement_name=req.name,
            requirement_description=req.description,
            args=req.validator_args,
        )

    def _hopeless(self, cand: Candidate, state: RunState) -> bool:
        best = state.best
        if best is None or best.id == cand.id:
            return False
        ceiling = rank_key(self.task.requirements, cand.verdicts, optimistic=True)
        return ceiling < state.key(best)

    async def _check(self, cand: Candidate, req: Requirement, v: Validator) -> Judged:
        label = f"code:{v.name}"
        node = self.trace.start(
            "check", parent=cand.node_id, candidate_id=cand.id, requirement=req.name, model=None
        )
        started = time.monotonic()
        try:
            verdict = await run_validator(v, cand.text, self.context(req))
        except Exception as exc:
            self.trace.finish(node, "failed", error=str(exc), latency_s=time.monotonic() - started)
            return Judged(0.0, f"validator failed: {exc}", label, failed=True)
        self.trace.finish(
            node,
            "ok",
            scores={req.name: verdict.score},
            response=verdict.reason,
            latency_s=time.monotonic() - started,
        )
        return Judged(verdict.score, verdict.reason, label)

    async def _judge(self, cand: Candidate, req: Requirement) -> Judged | None:
        """One LLM judgement; held to the verdict format where the judge can enforce one,
        so that its answer always parses."""
        label = f"judge:{self.judge.name}"
        fmt = verdict_format(self.judge)
        try:
            response, node = await self.calls.call(
                kind="judge",
                parent=cand.node_id,
                model=self.judge,
                messages=judge_messages(req.description, cand.text, fmt),
                max_tokens=JUDGE_MAX_TOKENS,
                min_tokens=8,
                temperature=0.0,
                candidate_id=cand.id,
                requirement=req.name,
                response_format=fmt,
            )
        except BudgetExhausted:
            return None
        except CallFailed as exc:
            return Judged(0.0, f"judge call failed: {exc}", label, failed=True)
        try:
            verdict = parse_judgement(response.text)
        except UnparseableJudgement as exc:
            node.status = "failed"
            node.error = str(exc)
            self.trace.emit(RunEvent("node_finished", node=node))
            return Judged(0.0, f"failed judgement: {exc}", label, failed=True)
        node.scores = {req.name: verdict.score}
        return Judged(verdict.score, verdict.reason, label)
