"""The store side of issue 9 items 3 and 7, on SQLite and PostgreSQL: m003 records which
key created a run and lists filter on it; a row holding a lone surrogate reads as U+FFFD."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cadenza.store import InsertRun, NodeRow, RunRecord, Store, open_store
from cadenza.store.migrations import MIGRATIONS
from test_store_postgres import cluster, db_url  # noqa: F401 - fixtures


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (
        f"sqlite:///{tmp_path / 'runs.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("db_url")
    )
    opened = open_store(url)
    try:
        opened.migrate()
        yield opened
    finally:
        opened.close()


def run(run_id: str, owner: str | None, **kw: object) -> RunRecord:
    fields: dict[str, object] = {"request": {"input": "hi"}, **kw}
    return RunRecord(
        id=run_id,
        source="api",
        status="completed",
        created_at=time.time(),
        owner=owner,
        **fields,  # type: ignore[arg-type]
    )


def test_m003_records_and_filters_owners(store: Store) -> None:
    assert "m003_runs_owner" in [m.name for m in MIGRATIONS]
    assert "m003_runs_owner" in store.applied_migrations()
    store.apply([InsertRun(run(f"r{i}", owner)) for i, owner in enumerate("aab") if owner])
    store.apply([InsertRun(run("legacy", None))])
    got = store.get_run("r0")
    assert got is not None and got.owner == "a"
    assert [r.id for r in store.list_runs(owner="a")] == ["r1", "r0"]
    assert [r.id for r in store.list_runs(owner="b")] == ["r2"]
    assert store.list_runs(owner="") == []
    assert [r.id for r in store.list_runs()] == ["legacy", "r2", "r1", "r0"]
    first = store.list_runs(owner="a", limit=1)
    assert [r.id for r in store.list_runs(owner="a", before_seq=first[0].seq)] == ["r0"]


def test_a_row_with_a_lone_surrogate_reads_as_replacement_characters(store: Store) -> None:
    node = {"id": "n0", "parent": None, "kind": "run", "status": "ok", "response": "\udc00!"}
    store.apply(
        [
            InsertRun(
                run("p", None, result="a\ud800", request={"k\udfff": ["\ud83d"]}, error="e\ud800"),
                [NodeRow.of(0, node)],
            )
        ]
    )
    got = store.get_run("p")
    assert got is not None
    assert (got.result, got.request, got.error) == ("a\ufffd", {"k\ufffd": ["\ufffd"]}, "e\ufffd")
    assert store.get_nodes("p")[0]["response"] == "\ufffd!"
    assert store.list_runs()[0].id == "p"  # a summary: it reads too
