"""Issue 9, item 7 (a key sees its own runs; an admin key sees all) and item 8's non-ASCII
key (a key of any characters matches)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cadenza.store import InsertRun, RunRecord, open_store
from test_server_support import ServerThread, settings, wait_for

KEYS = ("key-one", "key-two")
ADMIN = "the-admin-key"
SLOW: dict[str, Any] = {
    "input": "Say hi",
    "requirements": [{"name": "lc", "description": "Use only lowercase letters"}],
    "models": ["fake:slow-1"],
    "budget": {"max_calls": 1000},
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys") / "runs.db"


@pytest.fixture(scope="module")
def server(db: Path) -> Iterator[ServerThread]:
    # a run from before keys were recorded (no owner): only an admin key sees it
    store = open_store(f"sqlite:///{db}")
    store.migrate()
    store.apply(
        [
            InsertRun(
                RunRecord(
                    id="legacy-run",
                    source="api",
                    status="completed",
                    created_at=time.time(),
                    request={"input": "old"},
                    result="old answer",
                )
            )
        ]
    )
    store.close()
    with ServerThread(settings(db, api_keys=KEYS, admin_keys=(ADMIN,))) as srv:
        yield srv


def test_a_key_sees_and_cancels_only_its_own_runs(server: ServerThread, db: Path) -> None:
    one, two, admin = bearer("key-one"), bearer("key-two"), bearer(ADMIN)
    with server.client() as http:
        done = http.post("/v1/runs", json={"input": "hi"}, headers=one).json()["id"]
        maestro = http.post("/studio/v1/maestro/runs", json={"input": "hi"}, headers=one)
        chat = http.post(
            "/v1/chat/completions",
            json={"model": "cadenza", "messages": [{"role": "user", "content": "hi"}]},
            headers=one,
        )
        live = http.post("/v1/runs", json=SLOW, headers=one).json()["id"]
        mine = [done, maestro.json()["id"], chat.json()["cadenza"]["run_id"], live]
        theirs = http.post("/v1/runs", json={"input": "hi"}, headers=two).json()["id"]
        try:
            with server.client(headers=one) as as_one:
                for run_id in mine[:3]:
                    wait_for(as_one, run_id)
            nowhere = "00000000-0000-0000-0000-000000000000"
            not_found = http.get(f"/v1/runs/{nowhere}", headers=two)
            assert not_found.status_code == 404
            for run_id in mine:
                for method, path in [
                    ("GET", f"/v1/runs/{run_id}"),
                    ("GET", f"/v1/runs/{run_id}/trace"),
                    ("GET", f"/v1/runs/{run_id}/events"),
                    ("GET", f"/studio/v1/maestro/runs/{run_id}"),
                    ("POST", f"/v1/runs/{run_id}/cancel"),
                ]:
                    r = http.request(method, path, headers=two)
                    # exactly what a run that does not exist gets: ids do not leak
                    assert r.status_code == 404, (method, path, r.text)
                    assert r.json()["error"]["code"] == "run_not_found"
                    assert r.json()["error"]["message"] == f"no run with id {run_id!r}"
                for path in [f"/v1/runs/{run_id}", f"/v1/runs/{run_id}/trace"]:
                    assert http.get(path, headers=one).status_code == 200
            listed_two = {r["id"] for r in http.get("/v1/runs", headers=two).json()["data"]}
            assert listed_two == {theirs}
            listed_one = {
                r["id"]
                for r in http.get("/v1/runs", params={"limit": 100}, headers=one).json()["data"]
            }
            assert listed_one == set(mine)
            live_two = http.get("/v1/runs", params={"status": "in_progress"}, headers=two)
            assert live_two.json()["data"] == []
            assert http.get("/v1/runs/legacy-run", headers=one).status_code == 404

            everything = http.get("/v1/runs", params={"limit": 100}, headers=admin).json()
            assert {r["id"] for r in everything["data"]} == {*mine, theirs, "legacy-run"}
            assert http.get("/v1/runs/legacy-run", headers=admin).status_code == 200
            assert http.get(f"/v1/runs/{theirs}/trace", headers=admin).status_code == 200
            cancelled = http.post(f"/v1/runs/{live}/cancel", headers=admin)
            assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        finally:
            http.post(f"/v1/runs/{live}/cancel", headers=admin)

    # the database holds ids derived from the keys, never the keys
    from cadenza.server.callers import key_id

    with sqlite3.connect(db) as conn:
        owners = dict(conn.execute("SELECT id, owner FROM runs").fetchall())
        dump = "\n".join(conn.iterdump())
    assert {owners[i] for i in mine} == {key_id("key-one")}
    assert owners[theirs] == key_id("key-two") and owners["legacy-run"] is None
    for key in (*KEYS, ADMIN):
        assert key not in dump


def test_key_ids_are_stable_short_and_do_not_reveal_the_key() -> None:
    from cadenza.server.callers import key_id

    assert key_id("key-one") == key_id("key-one") != key_id("key-two")
    assert key_id("key-one").startswith("key_") and len(key_id("key-one")) == 20
    assert "key-one" not in key_id("key-one")


def test_a_non_ascii_key_matches(tmp_path: Path) -> None:
    key = "ключ-🔑-clé"
    with ServerThread(settings(tmp_path / "runs.db", api_keys=(key,))) as srv, srv.client() as http:
        good = {"Authorization": b"Bearer " + key.encode("utf-8")}
        r = http.post("/v1/runs", json={"input": "hi"}, headers=good)
        assert r.status_code == 200, r.text
        assert http.get(f"/v1/runs/{r.json()['id']}", headers=good).status_code == 200
        # the same characters sent as latin-1 bytes are a different key
        wrong = {"Authorization": b"Bearer " + key.encode("utf-8").decode("latin-1").encode()}
        assert http.get("/v1/runs", headers=wrong).status_code == 401
        assert http.get("/v1/runs", headers={"Authorization": "Bearer x"}).status_code == 401


def test_without_keys_everything_is_open_on_loopback(tmp_path: Path) -> None:
    with (
        ServerThread(settings(tmp_path / "runs.db")) as srv,
        httpx.Client(base_url=srv.url) as http,
    ):
        run_id = http.post("/v1/runs", json={"input": "hi"}).json()["id"]
        assert http.get(f"/v1/runs/{run_id}").status_code == 200
        assert [r["id"] for r in http.get("/v1/runs").json()["data"]] == [run_id]
