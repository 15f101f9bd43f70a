"""Extractive answers: the model chooses among spans of the passages, under a grammar.

`spans.candidate_spans` cuts the candidates out of the passages shown (names, dates,
numbers of the type the question asks for; yes and no; the two options of an "A or B"
question), each with the passage it comes from. This module turns them into the
answers the model may give -- ``Chief of Protocol [P2]``, ``yes [P1][P3]`` -- and into a
GBNF grammar whose only sentences are those answers, so that the model's answer is
grounded and cited by construction and as short as the span.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..models.base import Message, Model, ResponseFormat
from ..models.constraints import FORMAT_DROPPED
from ..planner.actions import (
    Action,
    ActionContext,
    Estimate,
    KindStats,
    Produced,
    SearchView,
    write_answer,
)
from ..planner.costs import CostModel
from ..planner.grammar import gbnf_literal
from ..planner.state import Candidate, RunState
from .retriever import RetrievalSettings
from .spans import Span, answer_type, asks_short_answer, candidate_spans

if TYPE_CHECKING:
    from .actions import Retrieve

__all__ = ["Extract", "alternative", "choice_grammar", "choice_messages"]


def alternative(span: Span) -> str:
    """The answer a span makes: its text and its citations (``Mumbai [P2]``)."""
    cites = "".join(f"[{lab}]" for lab in span.labels)
    return f"{span.text} {cites}".strip()


def choice_grammar(alternatives: Sequence[str]) -> str:
    """A GBNF grammar whose sentences are exactly `alternatives`."""
    if not alternatives:
        raise ValueError("a choice needs at least one alternative")
    alts = " | ".join(gbnf_literal(a) for a in dict.fromkeys(alternatives))
    return f"root ::= {alts}\n"


def choice_messages(
    answer_prompt: Sequence[Message], spans: Sequence[Span], *, list_them: bool = True
) -> tuple[Message, ...]:
    """The answer prompt (passages, question, how to answer), with the candidates listed
    after it when `list_them` (a small model picks better among what it has seen)."""
    msgs = list(answer_prompt)
    if list_them and msgs and msgs[-1].role == "user":
        listed = "; ".join(s.text for s in spans)
        msgs[-1] = Message("user", f"{msgs[-1].content}\nChoose from: {listed}.")
    return tuple(msgs)


class Extract:
    """The extractive answer as a kind of action of the planner (see the module docstring).

    It joins a run with tools when the answers are asked for short
    (`RetrievalSettings.answer_style` ``short``), `RetrievalSettings.extract` is on, the
    question is a short factual one (`spans.asks_short_answer`) and one of the task's
    models enforces grammars. Once `Retrieve` is done it proposes one action: the
    candidates of the passages shown (at most `RetrievalSettings.extract_choices`) are
    listed after the answer prompt and the model writes one of them under a grammar that
    allows nothing else. The answer is a candidate like any other: checked by the
    requirements, repaired, revised. When the passages hold no candidate it produces
    nothing, and the free-form samples answer as before; a server that refuses the
    grammar answers free (``detail.extract.refused``) and the kind proposes no more.
    """

    name = "extract"
    uses_model = True

    def __init__(
        self,
        retrieve: Retrieve,
        settings: RetrievalSettings,
        model_indices: Sequence[int],
    ) -> None:
        if not model_indices:
            raise ValueError("an extractive answer needs a model that supports grammars")
        self.retrieve = retrieve
        self.settings = settings
        self.model_indices = tuple(model_indices)
        self.prior = settings.extract_prior
        self.stats = KindStats()
        self.spent = False
        """Its one action has run (or there was nothing to choose from)."""

    @classmethod
    def for_run(
        cls, retrieve: Retrieve, settings: RetrievalSettings, models: Sequence[Model]
    ) -> Extract | None:
        """The kind for this run, or None when it has nothing to do in it."""
        if not settings.extract or settings.answer_style != "short":
            return None
        if not asks_short_answer(retrieve.retriever.question):
            return None
        probe = ResponseFormat("grammar", grammar='root ::= "a"\n', name="choice")
        usable = [i for i, m in enumerate(models) if m.supports(probe)]
        return cls(retrieve, settings, usable) if usable else None

    def spans(self) -> list[Span]:
        """The candidates of the passages shown, best first."""
        r = self.retrieve.retriever
        bridge_keys = {p.key for b in r.bridges for p in b.passages}
        bridges = [s.label for s in r.evidence.shown if s.found.key in bridge_keys]
        spans = candidate_spans(
            r.question, r.evidence.shown, bridges=bridges, limit=self.settings.extract_choices
        )
        return [s for s in spans if len(s.text.split()) <= self.settings.extract_max_words]

    def propose(self, view: SearchView) -> list[Action]:
        if self.spent or not self.retrieve.done or view.pending_of(self):
            return []
        return [Action(self, model_index=self.model_indices[0], temperature=0.0)]

    def estimate(self, action: Action, ctx: ActionContext, costs: CostModel) -> Estimate:
        return costs.generation(action.model_index, costs.first_prompt_tokens(ctx.first_messages))

    async def execute(self, action: Action, ctx: ActionContext) -> Produced | None:
        self.spent = True
        spans = self.spans()
        if not spans:
            return None
        index = action.model_index
        if index not in self.model_indices:  # moved to a model that cannot: go back
            index = self.model_indices[0]
        alternatives = [alternative(s) for s in spans]
        fmt = ResponseFormat("grammar", grammar=choice_grammar(alternatives), name="choice")
        produced = await write_answer(
            ctx,
            replace(action, model_index=index),
            ctx.models[index],
            choice_messages(ctx.first_messages, spans),
            settings=ctx.settings,
            origin=self.name,
            response_format=fmt,
        )
        detail: dict[str, Any] = {
            "answer_type": answer_type(self.retrieve.retriever.question),
            "choices": alternatives,
        }
        if FORMAT_DROPPED in (produced.node.detail.get("constraint_gaps") or ()):
            detail["refused"] = True
        produced.node.detail["extract"] = detail
        return produced

    def succeeded(
        self, cand: Candidate, parent: Candidate | None, new_best: bool, state: RunState
    ) -> bool:
        return new_best
