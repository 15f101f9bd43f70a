"""The PostgreSQL store, for real: a throwaway cluster of Debian's postgresql on loopback.

Skipped (with the reason) when the server binaries or psycopg are missing; CI installs
them with `apt-get install -y postgresql` and the `postgres` extra.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cadenza.store import (
    FinishRun,
    InsertRun,
    NodeRow,
    RunRecord,
    RunStatus,
    UpsertNodes,
    open_store,
)
from cadenza.store.migrations import MIGRATIONS
from cadenza.store.postgres import PostgresStore
from pg_cluster import Cluster, bin_dir, fresh_database, throwaway_cluster
from test_server_support import server_process, wait_for, wait_until

psycopg = pytest.importorskip("psycopg", reason="pip install 'cadenza[postgres]'")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL server on 127.0.0.1 for this module."""
    with throwaway_cluster(bin_dir()) as running:
        yield running


@pytest.fixture
def db_url(cluster: Cluster) -> Iterator[str]:
    """A fresh, empty database for one test."""
    yield fresh_database(cluster.url)


def record(run_id: str, status: RunStatus = "in_progress", **kw: Any) -> RunRecord:
    now = time.time()
    return RunRecord(
        id=run_id,
        source="api",
        status=status,
        created_at=now,
        updated_at=now,
        request={"input": "hi\x00"},
        **kw,
    )


@contextlib.contextmanager
def opened(url: str) -> Iterator[PostgresStore]:
    store = open_store(url)
    assert isinstance(store, PostgresStore)
    try:
        yield store
    finally:
        store.close()


def test_migrations_on_postgres(db_url: str) -> None:
    names = [m.name for m in MIGRATIONS]
    with opened(db_url) as one, opened(db_url) as two:
        assert one.migrate() == names
        assert two.migrate() == []  # a second process finds them applied
        assert two.applied_migrations() == names
        assert one.check() == "ok"


def test_round_trip_on_postgres(db_url: str) -> None:
    with opened(db_url) as store:
        store.migrate()
        root = NodeRow.of(0, {"id": "n0", "parent": None, "kind": "run", "status": "running"})
        store.apply([InsertRun(record(f"r{i}"), [root]) for i in range(4)])
        child = {"id": "n1", "parent": "n0", "kind": "generate", "status": "ok"}
        store.apply([UpsertNodes("r1", [NodeRow.of(1, {**child, "response": "a\x00b"})])])
        store.apply(
            [
                FinishRun(
                    record(
                        "r1",
                        status="completed",
                        result="answer \x00 NUL",
                        usage={"calls": 2},
                        models=["fake:x"],
                        seconds=1.5,
                    )
                )
            ]
        )
        got = store.get_run("r1")
        assert got is not None and got.status == "completed"
        assert got.result == "answer \x00 NUL" and got.request == {"input": "hi\x00"}
        assert got.usage == {"calls": 2} and got.seconds == 1.5
        assert [n["id"] for n in store.get_nodes("r1")] == ["n0", "n1"]
        assert store.get_nodes("r1")[1]["response"] == "a\x00b"
        assert [r.id for r in store.list_runs()] == ["r3", "r2", "r1", "r0"]
        first = store.list_runs(limit=2)
        assert [r.id for r in store.list_runs(limit=2, before_seq=first[-1].seq)] == ["r1", "r0"]
        assert [r.id for r in store.list_runs(status="completed")] == ["r1"]
        assert store.mark_interrupted() == 3
        r0 = store.get_run("r0")
        assert r0 is not None and (r0.status, r0.error) == ("failed", "interrupted")
        # the nodes they left running are closed too
        assert [(n["status"], n["error"]) for n in store.get_nodes("r0")] == [
            ("failed", "interrupted")
        ]
        assert store.get_nodes("r1")[0]["status"] == "running"  # r1 had finished


def test_prompts_summaries_and_pruning_on_postgres(db_url: str) -> None:
    big = " ".join(str(i) for i in range(30_000))
    prompt = [{"role": "user", "content": big + "\x00"}]
    nodes = [
        {"id": f"n{i}", "parent": None, "kind": "generate", "status": "ok", "messages": prompt}
        for i in range(5)
    ]
    with opened(db_url) as store:
        store.migrate()
        store.apply([InsertRun(record("p"), [NodeRow.of(i, n) for i, n in enumerate(nodes)])])
        assert store.get_nodes("p") == nodes
        stored = store._rows("SELECT sum(length(data)) FROM run_messages")[0][0]
        assert len(big) < stored < len(big) + 1_000
        rr = {"score": 0.5, "finish_reason": "budget_exhausted", "requirements": []}
        old = record("p", status="completed", requirements_result=rr)
        old.finished_at = time.time() - 3600
        store.apply([FinishRun(old)])
        store.apply([InsertRun(record("q"))])
        summaries = store.list_runs()
        assert [(r.id, r.input_preview, r.score, r.finish_reason) for r in summaries] == [
            ("q", "hi\ufffd", None, None),
            ("p", "hi\ufffd", 0.5, "budget_exhausted"),
        ]
        assert store.prune(time.time() - 60) == 1
        assert [r.id for r in store.list_runs()] == ["q"]
        assert store._rows("SELECT count(*) FROM run_messages")[0][0] == 0


def test_reads_and_writes_recover_when_the_backends_end(db_url: str, cluster: Cluster) -> None:
    database = db_url.rsplit("/", 1)[1]
    with opened(db_url) as store:
        store.migrate()
        store.apply([InsertRun(record("before"))])
        assert store.get_run("before") is not None
        for round_ in range(2):
            assert cluster.end_connections(database) >= 1
            # the very next read and write work, on fresh connections
            got = store.get_run("before")
            assert got is not None and got.status == "in_progress"
            assert [r.id for r in store.list_runs()][-1] == "before"
            store.apply([InsertRun(record(f"after-{round_}"))])
            assert store.get_nodes("before") == []
        assert len(store.list_runs()) == 3


def test_reads_and_writes_recover_after_the_server_restarts(db_url: str, cluster: Cluster) -> None:
    with opened(db_url) as store:
        store.migrate()
        store.apply([InsertRun(record("before"))])
        assert store.get_run("before") is not None
        cluster.restart()
        got = store.get_run("before")
        assert got is not None and got.id == "before"
        store.apply([FinishRun(record("before", status="completed", result="ok"))])
        done = store.get_run("before")
        assert done is not None and (done.status, done.result) == ("completed", "ok")
        assert store.check() == "ok"


def test_server_on_postgres_recovers_when_the_database_restarts(
    db_url: str, cluster: Cluster, tmp_path: Path
) -> None:
    database = db_url.rsplit("/", 1)[1]
    body = {"input": "hi", "models": ["fake:picky"]}
    with (
        server_process(db_url, workdir=tmp_path) as (_, url),
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        first = http.post("/v1/runs", json=body).json()["id"]
        before = wait_for(http, first)
        for disrupt in (lambda: cluster.end_connections(database), cluster.restart):
            disrupt()
            # reads answer at once, from fresh connections
            assert http.get(f"/v1/runs/{first}").json() == before
            listed = http.get("/v1/runs")
            assert listed.status_code == 200 and first in [r["id"] for r in listed.json()["data"]]
            assert http.get(f"/v1/runs/{first}/trace").status_code == 200
            # and so do writes: a new run is stored and finishes
            r = http.post("/v1/runs", json=body)
            assert r.status_code == 200, r.text
            assert wait_for(http, r.json()["id"])["status"] == "completed"


def test_server_on_postgres_survives_sigkill(db_url: str, tmp_path: Path) -> None:
    slow = {
        "input": "Say hi",
        "models": ["fake:slow"],
        "budget": {"max_calls": 1000},
        "requirements": [{"description": "Use only lowercase letters"}],
    }
    with (
        server_process(db_url, workdir=tmp_path) as (proc, url),
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        done = [
            http.post("/v1/runs", json={"input": f"t{i}", "models": ["fake:picky"]}).json()
            for i in range(3)
        ]
        finished = {r["id"]: wait_for(http, r["id"]) for r in done}
        victim = http.post("/v1/runs", json=slow).json()["id"]
        wait_until(
            lambda: len(http.get(f"/v1/runs/{victim}/trace").json()["nodes"]) >= 6,
            what="the run to get going",
        )
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    with psycopg.connect(db_url) as conn:
        running = conn.execute(
            "SELECT count(*) FROM nodes WHERE run_id = %s AND status = 'running'", (victim,)
        ).fetchone()
    assert running is not None and running[0] >= 1  # the kill left calls running
    with (
        server_process(db_url, workdir=tmp_path) as (_, url),
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        for run_id, before in finished.items():
            assert http.get(f"/v1/runs/{run_id}").json() == before
        run = http.get(f"/v1/runs/{victim}").json()
        assert run["status"] == "failed" and run["error"] == {"message": "interrupted"}
        nodes = http.get(f"/v1/runs/{victim}/trace").json()["nodes"]
        assert len(nodes) >= 6
        # and so are the calls it left running
        assert not [n for n in nodes if n["status"] in ("pending", "running")]
        assert sum(n["error"] == "interrupted" for n in nodes) >= running[0]


def test_priors_on_postgres_lose_no_counts_when_recorded_at_once(db_url: str) -> None:
    import threading

    from cadenza.planner.priors import Observation
    from cadenza.store.priors import PriorTable

    with opened(db_url) as one, opened(db_url) as two:
        one.migrate()
        tables = [PriorTable(one), PriorTable(two)]
        seen = Observation("m", "punctuation:no_comma", "revise", True, 50)
        missed = Observation("m", "judge", "sample", False, 20)

        def work(i: int) -> None:
            for _ in range(10):
                tables[i % 2].record([seen, missed])

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rows = {r.action: r for r in tables[0].rows()}
        assert (rows["revise"].tried, rows["revise"].improved, rows["revise"].tokens) == (
            40,
            40,
            2000,
        )
        assert (rows["sample"].tried, rows["sample"].improved) == (40, 0)
        assert [r.action for r in tables[1].rows(requirement_kinds=["judge"])] == ["sample"]
        assert tables[1].reset(model="m") == 2
