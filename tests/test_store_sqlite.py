"""The SQLite store: migrations, WAL, round trips, interrupted runs, the batching writer."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cadenza.errors import UsageError
from cadenza.store import (
    FinishRun,
    InsertRun,
    NodeRow,
    RunRecord,
    RunStatus,
    StoreWriter,
    UpsertNodes,
    default_db_path,
    open_store,
    redact_url,
)
from cadenza.store.migrations import MIGRATIONS
from cadenza.store.sqlite import SqliteStore
from cadenza.store.writer import _merge


def node(i: int, status: str = "running", **kw: object) -> NodeRow:
    return NodeRow.of(
        i,
        {
            "id": f"n{i}",
            "parent": None if i == 0 else "n0",
            "kind": "run" if i == 0 else "generate",
            "status": status,
            **kw,
        },
    )


def record(run_id: str, status: RunStatus = "in_progress", **kw: Any) -> RunRecord:
    now = time.time()
    return RunRecord(
        id=run_id,
        source="api",
        status=status,
        created_at=now,
        updated_at=now,
        request={"input": "hi"},
        **kw,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    assert isinstance(s, SqliteStore)
    s.migrate()
    yield s
    s.close()


def test_migrations_are_named_recorded_and_applied_once(tmp_path: Path) -> None:
    s = open_store(str(tmp_path / "m.db"))
    names = [m.name for m in MIGRATIONS]
    assert names == sorted(names) and all(n.startswith("m0") for n in names)
    assert s.migrate() == names
    assert s.migrate() == []
    assert s.applied_migrations() == names
    s.close()
    with sqlite3.connect(tmp_path / "m.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"migrations", "runs", "nodes"} <= tables
        assert [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")] == names
    conn.close()


def test_wal_mode_and_integrity(store: SqliteStore) -> None:
    assert store.journal_mode() == "wal"
    assert store.check() == "ok"


def test_urls() -> None:
    rel = open_store("sqlite:///some/rel.db")
    assert isinstance(rel, SqliteStore) and str(rel.path) == "some/rel.db"
    assert not rel.path.exists()  # nothing is created before the first connection ...
    rel.close()
    absolute = open_store("sqlite:////tmp/cadenza-test-abs.db")
    assert isinstance(absolute, SqliteStore) and str(absolute.path) == "/tmp/cadenza-test-abs.db"
    absolute.close()
    with pytest.raises(UsageError, match="name a file"):
        open_store("sqlite:///:memory:")
    with pytest.raises(UsageError, match="unsupported database 'mysql://u:\\*\\*\\*@h/db'"):
        open_store("mysql://u:secret@h/db")
    assert redact_url("postgresql://me:pw@host/db") == "postgresql://me:***@host/db"
    assert default_db_path().name == "cadenza.db"


def test_round_trip_list_and_pagination(store: SqliteStore) -> None:
    ids = [f"run-{i}" for i in range(5)]
    store.apply([InsertRun(record(i), [node(0)]) for i in ids])
    done = record(
        "run-1",
        status="completed",
        result="the answer\x00 with a NUL",
        requirements_result={
            "score": 1.0,
            "finish_reason": "all_requirements_met",
            "requirements": [],
        },
        usage={
            "input_tokens": 3,
            "output_tokens": 4,
            "calls": 1,
            "cost_usd": 0.0,
            "unpriced_calls": 0,
        },
        error=None,
        models=["fake:x"],
        seconds=0.5,
    )
    store.apply([FinishRun(done, [node(0, "ok"), node(1, "ok", response="r")])])
    got = store.get_run("run-1")
    assert got is not None and got.status == "completed"
    assert got.result == "the answer\x00 with a NUL"
    assert got.usage["output_tokens"] == 4 and got.models == ["fake:x"]
    assert [n["id"] for n in store.get_nodes("run-1")] == ["n0", "n1"]
    assert store.get_nodes("run-1")[1]["response"] == "r"
    assert store.get_run("nope") is None

    newest_first = [r.id for r in store.list_runs(limit=10)]
    assert newest_first == ids[::-1]
    page1 = store.list_runs(limit=2)
    page2 = store.list_runs(limit=2, before_seq=page1[-1].seq)
    assert [r.id for r in page1 + page2] == ids[::-1][:4]
    assert [r.id for r in store.list_runs(limit=2, offset=2)] == ids[::-1][2:4]
    assert [r.id for r in store.list_runs(status="completed")] == ["run-1"]


def test_mark_interrupted_fails_only_runs_in_progress(store: SqliteStore) -> None:
    store.apply([InsertRun(record("a")), InsertRun(record("b"))])
    store.apply([FinishRun(record("b", status="completed", result="ok"))])
    assert store.mark_interrupted() == 1
    a, b = store.get_run("a"), store.get_run("b")
    assert a is not None and a.status == "failed" and a.error == "interrupted"
    assert a.finished_at is not None
    assert b is not None and b.status == "completed" and b.error is None
    assert store.mark_interrupted() == 0


def test_a_failed_batch_rolls_back_whole(store: SqliteStore) -> None:
    store.apply([InsertRun(record("dup"))])
    with pytest.raises(sqlite3.IntegrityError):
        store.apply([InsertRun(record("fresh")), InsertRun(record("dup"))])
    assert store.get_run("fresh") is None


def test_merge_keeps_the_last_write_of_each_node() -> None:
    ops = _merge(
        [
            InsertRun(record("r"), [node(0)]),
            UpsertNodes("r", [node(1)]),
            UpsertNodes("r", [node(1, "ok")]),
            UpsertNodes("other", [node(1)]),
        ]
    )
    assert isinstance(ops[0], InsertRun) and list(ops[0].nodes) == [node(0)]
    assert isinstance(ops[1], UpsertNodes) and ops[1].nodes == [node(1, "ok")]
    assert isinstance(ops[2], UpsertNodes) and ops[2].run_id == "other"
    assert len(ops) == 3


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "thread"])
async def test_writer_batches_in_order_and_reports_commits(
    store: SqliteStore, inline: bool
) -> None:
    writer = StoreWriter(store, inline=inline)
    assert StoreWriter(store).inline  # SQLite is written on the loop by default
    with pytest.raises(RuntimeError, match="not started"):
        writer.submit(UpsertNodes("w", []))
    writer.start()
    writer.submit(InsertRun(record("w"), [node(0)]))
    for i in range(1, 50):
        writer.submit(UpsertNodes("w", [node(i)]))
    await writer.commit(FinishRun(record("w", status="completed", result="done"), [node(0, "ok")]))
    got = await asyncio.to_thread(store.get_run, "w")
    assert got is not None and got.status == "completed"
    assert len(await asyncio.to_thread(store.get_nodes, "w")) == 50
    assert writer.batches < 51  # merged into fewer transactions than writes
    with pytest.raises(sqlite3.IntegrityError):
        await writer.commit(InsertRun(record("w")))  # the error reaches the one who waits
    await writer.commit()  # and the writer goes on
    await writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(UpsertNodes("w", []))
