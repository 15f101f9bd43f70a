"""Persistence across restarts: SIGKILL mid-run loses no finished run, leaves a sound
database, and the interrupted run is marked failed ("interrupted") at the next start, with
the calls it left running."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from test_server_support import server_process, wait_for, wait_until

SLOW: dict[str, Any] = {
    "input": "Say hi",
    "requirements": [{"name": "lc", "description": "Use only lowercase letters"}],
    "models": ["fake:slow"],
    "budget": {"max_calls": 1000},
}


def stored_nodes(db: Path, run_id: str, kind: str = "%") -> int:
    """Trace nodes of the run in the database (finished ones, of `kind`, if asked)."""
    sql = "SELECT count(*) FROM nodes WHERE run_id = ? AND kind LIKE ?"
    if kind != "%":
        sql += " AND status = 'ok'"
    with sqlite3.connect(db) as conn:
        row = conn.execute(sql, (run_id, kind)).fetchone()
    conn.close()
    return int(row[0])


def running_nodes(db: Path, run_id: str) -> int:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT count(*) FROM nodes WHERE run_id = ? AND status IN ('pending', 'running')",
            (run_id,),
        ).fetchone()
    conn.close()
    return int(row[0])


def test_sigkill_mid_run_then_restart(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    finished: dict[str, dict[str, Any]] = {}
    with server_process(db) as (proc, url), httpx.Client(base_url=url, timeout=30) as http:
        for i in range(4):
            r = http.post(
                "/studio/v1/maestro/runs",
                json={
                    "input": f"task {i}",
                    "models": ["fake:picky"],
                    "requirements": [{"description": "Use only lowercase letters"}],
                    "include": ["requirements_result"],
                },
            )
            assert r.status_code == 200, r.text
            finished[r.json()["id"]] = wait_for(http, r.json()["id"])
        chat = http.post(
            "/v1/chat/completions",
            json={"model": "cadenza", "messages": [{"role": "user", "content": "hi"}]},
        ).json()
        run_id = chat["cadenza"]["run_id"]
        finished[run_id] = http.get(f"/v1/runs/{run_id}").json()
        assert all(r["status"] == "completed" for r in finished.values())

        victims = [http.post("/v1/runs", json=SLOW).json()["id"] for _ in range(3)]
        wait_until(lambda: stored_nodes(db, victims[0]) >= 6, what="the trace to be written")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    # The database opens cleanly, the killed runs are still "in progress" in it, and the
    # part of their tree written before the kill is there.
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        statuses = dict(conn.execute("SELECT id, status FROM runs").fetchall())
    conn.close()
    assert all(statuses[v] == "in_progress" for v in victims)
    assert stored_nodes(db, victims[0]) >= 6
    left_running = sum(running_nodes(db, v) for v in victims)
    assert left_running >= 1  # the kill caught calls in flight

    with server_process(db) as (_, url), httpx.Client(base_url=url, timeout=30) as http:
        for run_id, before in finished.items():
            after = http.get(f"/v1/runs/{run_id}").json()
            assert after == before  # every finished run, whole
            assert len(http.get(f"/v1/runs/{run_id}/trace").json()["nodes"]) > 1
        for victim in victims:
            run = http.get(f"/v1/runs/{victim}").json()
            assert run["status"] == "failed"
            assert run["error"] == {"message": "interrupted"}
            assert run["finished_at"] is not None
            maestro = http.get(f"/studio/v1/maestro/runs/{victim}").json()
            assert maestro["status"] == "failed" and maestro["error"]["message"] == "interrupted"
        nodes = http.get(f"/v1/runs/{victims[0]}/trace").json()["nodes"]
        assert len(nodes) >= 6 and nodes[0]["kind"] == "run"
        # no call of an interrupted run is left running: they failed with it
        interrupted = 0
        for victim in victims:
            for node in http.get(f"/v1/runs/{victim}/trace").json()["nodes"]:
                assert node["status"] in ("ok", "failed", "cancelled"), node
                interrupted += node["error"] == "interrupted"
        assert interrupted >= left_running
        assert sum(running_nodes(db, v) for v in victims) == 0
        failed = http.get("/v1/runs", params={"status": "failed", "limit": 100}).json()["data"]
        assert {r["id"] for r in failed} == set(victims)
        assert http.get("/v1/runs", params={"status": "in_progress"}).json()["data"] == []
        assert http.post(f"/v1/runs/{victims[0]}/cancel").status_code == 409


def test_a_graceful_stop_ends_runs_as_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    with server_process(db) as (proc, url), httpx.Client(base_url=url, timeout=30) as http:
        run_id = http.post("/v1/runs", json=SLOW).json()["id"]
        wait_until(lambda: stored_nodes(db, run_id, "judge") >= 1, what="a first judgement")
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down, then re-raises the signal it caught: -15 after a clean stop
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
    with sqlite3.connect(db) as conn:
        status, error, usage = conn.execute(
            "SELECT status, error, usage FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
    conn.close()
    assert (status, json.loads(error)) == ("failed", "interrupted")
    assert json.loads(usage)["calls"] > 0  # what the run spent is kept
    with server_process(db) as (_, url):
        run = httpx.get(f"{url}/v1/runs/{run_id}").json()
        assert run["status"] == "failed" and run["result"] == "a slow answer"
