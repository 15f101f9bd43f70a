"""Scoring a candidate: free code checks first, then LLM judgements in parallel.

A candidate whose code checks already show it cannot beat the best one (even if every
judged requirement came back perfect) is dropped before any judge is paid; a judged
candidate is dropped, and its pending judge calls cancelled, as soon as that becomes
true during judging.

The evaluator also keeps count of what each code validator did (raised or scored), so
the search can stop when one is broken, and of the judge calls in flight (`load`), so
the search does not start a generation that would take a slot a judge needs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

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
from .load import ModelLoad
from .state import Candidate, Judged, RunState, rank_key

__all__ = ["Evaluator", "ValidatorHealth"]

JUDGE_MAX_TOKENS = 60


@dataclass
class ValidatorHealth:
    """What one requirement's code validator did with the answers it was given."""

    raised: int = 0
    scored: int = 0
    first_error: str = ""


@dataclass
class Evaluator:
    task: Task
    code: dict[str, Validator]
    """Requirement name -> its code validator; the rest go to the judge."""
    judge: Model
    calls: CallRunner
    trace: TraceRecorder
    load: ModelLoad = field(default_factory=ModelLoad)
    """Calls in flight per model; judge calls are counted from the start of an evaluation."""
    health: dict[str, ValidatorHealth] = field(default_factory=dict)
    """Requirement name -> what its code validator did so far."""
    sources: dict[str, str] = field(default_factory=dict)
    """The passages retrieval showed the model, by short id (``P1``): what the
    ``cites_sources`` and ``grounded`` checks read (`CheckContext.sources`)."""

    @property
    def judged_requirements(self) -> list[Requirement]:
        return [r for r in self.task.requirements if r.name not in self.code]

    async def evaluate(self, cand: Candidate, state: RunState) -> None:
        judged = self.judged_requirements
        waiting = len(judged)  # judge calls this evaluation may still make
        self.load.add(self.judge.name, waiting)
        pending: set[asyncio.Task[Judged | None]] = set()
        try:
            for req in self.task.requirements:
                if req.name in self.code:
                    cand.verdicts[req.name] = await self._check(cand, req, self.code[req.name])
            if self._hopeless(cand, state):
                cand.dropped = "its code checks already rank it below the best candidate"
                return
            pending = {asyncio.create_task(self._judge(cand, req), name=req.name) for req in judged}
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                waiting -= len(done)
                self.load.remove(self.judge.name, len(done))
                for t in done:
                    verdict = t.result()
                    if verdict is not None:
                        cand.verdicts[t.get_name()] = verdict
                if pending and self._hopeless(cand, state):
                    cand.dropped = "a judgement ranked it below the best candidate"
                    await cancel_and_wait(pending)
                    pending = set()
        except asyncio.CancelledError:
            await cancel_and_wait(pending)
            raise
        finally:
            if waiting:
                self.load.remove(self.judge.name, waiting)

    def note_repeat(self, original: Candidate) -> None:
        """An answer identical to `original` came again: its validators would do the same."""
        for name, judged in original.verdicts.items():
            health = self.health.get(name)
            if health is not None and judged.failed:
                health.raised += 1
            elif health is not None:
                health.scored += 1

    def broken_validator(self, after: int) -> str | None:
        """Why the run should stop, if a code validator raised on every answer so far and
        on at least `after` of them (0: never)."""
        if after <= 0:
            return None
        for req in self.task.requirements:
            h = self.health.get(req.name)
            if h is not None and h.scored == 0 and h.raised >= after:
                return (
                    f"requirement {req.name!r}: {h.first_error} (it raised on every answer "
                    f"so far, {h.raised} of {h.raised}; generation cannot fix a validator)"
                )
        return None

    def context(self, req: Requirement) -> CheckContext:
        return CheckContext(
            instruction=self.task.instruction,
            requirement_name=req.name,
            requirement_description=req.description,
            args=req.validator_args,
            sources=self.sources,
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
        health = self.health.setdefault(req.name, ValidatorHealth())
        try:
            verdict = await run_validator(v, cand.text, self.context(req))
        except asyncio.CancelledError:
            self.trace.finish(node, "cancelled", latency_s=time.monotonic() - started)
            raise
        except Exception as exc:
            self.trace.finish(node, "failed", error=str(exc), latency_s=time.monotonic() - started)
            health.raised += 1
            health.first_error = health.first_error or str(exc)
            return Judged(0.0, f"validator failed: {exc}", label, failed=True)
        health.scored += 1
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
