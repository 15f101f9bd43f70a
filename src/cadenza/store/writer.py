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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from .base import FinishRun, InsertRun, Store, UpsertNodes, WriteOp

__all__ = ["StoreWriter"]

log = logging.getLogger("cadenza.store")


@dataclass
class _Item:
    op: WriteOp | None
    future: asyncio.Future[None] | None = None
    loop: asyncio.AbstractEventLoop | None = None


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
        ops = _merge([item.op for item in batch if item.op is not None])
        error: BaseException | None = None
        try:
            self.store.apply(ops)
            self.batches += 1
        except Exception as exc:
            self.failures += 1
            error = exc
            log.exception("writing %d operations to the store failed", len(ops))
            reset = getattr(self.store, "reset_connection", None)
            if reset is not None:
                reset()
        for item in batch:
            if item.future is None or item.loop is None:
                continue
            if not threadsafe:
                _settle(item.future, error)
                continue
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
        run_id = op.run_id if isinstance(op, UpsertNodes) else op.record.id
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
