"""The server when the database refuses writes (injected faults), and its growth over time:
final writes are tried again, a failed creation costs no other run anything, lists are
summaries, a prompt is stored once per run, old runs are pruned."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from cadenza.server.runs import RunManager
from cadenza.store import Fault, FinishRun, FlakyStore, InsertRun, Store, open_store
from test_server_support import ServerThread, settings, wait_for, wait_until

PICKY: dict[str, Any] = {
    "input": "Say hello",
    "models": ["fake:picky"],
    "requirements": [{"name": "lc", "description": "Use only lowercase letters"}],
}
BIG = " ".join(f"w{i}" for i in range(150_000))[:950_000]  # 950 KB that repeats nowhere
MiB = 1 << 20


def flaky(*faults: Fault) -> tuple[Callable[[str], Store], list[FlakyStore]]:
    """A store factory for `create_app` that wraps the database in a `FlakyStore`."""
    made: list[FlakyStore] = []

    def factory(url: str) -> Store:
        store = FlakyStore(open_store(url), *faults)
        made.append(store)
        return store

    return factory, made


def db_row(db: Path, run_id: str) -> tuple[str, str | None] | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT status, error FROM runs WHERE id = ?", (run_id,)).fetchone()
    conn.close()
    return None if row is None else (row[0], row[1])


def start(http: httpx.Client, body: dict[str, Any]) -> str:
    r = http.post("/v1/runs", json=body)
    assert r.status_code == 200, r.text
    run_id: str = r.json()["id"]
    return run_id


# -- item 9 ---------------------------------------------------------------------------
@pytest.mark.parametrize("failures", [1, 4])
def test_a_failed_final_write_is_tried_again_until_it_commits(
    tmp_path: Path, failures: int
) -> None:
    db = tmp_path / "runs.db"
    factory, made = flaky(Fault(FinishRun, times=failures))
    with ServerThread(settings(db), store_factory=factory) as srv, srv.client() as http:
        run_id = start(http, PICKY)
        final = wait_for(http, run_id, timeout=10)
        assert (final["status"], final["result"]) == ("completed", "hello world")
        assert made[0].faults[0].fired == failures
        assert db_row(db, run_id) == ("completed", "null")  # committed, not in progress
        cancel = http.post(f"/v1/runs/{run_id}/cancel")
        assert cancel.status_code == 409 and "already completed" in cancel.text
        trace = http.get(f"/v1/runs/{run_id}/trace").json()["nodes"]
        assert trace and all(n["status"] == "ok" for n in trace)


def test_a_final_write_that_never_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RunManager, "final_write_attempts", 3, raising=False)
    monkeypatch.setattr(RunManager, "final_write_backoff_s", 0.5, raising=False)
    db = tmp_path / "runs.db"
    factory, made = flaky(Fault(FinishRun, times=None))
    with ServerThread(settings(db), store_factory=factory) as srv, srv.client() as http:
        run_id = start(http, PICKY)
        wait_until(lambda: made[0].faults[0].fired >= 1, what="a failed final write")
        # While its end is tried again the run stays live: in progress, counted, readable
        assert http.get(f"/v1/runs/{run_id}").json()["status"] == "in_progress"
        assert srv.app.state.runs.active == 1
        # Once the tries are spent, this process shows its end from memory ...
        final = wait_for(http, run_id, timeout=10)
        assert (final["status"], final["result"]) == ("completed", "hello world")
        assert srv.app.state.runs.active == 0
        listed = http.get("/v1/runs").json()["data"]
        assert [(r["id"], r["status"]) for r in listed] == [(run_id, "completed")]
        assert http.get("/v1/runs", params={"status": "in_progress"}).json()["data"] == []
        nodes = http.get(f"/v1/runs/{run_id}/trace").json()["nodes"]
        assert nodes and all(n["status"] == "ok" for n in nodes)
        assert http.post(f"/v1/runs/{run_id}/cancel").status_code == 409
        maestro = http.get(f"/studio/v1/maestro/runs/{run_id}").json()
        assert maestro["status"] == "completed"
        # ... while the database still says in progress, and it keeps trying
        assert db_row(db, run_id) == ("in_progress", "null")
    assert made[0].faults[0].fired >= 3 + 1  # the tries, and a last one at shutdown
    # The next start marks it interrupted, like any run a stopped process left behind.
    with ServerThread(settings(db)) as srv, srv.client() as http:
        run = http.get(f"/v1/runs/{run_id}").json()
        assert (run["status"], run["error"]) == ("failed", {"message": "interrupted"})
        nodes = http.get(f"/v1/runs/{run_id}/trace").json()["nodes"]
        assert not [n for n in nodes if n["status"] in ("pending", "running")]


def test_a_failed_creation_costs_no_other_run_anything(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    fault = Fault(InsertRun, nth=5, times=None)
    factory, made = flaky(fault)
    body = {
        "input": "Say hello",
        "models": ["fake:slow-0.02"],
        "requirements": [{"description": "Use only lowercase letters"}],
        "budget": {"max_calls": 6},
    }
    with (
        ServerThread(settings(db), store_factory=factory) as srv,
        srv.client(limits=httpx.Limits(max_connections=32)) as http,
        ThreadPoolExecutor(21) as pool,
    ):
        responses = list(pool.map(lambda _: http.post("/v1/runs", json=body), range(21)))
        codes = [r.status_code for r in responses]
        assert sorted(codes) == [200] * 20 + [503], [r.text for r in responses]
        ids = [r.json()["id"] for r in responses if r.status_code == 200]
        for run_id in ids:
            assert wait_for(http, run_id)["status"] == "completed"
        (victim,) = set(fault._seen[4:5])
        assert victim not in ids
        manager: RunManager = srv.app.state.runs
        # only the victim's own insert failed: once in its batch, once on its own
        assert manager.writer.failures <= 2
        assert all(
            any(isinstance(op, InsertRun) and op.record.id == victim for op in batch)
            for batch in made[0].failed
        )
        assert manager.active == 0
    with sqlite3.connect(db) as conn:
        stored = {r[0] for r in conn.execute("SELECT id FROM runs WHERE status = 'completed'")}
        orphans = conn.execute("SELECT count(*) FROM nodes WHERE run_id = ?", (victim,)).fetchone()
        running = conn.execute("SELECT count(*) FROM nodes WHERE status = 'running'").fetchone()
    conn.close()
    assert stored == set(ids)
    assert orphans == (0,) and running == (0,)


# -- item 12 --------------------------------------------------------------------------
def test_lists_are_summaries_whatever_the_inputs_size(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    with (
        ServerThread(settings(db, max_body_bytes=2 * MiB)) as srv,
        srv.client() as http,
    ):
        body = {"input": BIG, "models": ["fake:x"], "budget": {"max_calls": 4}}
        ids = [start(http, body) for _ in range(10)]
        for run_id in ids:
            wait_for(http, run_id)
        listed = http.get("/v1/runs", params={"limit": 10})
        assert len(listed.content) < 20_000  # was 9.5 MB: every run's whole request
        data = listed.json()["data"]
        assert [r["id"] for r in data] == ids[::-1]
        for r in data:
            assert r["input_preview"] == BIG[:200]
            full = http.get(f"/v1/runs/{r['id']}").json()
            rr = full["requirements_result"]
            assert (r["status"], r["score"], r["finish_reason"]) == (
                "completed",
                rr["score"],
                rr["finish_reason"],
            )
            assert r["usage"] == full["usage"] and r["seconds"] == full["seconds"]
            assert r["usage"]["calls"] >= 1 and r["models"] == ["fake:x"]
            assert "request" not in r and "result" not in r
        # the whole run is one GET away
        assert http.get(f"/v1/runs/{ids[0]}").json()["request"]["input"] == BIG


def test_a_prompt_is_stored_once_per_run(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    with (
        ServerThread(settings(db, max_body_bytes=2 * MiB)) as srv,
        srv.client() as http,
    ):
        run_id = start(http, {**PICKY, "input": BIG, "budget": {"max_calls": 12}})
        assert wait_for(http, run_id)["result"] == "hello world"
        nodes = http.get(f"/v1/runs/{run_id}/trace").json()["nodes"]
    sending = [n for n in nodes if any(m["content"].startswith(BIG) for m in n["messages"])]
    assert len(sending) >= 3 and any(n["kind"] == "revise" for n in sending)
    with sqlite3.connect(db) as conn:
        node_bytes = conn.execute("SELECT sum(length(data)) FROM nodes").fetchone()[0]
        assert node_bytes < 50_000  # was 6.6 MB: the input in every node that sent it
        message_bytes = conn.execute("SELECT sum(length(data)) FROM run_messages").fetchone()[0]
        assert message_bytes < 1.1 * len(BIG)  # the input once
    conn.close()


def test_retention_prunes_finished_runs(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    slow = {
        "input": "Say hi",
        "models": ["fake:slow"],
        "requirements": [{"description": "Use only lowercase letters"}],
        "budget": {"max_calls": 1000},
    }
    with ServerThread(settings(db, retention_s=0.3)) as srv, srv.client() as http:
        done = start(http, {"input": "hi", "models": ["fake:x"]})
        wait_for(http, done)
        running = start(http, slow)
        wait_until(lambda: http.get(f"/v1/runs/{done}").status_code == 404, timeout=10)
        assert http.get(f"/v1/runs/{running}").json()["status"] == "in_progress"
        http.post(f"/v1/runs/{running}/cancel")
