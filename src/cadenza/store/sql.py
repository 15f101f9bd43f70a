"""The SQL both backends share: one table of runs, one of trace nodes, JSON in TEXT columns.

Backends differ only in how they connect, open a transaction and spell a placeholder;
the statements here are written with ``?`` and translated by `SqlStore._sql`.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from abc import abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ..json_text import replace_lone_surrogates
from .base import (
    INTERRUPTED,
    JSON,
    FinishRun,
    InsertRun,
    NodeRow,
    RunRecord,
    RunStatus,
    Store,
    UpsertNodes,
    WriteOp,
)
from .migrations import MIGRATIONS, Dialect

__all__ = ["SqlStore"]

_RUN_COLUMNS = (
    "seq, id, source, status, created_at, updated_at, finished_at, request, result, "
    "requirements_result, usage, error, models, seconds, best_candidate_id, owner"
)

_UPSERT_NODE = """
    INSERT INTO nodes (run_id, node_id, position, parent, kind, status, data)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id, node_id) DO UPDATE SET
        position = excluded.position, parent = excluded.parent, kind = excluded.kind,
        status = excluded.status, data = excluded.data
"""


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

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[Any] = []
        self._closed = False

    # -- what a backend provides ------------------------------------------------------
    @abstractmethod
    def _connect(self) -> Any:
        """A new DB-API connection in autocommit mode."""

    @abstractmethod
    def _transaction(self, conn: Any) -> AbstractContextManager[None]:
        """Begin a write transaction; commit on exit, roll back on error."""

    def _sql(self, sql: str) -> str:
        return sql

    def _lock_migrations(self, conn: Any) -> None:
        """Keep two processes from applying the same migration (inside its transaction)."""

    # -- connections ------------------------------------------------------------------
    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError(f"the store {self.url} is closed")
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def reset_connection(self) -> None:
        """Drop this thread's connection (after an error); the next call reconnects."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        self._closed = True
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self._conn().execute(self._sql(sql), params).fetchall())

    # -- migrations -------------------------------------------------------------------
    def _ensure_migrations_table(self, conn: Any) -> None:
        real = "REAL" if self.dialect == "sqlite" else "DOUBLE PRECISION"
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations "
            f"(name TEXT PRIMARY KEY, applied_at {real} NOT NULL)"
        )

    def applied_migrations(self) -> list[str]:
        self._ensure_migrations_table(self._conn())
        return [row[0] for row in self._rows("SELECT name FROM migrations ORDER BY name")]

    def migrate(self) -> list[str]:
        conn = self._conn()
        self._ensure_migrations_table(conn)
        applied: list[str] = []
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
        conn = self._conn()
        now = time.time()
        with self._transaction(conn):
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
        conn = self._conn()
        with self._transaction(conn):
            for op in ops:
                if isinstance(op, InsertRun):
                    self._insert(conn, op.record)
                    self._upsert_nodes(conn, op.record.id, op.nodes)
                elif isinstance(op, UpsertNodes):
                    self._upsert_nodes(conn, op.run_id, op.nodes)
                else:
                    self._finish(conn, op)

    def _insert(self, conn: Any, r: RunRecord) -> None:
        conn.execute(
            self._sql(
                "INSERT INTO runs (id, source, status, created_at, updated_at, finished_at, "
                "request, result, requirements_result, usage, error, models, seconds, "
                "best_candidate_id, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (
                r.id,
                r.source,
                r.status,
                r.created_at,
                r.updated_at,
                r.finished_at,
                _dumps(r.request),
                _dumps(r.result),
                _dumps(r.requirements_result),
                _dumps(r.usage),
                _dumps(r.error),
                _dumps(r.models),
                r.seconds,
                r.best_candidate_id,
                r.owner,
            ),
        )

    def _finish(self, conn: Any, op: FinishRun) -> None:
        r = op.record
        conn.execute(
            self._sql(
                "UPDATE runs SET status = ?, updated_at = ?, finished_at = ?, result = ?, "
                "requirements_result = ?, usage = ?, error = ?, models = ?, seconds = ?, "
                "best_candidate_id = ? WHERE id = ?"
            ),
            (
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
                r.id,
            ),
        )
        self._upsert_nodes(conn, r.id, op.nodes)

    def _upsert_nodes(self, conn: Any, run_id: str, nodes: Sequence[NodeRow]) -> None:
        if not nodes:
            return
        rows = [(run_id, n.id, n.position, n.parent, n.kind, n.status, n.data) for n in nodes]
        conn.cursor().executemany(self._sql(_UPSERT_NODE), rows)

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
    ) -> list[RunRecord]:
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
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq DESC LIMIT ? OFFSET ?"
        params += [limit, offset]
        return [_record(row) for row in self._rows(sql, params)]

    def get_nodes(self, run_id: str) -> list[JSON]:
        rows = self._rows("SELECT data FROM nodes WHERE run_id = ? ORDER BY position", (run_id,))
        return [_loads(row[0]) for row in rows]


def _record(row: Sequence[Any]) -> RunRecord:
    (
        seq,
        id_,
        source,
        status,
        created_at,
        updated_at,
        finished_at,
        request,
        result,
        requirements_result,
        usage,
        error,
        models,
        seconds,
        best_candidate_id,
        owner,
    ) = row
    return RunRecord(
        id=id_,
        source=source,
        status=status,
        created_at=float(created_at),
        updated_at=float(updated_at),
        finished_at=None if finished_at is None else float(finished_at),
        request=_loads(request),
        result=_loads(result),
        requirements_result=_loads(requirements_result),
        usage=_loads(usage) or {},
        error=_error(error),
        models=_loads(models) or [],
        seconds=None if seconds is None else float(seconds),
        best_candidate_id=best_candidate_id,
        owner=owner,
        seq=int(seq),
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
