"""What an action is expected to cost, and whether the budget left can pay for it.

Estimates come from what the run has seen so far (the mean output tokens of its
generations, the mean latency of its calls per model) and, before it has seen anything,
from `SearchSettings`. The budget check counts the work still in flight at its expected
cost, so that the search does not start what it could not finish. Estimates only
decide what to start: the ledger still reserves every call's worst case and refuses
what does not fit, so the budget is never overspent whatever the estimates say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import fmean

from ..engine import BudgetLedger
from ..models.base import Message, Model
from ..models.pricing import Price, price_for
from ..trace import TraceRecorder
from .actions import Estimate
from .evaluation import JUDGE_MAX_TOKENS
from .settings import SearchSettings

__all__ = ["CostModel"]


@dataclass
class _Seen:
    """What the run's trace shows so far (read again before each decision)."""

    output: float | None = None
    """Mean output tokens of the generations and revisions."""
    first_input: float | None = None
    """Mean input tokens of the first prompt, as the model counted them."""
    answer_tokens: dict[str, int] = field(default_factory=dict)
    latency: dict[tuple[str, str], float] = field(default_factory=dict)
    """(model, ``generate`` or ``judge``) -> mean seconds of its calls."""


class CostModel:
    def __init__(
        self,
        settings: SearchSettings,
        trace: TraceRecorder,
        ledger: BudgetLedger,
        models: Sequence[Model],
        judge: Model,
        judged_requirements: int,
    ) -> None:
        self.settings = settings
        self.trace = trace
        self.ledger = ledger
        self.models = list(models)
        self.judge = judge
        self.judged = judged_requirements
        self._seen: _Seen | None = None
        self._prices: dict[str, Price | None] = {}

    def refresh(self) -> None:
        """Read the trace again. The search calls this before it decides; estimates made
        in between use what it read (the trace does not change while the search decides)."""
        seen = _Seen()
        outputs: list[int] = []
        first_inputs: list[int] = []
        latencies: dict[tuple[str, str], list[float]] = {}
        for n in self.trace.nodes:
            if n.status != "ok":
                continue
            if n.kind in ("generate", "revise"):
                outputs.append(n.output_tokens)
                if n.output_tokens:
                    seen.answer_tokens[n.id] = n.output_tokens
                if n.kind == "generate" and n.input_tokens:
                    first_inputs.append(n.input_tokens)
            if n.model is not None and n.kind in ("generate", "revise", "judge"):
                group = "judge" if n.kind == "judge" else "generate"
                latencies.setdefault((n.model, group), []).append(n.latency_s)
        seen.output = fmean(outputs) if outputs else None
        seen.first_input = fmean(first_inputs) if first_inputs else None
        seen.latency = {k: fmean(v) for k, v in latencies.items()}
        self._seen = seen
        self._prices.clear()

    @property
    def seen(self) -> _Seen:
        if self._seen is None:
            self.refresh()
        assert self._seen is not None
        return self._seen

    def price(self, model: str) -> Price | None:
        if model not in self._prices:
            self._prices[model] = price_for(model)
        return self._prices[model]

    # -- sizes ----------------------------------------------------------------------------
    def text_tokens(self, text: str) -> float:
        return len(text) / self.settings.chars_per_token

    def prompt_tokens(self, messages: Sequence[Message]) -> float:
        """The size of a prompt, from its characters."""
        return sum(self.text_tokens(m.content) for m in messages)

    def first_prompt_tokens(self, messages: Sequence[Message]) -> float:
        """The size of the first prompt: as the model counted it, once a sample has run."""
        seen = self.seen.first_input
        return seen if seen is not None else self.prompt_tokens(messages)

    def answer_tokens(self, node_id: str, text: str) -> float:
        """The size of an answer: what its call wrote, if a call wrote it, else its text's."""
        written = self.seen.answer_tokens.get(node_id)
        return float(written) if written else self.text_tokens(text)

    def expected_output(self) -> float:
        """Mean output tokens of the run's generations so far (or the settings' guess)."""
        seen = self.seen.output
        if seen is not None:
            return seen
        return self.settings.max_output_tokens * self.settings.unseen_output_share

    def mean_latency(self, model: str, group: str) -> float | None:
        """Mean seconds of the model's ``generate`` (and revise) or ``judge`` calls so far."""
        return self.seen.latency.get((model, group))

    # -- estimates ------------------------------------------------------------------------
    def generation(
        self, model_index: int, input_tokens: float, *, max_output: int | None = None
    ) -> Estimate:
        """One generation (or revision) with `input_tokens` of prompt, then its evaluation;
        `max_output`: a call capped above `max_output_tokens` is expected to write that."""
        model = self.models[model_index % len(self.models)]
        out = float(max_output) if max_output else self.expected_output()
        price = self.price(model.name)
        usd = price.cost(round(input_tokens), round(out)) if price else 0.0
        seconds = self.mean_latency(model.name, "generate")
        est = Estimate(input_tokens + out, 1, usd, seconds, input_tokens, max_output)
        return est + self.evaluation()

    def evaluation(self) -> Estimate:
        """The LLM judgements of one candidate (the code checks are free)."""
        if not self.judged:
            return Estimate()
        out = self.expected_output()
        per_call_in = self.settings.judge_prompt_tokens + out
        price = self.price(self.judge.name)
        usd = price.cost(round(per_call_in), JUDGE_MAX_TOKENS) if price else 0.0
        return Estimate(
            self.judged * (per_call_in + JUDGE_MAX_TOKENS),
            self.judged,
            self.judged * usd,
            # judgements of one candidate run in parallel
            self.mean_latency(self.judge.name, "judge"),
        )

    # -- the budget -----------------------------------------------------------------------
    def shortfall(self, est: Estimate, committed: Estimate) -> str | None:
        """The cap `est` does not fit in once the `committed` work in flight is paid
        for (``tokens``, ``calls``, ``usd``, ``seconds``), or None if it fits."""
        b, used = self.ledger.budget, self.ledger.usage
        if b.max_tokens is not None and (
            b.max_tokens - used.total_tokens - committed.tokens < est.tokens
        ):
            return "tokens"
        if b.max_calls is not None and b.max_calls - used.calls - committed.calls < est.calls:
            return "calls"
        if b.max_usd is not None and b.max_usd - used.cost_usd - committed.usd < est.usd:
            return "usd"
        left = self.ledger.seconds_left()
        if left is not None and est.seconds is not None and est.seconds > left:
            return "seconds"
        return None

    def calls_left(self, est: Estimate) -> float | None:
        """How many actions costing `est` the budget left could pay for (None: no cap
        on tokens, calls or dollars)."""
        b, used = self.ledger.budget, self.ledger.usage
        room: list[float] = []
        if b.max_tokens is not None and est.tokens > 0:
            room.append((b.max_tokens - used.total_tokens) / est.tokens)
        if b.max_calls is not None and est.calls > 0:
            room.append((b.max_calls - used.calls) / est.calls)
        if b.max_usd is not None and est.usd > 0:
            room.append((b.max_usd - used.cost_usd) / est.usd)
        return max(0.0, min(room)) if room else None

    def full_output_fits(
        self, model_index: int, input_tokens: float, max_output: int | None = None
    ) -> bool:
        """Whether the ledger, with what is reserved for the calls in flight, would let
        a call with this prompt write its full `max_output` (default `max_output_tokens`)
        now."""
        model = self.models[model_index % len(self.models)]
        price = self.price(model.name)
        afford = self.ledger.max_output_tokens(
            round(input_tokens),
            usd_per_input=price.input_per_mtok / 1e6 if price else 0.0,
            usd_per_output=price.output_per_mtok / 1e6 if price else 0.0,
        )
        return afford >= (max_output or self.settings.max_output_tokens)
