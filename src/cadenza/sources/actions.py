"""Retrieval as a kind of action of the planner.

A run with tools (`FileSearch`, `WebSearch`) has one more kind of action beside sample,
revise and repair: `Retrieve`. It calls no model, so the policy runs it first and
starts nothing else while it is in flight (free actions first); its steps follow each
other as actions of their own, each a set of ``search`` trace nodes:

1. ``question``: every tool searched with the user's question;
2. ``hop`` (``RetrievalSettings.hops`` times, while the last one found a bridge): the
   names the best passages mention that the question does not are looked up
   (`Retriever.follow_up`);
3. after the last step, the passages to show are chosen (at most
   ``RetrievalSettings.max_shown``) under their short ids, and the prompt every sample
   and revision starts from becomes the answer prompt: the passages as plain text, the
   question, and how to answer (`prompts.answer_messages`). The validators then read
   the passages (`CheckContext.sources`).

Samples wait for it: until it is done the policy proposes only it. For a short factual
question on a model that enforces grammars, the extractive answer (`choose.Extract`)
comes next, alone; the free-form samples follow only if its answer fails. A failed search is a
failed trace node and the run goes on with what the others found; nothing found at all
still ends in an answer (the prompt then says nothing was found).
"""

from __future__ import annotations

from ..models.base import Message
from ..planner.actions import Action, ActionContext, Estimate, KindStats, Produced, SearchView
from ..planner.costs import CostModel
from ..planner.state import Candidate, RunState
from ..task import Task
from .prompts import answer_messages
from .retriever import Retriever

__all__ = ["SOURCE_VALIDATORS", "Retrieve", "answer_prompt"]

SOURCE_VALIDATORS = frozenset({"cites_sources", "grounded", "short_answer"})
"""The built-in requirements of an answer from passages: the answer prompt asks for
them itself, so they are not repeated under it."""


def answer_prompt(task: Task, retriever: Retriever) -> tuple[Message, ...]:
    """The prompt of every answer once retrieval is done: the user's turns (system
    prompt first), the last one replaced by passages + question + how to answer, and
    the user's own requirements as plain sentences."""
    msgs: list[Message] = []
    if task.system_prompt:
        msgs.append(Message("system", task.system_prompt))
    if isinstance(task.input, str):
        msgs.append(Message("user", task.input))
    else:
        msgs.extend(Message(m.role, m.content) for m in task.input)
    out = list(
        answer_messages(
            retriever.question,
            retriever.evidence.shown,
            style=retriever.settings.answer_style,
            base=msgs,
        )
    )
    own = [
        r.description.strip()
        for r in task.requirements
        if r.validator_name not in SOURCE_VALIDATORS and r.name not in SOURCE_VALIDATORS
    ]
    if own:
        extra = "\n".join(d if d[-1:] in ".!?" else d + "." for d in own)
        out[-1] = Message("user", f"{out[-1].content}\n{extra}")
    return tuple(out)


class Retrieve:
    """The retrieval steps, one action each (see the module docstring)."""

    name = "retrieve"
    uses_model = False
    prior = 1.0

    def __init__(self, retriever: Retriever, task: Task) -> None:
        self.retriever = retriever
        self.task = task
        self.stats = KindStats()
        self.done = False

    def propose(self, view: SearchView) -> list[Action]:
        if self.done or view.pending_of(self):
            return []
        r = self.retriever
        return [Action(self, variant="hop" if r.searched else "question")]

    def estimate(self, action: Action, ctx: ActionContext, costs: CostModel) -> Estimate:
        return Estimate()

    async def execute(self, action: Action, ctx: ActionContext) -> Produced | None:
        r = self.retriever
        # A search that fails is a failed trace node, never an exception.
        if action.variant == "question":
            await r.search_question()
            more = r.settings.hops > 0
        else:
            found = await r.follow_up()
            more = found > 0 and r.hops_done < r.settings.hops
        if not more:
            self._finish(ctx)
        return None

    def _finish(self, ctx: ActionContext) -> None:
        """Choose the passages, and answer from them from now on."""
        r = self.retriever
        r.select()
        messages = answer_prompt(self.task, r)
        ctx.first_messages = messages
        ctx.plain_messages = messages
        ctx.evaluator.sources = r.evidence.texts()
        self.done = True

    def succeeded(
        self, cand: Candidate, parent: Candidate | None, new_best: bool, state: RunState
    ) -> bool:
        return False
