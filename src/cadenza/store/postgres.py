"""PostgreSQL, for a shared or managed database: ``--db postgresql://user@host/dbname``.

Needs psycopg 3 and psycopg_pool (``pip install 'cadenza[postgres]'``). Same tables as
SQLite. Connections come from a pool that checks each one before handing it out, so that
after the database restarts (or an administrator ends a backend) the next read or write
gets a fresh connection instead of the dead one; a read that still meets a broken
connection is tried once more.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .sql import SqlStore

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

__all__ = ["PostgresStore"]

_MIGRATION_LOCK = 0x63616465  # "cade": an advisory lock id for migrations


class PostgresStore(SqlStore):
    dialect = "postgresql"

    def __init__(
        self, url: str, *, max_connections: int = 10, connect_timeout_s: float = 10.0
    ) -> None:
        super().__init__(url)
        try:
            import psycopg
            import psycopg_pool  # noqa: F401
        except ImportError as exc:
            raise UsageError(
                f"a postgresql:// database needs psycopg 3 and psycopg_pool ({exc.name} is "
                "missing): pip install 'cadenza[postgres]'"
            ) from None
        self._transient = (psycopg.OperationalError,)
        self.max_connections = max_connections
        self.connect_timeout_s = connect_timeout_s
        self._pool_lock = threading.Lock()
        self._pool_: ConnectionPool[Any] | None = None

    def _pool(self) -> ConnectionPool[Any]:
        """The pool, opened on first use (after one plain connection, so that a wrong URL
        or an unreachable server fails at once with the driver's own message)."""
        with self._pool_lock:
            self._check_open()
            if self._pool_ is None:
                import psycopg
                from psycopg_pool import ConnectionPool

                psycopg.connect(self.url, connect_timeout=int(self.connect_timeout_s)).close()
                self._pool_ = ConnectionPool(
                    self.url,
                    kwargs={"autocommit": True},
                    min_size=1,
                    max_size=self.max_connections,
                    check=ConnectionPool.check_connection,
                    timeout=self.connect_timeout_s,
                    name="cadenza-store",
                    open=False,
                )
                self._pool_.open(wait=False)
            return self._pool_

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        with self._pool().connection() as conn:
            yield conn

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            pool, self._pool_ = self._pool_, None
        if pool is not None:
            pool.close(timeout=5.0)

    @contextmanager
    def _transaction(self, conn: Any) -> Iterator[None]:
        with conn.transaction():
            yield

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _lock_migrations(self, conn: Any) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

    def check(self) -> str:
        rows = self._rows("SELECT 'ok'")
        return str(rows[0][0]) if rows else "no answer"
