"""The run manager: starts runs as asyncio tasks, records them, streams their events.

A run's life here:

1. `start` builds the `Task` (bad input raises a `UsageError` before anything is stored),
   resolves its models and starts `arun_task` in a task of its own.
2. The run's first event means cadenza accepted it: the run row is written, and `start`
   returns once that write has committed, so an id handed to a client always exists.
3. Every trace event is queued to the store (the tree is written as it grows) and fanned
   out to the run's subscribers (`/v1/runs/{id}/events`, the chat stream).
4. When the run ends its final state is committed before anyone can see it finished.

At start-up, runs a previous process left in progress are marked failed ("interrupted").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, ParamSpec, TypeVar

from ..errors import UsageError
from ..models.base import Model
from ..result import Result
from ..runner import RunControl, RunOptions, arun_task
from ..store import (
    INTERRUPTED,
    FinishRun,
    InsertRun,
    NodeRow,
    RunRecord,
    RunStatus,
    Store,
    StoreWriter,
    UpsertNodes,
)
from ..task import Task, make_task
from ..trace import RunEvent
from ..validators.base import get_validator
from .errors import ApiError
from .model_pool import ModelPool
from .settings import ServerSettings

__all__ = ["LiveRun", "RunManager", "RunSpec", "RunUpdate"]

log = logging.getLogger("cadenza.server")

JSON = dict[str, Any]
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class RunSpec:
    """A run as an API asked for it, before cadenza has checked it."""

    source: str
    input: str | list[dict[str, str]]
    requirements: list[dict[str, Any]] = field(default_factory=list)
    budget: str | dict[str, Any] | None = None
    threshold: float = 1.0
    models: list[str] | None = None
    judge_model: str | None = None
    system_prompt: str | None = None
    max_output_tokens: int | None = None
    output_schema: JSON | bool | None = None
    """The JSON Schema the answer must match (a typed result), or None for free text."""
    request: JSON = field(default_factory=dict)
    """What to store as the run's request (the validated body)."""


@dataclass(frozen=True)
class RunUpdate:
    """One thing that happened to a live run, for its subscribers."""

    event: str
    """``node_started``, ``node_finished``, ``best_changed``, ``message`` or ``done``."""
    data: JSON


class LiveRun:
    """A run in progress, held in memory until its final state is committed."""

    def __init__(self, record: RunRecord, created: asyncio.Future[None]) -> None:
        self.record = record
        self.control = RunControl()
        self.created = created
        self.nodes: dict[str, JSON] = {}
        self.positions: dict[str, int] = {}
        self.rows: dict[str, NodeRow] = {}
        """What was last written for each node."""
        self.best_score: float | None = None
        self.subscribers: set[asyncio.Queue[RunUpdate | None]] = set()
        self.done = asyncio.Event()
        self.persisted = False
        self.interrupted = False
        self.start_error: BaseException | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return self.record.id

    def view(self) -> RunRecord:
        """The record with running totals: usage so far, no answer yet."""
        if self.record.status != "in_progress":
            return self.record
        return replace(self.record, usage=live_usage(self.nodes.values()))

    def node_list(self) -> list[JSON]:
        return sorted(self.nodes.values(), key=lambda n: self.positions.get(n["id"], 0))


def live_usage(nodes: Any) -> JSON:
    """Usage summed over the calls finished so far (the final figures replace it)."""
    usage: JSON = {
        "input_tokens": 0,
        "output_tokens": 0,
        "calls": 0,
        "cost_usd": 0.0,
        "unpriced_calls": 0,
    }
    for n in nodes:
        if n["kind"] not in ("generate", "revise", "judge") or n["status"] == "running":
            continue
        usage["input_tokens"] += n.get("input_tokens") or 0
        usage["output_tokens"] += n.get("output_tokens") or 0
        usage["calls"] += n.get("attempts") or 0
        if n.get("cost_usd") is None:
            usage["unpriced_calls"] += 1
        else:
            usage["cost_usd"] += n["cost_usd"]
    return usage


class RunManager:
    def __init__(
        self, store: Store, writer: StoreWriter, pool: ModelPool, settings: ServerSettings
    ) -> None:
        self.store = store
        self.writer = writer
        self.pool = pool
        self.settings = settings
        self._live: dict[str, LiveRun] = {}
        self._closing = False

    # -- starting ---------------------------------------------------------------------
    async def start(self, spec: RunSpec) -> RunRecord:
        if self._closing:
            raise ApiError(503, "the server is shutting down; try again shortly")
        if len(self._live) >= self.settings.max_active_runs:
            raise ApiError(
                429,
                f"{len(self._live)} runs are in progress, the most this server takes at "
                "once; retry when one finishes",
                headers={"Retry-After": "1"},
            )
        task = self._task(spec)
        models = [await self.pool.get(name) for name in task.models]
        judge = await self.pool.get(task.judge_model) if task.judge_model else None
        now = time.time()
        record = RunRecord(
            id=str(uuid.uuid4()),
            source=spec.source,
            status="in_progress",
            created_at=now,
            updated_at=now,
            request=spec.request,
            models=list(task.models),
        )
        live = LiveRun(record, asyncio.get_running_loop().create_future())
        options = self._options(spec)
        live.task = asyncio.create_task(self._execute(live, task, models, judge, options))
        await asyncio.wait({live.created, live.task}, return_when=asyncio.FIRST_COMPLETED)
        if live.created.done():
            try:
                live.created.result()
            except Exception as exc:
                live.control.cancel()
                self._live.pop(live.id, None)
                log.error("could not store run %s: %s", live.id, exc)
                raise ApiError(503, "the run could not be stored; see the server log") from exc
            return live.view()
        # The run ended before it began: cadenza refused it.
        refusal = live.start_error or RuntimeError("the run ended before it started")
        raise refusal

    def _task(self, spec: RunSpec) -> Task:
        default_models = list(self.settings.models) or None
        task = make_task(
            spec.input,
            list(spec.requirements),
            budget=spec.budget,
            threshold=spec.threshold,
            models=spec.models or default_models,
            judge_model=spec.judge_model or self.settings.judge_model,
            system_prompt=spec.system_prompt,
            output_type=spec.output_schema,
        )
        for i, req in enumerate(task.requirements):
            if isinstance(req.validator, str):
                try:
                    get_validator(req.validator)
                except UsageError as exc:
                    raise ApiError(
                        422,
                        f"requirements.{i}.validator: {exc}",
                        param=f"requirements.{i}.validator",
                        code="unknown_validator",
                    ) from None
        return task

    def _options(self, spec: RunSpec) -> RunOptions:
        options = self.settings.options
        if spec.max_output_tokens is not None:
            options = replace(
                options, search=replace(options.search, max_output_tokens=spec.max_output_tokens)
            )
        return options

    # -- running ----------------------------------------------------------------------
    async def _execute(
        self,
        live: LiveRun,
        task: Task,
        models: list[Model],
        judge: Model | None,
        options: RunOptions,
    ) -> None:
        result: Result | None = None
        error: str | None = None
        try:
            result = await arun_task(
                task,
                options=options,
                on_event=partial(self._on_event, live),
                control=live.control,
                models=models,
                judge=judge,
            )
        except asyncio.CancelledError:
            if live.persisted:  # a hard stop at shutdown: record what there is, unawaited
                rec, nodes = self._final(live, None, INTERRUPTED)
                with contextlib.suppress(RuntimeError):
                    self.writer.submit(FinishRun(rec, _changed_rows(live, nodes)))
            else:
                live.start_error = ApiError(503, "the server is shutting down")
            raise
        except Exception as exc:
            if not live.persisted:
                live.start_error = exc
                return
            log.exception("run %s failed", live.id)
            error = f"{type(exc).__name__}: {exc}"
        if not live.persisted:  # finished without a single event: cannot happen, but be sure
            live.start_error = RuntimeError("the run produced no events")
            return
        await self._finish(live, result, error)

    def _on_event(self, live: LiveRun, event: RunEvent) -> None:
        # cadenza drops a listener that raises; this one must keep recording, so it never does
        try:
            self._record_event(live, event)
        except Exception:
            log.exception("recording an event of run %s failed", live.id)

    def _record_event(self, live: LiveRun, event: RunEvent) -> None:
        update: RunUpdate
        if event.node is not None:
            node = event.node.model_dump(mode="json")
            pos = live.positions.setdefault(node["id"], len(live.positions))
            live.nodes[node["id"]] = node
            if live.persisted:
                row = NodeRow.of(pos, node)
                live.rows[row.id] = row
                self.writer.submit(UpsertNodes(live.id, [row]))
            update = RunUpdate(event.kind, {"node": node})
        elif event.kind == "best_changed":
            live.best_score = event.best_score
            update = RunUpdate(event.kind, {"best_score": event.best_score})
        else:
            update = RunUpdate(event.kind, {"message": event.message})
        if not live.persisted:
            # The first event: cadenza accepted the task. Store the run, then let `start`
            # hand out its id once that has committed.
            live.persisted = True
            self._live[live.id] = live
            rows = [NodeRow.of(live.positions[n["id"]], n) for n in live.node_list()]
            live.rows.update((r.id, r) for r in rows)
            future = self.writer.commit(InsertRun(replace(live.record), rows))
            future.add_done_callback(partial(_chain, live.created))
        self._broadcast(live, update)

    def _broadcast(self, live: LiveRun, update: RunUpdate | None) -> None:
        for queue in live.subscribers:
            queue.put_nowait(update)

    def _final(
        self, live: LiveRun, result: Result | None, error: str | None
    ) -> tuple[RunRecord, list[tuple[int, JSON]]]:
        """The run's final record and tree (positions and nodes)."""
        now = time.time()
        rec = replace(
            live.record, updated_at=now, finished_at=now, seconds=now - live.record.created_at
        )
        if result is None:
            rec.status, rec.error = "failed", error or "the run failed"
            rec.usage = live_usage(live.nodes.values())
            return rec, [(live.positions[n["id"]], n) for n in live.node_list()]
        rr = result.requirements_result
        rec.result = result.result
        rec.requirements_result = rr.model_dump(mode="json")
        rec.usage = result.usage.model_dump(mode="json")
        rec.models = list(result.models)
        rec.seconds = result.seconds
        rec.best_candidate_id = result.best_candidate_id
        status: RunStatus = "completed"
        if live.interrupted or error == INTERRUPTED:
            status, rec.error = "failed", INTERRUPTED
        elif rr.finish_reason == "error":
            status, rec.error = "failed", rr.finish_message or "the run failed"
        elif rr.finish_reason == "cancelled":
            status = "cancelled"
        rec.status = status
        nodes = [(i, n.model_dump(mode="json")) for i, n in enumerate(result.trace)]
        return rec, nodes

    async def _finish(self, live: LiveRun, result: Result | None, error: str | None) -> None:
        rec, nodes = self._final(live, result, error)
        rows = _changed_rows(live, nodes)
        try:
            await self.writer.commit(FinishRun(rec, rows))
        except Exception:
            log.exception("could not store the end of run %s", live.id)
        live.record = rec
        live.nodes = {n["id"]: n for _, n in nodes}
        live.positions = {n["id"]: pos for pos, n in nodes}
        self._broadcast(live, RunUpdate("done", {"status": rec.status}))
        self._broadcast(live, None)
        self._live.pop(live.id, None)
        live.done.set()

    # -- reading ----------------------------------------------------------------------
    async def _db(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Call the store: on the loop when it is quick (SQLite), else in a thread."""
        if self.store.inline:
            return fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    def live(self, run_id: str) -> LiveRun | None:
        return self._live.get(run_id)

    @property
    def active(self) -> int:
        return len(self._live)

    async def get(self, run_id: str) -> RunRecord | None:
        live = self._live.get(run_id)
        if live is not None:
            return live.view()
        if not _plausible_id(run_id):
            return None
        return await self._db(self.store.get_run, run_id)

    async def require(self, run_id: str) -> RunRecord:
        record = await self.get(run_id)
        if record is None:
            raise ApiError(404, f"no run with id {run_id!r}", param="id", code="run_not_found")
        return record

    async def nodes(self, run_id: str) -> tuple[RunRecord, list[JSON]]:
        live = self._live.get(run_id)
        if live is not None:
            return live.view(), live.node_list()
        record = await self.require(run_id)
        nodes = await self._db(self.store.get_nodes, run_id)
        return record, nodes

    async def list_runs(
        self, *, status: RunStatus | None, limit: int, before_seq: int | None, offset: int
    ) -> list[RunRecord]:
        records = await self._db(
            self.store.list_runs, status=status, limit=limit, before_seq=before_seq, offset=offset
        )
        out = []
        for rec in records:
            live = self._live.get(rec.id)
            out.append(replace(live.view(), seq=rec.seq) if live is not None else rec)
        return out

    # -- acting -----------------------------------------------------------------------
    async def cancel(self, run_id: str, *, wait_s: float = 5.0) -> RunRecord:
        live = self._live.get(run_id)
        if live is None:
            record = await self.require(run_id)
            raise ApiError(
                409,
                f"run {run_id} is already {record.status}; only a run in progress can be cancelled",
                param="id",
                code="run_not_in_progress",
            )
        live.control.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                await live.done.wait()
        return live.view()

    async def wait(self, run_id: str, wait_s: float | None = None) -> RunRecord:
        """The run once it has finished (or as it is when `wait_s` seconds have passed)."""
        live = self._live.get(run_id)
        if live is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await live.done.wait()
            return live.view()
        return await self.require(run_id)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, run_id: str
    ) -> AsyncIterator[tuple[RunRecord, list[JSON], asyncio.Queue[RunUpdate | None] | None]]:
        """The run as it is now, and a queue of what happens next (None once it ended).

        Taking the snapshot and subscribing happen with no await in between, so no event
        falls between the two.
        """
        live = self._live.get(run_id)
        if live is None:
            record, nodes = await self.nodes(run_id)
            live = self._live.get(run_id)
            if live is None:
                yield record, nodes, None
                return
        queue: asyncio.Queue[RunUpdate | None] = asyncio.Queue()
        live.subscribers.add(queue)
        try:
            yield live.view(), live.node_list(), queue
        finally:
            live.subscribers.discard(queue)

    # -- life cycle -------------------------------------------------------------------
    async def startup(self) -> int:
        """Mark runs a previous process left in progress as interrupted; return how many."""
        return await self._db(self.store.mark_interrupted, INTERRUPTED)

    async def shutdown(self) -> None:
        """Stop every run (it is stored as failed: interrupted), then flush the store."""
        self._closing = True
        lives = list(self._live.values())
        for live in lives:
            live.interrupted = True
            live.control.cancel()
        tasks = [live.task for live in lives if live.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.settings.shutdown_grace_s)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        await self.writer.close()


def _changed_rows(live: LiveRun, nodes: list[tuple[int, JSON]]) -> list[NodeRow]:
    """The rows of `nodes` that differ from what was last written for the run."""
    rows = []
    for pos, node in nodes:
        row = NodeRow.of(pos, node)
        if live.rows.get(row.id) != row:
            rows.append(row)
    return rows


def _chain(target: asyncio.Future[None], source: asyncio.Future[None]) -> None:
    if target.done():
        return
    exc = source.exception()
    if exc is not None:
        target.set_exception(exc)
    else:
        target.set_result(None)


def _plausible_id(run_id: str) -> bool:
    return 0 < len(run_id) <= 64
