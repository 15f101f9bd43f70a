"""The run manager: starts runs as asyncio tasks, records them, streams their events.

A run's life here:

1. `start` checks the models the request names against the server's catalog, builds the
   `Task` (bad input raises a `UsageError` or a `RunRequestError` before anything is
   stored), fits its budget under the server's ceiling, takes a slot from `Admission`
   (all before its first ``await``), resolves its models and starts `arun_task` in a task
   of its own. The slot is given back on every path.
2. The run's first event means cadenza accepted it: the run row is written, and `start`
   returns once that write has committed, so an id handed to a client always exists.
3. Every trace event is queued to the store (the tree is written as it grows) and fanned
   out to the run's subscribers (`/v1/runs/{id}/events`, the chat stream).
4. When the run ends its final state is committed before anyone can see it finished. A
   failed final write is tried again (a few times, backing off); meanwhile the run stays
   live: in memory, readable, in progress. If it still cannot be stored, readers of this
   process see its final state from memory while the write is retried in the background
   until it commits or the server stops; a run whose end never committed is marked
   interrupted at the next start-up, like any run a stopped process left in progress.

If storing a new run fails, its task is cancelled and its queued writes are dropped, so
that nothing else is written for a run that does not exist. At start-up, runs a previous
process left in progress (and their nodes still running) are marked failed
("interrupted").

Every run records the id of the key that created it; reading, listing, following and
cancelling take the `Caller` and show it only the runs it may see (others do not exist
for it). Refusals are `run_errors` exceptions: this layer knows nothing of HTTP.
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
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from ..errors import UsageError
from ..models.base import Model
from ..result import DataSources, Result
from ..retrieval import FileSearch
from ..runner import RunControl, RunOptions, arun_task
from ..sources.tools import Tool, ToolSet
from ..store import (
    INTERRUPTED,
    FinishRun,
    InsertRun,
    NodeRow,
    RunRecord,
    RunStatus,
    RunSummary,
    Store,
    StoreWriter,
    UpsertNodes,
)
from ..store.priors import prior_table_of
from ..task import Task, make_task
from ..trace import RunEvent
from ..validators.base import get_validator
from .admission import Admission, BudgetCeiling, Slot
from .callers import Caller
from .model_catalog import ModelCatalog
from .model_pool import ModelPool
from .run_errors import (
    ModelUnavailable,
    RunNotFound,
    RunNotInProgress,
    RunNotStored,
    RunRequestError,
    ShuttingDown,
)
from .settings import ServerSettings

if TYPE_CHECKING:
    from ..web import WebSearcher
    from .library_api import LibraryHolder

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
    models_param: str | None = None
    """Where the request named its models, for errors (default ``models.<i>``)."""
    tools: list[Tool] = field(default_factory=list)
    """File and web searches, read from the request's ``tools`` and ``tool_resources``."""


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
        self.dropped = False
        """Storing the run failed: it is being stopped, and nothing more is written for it."""
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
    final_write_attempts = 5
    """How many times a run's final write is tried before the run is kept in memory."""
    final_write_backoff_s = 0.1
    """The wait before the second try; it doubles at each try after."""
    final_write_max_backoff_s = 30.0
    """The longest wait between background tries of a final write that keeps failing."""

    def __init__(
        self,
        store: Store,
        writer: StoreWriter,
        pool: ModelPool,
        settings: ServerSettings,
        *,
        library: LibraryHolder | None = None,
    ) -> None:
        self.store = store
        self.writer = writer
        self.pool = pool
        self.settings = settings
        self.library = library
        self._web: WebSearcher | None = None
        self.catalog = ModelCatalog(settings)
        self.admission = Admission.of(settings)
        self.ceiling = BudgetCeiling.of(settings)
        self._live: dict[str, LiveRun] = {}
        self._unsaved: dict[str, tuple[LiveRun, FinishRun, asyncio.Task[None]]] = {}
        """Runs that ended but whose final state has not committed yet (retried meanwhile)."""
        self._closing = False
        self._priors = prior_table_of(store)
        """Priors learned across runs live in the server's own database."""

    # -- starting ---------------------------------------------------------------------
    async def start(self, spec: RunSpec, caller: Caller) -> RunRecord:
        if self._closing:
            raise ShuttingDown()
        task = self._task(spec)
        names = [*task.models, *([task.judge_model] if task.judge_model else [])]
        # Admitted before the first await: concurrent requests cannot all pass the check.
        slot = self.admission.admit(caller.key_id)
        try:
            leased = await self._acquire(names)  # held until the run's task ends
        except BaseException:
            slot.refund()
            raise
        models = leased[: len(task.models)]
        judge = leased[-1] if task.judge_model else None
        try:
            tools = await self._tools(spec, caller)
        except BaseException:
            self.pool.release(names)
            slot.refund()
            raise
        now = time.time()
        record = RunRecord(
            id=str(uuid.uuid4()),
            source=spec.source,
            status="in_progress",
            created_at=now,
            updated_at=now,
            request=spec.request,
            models=list(task.models),
            owner=caller.key_id,
        )
        live = LiveRun(record, asyncio.get_running_loop().create_future())
        options = self._options(spec)
        live.task = asyncio.create_task(self._execute(live, task, models, judge, options, tools))
        live.task.add_done_callback(lambda _: self.pool.release(names))
        live.task.add_done_callback(partial(_release, slot))
        await asyncio.wait({live.created, live.task}, return_when=asyncio.FIRST_COMPLETED)
        if live.created.done():
            try:
                live.created.result()
            except Exception as exc:
                self._drop(live)
                slot.refund()
                log.error("could not store run %s: %s", live.id, exc)
                raise RunNotStored() from exc
            return live.view()
        # The run ended before it began: cadenza refused it.
        slot.refund()
        refusal = live.start_error or RuntimeError("the run ended before it started")
        raise refusal

    def _drop(self, live: LiveRun) -> None:
        """Give up on a run whose creation failed: stop it, write nothing more for it."""
        live.dropped = True
        self.writer.discard(live.id)
        live.control.cancel()
        if live.task is not None:
            live.task.cancel()
        self._live.pop(live.id, None)
        live.done.set()

    async def _acquire(self, names: list[str]) -> list[Model]:
        """The run's models, held until it ends. Only names from the catalog get here: one
        that cannot be set up is the operator's to fix, so the client learns only that it
        is unavailable."""
        try:
            return await self.pool.acquire(names)
        except UsageError as exc:
            log.error("a model of %s could not be set up: %s", names, exc)
            failed = next((n for n in names if n not in self.pool.names), names[0])
            raise ModelUnavailable(failed) from None

    def _task(self, spec: RunSpec) -> Task:
        """The run's task, checked: models from the catalog only (by name, before anything
        resolves them), validators registered here, the budget under the ceiling."""
        models = self.catalog.run_models(spec.models, spec.models_param)
        judge = self.catalog.judge(spec.judge_model)
        task = make_task(
            spec.input,
            list(spec.requirements),
            budget=spec.budget,
            threshold=spec.threshold,
            models=models,
            judge_model=judge,
            system_prompt=spec.system_prompt,
            output_type=spec.output_schema,
        )
        for i, req in enumerate(task.requirements):
            if isinstance(req.validator, str):
                try:
                    get_validator(req.validator)
                except UsageError as exc:
                    raise RunRequestError(
                        f"requirements.{i}.validator: {exc}",
                        param=f"requirements.{i}.validator",
                        code="unknown_validator",
                    ) from None
        asked = (
            {k for k, v in spec.budget.items() if k != "preset" and v is not None}
            if isinstance(spec.budget, dict)
            else set()
        )
        task.budget = self.ceiling.apply(task.budget, asked)
        return task

    async def _tools(self, spec: RunSpec, caller: Caller) -> ToolSet | None:
        """The run's tools with what they search: the server's library (a key's file
        searches see only its own files) and the operator's web search."""
        if not spec.tools:
            return None
        tools = [
            replace(t, owner=caller.owner_filter) if isinstance(t, FileSearch) else t
            for t in spec.tools
        ]
        library = None
        if any(isinstance(t, FileSearch) for t in tools):
            if self.library is None:
                raise RuntimeError("this server has no document library")
            library = await self.library.get()
        web = None
        if any(not isinstance(t, FileSearch) for t in tools):
            web = self._web_searcher()
        return await ToolSet.open(tools, library=library, web=web)

    def _web_searcher(self) -> WebSearcher:
        from ..web import WebSearcher

        if self._web is None:
            if self.settings.web is None:
                raise RuntimeError("web search is not configured on this server")
            self._web = WebSearcher(self.settings.web)
        return self._web

    def _options(self, spec: RunSpec) -> RunOptions:
        options = self.settings.options
        if options.priors and options.prior_table is None:
            options = replace(options, prior_table=self._priors, priors=self._priors is not None)
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
        tools: ToolSet | None = None,
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
                tools=tools,
            )
        except asyncio.CancelledError:
            if live.dropped:
                raise
            if live.persisted:  # a hard stop at shutdown: record what there is, unawaited
                rec, nodes = self._final(live, None, INTERRUPTED)
                with contextlib.suppress(RuntimeError):
                    self.writer.submit(FinishRun(rec, _changed_rows(live, nodes)))
            else:
                live.start_error = ShuttingDown()
            raise
        except Exception as exc:
            if live.dropped:
                return
            if not live.persisted:
                live.start_error = exc
                return
            log.exception("run %s failed", live.id)
            # What went wrong stays in the log: an exception's text may hold anything.
            error = f"internal error; the server log has the details (run {live.id})"
        if live.dropped:
            return
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
        if live.dropped:
            return
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
            future.add_done_callback(partial(_stop_writing_if_failed, live))
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
            return rec, [
                (live.positions[n["id"]], _stopped_node(n, rec.error)) for n in live.node_list()
            ]
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
        saved = await self._write_final(live, rec, nodes)
        live.record = rec
        live.nodes = {n["id"]: n for _, n in nodes}
        live.positions = {n["id"]: pos for pos, n in nodes}
        if not saved:
            # Readers of this process see the run's end from memory while the write is
            # tried again in the background; the database still says in progress, so
            # should this process stop first, the next start marks the run interrupted.
            op = FinishRun(rec, [NodeRow.of(pos, node) for pos, node in nodes])
            retry = asyncio.create_task(self._keep_writing(live, op))
            self._unsaved[live.id] = (live, op, retry)
        self._broadcast(live, RunUpdate("done", {"status": rec.status}))
        self._broadcast(live, None)
        self._live.pop(live.id, None)
        live.done.set()

    async def _write_final(
        self, live: LiveRun, rec: RunRecord, nodes: list[tuple[int, JSON]]
    ) -> bool:
        """Commit the run's end, trying again on failure; True once it has committed.

        The first try writes the nodes that changed since they were last written; a
        later one (or one after node writes of the run were lost) writes them all."""
        delay = self.final_write_backoff_s
        for attempt in range(1, self.final_write_attempts + 1):
            if attempt == 1 and live.id not in self.writer.lost_writes:
                rows = _changed_rows(live, nodes)
            else:
                rows = [NodeRow.of(pos, node) for pos, node in nodes]
            try:
                await self.writer.commit(FinishRun(rec, rows))
                return True
            except Exception as exc:
                log.warning(
                    "storing the end of run %s failed (try %d of %d): %s: %s",
                    live.id,
                    attempt,
                    self.final_write_attempts,
                    type(exc).__name__,
                    exc,
                )
                if self._closing or attempt == self.final_write_attempts:
                    break
                await asyncio.sleep(delay)
                delay *= 2
        log.error(
            "could not store the end of run %s (%s); keeping it in memory and trying again",
            live.id,
            rec.status,
        )
        return False

    async def _keep_writing(self, live: LiveRun, op: FinishRun) -> None:
        """Retry a final write that failed, backing off, until it commits."""
        delay = self.final_write_backoff_s * 2**self.final_write_attempts
        while True:
            await asyncio.sleep(min(delay, self.final_write_max_backoff_s))
            delay *= 2
            try:
                await self.writer.commit(op)
            except Exception as exc:
                log.warning("storing the end of run %s failed again: %s", live.id, exc)
                continue
            log.info("stored the end of run %s", live.id)
            self._unsaved.pop(live.id, None)
            return

    def _ended(self, run_id: str) -> LiveRun | None:
        """A run that has ended but whose final write has not committed yet."""
        unsaved = self._unsaved.get(run_id)
        return unsaved[0] if unsaved is not None else None

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
        """Runs admitted and not ended yet."""
        return self.admission.active

    def _visible_live(self, run_id: str, caller: Caller, *, ended: bool = True) -> LiveRun | None:
        """The run held in memory, if `caller` may see it: one in progress, or (with
        `ended`) one that ended but whose end is not stored yet."""
        live = self._live.get(run_id) or (self._ended(run_id) if ended else None)
        return live if live is not None and caller.sees(live.record.owner) else None

    async def get(self, run_id: str, caller: Caller) -> RunRecord | None:
        """The run, if it exists and `caller` may see it (another key's run does not
        exist for it: the same None, so ids do not leak)."""
        live = self._live.get(run_id) or self._ended(run_id)
        if live is not None:
            return live.view() if caller.sees(live.record.owner) else None
        if not _plausible_id(run_id):
            return None
        record = await self._db(self.store.get_run, run_id)
        return record if record is not None and caller.sees(record.owner) else None

    async def require(self, run_id: str, caller: Caller) -> RunRecord:
        record = await self.get(run_id, caller)
        if record is None:
            raise RunNotFound(run_id)
        return record

    async def nodes(self, run_id: str, caller: Caller) -> tuple[RunRecord, list[JSON]]:
        live = self._visible_live(run_id, caller)
        if live is not None:
            return live.view(), live.node_list()
        record = await self.require(run_id, caller)
        nodes = await self._db(self.store.get_nodes, run_id)
        return record, nodes

    async def data_sources(self, run_id: str, caller: Caller) -> DataSources | None:
        """What the run retrieved (from its root trace node), None for a run without
        tools."""
        _, nodes = await self.nodes(run_id, caller)
        for node in nodes:
            if node.get("kind") == "run":
                raw = (node.get("detail") or {}).get("data_sources")
                return DataSources.model_validate(raw) if raw is not None else None
        return None

    async def list_runs(
        self,
        *,
        status: RunStatus | None,
        limit: int,
        before_seq: int | None,
        offset: int,
        caller: Caller,
    ) -> list[RunSummary]:
        summaries = await self._db(
            self.store.list_runs,
            status=status,
            limit=limit,
            before_seq=before_seq,
            offset=offset,
            owner=caller.owner_filter,
        )
        out = []
        for summary in summaries:
            live = self._live.get(summary.id) or self._ended(summary.id)
            if live is not None:
                summary = replace(RunSummary.of(live.view()), seq=summary.seq)
                if status is not None and summary.status != status:
                    continue  # it ended, but its end is not stored yet
            out.append(summary)
        return out

    # -- acting -----------------------------------------------------------------------
    async def cancel(self, run_id: str, caller: Caller, *, wait_s: float = 5.0) -> RunRecord:
        live = self._visible_live(run_id, caller, ended=False)
        if live is None:
            record = await self.require(run_id, caller)
            raise RunNotInProgress(run_id, record.status)
        live.control.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                await live.done.wait()
        return live.view()

    async def wait(self, run_id: str, caller: Caller, wait_s: float | None = None) -> RunRecord:
        """The run once it has finished (or as it is when `wait_s` seconds have passed)."""
        live = self._visible_live(run_id, caller)
        if live is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await live.done.wait()
            return live.view()
        return await self.require(run_id, caller)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, run_id: str, caller: Caller
    ) -> AsyncIterator[tuple[RunRecord, list[JSON], asyncio.Queue[RunUpdate | None] | None]]:
        """The run as it is now, and a queue of what happens next (None once it ended).

        Taking the snapshot and subscribing happen with no await in between, so no event
        falls between the two.
        """
        live = self._visible_live(run_id, caller)
        if live is None:
            record, nodes = await self.nodes(run_id, caller)
            live = self._visible_live(run_id, caller)
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
        if self._web is not None:
            await self._web.aclose()
        # Final writes still failing get one last try as the writer flushes; those that
        # fail again stay in progress in the database, to be marked interrupted at start.
        for _, op, retry in self._unsaved.values():
            retry.cancel()
            with contextlib.suppress(RuntimeError):
                self.writer.submit(op)
        await self.writer.close()


def _changed_rows(live: LiveRun, nodes: list[tuple[int, JSON]]) -> list[NodeRow]:
    """The rows of `nodes` that differ from what was last written for the run."""
    rows = []
    for pos, node in nodes:
        row = NodeRow.of(pos, node)
        if live.rows.get(row.id) != row:
            rows.append(row)
    return rows


def _stopped_node(node: JSON, error: str | None) -> JSON:
    """`node` as it stays once its run has stopped: a call still running has failed."""
    if node.get("status") not in ("pending", "running"):
        return node
    return {**node, "status": "failed", "error": node.get("error") or error or INTERRUPTED}


def _stop_writing_if_failed(live: LiveRun, created: asyncio.Future[None]) -> None:
    """The run's row could not be stored: nothing more is written for it (`start` then
    cancels it)."""
    if not created.cancelled() and created.exception() is not None:
        live.dropped = True


def _release(slot: Slot, _task: asyncio.Task[None]) -> None:
    slot.release()


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
