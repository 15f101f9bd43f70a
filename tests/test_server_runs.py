"""cadenza's own runs API: list and paginate, cancel, live events, the call tree."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from test_server_support import ServerThread, settings, sse_events, wait_for, wait_until

SLOW_RUN: dict[str, Any] = {
    "input": "Say hi",
    "requirements": [{"name": "lc", "description": "Use only lowercase letters"}],
    "models": ["fake:slow"],
    "budget": {"max_calls": 400},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with ServerThread(settings(tmp_path_factory.mktemp("runs") / "runs.db")) as srv:
        yield srv


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def start(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    r = http.post("/v1/runs", json=body)
    assert r.status_code == 200, r.text
    run: dict[str, Any] = r.json()
    return run


def judged(http: httpx.Client, run_id: str) -> bool:
    nodes = http.get(f"/v1/runs/{run_id}/trace").json()["nodes"]
    return any(n["kind"] == "judge" and n["status"] == "ok" for n in nodes)


def test_list_filter_and_paginate(http: httpx.Client) -> None:
    ids = [start(http, {"input": f"task {i}", "models": ["fake:x"]})["id"] for i in range(5)]
    for run_id in ids:
        assert wait_for(http, run_id)["status"] == "completed"
    slow = start(http, SLOW_RUN)["id"]
    try:
        listed = http.get("/v1/runs", params={"limit": 100}).json()
        assert listed["object"] == "list"
        order = [r["id"] for r in listed["data"]]
        assert order.index(slow) < order.index(ids[-1]) < order.index(ids[0])  # newest first

        live = http.get("/v1/runs", params={"status": "in_progress"}).json()["data"]
        assert slow in [r["id"] for r in live]
        assert all(r["status"] == "in_progress" for r in live)
        done = http.get("/v1/runs", params={"status": "completed", "limit": 100}).json()["data"]
        assert set(ids) <= {r["id"] for r in done} and slow not in {r["id"] for r in done}

        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, "status": "completed"}
            if cursor:
                params["cursor"] = cursor
            page = http.get("/v1/runs", params=params).json()
            seen += [r["id"] for r in page["data"]]
            assert len(page["data"]) <= 2
            if not page["has_more"]:
                assert page["next_cursor"] is None
                break
            cursor = page["next_cursor"]
        assert seen == [r["id"] for r in done]  # every run once, in order
        by_offset = http.get(
            "/v1/runs", params={"status": "completed", "limit": 2, "offset": 2}
        ).json()["data"]
        assert [r["id"] for r in by_offset] == seen[2:4]
    finally:
        http.post(f"/v1/runs/{slow}/cancel")

    assert http.get("/v1/runs", params={"status": "bogus"}).status_code == 422
    assert http.get("/v1/runs", params={"limit": 0}).status_code == 422
    assert http.get("/v1/runs", params={"cursor": "abc"}).status_code == 422


def test_cancel_keeps_the_best_answer(http: httpx.Client) -> None:
    run = start(http, SLOW_RUN)
    wait_until(lambda: judged(http, run["id"]), what="a first judgement")
    r = http.post(f"/v1/runs/{run['id']}/cancel")
    assert r.status_code == 200, r.text
    cancelled = r.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["requirements_result"]["finish_reason"] == "cancelled"
    assert cancelled["result"] == "a slow answer"
    # Maestro clients see a finished run (their SDK knows no "cancelled" status)
    maestro = http.get(f"/studio/v1/maestro/runs/{run['id']}").json()
    assert maestro["status"] == "completed"
    again = http.post(f"/v1/runs/{run['id']}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["error"]["message"]
    assert http.post("/v1/runs/nope/cancel").status_code == 404


def test_running_totals_while_in_progress(http: httpx.Client) -> None:
    run = start(http, SLOW_RUN)
    try:
        assert run["status"] == "in_progress" and run["result"] is None
        wait_until(lambda: judged(http, run["id"]), what="a first judgement")
        assert http.get(f"/v1/runs/{run['id']}").json()["usage"]["calls"] >= 2
        trace = http.get(f"/v1/runs/{run['id']}/trace").json()
        assert trace["status"] == "in_progress"
        assert trace["nodes"][0]["kind"] == "run" and trace["nodes"][0]["status"] == "running"
        assert any(n["kind"] == "generate" and n["status"] == "ok" for n in trace["nodes"])
    finally:
        http.post(f"/v1/runs/{run['id']}/cancel")


def test_events_stream_live_until_the_run_ends(http: httpx.Client) -> None:
    body = {**SLOW_RUN, "budget": {"max_calls": 10}}
    run = start(http, body)
    started = time.monotonic()
    arrivals: list[tuple[float, str]] = []
    chunks: list[str] = []
    with http.stream("GET", f"/v1/runs/{run['id']}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for text in response.iter_text():
            chunks.append(text)
            arrivals.append((time.monotonic() - started, text))
    events = sse_events("".join(chunks))
    names = [name for name, _ in events]
    assert names[0] == "snapshot" and names[-1] == "done"
    assert "node_started" in names and "node_finished" in names
    assert events[0][1]["run"]["id"] == run["id"]
    final = events[-1][1]["run"]
    assert final["status"] == "completed" and final["usage"]["calls"] <= 10
    # events came while the run went on, not all at the end
    assert arrivals[-1][0] - arrivals[0][0] > 0.2
    # every node the trace holds was announced
    finished = {d["node"]["id"] for name, d in events if name == "node_finished"}
    trace = http.get(f"/v1/runs/{run['id']}/trace").json()
    assert {n["id"] for n in trace["nodes"]} - {"n0"} <= finished | {
        n["id"] for n in events[0][1]["nodes"]
    }

    # a finished run's stream is its snapshot, then done
    replay = sse_events(http.get(f"/v1/runs/{run['id']}/events").text)
    assert [n for n, _ in replay] == ["snapshot", "done"]
    assert len(replay[0][1]["nodes"]) == len(trace["nodes"])
    assert http.get("/v1/runs/missing/events").status_code == 404


def test_trace_of_a_finished_run_is_the_whole_tree(http: httpx.Client) -> None:
    run = wait_for(
        http,
        start(
            http,
            {
                "input": "Greet",
                "models": ["fake:picky"],
                "requirements": [{"description": "Use only lowercase letters"}],
            },
        )["id"],
    )
    nodes = http.get(f"/v1/runs/{run['id']}/trace").json()["nodes"]
    ids = {n["id"] for n in nodes}
    assert nodes[0]["kind"] == "run" and nodes[0]["parent"] is None
    assert all(n["parent"] in ids for n in nodes[1:])
    kinds = {n["kind"] for n in nodes}
    assert {"generate", "judge", "revise"} <= kinds
    judged = [n for n in nodes if n["kind"] == "judge"]
    assert all(n["scores"] for n in judged if n["status"] == "ok")
    assert nodes[0]["response"] == run["result"] == "hello world"
    assert http.get("/v1/runs/missing/trace").status_code == 404
