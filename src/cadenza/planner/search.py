"""The search loop: rounds of parallel branches until the threshold or the budget.

Round one is best-of-N. Each later round asks the policy for a batch of samples and
revisions sized to the budget left. Branches run in parallel (each: one generation or
revision, then its evaluation); when a candidate reaches the threshold, the branches
still running are cancelled because they can no longer change the outcome.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

from ..engine import BudgetExhausted, BudgetLedger, CallFailed, CallRunner
from ..engine.cancel import cancel_and_wait
from ..models.base import Model
from ..output.requirement import response_format_for
from ..result import FinishReason, TraceNode
from ..task import Task
from ..trace import RunEvent, TraceRecorder
from ..validators.base import run_validator
from .evaluation import JUDGE_MAX_TOKENS, Evaluator
from .policy import Action, Revise, Sample, first_actions, next_actions
from .prompts import first_messages, revision_messages
from .state import Candidate, RunState

__all__ = ["Outcome", "Search", "SearchSettings"]


@dataclass(frozen=True)
class SearchSettings:
    max_output_tokens: int = 512
    """Cap on the tokens of one generation or revision (the budget may cap it lower)."""
    width: int | None = None
    """Branches per round; default: the generating model's parallel slots, at most 4."""
    patience: int = 6
    """Stop after this many rounds in a row without a new best candidate."""
    mention_requirements: bool | None = None
    """Add the requirements to the first prompt: None = when the input does not state them."""
    repairs: bool = True
    """Apply the deterministic repairs that code validators offer (lowercasing, removing
    commas, ...). Repaired candidates are marked in the trace (kind ``repair``)."""


@dataclass
class Outcome:
    state: RunState
    finish_reason: FinishReason
    message: str


class Search:
    def __init__(
        self,
        task: Task,
        models: list[Model],
        evaluator: Evaluator,
        calls: CallRunner,
        ledger: BudgetLedger,
        trace: TraceRecorder,
        settings: SearchSettings,
    ) -> None:
        self.task = task
        self.models = models
        self.evaluator = evaluator
        self.calls = calls
        self.ledger = ledger
        self.trace = trace
        self.settings = settings
        self.state = RunState(list(task.requirements))
        self._ids = itertools.count(1)
        self.base = first_messages(task, mention_requirements=settings.mention_requirements)
        self.plain = first_messages(task, mention_requirements=False)
        self._by_text: dict[str, str] = {}
        """Candidate text -> id, so the same answer is never evaluated twice."""
        self._permanent_error: str | None = None
        self._budget_hit = False

    # -- the loop ---------------------------------------------------------------------
    async def run(self) -> Outcome:
        width = self.settings.width or min(4, max(m.max_concurrency for m in self.models))
        rounds = 0
        failed_rounds = 0
        while True:
            if rounds == 0:
                actions = first_actions(
                    width, len(self.models), vary_prompt=self.base != self.plain
                )
            else:
                actions = next_actions(self.state, width, len(self.models))
            n = self._affordable(actions)
            if n == 0 and rounds > 0:
                return self._outcome_budget()
            actions = actions[: max(1, n)]
            self._budget_hit = False
            produced, improved = await self._round(actions)
            rounds += 1
            self.state.stale_rounds = 0 if improved else self.state.stale_rounds + 1
            done = self._finished()
            if done is not None:
                return done
            if self._permanent_error is not None:
                return self._outcome_error(self._permanent_error)
            if produced == 0:
                if self._budget_hit:
                    return self._outcome_budget()
                failed_rounds += 1
                if failed_rounds >= 2:
                    return self._outcome_error(
                        self.state.errors[-1] if self.state.errors else "every call failed"
                    )
            else:
                failed_rounds = 0
            if self.state.stale_rounds >= self.settings.patience:
                return Outcome(
                    self.state,
                    "no_further_improvement",
                    f"no better candidate in the last {self.settings.patience} rounds",
                )

    async def _round(self, actions: list[Action]) -> tuple[int, bool]:
        before = self.state.best_id
        tasks = {asyncio.create_task(self._branch(a)) for a in actions}
        produced = 0
        try:
            while tasks:
                done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    exc = t.exception()
                    if exc is not None:  # a bug, not a model failure: stop and say so
                        self._permanent_error = f"internal error: {type(exc).__name__}: {exc}"
                        self.state.errors.append(self._permanent_error)
                    elif t.result() is not None:
                        produced += 1
                if tasks and self._finished() is not None:
                    await cancel_and_wait(tasks)
                    tasks = set()
        except asyncio.CancelledError:
            await cancel_and_wait(tasks)
            raise
        return produced, self.state.best_id != before

    async def _branch(self, action: Action) -> Candidate | None:
        state = self.state
        model = self.models[action.model_index % len(self.models)]
        parent_cand: Candidate | None = None
        if isinstance(action, Sample):
            kind, parent = "generate", self.trace.root.id
            messages = self.plain if action.plain else self.base
        else:
            parent_cand = state.candidates[action.candidate_id]
            kind, parent = "revise", parent_cand.node_id
            messages = revision_messages(self.base, parent_cand.text, state.failing(parent_cand))
            state.revised_from[parent_cand.id] = state.revised_from.get(parent_cand.id, 0) + 1
        cid = f"c{next(self._ids)}"
        try:
            response, node = await self.calls.call(
                kind="generate" if kind == "generate" else "revise",
                parent=parent,
                model=model,
                messages=messages,
                max_tokens=self.settings.max_output_tokens,
                min_tokens=16,
                temperature=action.temperature,
                candidate_id=cid,
                response_format=response_format_for(self.task, model, state),
            )
        except BudgetExhausted as exc:
            self._budget_hit = True
            if exc.last_error:
                state.errors.append(exc.last_error)
            return None
        except CallFailed as exc:
            state.errors.append(str(exc))
            if exc.permanent:
                self._permanent_error = str(exc)
            return None
        text = response.text.strip()
        seen = self._by_text.get(text)
        if seen is not None:  # the same answer again: nothing new to evaluate
            node.candidate_id = seen
            node.detail["duplicate_of"] = seen
            if parent_cand is not None:
                state.revisions_tried += 1
            else:
                state.samples_tried += 1
            return state.candidates[seen]
        cand = Candidate(
            id=cid,
            text=text,
            node_id=node.id,
            origin="sample" if isinstance(action, Sample) else "revise",
            parent=parent_cand.id if parent_cand else None,
            model=model.name,
            temperature=action.temperature,
        )
        new_best = await self._admit(cand, node)
        if self.settings.repairs and state.failing(cand):
            await self._repair(cand)
        if isinstance(action, Revise) and parent_cand is not None:
            state.revisions_tried += 1
            if state.key(cand) > state.key(parent_cand):
                state.revisions_improved += 1
        else:
            state.samples_tried += 1
            if new_best:
                state.samples_improved += 1
        return cand

    async def _admit(self, cand: Candidate, node: TraceNode) -> bool:
        """Evaluate a new candidate and let it compete; say whether it became the best."""
        state = self.state
        state.candidates[cand.id] = cand
        self._by_text[cand.text] = cand.id
        await self.evaluator.evaluate(cand, state)
        node.scores = {k: v.score for k, v in cand.verdicts.items()}
        new_best = state.consider(cand)
        if new_best:
            self.trace.emit(RunEvent("best_changed", node=node, best_score=state.score(cand)))
        return new_best

    async def _repair(self, cand: Candidate) -> None:
        """Apply the safe, deterministic fixes the failing requirements' checks offer.

        Fixes can undo each other (an appended end phrase brings back capitals after
        lowercasing), so the free checks are rerun on the fixed text and the fixes
        applied again, for at most three passes."""
        text, applied = cand.text, list[str]()
        fixable = [
            (req, v, v.repair)
            for req in self.task.requirements
            if (v := self.evaluator.code.get(req.name)) is not None and v.repair is not None
        ]
        for _ in range(3):
            changed = False
            for req, v, fix in fixable:
                ctx = self.evaluator.context(req)
                try:
                    if (await run_validator(v, text, ctx)).passed:
                        continue
                    fixed = fix(text, ctx)
                except Exception:  # a broken check or repair is skipped, never fatal
                    continue
                if fixed is not None and fixed != text:
                    text, changed = fixed, True
                    if v.name not in applied:
                        applied.append(v.name)
            if not changed:
                break
        if not applied or text in self._by_text:
            return
        cid = f"c{next(self._ids)}"
        node = self.trace.start("repair", parent=cand.node_id, candidate_id=cid)
        self.trace.finish(node, "ok", response=text, detail={"repairs": applied})
        repaired = Candidate(
            id=cid, text=text, node_id=node.id, origin="repair", parent=cand.id, model=cand.model
        )
        await self._admit(repaired, node)

    # -- budget and stopping ------------------------------------------------------------
    def _affordable(self, actions: list[Action]) -> int:
        """How many of `actions`, in order, the budget left is expected to pay for."""
        judged = len(self.evaluator.judged_requirements)
        gen_nodes = [
            n for n in self.trace.nodes if n.kind in ("generate", "revise") and n.status == "ok"
        ]
        if gen_nodes:
            out = sum(n.output_tokens for n in gen_nodes) / len(gen_nodes)
        else:
            out = self.settings.max_output_tokens * 0.75
        prompt = sum(len(m.content) for m in self.base) / 3
        judge = judged * (120 + out + JUDGE_MAX_TOKENS)
        tokens_left, calls_left = self.ledger.tokens_left(), self.ledger.calls_left()
        n = 0
        for action in actions:
            # A revision also carries the previous answer and the feedback on it.
            gen = prompt + out if isinstance(action, Sample) else prompt + 2 * out + 80
            cost = gen + judge
            if tokens_left is not None:
                if tokens_left < cost:
                    break
                tokens_left = int(tokens_left - cost)
            if calls_left is not None:
                if calls_left < 1 + judged:
                    break
                calls_left -= 1 + judged
            n += 1
        return n

    def _finished(self) -> Outcome | None:
        best = self.state.best
        if best is None:
            return None
        if any(r.name not in best.verdicts for r in self.task.requirements):
            return None
        score = self.state.score(best)
        if all(v.score >= 1.0 for v in best.verdicts.values()):
            return Outcome(self.state, "all_requirements_met", "all requirements met")
        if score >= self.task.threshold:
            return Outcome(
                self.state,
                "threshold_reached",
                f"score {score:.2f} reached the threshold {self.task.threshold:.2f}",
            )
        return None

    def _outcome_budget(self) -> Outcome:
        if self.state.best is None and self.state.errors:
            # Nothing was produced and the budget went on failed attempts: that is a failure.
            return self._outcome_error(f"no answer: every call failed: {self.state.errors[-1]}")
        led, b = self.ledger, self.ledger.budget
        caps = []
        if b.max_tokens is not None:
            caps.append(f"{led.usage.total_tokens} of {b.max_tokens} tokens")
        if b.max_calls is not None:
            caps.append(f"{led.usage.calls} of {b.max_calls} calls")
        if b.max_usd is not None:
            caps.append(f"${led.usage.cost_usd:.4f} of ${b.max_usd:.4f}")
        return Outcome(
            self.state,
            "budget_exhausted",
            "budget exhausted: no further call fits (" + ", ".join(caps) + " used)",
        )

    def _outcome_error(self, message: str) -> Outcome:
        return Outcome(self.state, "error", message)
