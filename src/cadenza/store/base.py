"""What the store holds — runs and their trace nodes — and the interface every backend offers.

A run is one row: its request as received, its status, and once it ends its answer,
per-requirement results and usage. Its trace nodes are rows of their own, written as the
run goes, so a process that dies mid-run leaves every finished run whole and the tree of
the interrupted one up to its last event.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = [
    "INTERRUPTED",
    "FinishRun",
    "InsertRun",
    "NodeRow",
    "RunRecord",
    "RunStatus",
    "Store",
    "UpsertNodes",
    "WriteOp",
]

RunStatus = Literal["in_progress", "completed", "failed", "cancelled"]
RUN_STATUSES: tuple[RunStatus, ...] = ("in_progress", "completed", "failed", "cancelled")

INTERRUPTED = "interrupted"
"""The error of a run that was in progress when its server stopped without finishing it."""

JSON: TypeAlias = dict[str, Any]


@dataclass
class RunRecord:
    """One run as stored. JSON-shaped fields hold plain dicts and lists."""

    id: str
    source: str
    """Which API created it: ``maestro``, ``openai`` or ``api``."""
    status: RunStatus
    created_at: float
    request: JSON
    """The request as received (validated and normalised), for display and replay."""
    updated_at: float = 0.0
    finished_at: float | None = None
    result: str | None = None
    requirements_result: JSON | None = None
    usage: JSON = field(default_factory=dict)
    error: str | None = None
    models: list[str] = field(default_factory=list)
    seconds: float | None = None
    best_candidate_id: str | None = None
    owner: str | None = None
    """The id of the API key that created it (never the key itself); None when the
    server had no keys."""
    seq: int | None = None
    """Assigned by the store on insert; orders runs and makes list cursors."""


@dataclass(frozen=True, slots=True)
class NodeRow:
    """One trace node, ready to store: serialised where it happens (on the event loop),
    so that the writer thread does little more than hand rows to the database."""

    position: int
    """Its place in creation order."""
    id: str
    parent: str | None
    kind: str
    status: str
    data: str
    """The whole node as JSON text."""

    @classmethod
    def of(cls, position: int, node: JSON) -> NodeRow:
        return cls(
            position=position,
            id=str(node["id"]),
            parent=node.get("parent"),
            kind=str(node["kind"]),
            status=str(node["status"]),
            data=json.dumps(node, separators=(",", ":")),
        )


@dataclass(frozen=True)
class InsertRun:
    record: RunRecord
    nodes: Sequence[NodeRow] = ()


@dataclass(frozen=True)
class UpsertNodes:
    run_id: str
    nodes: Sequence[NodeRow]
    """A later write of the same node wins."""


@dataclass(frozen=True)
class FinishRun:
    record: RunRecord
    nodes: Sequence[NodeRow] = ()


WriteOp: TypeAlias = InsertRun | UpsertNodes | FinishRun


class Store(ABC):
    """A database of runs. Methods are blocking; the server calls them off its event loop.

    Each thread that calls in gets a connection of its own, so reads may run in a pool
    of threads while one writer thread applies batches of writes.
    """

    url: str
    inline: bool = False
    """True when calls are quick enough to make on the server's event loop (local SQLite);
    otherwise the server makes them in threads."""

    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply the migrations not applied yet; return their names."""

    @abstractmethod
    def applied_migrations(self) -> list[str]: ...

    @abstractmethod
    def mark_interrupted(self, error: str = INTERRUPTED) -> int:
        """Mark every run still in progress as failed with `error`; return how many."""

    @abstractmethod
    def apply(self, ops: Sequence[WriteOp]) -> None:
        """Apply `ops` in order, in one transaction."""

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord | None: ...

    @abstractmethod
    def list_runs(
        self,
        *,
        status: RunStatus | None = None,
        limit: int = 20,
        before_seq: int | None = None,
        offset: int = 0,
        owner: str | None = None,
    ) -> list[RunRecord]:
        """Newest first. `before_seq` (a cursor) or `offset` pages through the rest;
        `owner` keeps the runs of that key id only."""

    @abstractmethod
    def get_nodes(self, run_id: str) -> list[JSON]:
        """The run's trace nodes in creation order."""

    @abstractmethod
    def check(self) -> str:
        """A quick integrity check of the database; ``"ok"`` when it is sound."""

    @abstractmethod
    def close(self) -> None: ...
