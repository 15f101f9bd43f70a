"""What the server lets in: runs in progress (in all and per key), runs started per minute
per key, and the ceiling on any one run's budget.

`Admission.admit` is synchronous: the run service calls it before its first ``await``, so
that fifty requests arriving together cannot all pass a check that counts runs only once
they have started. It returns a `Slot`, which the service gives back on every path:

    slot = admission.admit(caller.key_id)    # raises ServerBusy (429, with a retry hint)
    try:
        ...                                  # set the run up
    except BaseException:
        slot.refund()                        # never started: frees the slot and the rate
        raise
    ...                                      # when the run ends: slot.release()

Without keys every request counts as one client (key id None).

`BudgetCeiling.apply` fits a run's budget under ``--max-run-tokens`` / ``-usd`` /
``-calls`` / ``-seconds``: a cap the request asked for that is over the ceiling is refused
(`BudgetOverCeiling`); every other cap (a preset's, the default's, or one left unset) is
lowered to the ceiling.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import defaultdict, deque
from collections.abc import Callable, Collection
from dataclasses import dataclass

from ..task import Budget
from .run_errors import BudgetOverCeiling, ServerBusy
from .settings import ServerSettings

__all__ = ["Admission", "BudgetCeiling", "Slot"]

WINDOW_S = 60.0


class Slot:
    """One admitted run's place; `release` (it ran) or `refund` (it never started)."""

    def __init__(self, admission: Admission, key: str | None, started_at: float) -> None:
        self._admission = admission
        self.key = key
        self.started_at = started_at
        self._active = True
        self._counted = True

    def release(self) -> None:
        """The run has ended: its place is free (its start still counts toward the rate)."""
        if self._active:
            self._active = False
            self._admission._leave(self.key)

    def refund(self) -> None:
        """The run never started: free its place and do not count its start."""
        self.release()
        if self._counted:
            self._counted = False
            self._admission._uncount(self.key, self.started_at)


class Admission:
    def __init__(
        self,
        *,
        max_active: int,
        max_active_per_key: int | None = None,
        max_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_active = max_active
        self.max_active_per_key = max_active_per_key
        self.max_per_minute = max_per_minute
        self._clock = clock
        self.active = 0
        self._active_by_key: dict[str | None, int] = defaultdict(int)
        self._starts: dict[str | None, deque[float]] = defaultdict(deque)

    @classmethod
    def of(cls, settings: ServerSettings) -> Admission:
        return cls(
            max_active=settings.max_active_runs,
            max_active_per_key=settings.max_active_runs_per_key,
            max_per_minute=settings.max_runs_per_minute,
        )

    def admit(self, key: str | None) -> Slot:
        """A place for one more run of `key`, or `ServerBusy` saying when to retry."""
        now = self._clock()
        if self.active >= self.max_active:
            raise ServerBusy(
                f"{self.active} runs are in progress, the most this server takes at once; "
                "retry when one finishes",
                retry_after=1,
            )
        mine = self._active_by_key.get(key, 0)
        if self.max_active_per_key is not None and mine >= self.max_active_per_key:
            raise ServerBusy(
                f"{mine} of your runs are in progress, the most this server allows one "
                "client at once; retry when one finishes (or cancel one)",
                retry_after=1,
            )
        if self.max_per_minute is not None:
            starts = self._starts[key]
            while starts and starts[0] <= now - WINDOW_S:
                starts.popleft()
            if len(starts) >= self.max_per_minute:
                wait = math.ceil(starts[0] + WINDOW_S - now)
                raise ServerBusy(
                    f"you have started {len(starts)} runs in the last minute, the most this "
                    f"server allows; retry in {max(1, wait)} s",
                    retry_after=wait,
                )
            starts.append(now)
        self.active += 1
        self._active_by_key[key] = mine + 1
        return Slot(self, key, now)

    def _leave(self, key: str | None) -> None:
        self.active -= 1
        left = self._active_by_key[key] - 1
        if left > 0:
            self._active_by_key[key] = left
        else:
            del self._active_by_key[key]

    def _uncount(self, key: str | None, started_at: float) -> None:
        starts = self._starts.get(key)
        if starts is not None:
            with contextlib.suppress(ValueError):
                starts.remove(started_at)
            if not starts:
                del self._starts[key]


@dataclass(frozen=True)
class BudgetCeiling:
    max_tokens: int | None = None
    max_usd: float | None = None
    max_calls: int | None = None
    max_seconds: float | None = None

    @classmethod
    def of(cls, settings: ServerSettings) -> BudgetCeiling:
        return cls(
            max_tokens=settings.max_run_tokens,
            max_usd=settings.max_run_usd,
            max_calls=settings.max_run_calls,
            max_seconds=settings.max_run_seconds,
        )

    def apply(self, budget: Budget, asked: Collection[str] = ()) -> Budget:
        """`budget` under the ceiling. `asked`: the caps the request set itself (a value of
        those over the ceiling is refused rather than lowered)."""
        changes: dict[str, float] = {}
        for field, option in _OPTIONS.items():
            ceiling = getattr(self, field)
            if ceiling is None:
                continue
            value = getattr(budget, field)
            if value is not None and value > ceiling:
                if field in asked:
                    raise BudgetOverCeiling(field, value, ceiling, option)
                changes[field] = ceiling
            elif value is None:
                changes[field] = ceiling
        return budget.model_copy(update=changes) if changes else budget


_OPTIONS = {
    "max_tokens": "--max-run-tokens",
    "max_usd": "--max-run-usd",
    "max_calls": "--max-run-calls",
    "max_seconds": "--max-run-seconds",
}
