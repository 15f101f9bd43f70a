"""The priors table in the store: per model x requirement kind x action kind, how often an
action improved a requirement and the tokens it cost (see `cadenza.planner.priors`).

The server keeps it in its own database; the library and the CLI in the default one,
``$XDG_DATA_HOME/cadenza/cadenza.db`` (`default_prior_table`). A run adds its counts in
one transaction of ``INSERT ... ON CONFLICT DO UPDATE SET tried = tried + ...``, so runs
recording at the same time (threads, processes, servers sharing a PostgreSQL) never lose
each other's counts. A row that does not read as counts (written by another tool) is
skipped with a warning in the log; a file that is not a database is a `UsageError` that
says what to do (a run then goes on without priors).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..planner.priors import Observation, PriorRow
from . import default_db_path, open_store, redact_url
from .base import Store
from .sql import SqlStore

__all__ = [
    "PriorTable",
    "close_default_prior_tables",
    "default_prior_table",
    "open_prior_table",
    "prior_table_of",
]

log = logging.getLogger("cadenza.priors")

_UPSERT = """
    INSERT INTO priors (model, requirement_kind, action, tried, improved, tokens, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (model, requirement_kind, action) DO UPDATE SET
        tried = priors.tried + excluded.tried,
        improved = priors.improved + excluded.improved,
        tokens = priors.tokens + excluded.tokens,
        updated_at = excluded.updated_at
"""

_MAX_KEY_CHARS = 200
"""Model and requirement-kind names are cut to this many characters (they come from
requests)."""


class PriorTable:
    """The ``priors`` table of a SQL store (migrated: ``m020_priors``)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    @property
    def where(self) -> str:
        """The database, for messages (its password removed)."""
        return redact_url(self.store.url)

    def record(self, observations: Sequence[Observation]) -> int:
        """Add the observations' counts; return how many rows changed."""
        totals: dict[tuple[str, str, str], list[int]] = {}
        for o in observations:
            key = (o.model[:_MAX_KEY_CHARS], o.requirement_kind[:_MAX_KEY_CHARS], o.action)
            t = totals.setdefault(key, [0, 0, 0])
            t[0] += 1
            t[1] += int(o.improved)
            t[2] += max(0, o.tokens)
        if not totals:
            return 0
        now = time.time()
        rows = [(*key, *t, now) for key, t in sorted(totals.items())]
        with self._errors(), self.store._connection() as conn, self.store._transaction(conn):
            conn.cursor().executemany(self.store._sql(_UPSERT), rows)
        return len(rows)

    def rows(
        self,
        *,
        models: Sequence[str] | None = None,
        requirement_kinds: Sequence[str] | None = None,
    ) -> list[PriorRow]:
        """The rows, optionally only those of some models and requirement kinds."""
        where: list[str] = []
        params: list[Any] = []
        for column, values in (("model", models), ("requirement_kind", requirement_kinds)):
            if values is None:
                continue
            if not values:
                return []
            where.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params += [v[:_MAX_KEY_CHARS] for v in values]
        sql = (
            "SELECT model, requirement_kind, action, tried, improved, tokens, updated_at "
            "FROM priors"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY model, requirement_kind, action"
        with self._errors():
            raw = self.store._rows(sql, params)
        out: list[PriorRow] = []
        for r in raw:
            try:
                row = PriorRow(
                    model=str(r[0]),
                    requirement_kind=str(r[1]),
                    action=str(r[2]),
                    tried=int(r[3]),
                    improved=int(r[4]),
                    tokens=int(r[5]),
                    updated_at=float(r[6]),
                )
            except (TypeError, ValueError):
                log.warning("priors: skipped an unreadable row in %s: %r", self.where, tuple(r))
                continue
            if row.tried < 0 or row.improved < 0 or row.tokens < 0:
                log.warning("priors: skipped a row with negative counts in %s", self.where)
                continue
            out.append(row)
        return out

    def reset(self, *, model: str | None = None) -> int:
        """Forget the counts (of one model, or all); return how many rows went."""
        sql, params = "DELETE FROM priors", tuple[str, ...]()
        if model is not None:
            sql, params = "DELETE FROM priors WHERE model = ?", (model,)
        with self._errors(), self.store._connection() as conn, self.store._transaction(conn):
            cur = conn.execute(self.store._sql(sql), params)
            return int(cur.rowcount or 0)

    def _errors(self) -> _DatabaseErrors:
        return _DatabaseErrors(self.where)


class _DatabaseErrors:
    """Turns a database that cannot be read into a `UsageError` saying what to do."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, sqlite3.DatabaseError):
            raise UsageError(
                f"the priors database {self.where} cannot be used ({exc}); move the file "
                "away or delete it (cadenza starts a new one), or pass another with --db"
            ) from exc


def prior_table_of(store: Store) -> PriorTable | None:
    """The priors table of an open store (a server's), or None if it has no SQL."""
    inner = getattr(store, "inner", None)  # a FlakyStore wraps the real one
    if isinstance(inner, Store):
        store = inner
    return PriorTable(store) if isinstance(store, SqlStore) else None


def open_prior_table(url: str) -> PriorTable:
    """The priors table of the database at `url` (opened and migrated)."""
    store = open_store(url)
    if not isinstance(store, SqlStore):
        raise UsageError(f"priors need a SQL database, not {type(store).__name__}")
    try:
        with _DatabaseErrors(redact_url(url)):
            store.migrate()
    except BaseException:
        store.close()
        raise
    return PriorTable(store)


_default: dict[Path, PriorTable] = {}
_default_lock = threading.Lock()


def default_prior_table() -> PriorTable:
    """The priors of the library and the CLI: the table in ``$XDG_DATA_HOME/cadenza/
    cadenza.db`` (``~/.local/share/cadenza/cadenza.db``), opened once per process."""
    path = default_db_path()
    with _default_lock:
        table = _default.get(path)
        if table is None:
            table = open_prior_table(str(path))
            _default[path] = table
        return table


def close_default_prior_tables() -> None:
    """Close the tables `default_prior_table` opened (the next call opens them again)."""
    with _default_lock:
        tables = list(_default.values())
        _default.clear()
    for table in tables:
        table.store.close()
