"""What the store holds — runs and their trace nodes — and the interface every backend offers.

A run is one row: its request as received, its status, and once it ends its answer,
per-requirement results and usage. Its trace nodes are rows of their own, written as the
run goes, so a process that dies mid-run leaves every finished run whole and the tree of
the interrupted one up to its last event.

The messages a node sent (its prompt) are stored once per run, content-addressed: each
message's JSON text is cut into pieces of 64 KiB, the run's `run_messages` hold each piece
once under its SHA-256, and a node row holds the list of those hashes for each message.
Ten calls that send the same 1 MB input store it once, and so do calls whose prompts
differ only at the end; reading a node puts its messages back, so a node reads exactly
as it was written.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = [
    "INTERRUPTED",
    "MESSAGE_CHUNK_CHARS",
    "PREVIEW_CHARS",
    "FinishRun",
    "InsertRun",
    "MessageChunk",
    "NodeRow",
    "RunRecord",
    "RunStatus",
    "RunSummary",
    "Store",
    "UpsertNodes",
    "WriteOp",
    "has_message_refs",
    "input_preview",
    "restore_messages",
    "run_id_of",
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


PREVIEW_CHARS = 200
"""How much of a run's input its summary shows."""


@dataclass
class RunSummary:
    """What a list of runs shows of each: small, whatever the size of its request."""

    id: str
    source: str
    status: RunStatus
    created_at: float
    updated_at: float
    finished_at: float | None = None
    models: list[str] = field(default_factory=list)
    input_preview: str = ""
    """The start of the input (at most `PREVIEW_CHARS` characters); messages as
    ``role: content`` lines."""
    score: float | None = None
    finish_reason: str | None = None
    usage: JSON = field(default_factory=dict)
    seconds: float | None = None
    seq: int | None = None

    @classmethod
    def of(cls, record: RunRecord) -> RunSummary:
        rr = record.requirements_result or {}
        return cls(
            id=record.id,
            source=record.source,
            status=record.status,
            created_at=record.created_at,
            updated_at=record.updated_at,
            finished_at=record.finished_at,
            models=list(record.models),
            input_preview=input_preview(record.request),
            score=_score(rr.get("score")),
            finish_reason=rr.get("finish_reason"),
            usage=dict(record.usage),
            seconds=record.seconds,
            seq=record.seq,
        )


def _score(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def input_preview(request: JSON | None, limit: int = PREVIEW_CHARS) -> str:
    """The start of a stored request's input: ``input`` (a string or messages) or the
    OpenAI API's ``messages``; messages become ``role: content`` lines. Always text any
    database stores: no NUL, no lone surrogate."""
    text = _preview(request, limit)
    return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in text)


def _preview(request: JSON | None, limit: int) -> str:
    if not isinstance(request, dict):
        return ""
    value = request.get("input", request.get("messages"))
    if isinstance(value, str):
        return value[:limit]
    if not isinstance(value, list):
        return ""
    lines: list[str] = []
    size = 0
    for message in value:
        if size > limit:
            break
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if not isinstance(content, str):
            content = json.dumps(content)[:limit]
        line = f"{message.get('role', '')}: {content[:limit]}"
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)[:limit]


MESSAGE_CHUNK_CHARS = 64 * 1024
"""Messages are stored in pieces of this many characters of their JSON text, each piece
once per run: two prompts that differ only at the end (the input, and the input with the
requirements added) share all their pieces but the last."""


@dataclass(frozen=True, slots=True)
class MessageChunk:
    """A piece of the JSON text of a message a node sent, stored once per run under its
    SHA-256."""

    sha256: str
    data: str


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
    """The node as JSON text, each of its messages replaced by the list of the SHA-256s of
    its pieces (`MESSAGE_CHUNK_CHARS`)."""
    chunks: tuple[MessageChunk, ...] = ()
    """The pieces `data` refers to."""

    @classmethod
    def of(cls, position: int, node: JSON) -> NodeRow:
        chunks: dict[str, MessageChunk] = {}
        if node.get("messages"):
            refs = []
            for message in node["messages"]:
                pieces = _chunks(message)
                refs.append([c.sha256 for c in pieces])
                chunks.update((c.sha256, c) for c in pieces)
            node = {**node, "messages": refs}
        return cls(
            position=position,
            id=str(node["id"]),
            parent=node.get("parent"),
            kind=str(node["kind"]),
            status=str(node["status"]),
            data=json.dumps(node, separators=(",", ":")),
            chunks=tuple(chunks.values()),
        )


def _chunks(message: Any) -> list[MessageChunk]:
    # ensure_ascii (the default) keeps the text ASCII, so even a lone surrogate encodes
    text = json.dumps(message, separators=(",", ":"))
    size = MESSAGE_CHUNK_CHARS
    return [
        MessageChunk(hashlib.sha256(piece.encode()).hexdigest(), piece)
        for piece in (text[i : i + size] for i in range(0, len(text), size))
    ]


def has_message_refs(node: Any) -> bool:
    """Whether a stored node refers to its messages (rather than holding them, as nodes
    written before messages were stored apart do)."""
    refs = node.get("messages") if isinstance(node, dict) else None
    return bool(refs) and isinstance(refs, list) and all(isinstance(r, list) for r in refs)


def restore_messages(node: JSON, chunks: dict[str, str]) -> JSON:
    """`node` (as stored) with its messages put back together from `chunks` (SHA-256 ->
    text). A node that holds its messages is returned as it is; a message with a piece
    missing reads as a message that says so, rather than failing the whole trace."""
    if not has_message_refs(node):
        return node
    messages = []
    for refs in node["messages"]:
        try:
            messages.append(json.loads("".join(chunks[r] for r in refs)))
        except (KeyError, TypeError, ValueError):
            messages.append({"role": "unknown", "content": "(message not stored)"})
    node["messages"] = messages
    return node


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


def run_id_of(op: WriteOp) -> str:
    """The run a write belongs to."""
    return op.run_id if isinstance(op, UpsertNodes) else op.record.id


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
        """Mark every run still in progress as failed with `error`, and those of its
        trace nodes still pending or running too; return how many runs."""

    @abstractmethod
    def apply(self, ops: Sequence[WriteOp]) -> None:
        """Apply `ops` in order, in one transaction."""

    @abstractmethod
    def prune(self, finished_before: float, *, batch: int = 100) -> int:
        """Delete the runs that finished before `finished_before` (a Unix time), with
        their nodes and messages; never a run in progress. Deletes `batch` runs per
        transaction, so that writers never wait long. Returns how many runs."""

    def reset_connection(self) -> None:  # noqa: B027 - a hook most backends need not fill
        """Drop what this thread holds of a connection after an error (the next call
        reconnects). Backends whose connections check themselves need not."""

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
    ) -> list[RunSummary]:
        """Summaries, newest first. `before_seq` (a cursor) or `offset` pages through
        the rest; `owner` keeps the runs of that key id only. The full run (its request,
        answer, results) is `get_run`'s."""

    @abstractmethod
    def get_nodes(self, run_id: str) -> list[JSON]:
        """The run's trace nodes in creation order, with their messages."""

    @abstractmethod
    def check(self) -> str:
        """A quick integrity check of the database; ``"ok"`` when it is sound."""

    @abstractmethod
    def close(self) -> None: ...
