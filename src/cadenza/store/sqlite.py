"""SQLite, the default store: one file, WAL mode, safe against a killed process.

WAL with ``synchronous=NORMAL`` loses no committed transaction when the process dies
(even by SIGKILL); only an operating-system crash or power cut can lose the last few.
Each thread that calls in gets a connection of its own, kept for the next call.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .sql import SqlStore

__all__ = ["SqliteStore"]


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class SqliteStore(SqlStore):
    dialect = "sqlite"
    inline = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        super().__init__(f"sqlite:///{self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=5.0, isolation_level=None, check_same_thread=False
        )
        # Text that is not UTF-8 (written by another tool) reads as U+FFFD, never an error.
        conn.text_factory = _decode
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self._check_open()
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        yield conn

    def reset_connection(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
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

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def check(self) -> str:
        with self._connection() as conn:
            row = conn.execute("PRAGMA integrity_check").fetchone()
        return str(row[0]) if row else "no answer"

    def journal_mode(self) -> str:
        with self._connection() as conn:
            row = conn.execute("PRAGMA journal_mode").fetchone()
        return str(row[0])
