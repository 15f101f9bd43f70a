"""The budget ledger: reserve before a call, settle after it, never overspend.

Every model call first reserves the most it could cost — an upper bound on its input
tokens plus the `max_tokens` it is allowed to write — and is refused if that does not
fit in what is left. After the call the reservation is settled with the real usage.
So the sum of what was spent never exceeds the budget, whatever the model does.

`settle` returns what it counted (`Spent`): the call runner writes exactly that into
the call's trace node, so a run's usage is always the sum of its trace.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from ..result import Usage
from ..task import Budget

__all__ = ["BudgetLedger", "Reservation", "Spent"]


@dataclass(frozen=True)
class Reservation:
    id: int
    tokens: int
    input_tokens: int
    usd: float
    input_usd: float
    priced: bool


@dataclass(frozen=True)
class Spent:
    """What one settled attempt added to the usage."""

    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    """None for a model with no known price (counted in ``unpriced_calls``)."""


class BudgetLedger:
    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self._start = time.monotonic()
        self.usage = Usage()
        self._open: dict[int, Reservation] = {}
        self._ids = itertools.count(1)

    # -- what is left -------------------------------------------------------------
    @property
    def reserved_tokens(self) -> int:
        return sum(r.tokens for r in self._open.values())

    @property
    def reserved_usd(self) -> float:
        return sum(r.usd for r in self._open.values())

    def tokens_left(self) -> int | None:
        if self.budget.max_tokens is None:
            return None
        return self.budget.max_tokens - self.usage.total_tokens - self.reserved_tokens

    def usd_left(self) -> float | None:
        if self.budget.max_usd is None:
            return None
        return self.budget.max_usd - self.usage.cost_usd - self.reserved_usd

    def calls_left(self) -> int | None:
        if self.budget.max_calls is None:
            return None
        return self.budget.max_calls - self.usage.calls - len(self._open)

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def seconds_left(self) -> float | None:
        if self.budget.max_seconds is None:
            return None
        return self.budget.max_seconds - self.elapsed()

    def max_output_tokens(
        self, input_bound: int, *, usd_per_input: float, usd_per_output: float
    ) -> int:
        """The most output tokens a call with `input_bound` input tokens can afford now."""
        limits = [10**9]
        tokens = self.tokens_left()
        if tokens is not None:
            limits.append(tokens - input_bound)
        usd = self.usd_left()
        if usd is not None:
            usd -= input_bound * usd_per_input
            if usd_per_output > 0:
                limits.append(int(usd / usd_per_output))
            elif usd < 0:
                limits.append(-1)
        calls = self.calls_left()
        if calls is not None and calls <= 0:
            limits.append(-1)
        return max(-1, min(limits))

    # -- reserve and settle ---------------------------------------------------------
    def reserve(
        self,
        input_bound: int,
        max_output: int,
        *,
        usd_per_input: float | None,
        usd_per_output: float | None,
    ) -> Reservation | None:
        """Hold room for one call, or return None if it would not fit.

        Prices are per token; None means the model is unpriced (its cost is unknown)."""
        priced = usd_per_input is not None and usd_per_output is not None
        input_usd = input_bound * (usd_per_input or 0.0)
        usd = input_usd + max_output * (usd_per_output or 0.0)
        if max_output < 1:
            return None
        tokens = input_bound + max_output
        left = self.tokens_left()
        if left is not None and tokens > left:
            return None
        usd_left = self.usd_left()
        if usd_left is not None and usd > usd_left + 1e-12:
            return None
        calls = self.calls_left()
        if calls is not None and calls < 1:
            return None
        r = Reservation(next(self._ids), tokens, input_bound, usd, input_usd, priced)
        self._open[r.id] = r
        return r

    def settle(
        self,
        reservation: Reservation,
        *,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float | None,
    ) -> Spent:
        """Replace a reservation by what the call really used (never more than reserved);
        return what was counted."""
        self._open.pop(reservation.id, None)
        total = input_tokens + output_tokens
        if total > reservation.tokens:
            # The provider reported more than the bound we reserved (a tokenizer the
            # bound did not foresee). Count what we reserved: the ledger stays within
            # the budget, and the trace keeps the provider's own figures.
            output_tokens = max(0, reservation.tokens - input_tokens)
            input_tokens = min(input_tokens, reservation.tokens)
        u = self.usage
        u.input_tokens += input_tokens
        u.output_tokens += output_tokens
        u.calls += 1
        cost: float | None = None
        if cost_usd is None or not reservation.priced:
            u.unpriced_calls += 1
        else:
            cost = min(cost_usd, reservation.usd)
            u.cost_usd += cost
        return Spent(input_tokens, output_tokens, cost)

    def settle_failed(self, reservation: Reservation, *, billed_input: bool) -> Spent:
        """A call that raised or was cancelled: it counts as a call; if the provider may
        have read the prompt, its input tokens count too."""
        return self.settle(
            reservation,
            input_tokens=reservation.input_tokens if billed_input else 0,
            output_tokens=0,
            cost_usd=reservation.input_usd if billed_input else 0.0,
        )
