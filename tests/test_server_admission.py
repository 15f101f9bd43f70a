"""Issue 9, item 6: the concurrency cap holds under concurrent requests, per-key limits,
runs per minute, and the ceiling on a run's budget; refusals are 429 with Retry-After."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cadenza.task import Budget
from test_server_support import ServerThread, settings, wait_for

LONG_RUN: dict[str, Any] = {
    "input": "Say hi",
    "requirements": [{"name": "lc", "description": "Use only lowercase letters"}],
    "models": ["fake:slow-2"],
    "budget": {"max_calls": 1000},
}


async def _post_all(
    url: str, n: int, headers: dict[str, str] | None = None
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        return list(
            await asyncio.gather(
                *(client.post("/v1/runs", json=LONG_RUN, headers=headers) for _ in range(n))
            )
        )


def _cancel_all(http: httpx.Client, ids: list[str], headers: dict[str, str] | None = None) -> None:
    for run_id in ids:
        http.post(f"/v1/runs/{run_id}/cancel", headers=headers)


def test_fifty_concurrent_posts_with_a_cap_of_five(tmp_path: Path) -> None:
    with ServerThread(settings(tmp_path / "runs.db", max_active_runs=5)) as srv:
        answers = asyncio.run(_post_all(srv.url, 50))
        codes = sorted(r.status_code for r in answers)
        accepted = [r.json()["id"] for r in answers if r.status_code == 200]
        with srv.client() as http:
            try:
                assert codes == [200] * 5 + [429] * 45, codes
                for r in answers:
                    if r.status_code == 429:
                        assert int(r.headers["retry-after"]) >= 1
                        error = r.json()["error"]
                        assert error["type"] == "rate_limit_error"
                        assert "the most this server takes at once" in error["message"]
                live = http.get("/v1/runs", params={"status": "in_progress", "limit": 100})
                assert sorted(r["id"] for r in live.json()["data"]) == sorted(accepted)
                assert srv.app.state.runs.active == 5
            finally:
                _cancel_all(http, accepted)
            # the slots come back once the runs end
            for run_id in accepted:
                assert wait_for(http, run_id)["status"] == "cancelled"
            assert srv.app.state.runs.active == 0
            assert http.post("/v1/runs", json={"input": "hi"}).status_code == 200


def test_per_key_limits(tmp_path: Path) -> None:
    keys = {"a": {"Authorization": "Bearer key-a"}, "b": {"Authorization": "Bearer key-b"}}
    configured = settings(
        tmp_path / "runs.db",
        api_keys=("key-a", "key-b"),
        max_active_runs_per_key=2,
        max_runs_per_minute=3,
    )
    with ServerThread(configured) as srv, srv.client() as http:
        first = [http.post("/v1/runs", json=LONG_RUN, headers=keys["a"]) for _ in range(3)]
        assert [r.status_code for r in first] == [200, 200, 429]
        assert first[2].headers["retry-after"] == "1"
        assert "of your runs are in progress" in first[2].json()["error"]["message"]
        # another key is not held back by the first
        other = http.post("/v1/runs", json=LONG_RUN, headers=keys["b"])
        assert other.status_code == 200
        ids = [r.json()["id"] for r in first[:2]]
        _cancel_all(http, ids[:1], keys["a"])
        wait_for_status(http, ids[0], keys["a"], "cancelled")
        # one place is free again; that is key a's third start this minute
        third = http.post("/v1/runs", json={"input": "hi"}, headers=keys["a"])
        assert third.status_code == 200, third.text
        wait_for_status(http, third.json()["id"], keys["a"], "completed")
        fourth = http.post("/v1/runs", json={"input": "hi"}, headers=keys["a"])
        assert fourth.status_code == 429
        assert 1 <= int(fourth.headers["retry-after"]) <= 60
        assert "in the last minute" in fourth.json()["error"]["message"]
        _cancel_all(http, ids[1:], keys["a"])
        _cancel_all(http, [other.json()["id"]], keys["b"])


def wait_for_status(http: httpx.Client, run_id: str, headers: dict[str, str], status: str) -> None:
    for _ in range(400):
        run = http.get(f"/v1/runs/{run_id}", headers=headers).json()
        if run["status"] == status:
            return
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} is {run['status']}, not {status}")


def test_slots_come_back_on_every_failure_path(tmp_path: Path) -> None:
    configured = settings(
        tmp_path / "runs.db",
        max_active_runs=2,
        max_runs_per_minute=2,
        allowed_models=("broken:model",),
    )
    with ServerThread(configured) as srv, srv.client() as http:
        for _ in range(5):  # admitted, then the model cannot be set up: 503
            r = http.post("/v1/runs", json={"input": "hi", "models": ["broken:model"]})
            assert r.status_code == 503, r.text
        for _ in range(5):  # refused before admission: 4xx
            assert http.post("/v1/runs", json={"input": " "}).status_code == 422
            assert http.post("/v1/runs", json={"input": "x", "models": ["z"]}).status_code == 400
        assert srv.app.state.runs.active == 0
        ok = [http.post("/v1/runs", json={"input": "hi"}) for _ in range(2)]
        assert [r.status_code for r in ok] == [200, 200]


def test_budget_ceiling(tmp_path: Path) -> None:
    configured = settings(tmp_path / "runs.db", max_run_calls=4, max_run_usd=0.5)
    with ServerThread(configured) as srv, srv.client() as http:
        r = http.post("/v1/runs", json={"input": "hi", "budget": {"max_calls": 10}})
        assert r.status_code == 422
        error = r.json()["error"]
        assert error["param"] == "budget.max_calls" and error["code"] == "budget_over_ceiling"
        assert "4" in error["message"] and "--max-run-calls" in error["message"]
        r = http.post("/v1/runs", json={"input": "hi", "budget": {"max_usd": 2}})
        assert r.status_code == 422 and "--max-run-usd" in r.text
        chat = http.post(
            "/v1/chat/completions",
            json={
                "model": "cadenza",
                "messages": [{"role": "user", "content": "hi"}],
                "cadenza": {"budget": {"max_calls": 5}},
            },
        )
        assert chat.status_code == 422 and "budget.max_calls" in chat.text
        # a preset (high: 128 calls) and the default are lowered to the ceiling, not refused
        for budget in ("high", None, {"max_tokens": 100000}):
            body = {
                "input": "Say hi",
                "models": ["fake:slow-0.001"],
                "requirements": [{"description": "Use only lowercase letters"}],
                "budget": budget,
            }
            r = http.post("/v1/runs", json=body)
            assert r.status_code == 200, r.text
            run = wait_for(http, r.json()["id"])
            assert run["usage"]["calls"] <= 4, run
            assert run["requirements_result"]["finish_reason"] == "budget_exhausted"


def test_admission_and_ceiling_units() -> None:
    from cadenza.server.admission import Admission, BudgetCeiling
    from cadenza.server.run_errors import BudgetOverCeiling, ServerBusy

    now = [1000.0]
    admission = Admission(
        max_active=3, max_active_per_key=2, max_per_minute=3, clock=lambda: now[0]
    )
    a1, a2 = admission.admit("a"), admission.admit("a")
    with pytest.raises(ServerBusy):
        admission.admit("a")
    b1 = admission.admit("b")
    with pytest.raises(ServerBusy) as full:
        admission.admit("c")
    assert full.value.retry_after == 1
    a1.release()
    a1.release()  # twice is once
    assert admission.active == 2
    a3 = admission.admit("a")  # third start of a this minute
    a3.refund()  # ... which never started: does not count
    a4 = admission.admit("a")
    a4.release()
    now[0] += 20
    with pytest.raises(ServerBusy) as rate:
        admission.admit("a")
    assert rate.value.retry_after == 40
    now[0] += 40
    admission.admit("a").release()
    a2.release()
    b1.release()
    assert admission.active == 0

    ceiling = BudgetCeiling(max_tokens=1000, max_calls=8)
    assert ceiling.apply(Budget(max_calls=4)) == Budget(max_calls=4, max_tokens=1000)
    assert ceiling.apply(Budget.preset("high")) == Budget(max_calls=8, max_tokens=1000)
    assert ceiling.apply(Budget(max_calls=100), asked=()) == Budget(max_calls=8, max_tokens=1000)
    with pytest.raises(BudgetOverCeiling, match="--max-run-calls"):
        ceiling.apply(Budget(max_calls=100), asked={"max_calls"})
    assert BudgetCeiling().apply(Budget.preset("low")) == Budget.preset("low")
