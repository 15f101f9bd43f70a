"""The SQL both backends share: runs, their trace nodes and the messages those sent, JSON in
TEXT columns.

Backends differ only in how they connect, open a transaction and spell a placeholder;
the statements here are written with ``?`` and translated by `SqlStore._sql`.
"""

from __future__ import annotations

import json
import threading
import time
from abc import abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, TypedDict

from ..json_text import replace_lone_surrogates
from .base import (
    INTERRUPTED,
    JSON,
    FinishRun,
    InsertRun,
    NodeRow,
    RunRecord,
    RunStatus,
    RunSummary,
    Store,
    UpsertNodes,
    WriteOp,
    has_message_refs,
    input_preview,
    restore_messages,
)
from .migrations import MIGRATIONS, Dialect

__all__ = ["SqlStore"]

_HEAD_COLUMNS = "seq, id, source, status, created_at, updated_at, finished_at"
"""The columns a read of a run starts with, for a record and a summary alike (`_head`)."""

_RUN_COLUMNS = (
    f"{_HEAD_COLUMNS}, request, result, "
    "requirements_result, usage, error, models, seconds, best_candidate_id, owner"
)

_SUMMARY_COLUMNS = (
    f"{_HEAD_COLUMNS}, models, usage, seconds, "
    "preview, score, finish_reason, "
    "CASE WHEN preview IS NULL THEN request END, "
    "CASE WHEN finish_reason IS NULL AND score IS NULL THEN requirements_result END"
)

_INSERT_MESSAGE = """
    INSERT INTO run_messages (run_id, sha256, data) VALUES (?, ?, ?)
    ON CONFLICT (run_id, sha256) DO NOTHING
"""

_UPSERT_NODE = """
    INSERT INTO nodes (run_id, node_id, position, parent, kind, status, data)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id, node_id) DO UPDATE SET
        position = excluded.position, parent = excluded.parent, kind = excluded.kind,
        status = excluded.status, data = excluded.data
"""


_STATE_COLUMNS = (
    "status",
    "updated_at",
    "finished_at",
    "result",
    "requirements_result",
    "usage",
    "error",
    "models",
    "seconds",
    "best_candidate_id",
    "score",
    "finish_reason",
)
"""Where a run stands (`_state_values`): written when it is stored, and again when it ends."""

_INSERT_RUN = (
    "INSERT INTO runs (id, source, created_at, request, owner, preview, "
    f"{', '.join(_STATE_COLUMNS)}) VALUES ({', '.join('?' * (6 + len(_STATE_COLUMNS)))})"
)

_FINISH_RUN = f"UPDATE runs SET {', '.join(f'{c} = ?' for c in _STATE_COLUMNS)} WHERE id = ?"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _loads(text: str | None) -> Any:
    # A row written before requests were checked may hold a lone surrogate: shown as U+FFFD,
    # so that reading it never fails.
    return None if text is None else json.loads(replace_lone_surrogates(text))


class _Migrations:
    def __init__(self, store: SqlStore, conn: Any) -> None:
        self.dialect: Dialect = store.dialect
        self._store = store
        self._conn = conn

    def execute(self, sql: str) -> None:
        self._conn.execute(self._store._sql(sql))


class SqlStore(Store):
    dialect: Dialect
    _transient: tuple[type[BaseException], ...] = ()
    """Errors after which a read is worth trying again on another connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._closed = False
        self._stored_messages: dict[str, set[str]] = {}
        """Per run in progress, the message pieces known to be committed (not sent again)."""

    # -- what a backend provides ------------------------------------------------------
    @abstractmethod
    def _connection(self) -> AbstractContextManager[Any]:
        """A connection in autocommit mode for one unit of work."""

    @abstractmethod
    def _transaction(self, conn: Any) -> AbstractContextManager[None]:
        """Begin a write transaction; commit on exit, roll back on error."""

    def _sql(self, sql: str) -> str:
        return sql

    def _lock_migrations(self, conn: Any) -> None:
        """Keep two processes from applying the same migration (inside its transaction)."""

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the store {self.url} is closed")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """A read, tried once more on a fresh connection if the first one was broken."""
        for attempt in (1, 2):
            try:
                with self._connection() as conn:
                    return list(conn.execute(self._sql(sql), params).fetchall())
            except self._transient:
                if attempt == 2:
                    raise
                self.reset_connection()
        raise AssertionError("unreachable")

    # -- migrations -------------------------------------------------------------------
    def _ensure_migrations_table(self, conn: Any) -> None:
        real = "REAL" if self.dialect == "sqlite" else "DOUBLE PRECISION"
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations "
            f"(name TEXT PRIMARY KEY, applied_at {real} NOT NULL)"
        )

    def applied_migrations(self) -> list[str]:
        with self._connection() as conn:
            self._ensure_migrations_table(conn)
        return [row[0] for row in self._rows("SELECT name FROM migrations ORDER BY name")]

    def migrate(self) -> list[str]:
        applied: list[str] = []
        with self._connection() as conn:
            self._ensure_migrations_table(conn)
            for m in MIGRATIONS:
                with self._transaction(conn):
                    self._lock_migrations(conn)
                    done = conn.execute(
                        self._sql("SELECT 1 FROM migrations WHERE name = ?"), (m.name,)
                    ).fetchone()
                    if done:
                        continue
                    m.fn(_Migrations(self, conn))
                    conn.execute(
                        self._sql("INSERT INTO migrations (name, applied_at) VALUES (?, ?)"),
                        (m.name, time.time()),
                    )
                    applied.append(m.name)
        return applied

    # -- writes -----------------------------------------------------------------------
    def mark_interrupted(self, error: str = INTERRUPTED) -> int:
        now = time.time()
        with self._connection() as conn, self._transaction(conn):
            nodes = conn.execute(
                self._sql(
                    "SELECT n.run_id, n.node_id, n.data FROM nodes n JOIN runs r "
                    "ON r.id = n.run_id WHERE r.status = 'in_progress' "
                    "AND n.status IN ('pending', 'running')"
                )
            ).fetchall()
            updates = []
            for run_id, node_id, data in nodes:
                node = _loads(data)
                if isinstance(node, dict):
                    node["status"] = "failed"
                    node["error"] = node.get("error") or error
                    data = _dumps(node)
                updates.append((data, run_id, node_id))
            if updates:
                conn.cursor().executemany(
                    self._sql(
                        "UPDATE nodes SET status = 'failed', data = ? "
                        "WHERE run_id = ? AND node_id = ?"
                    ),
                    updates,
                )
            cur = conn.execute(
                self._sql(
                    "UPDATE runs SET status = 'failed', error = ?, updated_at = ?, "
                    "finished_at = ? WHERE status = 'in_progress'"
                ),
                (_dumps(error), now, now),
            )
            return int(cur.rowcount or 0)

    def apply(self, ops: Sequence[WriteOp]) -> None:
        if not ops:
            return
        self._check_open()
        written: list[tuple[str, str]] = []
        with self._connection() as conn, self._transaction(conn):
            for op in ops:
                if isinstance(op, InsertRun):
                    self._insert(conn, op.record)
                    self._upsert_nodes(conn, op.record.id, op.nodes, written)
                elif isinstance(op, UpsertNodes):
                    self._upsert_nodes(conn, op.run_id, op.nodes, written)
                else:
                    self._finish(conn, op)
                    self._upsert_nodes(conn, op.record.id, op.nodes, written)
        # committed: remember which messages are stored, until the run is finished
        with self._lock:
            for run_id, sha in written:
                self._stored_messages.setdefault(run_id, set()).add(sha)
            for op in ops:
                if isinstance(op, FinishRun):
                    self._stored_messages.pop(op.record.id, None)

    def _insert(self, conn: Any, r: RunRecord) -> None:
        conn.execute(
            self._sql(_INSERT_RUN),
            (
                r.id,
                r.source,
                r.created_at,
                _dumps(r.request),
                r.owner,
                input_preview(r.request),
                *_state_values(r),
            ),
        )

    def _finish(self, conn: Any, op: FinishRun) -> None:
        conn.execute(self._sql(_FINISH_RUN), (*_state_values(op.record), op.record.id))

    def _upsert_nodes(
        self, conn: Any, run_id: str, nodes: Sequence[NodeRow], written: list[tuple[str, str]]
    ) -> None:
        if not nodes:
            return
        with self._lock:
            known = set(self._stored_messages.get(run_id, ()))
        new: dict[str, str] = {}
        for n in nodes:
            for c in n.chunks:
                if c.sha256 not in known and c.sha256 not in new:
                    new[c.sha256] = c.data
        if new:
            conn.cursor().executemany(
                self._sql(_INSERT_MESSAGE), [(run_id, sha, data) for sha, data in new.items()]
            )
            written.extend((run_id, sha) for sha in new)
        rows = [(run_id, n.id, n.position, n.parent, n.kind, n.status, n.data) for n in nodes]
        conn.cursor().executemany(self._sql(_UPSERT_NODE), rows)

    def prune(self, finished_before: float, *, batch: int = 100) -> int:
        self._check_open()
        total = 0
        while True:
            with self._connection() as conn, self._transaction(conn):
                ids = [
                    row[0]
                    for row in conn.execute(
                        self._sql(
                            "SELECT id FROM runs WHERE status <> 'in_progress' "
                            "AND finished_at < ? ORDER BY finished_at LIMIT ?"
                        ),
                        (finished_before, batch),
                    ).fetchall()
                ]
                if ids:
                    marks = ", ".join("?" for _ in ids)
                    for table, column in (
                        ("run_messages", "run_id"),
                        ("nodes", "run_id"),
                        ("runs", "id"),
                    ):
                        conn.execute(
                            self._sql(f"DELETE FROM {table} WHERE {column} IN ({marks})"), ids
                        )
            total += len(ids)
            with self._lock:
                for run_id in ids:
                    self._stored_messages.pop(run_id, None)
            if len(ids) < batch:
                return total

    # -- reads ------------------------------------------------------------------------
    def get_run(self, run_id: str) -> RunRecord | None:
        rows = self._rows(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return _record(rows[0]) if rows else None

    def list_runs(
        self,
        *,
        status: RunStatus | None = None,
        limit: int = 20,
        before_seq: int | None = None,
        offset: int = 0,
        owner: str | None = None,
    ) -> list[RunSummary]:
        where: list[str] = []
        params: list[Any] = []
        if owner is not None:
            where.append("owner = ?")
            params.append(owner)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if before_seq is not None:
            where.append("seq < ?")
            params.append(before_seq)
        sql = f"SELECT {_SUMMARY_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq DESC LIMIT ? OFFSET ?"
        params += [limit, offset]
        return [_summary(row) for row in self._rows(sql, params)]

    def get_nodes(self, run_id: str) -> list[JSON]:
        rows = self._rows("SELECT data FROM nodes WHERE run_id = ? ORDER BY position", (run_id,))
        nodes = [_loads(row[0]) for row in rows]
        if any(has_message_refs(n) for n in nodes):
            chunks = dict(
                self._rows("SELECT sha256, data FROM run_messages WHERE run_id = ?", (run_id,))
            )
            nodes = [restore_messages(n, chunks) for n in nodes]
        return nodes


def _state_values(r: RunRecord) -> tuple[Any, ...]:
    """The values of `_STATE_COLUMNS` for `r`, in their order."""
    return (
        r.status,
        r.updated_at,
        r.finished_at,
        _dumps(r.result),
        _dumps(r.requirements_result),
        _dumps(r.usage),
        _dumps(r.error),
        _dumps(r.models),
        r.seconds,
        r.best_candidate_id,
        *_outcome(r.requirements_result),
    )


def _outcome(requirements_result: JSON | None) -> tuple[float | None, str | None]:
    """The score and finish reason of a run's requirements result, for its summary."""
    rr = requirements_result or {}
    score = rr.get("score")
    reason = rr.get("finish_reason")
    return (
        float(score) if isinstance(score, int | float) else None,
        reason if isinstance(reason, str) else None,
    )


class _Head(TypedDict):
    seq: int
    id: str
    source: str
    status: RunStatus
    created_at: float
    updated_at: float
    finished_at: float | None


def _head(row: Sequence[Any]) -> _Head:
    """The fields a row's `_HEAD_COLUMNS` (its first seven) give a record or a summary."""
    seq, id_, source, status, created_at, updated_at, finished_at = row[:7]
    return {
        "seq": int(seq),
        "id": id_,
        "source": source,
        "status": status,
        "created_at": float(created_at),
        "updated_at": float(updated_at),
        "finished_at": _float(finished_at),
    }


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _summary(row: Sequence[Any]) -> RunSummary:
    (
        models,
        usage,
        seconds,
        preview,
        score,
        finish_reason,
        legacy_request,
        legacy_requirements_result,
    ) = row[7:]
    if preview is None:  # stored before summaries had columns of their own
        preview = input_preview(_loads(legacy_request))
    if finish_reason is None and score is None and legacy_requirements_result is not None:
        score, finish_reason = _outcome(_loads(legacy_requirements_result))
    return RunSummary(
        **_head(row),
        models=_loads(models) or [],
        input_preview=preview,
        score=_float(score),
        finish_reason=finish_reason,
        usage=_loads(usage) or {},
        seconds=_float(seconds),
    )


def _record(row: Sequence[Any]) -> RunRecord:
    (
        request,
        result,
        requirements_result,
        usage,
        error,
        models,
        seconds,
        best_candidate_id,
        owner,
    ) = row[7:]
    return RunRecord(
        **_head(row),
        request=_loads(request),
        result=_loads(result),
        requirements_result=_loads(requirements_result),
        usage=_loads(usage) or {},
        error=_error(error),
        models=_loads(models) or [],
        seconds=_float(seconds),
        best_candidate_id=best_candidate_id,
        owner=owner,
    )


def _error(text: str | None) -> str | None:
    """Errors are stored as JSON strings; plain text (written by hand) is read as is."""
    if text is None:
        return None
    try:
        value = _loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str) or value is None else str(value)
