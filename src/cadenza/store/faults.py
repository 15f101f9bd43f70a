"""A store that fails on purpose: for testing what happens when the database refuses a write.

    from cadenza.store import FlakyStore, Fault, FinishRun, InsertRun, open_store

    store = FlakyStore(open_store("sqlite:///runs.db"), Fault(FinishRun, times=1))
    # the first transaction that finishes a run raises sqlite3.OperationalError

`FlakyStore` wraps any store and passes everything through, except that `apply` raises
an `OperationalError` (the database driver's kind of error for "the database could not
do it": a lost connection, a locked or full database) for the writes its faults pick.
A fault picks writes by kind, by run (an id, or the n-th run it sees such a write for)
and says how many times it fires. The server takes one through
``create_app(settings, store_factory=...)``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .base import INTERRUPTED, JSON, RunRecord, RunStatus, RunSummary, Store, WriteOp, run_id_of

__all__ = ["Fault", "FlakyStore"]


@dataclass
class Fault:
    """Which writes fail.

    - `kind`: `InsertRun`, `UpsertNodes` or `FinishRun` (None: any write);
    - `run_id`: only writes of this run; or `nth`: only those of the n-th run (counting
      from 1) this fault sees a write of `kind` for; neither: any run;
    - `times`: how many transactions fail (None: every one, for ever).
    """

    kind: type[Any] | None = None
    run_id: str | None = None
    nth: int | None = None
    times: int | None = 1
    fired: int = 0
    """How many times it has failed a transaction so far."""
    _seen: list[str] = field(default_factory=list, repr=False)

    def matches(self, op: WriteOp) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.kind is not None and not isinstance(op, self.kind):
            return False
        run_id = run_id_of(op)
        if self.run_id is not None:
            return run_id == self.run_id
        if self.nth is not None:
            if run_id not in self._seen:
                self._seen.append(run_id)
            return len(self._seen) >= self.nth and self._seen[self.nth - 1] == run_id
        return True


def _sqlite_error(message: str) -> Exception:
    return sqlite3.OperationalError(message)


class FlakyStore(Store):
    """`inner`, except for the writes `faults` pick: those raise `error(message)`
    (by default a `sqlite3.OperationalError`) and change nothing."""

    def __init__(
        self,
        inner: Store,
        *faults: Fault,
        error: Callable[[str], Exception] = _sqlite_error,
    ) -> None:
        self.inner = inner
        self.faults = list(faults)
        self.error = error
        self.url = inner.url
        self.inline = inner.inline
        self.failed: list[Sequence[WriteOp]] = []
        """The batches refused so far."""
        self._lock = threading.Lock()

    def apply(self, ops: Sequence[WriteOp]) -> None:
        with self._lock:
            hit = next((f for f in self.faults for op in ops if f.matches(op)), None)
            if hit is not None:
                hit.fired += 1
                self.failed.append(list(ops))
        if hit is not None:
            raise self.error(f"injected fault: {hit}")
        self.inner.apply(ops)

    # -- everything else passes through -----------------------------------------------
    def migrate(self) -> list[str]:
        return self.inner.migrate()

    def applied_migrations(self) -> list[str]:
        return self.inner.applied_migrations()

    def mark_interrupted(self, error: str = INTERRUPTED) -> int:
        return self.inner.mark_interrupted(error)

    def prune(self, finished_before: float, *, batch: int = 100) -> int:
        return self.inner.prune(finished_before, batch=batch)

    def get_run(self, run_id: str) -> RunRecord | None:
        return self.inner.get_run(run_id)

    def list_runs(
        self,
        *,
        status: RunStatus | None = None,
        limit: int = 20,
        before_seq: int | None = None,
        offset: int = 0,
        owner: str | None = None,
    ) -> list[RunSummary]:
        return self.inner.list_runs(
            status=status, limit=limit, before_seq=before_seq, offset=offset, owner=owner
        )

    def get_nodes(self, run_id: str) -> list[JSON]:
        return self.inner.get_nodes(run_id)

    def check(self) -> str:
        return self.inner.check()

    def reset_connection(self) -> None:
        self.inner.reset_connection()

    def close(self) -> None:
        self.inner.close()
