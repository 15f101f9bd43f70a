"""Where the server keeps runs: SQLite by default, PostgreSQL by URL.

store = open_store("sqlite:///runs.db")       # or "postgresql://user@host/db"
store.migrate()

with opened_store("sqlite:///runs.db") as store:   # opened, migrated, closed after
    prune_older_than(store, parse_duration("30d"))
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..errors import UsageError
from .base import (
    INTERRUPTED,
    RUN_STATUSES,
    FinishRun,
    InsertRun,
    MessageChunk,
    NodeRow,
    RunRecord,
    RunStatus,
    RunSummary,
    Store,
    UpsertNodes,
    WriteOp,
    input_preview,
)
from .faults import Fault, FlakyStore
from .retention import parse_duration, prune_older_than
from .writer import StoreWriter

__all__ = [
    "INTERRUPTED",
    "RUN_STATUSES",
    "Fault",
    "FinishRun",
    "FlakyStore",
    "InsertRun",
    "MessageChunk",
    "NodeRow",
    "RunRecord",
    "RunStatus",
    "RunSummary",
    "Store",
    "StoreWriter",
    "UpsertNodes",
    "WriteOp",
    "default_db_path",
    "default_db_url",
    "input_preview",
    "open_store",
    "opened_store",
    "parse_duration",
    "prune_older_than",
    "redact_url",
]


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/cadenza/cadenza.db``, i.e. ``~/.local/share/cadenza/cadenza.db``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cadenza" / "cadenza.db"


def default_db_url() -> str:
    return f"sqlite:///{default_db_path()}"


def open_store(url: str) -> Store:
    """A store for `url`: ``sqlite:///relative.db``, ``sqlite:////absolute.db``, a plain
    file path, or ``postgresql://...``. Call ``migrate()`` on it before use."""
    scheme = url.split(":", 1)[0].lower() if "://" in url else ""
    if scheme in ("postgresql", "postgres"):
        from .postgres import PostgresStore

        return PostgresStore(url)
    if scheme == "sqlite":
        path = url.split("://", 1)[1]
        if path.startswith("/"):
            path = path[1:]  # sqlite:///rel.db -> rel.db; sqlite:////abs.db -> /abs.db
        if not path or path == ":memory:" or path.startswith("file:"):
            raise UsageError(
                f"unsupported database {url!r}: name a file, e.g. sqlite:///cadenza.db"
            )
    elif scheme:
        raise UsageError(
            f"unsupported database {redact_url(url)!r}: use sqlite:///path.db or "
            "postgresql://user@host/dbname"
        )
    else:
        path = url
    from .sqlite import SqliteStore

    return SqliteStore(path)


@contextmanager
def opened_store(url: str) -> Iterator[Store]:
    """The store at `url`, migrated, closed when the block ends (for one-off commands)."""
    store = open_store(url)
    try:
        store.migrate()
        yield store
    finally:
        store.close()


def redact_url(url: str) -> str:
    """`url` without its password, for logs and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
