"""What an action is, and what every kind of action provides.

An `Action` is one step the search may take: sample a fresh answer, revise a candidate,
repair one. Each kind of action is an object implementing `ActionKind`: it proposes the
actions of its kind worth taking now (`propose`), says what one would cost (`estimate`),
carries it out (`execute`), says when one succeeded (`succeeded`), and keeps its own
statistics (`stats`). The policy chooses among the kinds' proposals; the search runs
them. Adding a kind of action means writing one class and registering it with the
policy (see `default_kinds`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..models.base import Message, Model, ResponseFormat
from ..output.requirement import response_format_for
from ..result import NodeKind, TraceNode
from ..task import Task
from .settings import SearchSettings
from .state import Candidate, RunState

if TYPE_CHECKING:
    from ..engine import CallRunner
    from ..trace import TraceRecorder
    from .costs import CostModel
    from .evaluation import Evaluator

__all__ = [
    "Action",
    "ActionContext",
    "ActionKind",
    "Estimate",
    "KindStats",
    "ModelKind",
    "Produced",
    "SearchView",
]


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    model_index: int = 0
    """Which of the task's models makes the call (for kinds that call a model)."""
    temperature: float = 0.0
    target: str | None = None
    """The candidate the action works on (what a revision or a repair starts from)."""
    variant: str = ""
    """Kind-specific detail: ``plain`` for a sample of the input exactly as written."""

    def describe(self) -> str:
        on = f" of {self.target}" if self.target else ""
        return f"{self.kind.name}{on}"


@dataclass(frozen=True)
class Estimate:
    """What an action is expected to spend, its evaluation included."""

    tokens: float = 0.0
    calls: int = 0
    usd: float = 0.0
    seconds: float | None = None
    """Expected wall time; None when the run has not yet seen a call of that kind."""
    prompt_tokens: float = 0.0
    """The input of the action's own model call (its evaluation's excluded)."""
    max_output: int | None = None
    """The output cap of the action's call when it is not `SearchSettings.max_output_tokens`
    (a constrained sample that must write a long answer)."""

    def __add__(self, other: Estimate) -> Estimate:
        seconds = (
            None
            if self.seconds is None and other.seconds is None
            else (self.seconds or 0.0) + (other.seconds or 0.0)
        )
        return Estimate(
            self.tokens + other.tokens,
            self.calls + other.calls,
            self.usd + other.usd,
            seconds,
            self.prompt_tokens + other.prompt_tokens,
            self.max_output or other.max_output,
        )


@dataclass
class KindStats:
    """How one kind of action has done in this run."""

    launched: int = 0
    launched_on: Counter[str] = field(default_factory=Counter)
    """Actions launched per target candidate (those in flight included)."""
    tried: int = 0
    """Actions that produced an answer (a duplicate of an earlier one included)."""
    improved: int = 0
    """Actions that succeeded (what success is depends on the kind)."""
    repeats: int = 0
    """Answers in a row that repeated an earlier one (0 after a new answer)."""
    prior_strength: float = 1.0
    """How many of this run's actions the prior weighs like (more when it was learned
    from earlier runs: `planner.priors`)."""
    prior_learned: bool = False
    """The prior comes from earlier runs (then the policy lets it outrank rule 2)."""

    def rate(self, prior: float) -> float:
        """Success rate with a Beta prior of mean `prior` and weight s = `prior_strength`:
        ``(improved + prior * s) / (tried + s)``; s = 1 unless learned from earlier runs."""
        s = self.prior_strength
        return (self.improved + prior * s) / (self.tried + s)


@dataclass
class Produced:
    """An answer an action wrote, with the trace node that holds it."""

    candidate_id: str
    text: str
    node: TraceNode
    origin: str
    parent: Candidate | None = None
    model: str = ""
    temperature: float = 0.0


@dataclass(frozen=True)
class SearchView:
    """What the policy and the kinds see when they decide: the run so far and the
    actions still in flight (so that the same work is not started twice)."""

    state: RunState
    settings: SearchSettings
    pending: tuple[Action, ...] = ()
    n_models: int = 1
    vary_prompt: bool = False
    """The first prompt adds the requirements to the input (so the plain input differs)."""
    calls_left: float | None = None
    """How many first-prompt generations the budget left could pay for (None: no cap)."""
    tokens_of: Callable[[Action], float] | None = None
    """The tokens an action is expected to spend, its evaluation included (None: unknown)."""

    @property
    def nothing_to_choose(self) -> bool:
        """With no requirements every answer is as good as any other: one is enough."""
        return not self.state.requirements

    def pending_of(self, kind: ActionKind) -> int:
        return sum(1 for a in self.pending if a.kind is kind)

    def pending_on(self, target: str, kind: ActionKind | None = None) -> int:
        return sum(
            1 for a in self.pending if a.target == target and (kind is None or a.kind is kind)
        )


@dataclass
class ActionContext:
    """What an action needs to carry itself out."""

    task: Task
    models: list[Model]
    calls: CallRunner
    trace: TraceRecorder
    evaluator: Evaluator
    state: RunState
    settings: SearchSettings
    first_messages: tuple[Message, ...]
    """The first prompt: the input, plus the requirements it does not state."""
    plain_messages: tuple[Message, ...]
    """The input exactly as the user wrote it."""
    new_candidate_id: Callable[[], str]
    seen: Callable[[str], bool]
    """Whether an answer with this text was already produced."""


class ActionKind(Protocol):
    """One kind of action. See the module docstring."""

    name: str
    """Short name, used in the trace and the docs (``sample``, ``revise``, ``repair``)."""
    uses_model: bool
    """Whether its actions call a model (and so need a slot and a budget)."""
    prior: float
    """Success rate assumed before the run has tried any (see `KindStats.rate`)."""
    stats: KindStats

    def propose(self, view: SearchView) -> list[Action]:
        """The actions of this kind worth starting now, best first (maybe none)."""
        ...

    def estimate(self, action: Action, ctx: ActionContext, costs: CostModel) -> Estimate:
        """What the action and the evaluation of its answer are expected to cost."""
        ...

    async def execute(self, action: Action, ctx: ActionContext) -> Produced | None:
        """Carry the action out; None if it produced nothing (and then made no node).

        May raise `BudgetExhausted` (nothing was spent) or `CallFailed`."""
        ...

    def succeeded(
        self, cand: Candidate, parent: Candidate | None, new_best: bool, state: RunState
    ) -> bool:
        """Whether the new candidate (now evaluated) counts as a success of this kind."""
        ...


async def write_answer(
    ctx: ActionContext,
    action: Action,
    model: Model,
    messages: tuple[Message, ...],
    *,
    settings: SearchSettings,
    origin: str,
    response_format: ResponseFormat | None,
    kind: NodeKind = "generate",
    parent_node: str | None = None,
    parent: Candidate | None = None,
    max_tokens: int | None = None,
) -> Produced:
    """One model call that writes a candidate answer: the call every model kind makes.
    `parent_node`: the trace node it hangs under (None: the run's root); `max_tokens`:
    its output cap (None: `settings.max_output_tokens`)."""
    cid = ctx.new_candidate_id()
    response, node = await ctx.calls.call(
        kind=kind,
        parent=ctx.trace.root.id if parent_node is None else parent_node,
        model=model,
        messages=messages,
        max_tokens=max_tokens or settings.max_output_tokens,
        min_tokens=settings.min_tokens,
        temperature=action.temperature,
        candidate_id=cid,
        response_format=response_format,
    )
    return Produced(
        cid,
        response.text.strip(),
        node,
        origin=origin,
        parent=parent,
        model=model.name,
        temperature=action.temperature,
    )


class ModelKind:
    """What the kinds share that ask one of the task's models for a new answer (`Sample`,
    `Revise`, `Focus`, `ConstrainedSample`): their settings, prior and statistics, the
    call that writes the answer, and (unless a kind says otherwise) what success is."""

    name: str
    uses_model = True

    def __init__(self, settings: SearchSettings, prior: float) -> None:
        self.settings = settings
        self.prior = prior
        self.stats = KindStats()

    async def _write(
        self,
        ctx: ActionContext,
        action: Action,
        messages: tuple[Message, ...],
        *,
        kind: NodeKind = "generate",
        parent_node: str | None = None,
        parent: Candidate | None = None,
    ) -> Produced:
        """`write_answer` with the action's model (its index taken round the task's
        models) and the response format the task's output type asks of that model."""
        model = ctx.models[action.model_index % len(ctx.models)]
        return await write_answer(
            ctx,
            action,
            model,
            messages,
            settings=self.settings,
            origin=self.name,
            response_format=response_format_for(ctx.task, model, ctx.state),
            kind=kind,
            parent_node=parent_node,
            parent=parent,
        )

    def succeeded(
        self, cand: Candidate, parent: Candidate | None, new_best: bool, state: RunState
    ) -> bool:
        """Its answer became the run's best."""
        return new_best
