"""cadenza's own runs API, beyond Maestro's: list, cancel, live events, the call tree.

POST /v1/runs                 start a run (same body as Maestro's)
GET  /v1/runs                 summaries, newest first; ?status=&limit=&cursor= (or &offset=)
GET  /v1/runs/{id}            everything about one run
POST /v1/runs/{id}/cancel     stop it; it keeps its best answer (status cancelled)
GET  /v1/runs/{id}/events     server-sent events until it ends
GET  /v1/runs/{id}/trace      its tree of calls
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from ..result import TraceNode
from ..store import RunStatus
from . import sse
from .callers import Caller, caller_of
from .maestro import MaestroRunCreate, spec_from_maestro
from .runs import RunManager
from .schemas import ERROR_RESPONSES, RunListOut, RunOut, TraceOut, run_out, run_summary_out

__all__ = ["router"]

router = APIRouter(prefix="/v1/runs", tags=["runs"], responses=ERROR_RESPONSES)


def _manager(request: Request) -> RunManager:
    manager: RunManager = request.app.state.runs
    return manager


@router.post("", response_model=RunOut)
async def create_run(body: MaestroRunCreate, request: Request) -> RunOut:
    """Start a run and return at once; it goes on in the background."""
    spec = spec_from_maestro(body, "api", web_available=request.app.state.settings.web is not None)
    return run_out(await _manager(request).start(spec, caller_of(request)))


@router.get("", response_model=RunListOut)
async def list_runs(
    request: Request,
    status: RunStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None,
        Query(
            pattern=r"^([0-9]{1,18})?$",
            description="The `next_cursor` of a previous page.",
        ),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> RunListOut:
    """Summaries of the runs this key may see (every run for an admin key), newest
    first. Page with `cursor` (from `next_cursor`) or with `offset`. `GET /v1/runs/{id}`
    has the whole run."""
    before = int(cursor) if cursor else None
    records = await _manager(request).list_runs(
        status=status,
        limit=limit + 1,
        before_seq=before,
        offset=offset,
        caller=caller_of(request),
    )
    has_more = len(records) > limit
    records = records[:limit]
    next_cursor = str(records[-1].seq) if has_more and records[-1].seq is not None else None
    return RunListOut(
        data=[run_summary_out(r) for r in records], has_more=has_more, next_cursor=next_cursor
    )


@router.get("/{run_id}", response_model=RunOut)
async def get_run(run_id: str, request: Request) -> RunOut:
    manager = _manager(request)
    record = await manager.require(run_id, caller_of(request))
    out = run_out(record)
    if record.status != "in_progress" and (
        record.request.get("tools") or record.request.get("tool_resources")
    ):
        out.data_sources = await manager.data_sources(run_id, caller_of(request))
    return out


@router.post("/{run_id}/cancel", response_model=RunOut)
async def cancel_run(run_id: str, request: Request) -> RunOut:
    """Cancel a run in progress; answers once it has stopped (or after 5 s)."""
    return run_out(await _manager(request).cancel(run_id, caller_of(request)))


@router.get("/{run_id}/trace", response_model=TraceOut)
async def get_trace(run_id: str, request: Request) -> TraceOut:
    record, nodes = await _manager(request).nodes(run_id, caller_of(request))
    return TraceOut(
        run_id=record.id, status=record.status, nodes=[TraceNode.model_validate(n) for n in nodes]
    )


@router.get(
    "/{run_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "snapshot, then node_started / node_finished / "
            "best_changed / message events, then done.",
        }
    },
)
async def run_events(run_id: str, request: Request) -> StreamingResponse:
    """Server-sent events: a `snapshot` (the run and its nodes), each change, then `done`."""
    manager = _manager(request)
    caller = caller_of(request)
    await manager.require(run_id, caller)
    return StreamingResponse(
        _events(manager, run_id, caller), media_type="text/event-stream", headers=sse.SSE_HEADERS
    )


async def _events(manager: RunManager, run_id: str, caller: Caller) -> AsyncIterator[bytes]:
    async with manager.subscribe(run_id, caller) as (record, nodes, queue):
        yield sse.event(
            "snapshot", {"run": run_out(record).model_dump(mode="json"), "nodes": nodes}
        )
        async for update in sse.drain(queue):
            if isinstance(update, bytes):
                yield update
            elif update.event != "done":
                yield sse.event(update.event, update.data)
        final = await manager.require(run_id, caller)
        yield sse.event("done", {"run": run_out(final).model_dump(mode="json")})
