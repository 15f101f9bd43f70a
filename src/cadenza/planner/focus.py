"""`Focus`: a fresh answer with the requirements an earlier answer missed stated up front.

A revision sends the failing answer back with the feedback: its prompt carries the whole
answer, so on a small budget it costs about two samples, and a small model given its own
long answer tends to copy it. A focused sample asks again from scratch, with the
requirements the best candidate missed restated where the model cannot overlook them
(`prompts.focus_messages`): it costs what a sample costs and still uses what the checks
found. The policy weighs it against sampling and revising by what each has gained in the
run (a focused sample succeeds when its answer becomes the run's best: it has no
parent, since it starts afresh).
"""

from __future__ import annotations

from ..models.base import Message
from .actions import Action, ActionContext, Estimate, ModelKind, Produced, SearchView
from .costs import CostModel
from .prompts import focus_messages
from .settings import SearchSettings
from .state import Candidate

__all__ = ["Focus"]


class Focus(ModelKind):
    name = "focus"

    def __init__(self, settings: SearchSettings) -> None:
        super().__init__(settings, settings.focus_prior)

    def temperature(self, k: int) -> float:
        temps = self.settings.focus_temperatures
        return temps[k % len(temps)]

    def propose(self, view: SearchView) -> list[Action]:
        """A focused sample on the best failing candidate's missed requirements, while
        it has had fewer than `focus_per_candidate`; else on the runners-up."""
        state, s = view.state, self.settings
        if self.stats.repeats and view.pending:
            return []  # its last answer was one seen before: let the work in flight show more
        failing = [c for c in state.ranked() if state.failing(c)]
        started = self.stats.launched_on
        return [
            Action(
                self,
                model_index=self.stats.launched % view.n_models,
                temperature=self.temperature(started[c.id]),
                target=c.id,
            )
            for c in failing
            if started[c.id] < s.focus_per_candidate
        ][:1]

    def _messages(
        self, action: Action, ctx: ActionContext
    ) -> tuple[Candidate, tuple[Message, ...]]:
        target = ctx.state.candidates[action.target or ""]
        messages = focus_messages(
            ctx.plain_messages,
            ctx.state.failing(target),
            style=self.settings.focus_style,
            max_items=self.settings.feedback_items,
        )
        return target, messages

    def estimate(self, action: Action, ctx: ActionContext, costs: CostModel) -> Estimate:
        _, messages = self._messages(action, ctx)
        extra = costs.prompt_tokens(messages) - costs.prompt_tokens(ctx.plain_messages)
        return costs.generation(
            action.model_index, costs.first_prompt_tokens(ctx.first_messages) + max(0.0, extra)
        )

    async def execute(self, action: Action, ctx: ActionContext) -> Produced | None:
        target, messages = self._messages(action, ctx)
        # it restates what that candidate missed: its node hangs under that one's
        produced = await self._write(ctx, action, messages, parent_node=target.node_id)
        produced.node.detail["focus"] = [r.name for r, _ in ctx.state.failing(target)]
        produced.node.detail["focus_of"] = target.id
        return produced
