"""PostgreSQL, for a shared or managed database: ``--db postgresql://user@host/dbname``.

Needs psycopg 3 (``pip install 'cadenza[postgres]'``). Same tables as SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import UsageError
from .sql import SqlStore

__all__ = ["PostgresStore"]

_MIGRATION_LOCK = 0x63616465  # "cade": an advisory lock id for migrations


class PostgresStore(SqlStore):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise UsageError(
                "a postgresql:// database needs psycopg 3: pip install 'cadenza[postgres]'"
            ) from None

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    @contextmanager
    def _transaction(self, conn: Any) -> Iterator[None]:
        with conn.transaction():
            yield

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _lock_migrations(self, conn: Any) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

    def check(self) -> str:
        row = self._conn().execute("SELECT 'ok'").fetchone()
        return str(row[0]) if row else "no answer"
