"""`ConstrainedSample`: a fresh answer written under a grammar that holds the exact
requirements, on the models that enforce grammars while decoding.

The grammar (`grammar.requirements_grammar`) combines every requirement with a code
check it can express: no commas, one case, double quotes around the answer, an end
phrase, a JSON object, N bullet points or paragraphs, a title, a postscript, the
repeated request, IFEval's fixed answers, at least N words, highlights, placeholders,
keywords, forbidden words, two responses, a paragraph's first word. An answer held to
at least N words may write what they need (`output_cap`; an N the budget cannot pay for
in one call is left out of the grammar). The kind exists in a run only when such a
grammar exists, `SearchSettings.constrain` is on, the task has no output type (whose
schema already constrains every sample), and at least one of the task's models says it
`supports` the grammar; then the policy weighs it with the other kinds by what it has
gained (it succeeds when its answer becomes the new best), starting from
`SearchSettings.constrained_prior`.

Its calls are marked in the trace: ``detail.constrained == "grammar"`` (by the call
runner) and ``detail.grammar`` naming the requirements the grammar enforces and those it
left to validation. A server that refuses the grammar (llama.cpp says why in its log)
answers unconstrained: the node then has ``detail.grammar.refused`` and the kind proposes
no more. A grammar narrows what the model can say, not what it wants to
say: a small model held to "end with this phrase" may never write it and run to its
token limit; such a cut-off answer fails its checks and counts against the kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..models.base import Model, ResponseFormat
from ..models.constraints import FORMAT_DROPPED
from ..task import Task
from ..validators.base import Validator
from .actions import Action, ActionContext, Estimate, ModelKind, Produced, SearchView, write_answer
from .costs import CostModel
from .grammar import ExactRequirement, RequirementGrammar, most_words, requirements_grammar
from .settings import SearchSettings

__all__ = ["ConstrainedSample", "output_cap", "task_grammar", "words_affordable"]


def task_grammar(
    task: Task,
    code: Mapping[str, Validator],
    *,
    max_words: int | None = None,
    most_words: int | None = None,
) -> RequirementGrammar | None:
    """The grammar of `task`'s code-checked requirements, mandatory ones first (they are
    kept when two requirements contradict each other), or None."""
    exact = [
        ExactRequirement(r.name, code[r.name].name, dict(r.validator_args), task.instruction)
        for r in sorted(task.requirements, key=lambda r: not r.is_mandatory)
        if r.name in code
    ]
    if not exact:
        return None
    return requirements_grammar(exact, max_words=max_words, most_words=most_words)


LONG_ANSWER_MARGIN = 48
"""Output tokens added to ``N × tokens_per_word`` for an answer of at least N words."""
PROMPT_OVERHEAD_TOKENS = 64
"""Tokens a chat template and the stated requirements add to the user's input (a guess
used only to size a long answer before any call has run)."""


def words_affordable(settings: SearchSettings, task: Task) -> int | None:
    """The most words one call may be held to within the task's token budget (None: no
    token cap)."""
    cap = task.budget.max_tokens
    if cap is None:
        return None
    prompt = len(task.instruction) / settings.chars_per_token + PROMPT_OVERHEAD_TOKENS
    return max(0, int((cap - prompt - LONG_ANSWER_MARGIN) / settings.tokens_per_word))


def output_cap(settings: SearchSettings, grammar: RequirementGrammar) -> int:
    """The output cap of a call under `grammar`: `max_output_tokens`, or, for an answer
    held to at least N words, what the most words the grammar then lets through need,
    if more (the ledger still caps it at what the budget left can pay for)."""
    if not grammar.shape.min_words:
        return settings.max_output_tokens
    words = most_words(grammar.shape) or grammar.shape.min_words
    need = words * settings.tokens_per_word + LONG_ANSWER_MARGIN
    return max(settings.max_output_tokens, int(need))


class ConstrainedSample(ModelKind):
    name = "constrained_sample"

    def __init__(
        self, settings: SearchSettings, grammar: RequirementGrammar, model_indices: Sequence[int]
    ) -> None:
        if not model_indices:
            raise ValueError("a constrained sample needs a model that supports grammars")
        super().__init__(settings, settings.constrained_prior)
        self.grammar = grammar
        self.format = ResponseFormat("grammar", grammar=grammar.grammar, name="requirements")
        self.model_indices = tuple(model_indices)
        self.max_tokens = output_cap(settings, grammar)
        """Its calls' output cap: more than `max_output_tokens` when the grammar holds
        the answer to more words than that many tokens can write."""
        self.refused = False
        """A model refused the grammar (its call then ran unconstrained): stop proposing."""

    @classmethod
    def for_task(
        cls,
        settings: SearchSettings,
        task: Task,
        code: Mapping[str, Validator],
        models: Sequence[Model],
    ) -> ConstrainedSample | None:
        """The kind for this run, or None when it has nothing to do in it (see the
        module docstring)."""
        if not settings.constrain or task.output is not None:
            return None
        grammar = task_grammar(
            task,
            code,
            max_words=settings.constrained_max_words,
            most_words=words_affordable(settings, task),
        )
        if grammar is None:
            return None
        fmt = ResponseFormat("grammar", grammar=grammar.grammar, name="requirements")
        usable = [i for i, m in enumerate(models) if m.supports(fmt)]
        return cls(settings, grammar, usable) if usable else None

    def temperature(self, k: int) -> float:
        temps = self.settings.sample_temperatures
        return temps[k % len(temps)]

    def propose(self, view: SearchView) -> list[Action]:
        if view.nothing_to_choose or self.refused:
            return []
        if self.stats.repeats >= 2 and view.pending:
            return []  # the grammar leaves the model one answer: wait, don't buy copies
        k = self.stats.launched
        index = self.model_indices[k % len(self.model_indices)]
        return [Action(self, model_index=index, temperature=self.temperature(k))]

    def estimate(self, action: Action, ctx: ActionContext, costs: CostModel) -> Estimate:
        long = self.max_tokens if self.max_tokens > self.settings.max_output_tokens else None
        prompt = costs.first_prompt_tokens(ctx.first_messages)
        return costs.generation(action.model_index, prompt, max_output=long)

    async def execute(self, action: Action, ctx: ActionContext) -> Produced | None:
        index = action.model_index
        if index not in self.model_indices:  # moved to a free model that cannot: go back
            index = self.model_indices[0]
        model = ctx.models[index]
        produced = await write_answer(
            ctx,
            action,
            model,
            ctx.first_messages,
            settings=self.settings,
            origin=self.name,
            response_format=self.format,
            max_tokens=self.max_tokens,
        )
        node = produced.node
        node.detail["grammar"] = self.describe()
        if FORMAT_DROPPED in (node.detail.get("constraint_gaps") or ()):
            self.refused = True  # the answer was written free: a plain sample's worth
            node.detail["grammar"]["refused"] = True
        return produced

    def describe(self) -> dict[str, Any]:
        """What the trace records of the grammar."""
        return {
            "enforces": list(self.grammar.enforced),
            "not_enforced": dict(self.grammar.not_enforced),
        }
