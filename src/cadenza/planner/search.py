"""The search loop: an event-driven scheduler of branches, until the threshold or the budget.

A *branch* is one action (a sample, a revision, a repair) followed by the evaluation of
the candidate it produced. Branches run in parallel, and there are no rounds: whenever
a branch ends, or a call ends and frees a model slot, the search asks the policy for
the next action and starts it at once if the model has a free slot, fewer than `width`
branches are in flight and the budget left (counting the work in flight at its expected
cost) can pay for it. So the search goes deeper as soon as a better candidate appears,
and never waits for a slow branch it does not depend on.

When a candidate reaches the threshold, the branches still running are cancelled: they
can no longer change the outcome. The same happens on an error that ends the run
(a permanent model failure, a broken validator) and on `RunControl.cancel()`.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, replace

from ..engine import BudgetExhausted, BudgetLedger, CallFailed, CallRunner
from ..engine.cancel import cancel_and_wait
from ..models.base import Model
from ..result import FinishReason, TraceNode
from ..task import Task
from ..trace import RunEvent, TraceRecorder
from .actions import Action, ActionContext, ActionKind, Estimate, Produced, SearchView
from .costs import CostModel
from .evaluation import Evaluator
from .kinds import default_kinds
from .load import ModelLoad
from .policy import Policy
from .priors import FIRST_OF, Observation, Reach, first_answers, observe
from .prompts import first_messages
from .settings import SearchSettings
from .state import Candidate, RunState

__all__ = ["Outcome", "Search", "SearchSettings"]


@dataclass
class Outcome:
    state: RunState
    finish_reason: FinishReason
    message: str


@dataclass
class _Branch:
    action: Action
    model: str | None = None
    """The model whose slot it holds while its action runs (None once released)."""
    acting: bool = True
    """Its action is still running (then its evaluation, if any, is to come)."""
    blind: bool = False
    """Started before any answer was checked: what it writes owes nothing to feedback."""

    def release(self, load: ModelLoad) -> None:
        if self.model is not None:
            model, self.model = self.model, None
            load.remove(model)
        else:
            load.changed.set()


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
        kinds: list[ActionKind] | None = None,
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
        self.load = evaluator.load
        self.policy = Policy(
            kinds
            if kinds is not None
            else default_kinds(settings, evaluator.code, task=task, models=models)
        )
        self.costs = CostModel(
            settings, trace, ledger, models, evaluator.judge, len(evaluator.judged_requirements)
        )
        self.ctx = ActionContext(
            task=task,
            models=models,
            calls=calls,
            trace=trace,
            evaluator=evaluator,
            state=self.state,
            settings=settings,
            first_messages=self.base,
            plain_messages=self.plain,
            new_candidate_id=lambda: f"c{next(self._ids)}",
            seen=lambda text: text in self._by_text,
        )
        slots = {m.name: max(1, m.max_concurrency) for m in models}
        self.width = settings.width or sum(slots.values())
        self._branches: dict[asyncio.Task[None], _Branch] = {}
        self._model_launched = 0
        self._stale = 0
        """Model branches in a row that brought no new best candidate."""
        self._failed = 0
        """Model branches in a row whose calls failed."""
        self._stop: Outcome | None = None
        """Set by a branch when the run must end (a permanent failure, an internal error)."""
        self._blocked: str | None = None
        """Why the last attempt to start an action could not (a budget cap), if it could not."""
        self._blocked_seconds = 0.0
        """The expected wall time of the action the time left could not pay for."""
        self._refused_at: int | None = None
        """The ledger refused a call when this many calls had settled: start no model
        call until another one settles (its reservation may free room)."""
        self.observations: list[Observation] = []
        """What each model action did to the requirements it was meant to fix (for the
        priors of later runs: `planner.priors`)."""
        self.out_of_reach: frozenset[str] = frozenset()
        """Requirements (by name) that earlier runs never improved with this model (set
        from the priors): while the best candidate fails only these, start nothing new."""
        self.reach: Reach | None = None
        """The chance one model action improves each requirement, by earlier runs (set
        from the priors): when the budget left is unlikely to fix what the best
        candidate fails, start nothing new."""

    # -- the loop -------------------------------------------------------------------------
    async def run(self) -> Outcome:
        try:
            while True:
                outcome = self._must_stop()
                if outcome is not None:
                    await self._cancel_all()
                    return outcome
                self._fill()
                if not self._branches:
                    return self._idle()
                self.load.changed.clear()
                await self.load.changed.wait()
                self._reap()
        except asyncio.CancelledError:
            await self._cancel_all()
            raise

    def _fill(self) -> None:
        """Start actions while the policy has some the slots and the budget allow."""
        self._blocked = None
        self.costs.refresh()
        while True:
            # Past patience (or with only hopeless requirements left) no model work starts,
            # but free actions (deterministic repairs) still do: they cost nothing.
            models_too = self._stale < self._patience()
            view = self._view()
            committed = self._committed()
            for action in self.policy.choose(view):
                if action.kind.uses_model and not models_too:
                    continue
                started = self._try_start(action, committed)
                if started is None:
                    continue  # not affordable: try a cheaper one
                if not started:
                    return  # wait: a slot or the budget may free up
                break
            else:
                return

    def _try_start(self, action: Action, committed: Estimate) -> bool | None:
        """Start `action` (True), wait for work in flight to finish (False), or pass
        on it because the budget left cannot pay for it (None). `committed`: what the
        branches in flight are still expected to spend."""
        kind = action.kind
        if not kind.uses_model:
            self._start(action, None)
            return True
        in_flight = sum(1 for b in self._branches.values() if b.action.kind.uses_model)
        if in_flight >= self.width:
            return False
        if self._refused_at is not None:
            if self._refused_at == self.ledger.usage.calls:
                self._blocked = self._blocked or "refused"
                return False
            self._refused_at = None
        free = self._with_free_slot(action)
        if free is None:
            return False
        action = free
        est = kind.estimate(action, self.ctx, self.costs)
        if self._model_launched:  # the first call is always tried: the ledger decides
            short = self.costs.shortfall(est, committed)
            if short is not None:
                self._blocked = short
                if short == "seconds":
                    self._blocked_seconds = est.seconds or 0.0
                # Every model action needs a call: when calls are short, none fits.
                return False if short == "calls" else None
            if in_flight and not self.costs.full_output_fits(
                action.model_index, est.prompt_tokens, est.max_output
            ):
                # The calls in flight hold their worst case in the ledger; started now,
                # this call would be cut short. Their real usage is usually far less.
                return False
        model = self.models[action.model_index % len(self.models)]
        self._start(action, model.name)
        return True

    def _committed(self) -> Estimate:
        """What the branches in flight are still expected to spend, at today's estimates."""
        total = Estimate()
        for b in self._branches.values():
            kind = b.action.kind
            if not kind.uses_model:
                continue
            if b.acting:
                total += kind.estimate(b.action, self.ctx, self.costs)
            else:
                total += self.costs.evaluation()
        return total

    def _with_free_slot(self, action: Action) -> Action | None:
        """`action` on its model if that has a free slot, else on another that has."""
        n = len(self.models)
        for i in range(n):
            index = (action.model_index + i) % n
            model = self.models[index]
            if self.load.busy(model.name) < max(1, model.max_concurrency):
                return action if i == 0 else replace(action, model_index=index)
        return None

    def _start(self, action: Action, model: str | None) -> None:
        kind = action.kind
        kind.stats.launched += 1
        if action.target is not None:
            kind.stats.launched_on[action.target] += 1
        if model is not None:
            self.load.add(model)
            self._model_launched += 1
        blind = not any(c.verdicts for c in self.state.candidates.values())
        branch = _Branch(action, model, blind=blind)
        task = asyncio.create_task(self._branch(branch), name=action.describe())
        task.add_done_callback(lambda _: branch.release(self.load))
        self._branches[task] = branch

    def _reap(self) -> None:
        for task in [t for t in self._branches if t.done()]:
            del self._branches[task]
            exc = None if task.cancelled() else task.exception()
            if exc is not None and self._stop is None:  # a bug, not a model failure
                message = f"internal error: {type(exc).__name__}: {exc}"
                self.state.errors.append(message)
                self._stop = Outcome(self.state, "error", message)

    async def _cancel_all(self) -> None:
        tasks = list(self._branches)
        self._branches.clear()
        await cancel_and_wait(tasks)

    def _view(self) -> SearchView:
        return SearchView(
            state=self.state,
            settings=self.settings,
            pending=tuple(b.action for b in self._branches.values()),
            n_models=len(self.models),
            vary_prompt=self.base != self.plain,
            calls_left=self._actions_left(),
            tokens_of=lambda a: a.kind.estimate(a, self.ctx, self.costs).tokens,
        )

    # -- one branch -----------------------------------------------------------------------
    async def _branch(self, branch: _Branch) -> None:
        action, state = branch.action, self.state
        kind = action.kind
        try:
            produced = await kind.execute(action, self.ctx)
        except BudgetExhausted as exc:
            self._refused_at = self.ledger.usage.calls
            if exc.last_error:
                state.errors.append(exc.last_error)
            return
        except CallFailed as exc:
            state.errors.append(str(exc))
            if exc.permanent and self._stop is None:
                self._stop = Outcome(state, "error", str(exc))
            self._failed += 1
            self._stale += 1
            return
        finally:
            branch.acting = False
            branch.release(self.load)
        if produced is None:
            return
        if kind.uses_model:
            self._failed = 0
        reference = produced.parent or state.best
        seen = self._by_text.get(produced.text)
        if seen is not None:  # the same answer again: nothing new to evaluate
            produced.node.candidate_id = seen
            produced.node.detail["duplicate_of"] = seen
            self.evaluator.note_repeat(state.candidates[seen])
            kind.stats.tried += 1
            kind.stats.repeats += 1
            self._observe(kind, produced, reference, None)
            self._note(kind, new_best=False)
            return
        kind.stats.repeats = 0
        parent = produced.parent
        cand = Candidate(
            id=produced.candidate_id,
            text=produced.text,
            node_id=produced.node.id,
            origin=produced.origin,
            parent=parent.id if parent else None,
            model=produced.model,
            temperature=produced.temperature,
        )
        new_best = await self._admit(cand, produced.node)
        kind.stats.tried += 1
        if kind.succeeded(cand, parent, new_best, state):
            kind.stats.improved += 1
        self._observe(kind, produced, reference, cand)
        if branch.blind and kind.uses_model:
            node = produced.node
            self.observations += first_answers(
                FIRST_OF + kind.name,
                model=produced.model,
                new=cand,
                tokens=node.input_tokens + node.output_tokens,
                state=state,
            )
        self._note(kind, new_best=new_best)

    def _observe(
        self,
        kind: ActionKind,
        produced: Produced,
        reference: Candidate | None,
        new: Candidate | None,
    ) -> None:
        if not kind.uses_model:
            return
        node = produced.node
        self.observations += observe(
            action=kind.name,
            model=produced.model,
            reference=reference,
            new=new,
            tokens=node.input_tokens + node.output_tokens,
            state=self.state,
        )

    def _note(self, kind: ActionKind, *, new_best: bool) -> None:
        if new_best:
            self._stale = 0
        elif kind.uses_model:
            self._stale += 1

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

    # -- stopping -------------------------------------------------------------------------
    def _must_stop(self) -> Outcome | None:
        """An outcome that ends the run now, cancelling what is in flight."""
        if self._stop is not None:
            return self._stop
        done = self._finished()
        if done is not None:
            return done
        broken = self.evaluator.broken_validator(self.settings.validator_errors_to_stop)
        if broken is not None:
            self.state.errors.append(broken)
            return Outcome(self.state, "error", broken)
        if self._failed >= self.settings.failures_to_stop * self.width:
            return Outcome(
                self.state,
                "error",
                self.state.errors[-1] if self.state.errors else "every call failed",
            )
        return None

    def _idle(self) -> Outcome:
        """Nothing is in flight and nothing could be started: say why."""
        best = self.state.best
        if best is not None and self._hopeless():
            failing = [r.name for r, _ in self.state.failing(best)]
            names = ", ".join(failing)
            if all(n in self.out_of_reach for n in failing):
                why = f"requirements earlier runs never improved with this model ({names})"
            else:
                chance = self._chance(failing) or 0.0
                why = (
                    f"requirements earlier runs seldom improved with this model ({names}): "
                    f"a {100 * chance:.0f} % chance that the budget left fixes them all"
                )
            return Outcome(
                self.state,
                "no_further_improvement",
                f"the best candidate fails only {why}; see `cadenza priors show`",
            )
        if self._stale >= self.settings.patience * self.width:
            return Outcome(
                self.state,
                "no_further_improvement",
                f"no better candidate in the last {self._stale} branches "
                f"(patience {self.settings.patience} x width {self.width})",
            )
        if self._blocked is not None or self._refused_at is not None:
            return self._outcome_budget()
        return Outcome(self.state, "no_further_improvement", "nothing left to try")

    def _patience(self) -> int:
        """Branches in a row without a new best after which nothing new is started."""
        return 0 if self._hopeless() else self.settings.patience * self.width

    def _hopeless(self) -> bool:
        """The best candidate fails only requirements out of reach; or, before any answer,
        every requirement is out of reach and one model action has started (any answer
        beats none; more of them are not worth buying)."""
        if not self.out_of_reach and self.reach is None:
            return False
        best = self.state.best
        if best is None:
            reqs = self.state.requirements
            return (
                self._model_launched > 0
                and bool(reqs)
                and all(r.name in self.out_of_reach for r in reqs)
            )
        failing = [r.name for r, _ in self.state.failing(best)]
        if failing and all(n in self.out_of_reach for n in failing):
            return True
        return self.reach is not None and self.reach.not_worth_it(failing, self._actions_left())

    def _actions_left(self) -> float | None:
        """How many more model actions like a first sample the budget pays for, counting
        the ones in flight (they are tries too); None when nothing caps them."""
        return self.costs.calls_left(
            self.costs.generation(0, self.costs.first_prompt_tokens(self.base))
        )

    def _chance(self, failing: list[str]) -> float | None:
        return None if self.reach is None else self.reach.chance(failing, self._actions_left())

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
            return Outcome(
                self.state, "error", f"no answer: every call failed: {self.state.errors[-1]}"
            )
        led, b = self.ledger, self.ledger.budget
        caps = []
        if b.max_tokens is not None:
            caps.append(f"{led.usage.total_tokens} of {b.max_tokens} tokens")
        if b.max_calls is not None:
            caps.append(f"{led.usage.calls} of {b.max_calls} calls")
        if b.max_usd is not None:
            caps.append(f"${led.usage.cost_usd:.4f} of ${b.max_usd:.4f}")
        if b.max_seconds is not None:
            caps.append(f"{led.elapsed():.1f} of {b.max_seconds:g} s")
        why = "no further call fits"
        if self._blocked == "seconds":
            left = max(0.0, led.seconds_left() or 0.0)
            why = (
                f"the time limit leaves {left:.2f} s, less than the next step is expected "
                f"to take ({self._blocked_seconds:.2f} s)"
            )
        return Outcome(
            self.state,
            "budget_exhausted",
            f"budget exhausted: {why} (" + ", ".join(caps) + " used)",
        )
