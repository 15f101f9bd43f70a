"""The kinds of action the search takes today.

- `Sample` (breadth): a fresh answer to the first prompt, at some temperature, from
  one of the task's models;
- `Revise` (depth): a candidate, plus the feedback on its failing requirements, goes
  back to the model for a rewrite;
- `Repair` (free): the deterministic fixes that the failing requirements' code checks
  offer (lowercasing, removing commas, ...) applied to a copy; no model call;
- `ConstrainedSample` (constrained.py): a fresh answer under a grammar that holds the
  exact requirements, on models that enforce grammars.

To add a kind, write a class with the same methods (see `ActionKind`; a kind that asks
a model for an answer can start from `ModelKind`) and add it to `default_kinds`; the
policy then weighs it with the others by what it gains.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..models.base import Model
from ..task import Task
from ..validators.base import Validator, run_validator
from .actions import (
    Action,
    ActionContext,
    ActionKind,
    Estimate,
    KindStats,
    ModelKind,
    Produced,
    SearchView,
)
from .constrained import ConstrainedSample
from .costs import CostModel
from .focus import Focus
from .prompts import revision_messages
from .settings import SearchSettings
from .state import Candidate, RunState

__all__ = ["Repair", "Revise", "Sample", "default_kinds"]


class Sample(ModelKind):
    name = "sample"

    def __init__(self, settings: SearchSettings) -> None:
        super().__init__(settings, settings.sample_prior)

    def temperature(self, k: int) -> float:
        """The k-th sample's temperature (k from 0). Past the list, its first (greedy)
        entry is not repeated: at temperature 0 the same prompt gives the same answer."""
        temps = self.settings.sample_temperatures
        if k < len(temps) or len(temps) == 1:
            return temps[k % len(temps)]
        return temps[1 + (k - len(temps)) % (len(temps) - 1)]

    def propose(self, view: SearchView) -> list[Action]:
        if view.nothing_to_choose and (view.state.candidates or view.pending_of(self)):
            return []  # any answer will do, and one is there or on its way
        if self.stats.repeats >= 2 and view.pending:
            # The model keeps giving the same answer: wait for the work in flight (an
            # evaluation may open a revision) rather than buy more copies of it.
            return []
        k = self.stats.launched
        every = self.settings.plain_every
        plain = view.vary_prompt and every > 0 and k % every == every - 1
        action = Action(
            self,
            model_index=k % view.n_models,
            temperature=self.temperature(k),
            variant="plain" if plain else "",
        )
        return [action]

    def estimate(self, action: Action, ctx: ActionContext, costs: CostModel) -> Estimate:
        messages = ctx.plain_messages if action.variant == "plain" else ctx.first_messages
        return costs.generation(action.model_index, costs.first_prompt_tokens(messages))

    async def execute(self, action: Action, ctx: ActionContext) -> Produced | None:
        messages = ctx.plain_messages if action.variant == "plain" else ctx.first_messages
        return await self._write(ctx, action, messages)

    def succeeded(
        self, cand: Candidate, parent: Candidate | None, new_best: bool, state: RunState
    ) -> bool:
        # The first answer of a run is always "the new best": that says nothing about
        # whether sampling again beats revising or focusing, so it is no success.
        return new_best and any(c.verdicts for c in state.candidates.values() if c.id != cand.id)


class Revise(ModelKind):
    name = "revise"

    def __init__(self, settings: SearchSettings) -> None:
        super().__init__(settings, settings.revise_prior)

    def propose(self, view: SearchView) -> list[Action]:
        """Failing candidates, best first; after `revisions_per_candidate` revisions of
        one, the runners-up; when every one has had its share, the least revised. At most
        `revisions_at_once` revisions of the same candidate are in flight."""
        state, s = view.state, self.settings
        failing = [c for c in state.ranked() if state.failing(c)]
        started = self.stats.launched_on
        fresh = [c for c in failing if started[c.id] < s.revisions_per_candidate]
        pool = fresh or sorted(failing, key=lambda c: started[c.id])
        temps = s.revise_temperatures
        return [
            Action(
                self,
                model_index=self.stats.launched % view.n_models,
                temperature=temps[started[c.id] % len(temps)],
                target=c.id,
            )
            for c in pool
            if view.pending_on(c.id, self) < s.revisions_at_once
        ]

    def estimate(self, action: Action, ctx: ActionContext, costs: CostModel) -> Estimate:
        parent = ctx.state.candidates[action.target or ""]
        prompt = (
            costs.first_prompt_tokens(ctx.first_messages)
            + costs.answer_tokens(parent.node_id, parent.text)
            + self.settings.feedback_tokens
        )
        return costs.generation(action.model_index, prompt)

    async def execute(self, action: Action, ctx: ActionContext) -> Produced | None:
        parent = ctx.state.candidates[action.target or ""]
        messages = revision_messages(
            ctx.first_messages,
            parent.text,
            ctx.state.failing(parent),
            max_items=self.settings.feedback_items,
            reason_chars=self.settings.feedback_reason_chars,
        )
        return await self._write(
            ctx, action, messages, kind="revise", parent_node=parent.node_id, parent=parent
        )

    def succeeded(
        self, cand: Candidate, parent: Candidate | None, new_best: bool, state: RunState
    ) -> bool:
        return parent is not None and state.key(cand) > state.key(parent)


class Repair:
    """Deterministic fixes, applied to a copy of a candidate a code check failed.

    Fixes can undo each other (an appended end phrase brings back capitals after
    lowercasing), so the free checks are rerun on the fixed text and the fixes applied
    again, for at most `repair_passes` passes. Candidates the model wrote are repaired
    once each (dropped ones too: a fix can lift them above the best); repairs are not
    repaired again."""

    name = "repair"
    uses_model = False
    prior = 1.0

    def __init__(self, settings: SearchSettings, code: dict[str, Validator]) -> None:
        self.settings = settings
        self.stats = KindStats()
        self.fixable = {name: v for name, v in code.items() if v.repair is not None}

    def propose(self, view: SearchView) -> list[Action]:
        if not self.fixable:
            return []
        state = view.state
        return [
            Action(self, target=c.id)
            for c in state.candidates.values()
            if c.origin != self.name
            and not self.stats.launched_on[c.id]
            and any(r.name in self.fixable for r, _ in state.failing(c))
        ]

    def estimate(self, action: Action, ctx: ActionContext, costs: CostModel) -> Estimate:
        return costs.evaluation()

    async def execute(self, action: Action, ctx: ActionContext) -> Produced | None:
        cand = ctx.state.candidates[action.target or ""]
        started = time.monotonic()
        text, applied = cand.text, list[str]()
        fixable = [
            (req, self.fixable[req.name])
            for req in ctx.task.requirements
            if req.name in self.fixable
        ]
        for _ in range(self.settings.repair_passes):
            changed = False
            for req, v in fixable:
                ctx_req = ctx.evaluator.context(req)
                try:
                    if (await run_validator(v, text, ctx_req)).passed:
                        continue
                    fixed = v.repair(text, ctx_req) if v.repair else None
                except Exception:  # a broken check or repair is skipped, never fatal
                    continue
                if fixed is not None and fixed != text:
                    text, changed = fixed, True
                    if v.name not in applied:
                        applied.append(v.name)
            if not changed:
                break
        if not applied or ctx.seen(text):
            return None
        cid = ctx.new_candidate_id()
        node = ctx.trace.start("repair", parent=cand.node_id, candidate_id=cid)
        ctx.trace.finish(
            node,
            "ok",
            response=text,
            detail={"repairs": applied},
            latency_s=time.monotonic() - started,
        )
        return Produced(cid, text, node, origin=self.name, parent=cand, model=cand.model)

    def succeeded(
        self, cand: Candidate, parent: Candidate | None, new_best: bool, state: RunState
    ) -> bool:
        return new_best


def default_kinds(
    settings: SearchSettings,
    code: dict[str, Validator],
    *,
    task: Task | None = None,
    models: Sequence[Model] = (),
) -> list[ActionKind]:
    """The kinds of action a search chooses among, free ones first. With the `task` and
    its `models`, a `ConstrainedSample` joins them when it has something to do."""
    kinds: list[ActionKind] = []
    if settings.repairs:
        kinds.append(Repair(settings, code))
    kinds += [Revise(settings), Sample(settings)]
    if settings.focus:
        kinds.insert(len(kinds) - 1, Focus(settings))
    if task is not None:
        constrained = ConstrainedSample.for_task(settings, task, code, models)
        if constrained is not None:
            kinds.append(constrained)
    return kinds
