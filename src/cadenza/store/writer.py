"""Applies the server's writes in order, many to a transaction.

The server hands `WriteOp`s to the writer and, when it must know that a write is durable
(a run created, a run finished), awaits the future `commit` returns. Writes queued back
to back go into one transaction, and node writes are merged: the last one of a node wins.

Two ways to apply them, chosen by the store:

- *inline* (SQLite): on the event loop, once per loop iteration. A local SQLite commit in
  WAL mode takes well under a millisecond, and doing it on the loop avoids handing the GIL
  back and forth with a thread at every SQLite call, which under load costs more than the
  writes themselves.
- *thread* (PostgreSQL): in a thread of its own, so that network round trips never block
  the loop.

One run's failed write never costs another run its writes: when a batch fails, its
writes are applied again one run at a time, each run in a transaction of its own, so
only the run whose write the database refuses sees the error (on the future its
`commit` returned). A run whose fire-and-forget writes were lost is listed in
`lost_writes`, so that its final write can carry its whole tree; a run the server gave up
on (its creation failed) is `discard`ed: what is still queued for it is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from .base import FinishRun, InsertRun, Store, UpsertNodes, WriteOp, run_id_of

__all__ = ["DiscardedRunError", "StoreWriter"]

log = logging.getLogger("cadenza.store")


@dataclass
class _Item:
    op: WriteOp | None
    future: asyncio.Future[None] | None = None
    loop: asyncio.AbstractEventLoop | None = None


class DiscardedRunError(RuntimeError):
    """The write belongs to a run the server gave up on; it was not applied."""


_DISCARDED_KEEP = 10_000
"""How many discarded runs the writer remembers (their writes may still be queued)."""


class StoreWriter:
    def __init__(self, store: Store, *, inline: bool | None = None, max_batch: int = 512) -> None:
        self.store = store
        self.inline = store.inline if inline is None else inline
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._pending: list[_Item] = []
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="cadenza-store", daemon=True)
        self._started = False
        self._stopped = False
        self.batches = 0
        self.failures = 0
        """Transactions that failed (a failed batch and each run that failed after it)."""
        self.lost_writes: set[str] = set()
        """Runs some of whose unawaited writes failed; cleared when the run's final write
        commits."""
        self._discarded: OrderedDict[str, None] = OrderedDict()
        self._discard_lock = threading.Lock()

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        if self.inline:
            self._loop = asyncio.get_running_loop()
        else:
            self._thread.start()

    def submit(self, op: WriteOp) -> None:
        """Queue `op`; do not wait for it."""
        self._enqueue(_Item(op))

    def commit(self, op: WriteOp | None = None) -> asyncio.Future[None]:
        """Queue `op` (or nothing) and return a future set once it, and all before it, commit."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._enqueue(_Item(op, future, loop))
        return future

    def discard(self, run_id: str) -> None:
        """Drop every write of `run_id` still queued, and any queued later (the server
        calls this when a run's creation failed, and the writer itself when a run's
        insert fails: its other rows would only fail in turn)."""
        with self._discard_lock:
            self._discarded[run_id] = None
            while len(self._discarded) > _DISCARDED_KEEP:
                self._discarded.popitem(last=False)
        self.lost_writes.discard(run_id)

    async def close(self) -> None:
        """Apply everything queued, then stop."""
        if self._stopped:
            return
        self._stopped = True
        if self.inline:
            self._flush()
        elif self._started:
            self._queue.put(_Item(None))
            await asyncio.to_thread(self._thread.join)

    def _enqueue(self, item: _Item) -> None:
        if self._stopped or not self._started:
            raise RuntimeError(
                "the store writer is closed" if self._stopped else "the store writer is not started"
            )
        if not self.inline:
            self._queue.put(item)
            return
        self._pending.append(item)
        if not self._scheduled and self._loop is not None:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    # -- inline -----------------------------------------------------------------------
    def _flush(self) -> None:
        self._scheduled = False
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            self._apply(batch, threadsafe=False)

    # -- the thread -------------------------------------------------------------------
    def _run(self) -> None:
        stop = False
        while not stop:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(item.op is None and item.future is None for item in batch)
            self._apply(batch, threadsafe=True)

    def _apply(self, batch: list[_Item], *, threadsafe: bool) -> None:
        with self._discard_lock:
            discarded = [
                i for i in batch if i.op is not None and run_id_of(i.op) in self._discarded
            ]
        if discarded:
            batch = [i for i in batch if i not in discarded]
            error = DiscardedRunError("the run was discarded")
            for item in discarded:
                self._settle(item, error, threadsafe)
        ops = _merge([item.op for item in batch if item.op is not None])
        try:
            self.store.apply(ops)
            self.batches += 1
        except Exception as exc:
            self.failures += 1
            self.store.reset_connection()
            self._apply_by_run(batch, exc, threadsafe)
            return
        self._done(ops)
        for item in batch:
            self._settle(item, None, threadsafe)

    def _apply_by_run(self, batch: list[_Item], first_error: Exception, threadsafe: bool) -> None:
        """After a failed batch: each run's writes in a transaction of their own (unless
        the batch held one run's writes only: those have failed already)."""
        runs: dict[str, list[_Item]] = {}
        for item in batch:
            if item.op is not None:
                runs.setdefault(run_id_of(item.op), []).append(item)
        if len(runs) > 1:
            log.warning(
                "writing %d runs' operations to the store failed (%s: %s); "
                "applying them run by run",
                len(runs),
                type(first_error).__name__,
                first_error,
            )
        for run_id, items in runs.items():
            ops = _merge([item.op for item in items if item.op is not None])
            error: Exception | None = first_error if len(runs) == 1 else None
            if error is None:
                try:
                    self.store.apply(ops)
                    self.batches += 1
                    self._done(ops)
                except Exception as exc:
                    self.failures += 1
                    self.store.reset_connection()
                    error = exc
            if error is not None:
                log.error(
                    "writing %d operations of run %s to the store failed: %s: %s",
                    len(ops),
                    run_id,
                    type(error).__name__,
                    error,
                )
                if any(isinstance(item.op, InsertRun) for item in items):
                    # the run's row is not there: whatever else is queued for it would
                    # only fail on the foreign key, so it is dropped
                    self.discard(run_id)
                elif any(item.future is None for item in items):
                    self.lost_writes.add(run_id)
            for item in items:
                self._settle(item, error, threadsafe)
        for item in batch:
            if item.op is None:  # a barrier: everything before it has been tried
                self._settle(item, None, threadsafe)

    def _done(self, ops: Sequence[WriteOp]) -> None:
        for op in ops:
            if isinstance(op, FinishRun):
                self.lost_writes.discard(op.record.id)

    @staticmethod
    def _settle(item: _Item, error: BaseException | None, threadsafe: bool) -> None:
        if item.future is None or item.loop is None:
            return
        if not threadsafe:
            _settle(item.future, error)
            return
        # a closed loop raises RuntimeError: nobody is waiting any more
        with contextlib.suppress(RuntimeError):
            item.loop.call_soon_threadsafe(_settle, item.future, error)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def _merge(ops: Sequence[WriteOp]) -> list[WriteOp]:
    """Drop node writes that a later op in the same batch overwrites anyway."""
    seen: set[tuple[str, str]] = set()
    out: list[WriteOp] = []
    for op in reversed(ops):
        run_id = run_id_of(op)
        kept = []
        for row in reversed(op.nodes):
            key = (run_id, row.id)
            if key not in seen:
                seen.add(key)
                kept.append(row)
        kept.reverse()
        if isinstance(op, UpsertNodes):
            if kept:
                out.append(UpsertNodes(op.run_id, kept))
        elif isinstance(op, InsertRun):
            out.append(InsertRun(op.record, kept))
        else:
            out.append(FinishRun(op.record, kept))
    out.reverse()
    return out
