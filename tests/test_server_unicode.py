"""Issue 9, item 3: invalid Unicode is refused at the boundary (422), and a stored row that
holds it anyway (written by an older server, or by another tool) reads with U+FFFD instead
of breaking the run list and the run's pages for everyone, across restarts."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cadenza.store import InsertRun, NodeRow, RunRecord, open_store
from test_server_support import ServerThread, settings, sse_events

JSON_TYPE = {"content-type": "application/json"}

LONE = [
    b'{"input": "x\\ud800"}',
    b'{"input": "x\\udc00y"}',
    b'{"input": "\\uD83D"}',
    b'{"input": [{"role": "user", "content": "\\ud800"}]}',
    b'{"input": "x", "requirements": [{"description": "d", "validator_args": {"\\udc00": 1}}]}',
    b'{"input": "x", "system_prompt": "\\ud83d\\ud83d\\ude00"}',
    b'{"input": "x", "\\ud800": 1}',
]
CHAT_LONE = [
    b'{"model": "cadenza", "messages": [{"role": "user", "content": "hi \\ud800"}]}',
    b'{"model": "cadenza", "messages": [{"role": "user", "content": "hi", "\\udfff": 1}]}',
    b'{"model": "cadenza\\udfff", "messages": [{"role": "user", "content": "hi"}]}',
]
NOT_UTF8 = [b'{"input": "x\xed\xa0\x80"}', b'{"input": "\xff"}', b'{"input": "\xc3"}']


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with ServerThread(settings(tmp_path_factory.mktemp("unicode") / "runs.db")) as srv:
        yield srv


def test_lone_surrogates_anywhere_in_a_body_get_422(server: ServerThread) -> None:
    with server.client() as http:
        for body in LONE:
            for path in ("/v1/runs", "/studio/v1/maestro/runs"):
                r = http.post(path, content=body, headers=JSON_TYPE)
                assert r.status_code == 422, (path, body, r.text)
                assert "lone surrogate" in r.json()["error"]["message"]
        for body in CHAT_LONE:
            r = http.post("/v1/chat/completions", content=body, headers=JSON_TYPE)
            assert r.status_code == 422, (body, r.text)
        for body in NOT_UTF8:
            r = http.post("/v1/runs", content=body, headers=JSON_TYPE)
            assert r.status_code == 422 and "UTF-8" in r.json()["error"]["message"]
        # and no one is worse off afterwards
        listed = http.get("/v1/runs")
        assert listed.status_code == 200 and listed.json()["data"] == []


def test_valid_text_still_passes(server: ServerThread) -> None:
    with server.client() as http:
        for text, expected in [
            ('"\\ud83d\\ude00 ok"', "😀 ok"),  # a pair is one character
            ('"a \\\\ud800 b"', "a \\ud800 b"),  # an escaped backslash, then plain text
            ('"ключ ✓ 中文"', "ключ ✓ 中文"),
        ]:
            body = f'{{"input": {text}, "models": ["fake:x"]}}'.encode()
            r = http.post("/v1/runs", content=body, headers=JSON_TYPE)
            assert r.status_code == 200, r.text
            assert r.json()["request"]["input"] == expected


def _poison(db: Path) -> None:
    """Rows as an older server wrote them: a lone surrogate in the request, the answer and
    a trace node, and bytes that are not UTF-8 in another row."""
    store = open_store(f"sqlite:///{db}")
    store.migrate()
    node = {"id": "n0", "parent": None, "kind": "run", "status": "ok", "response": "r\ud800"}
    store.apply(
        [
            InsertRun(
                RunRecord(
                    id="poisoned",
                    source="maestro",
                    status="completed",
                    created_at=time.time(),
                    request={"input": "x\ud800", "k\udc00": 1},
                    result="answer \udfff",
                    error=None,
                ),
                [NodeRow.of(0, node)],
            ),
            InsertRun(
                RunRecord(
                    id="bad-bytes",
                    source="api",
                    status="completed",
                    created_at=time.time(),
                    request={"input": "y"},
                )
            ),
        ]
    )
    store.close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE runs SET result = CAST(X'22ff22' AS TEXT) WHERE id = 'bad-bytes'")


def _read_everything(http: httpx.Client) -> None:
    listed = http.get("/v1/runs")
    assert listed.status_code == 200, listed.text
    runs = {r["id"]: r for r in listed.json()["data"]}  # summaries
    assert runs["poisoned"]["input_preview"] == "x\ufffd"
    poisoned = http.get("/v1/runs/poisoned").json()
    assert poisoned["request"] == {"input": "x\ufffd", "k\ufffd": 1}
    assert poisoned["result"] == "answer \ufffd"
    assert http.get("/v1/runs/bad-bytes").json()["result"] == "\ufffd"
    for run_id in runs:
        for path in (
            f"/v1/runs/{run_id}",
            f"/v1/runs/{run_id}/trace",
            f"/studio/v1/maestro/runs/{run_id}",
            f"/runs/{run_id}",
        ):
            r = http.get(path)
            assert r.status_code == 200, (path, r.text)
        events = http.get(f"/v1/runs/{run_id}/events")
        assert events.status_code == 200
        assert [name for name, _ in sse_events(events.text)] == ["snapshot", "done"]
    trace = http.get("/v1/runs/poisoned/trace").json()
    assert trace["nodes"][0]["response"] == "r\ufffd"


def test_a_poisoned_row_never_breaks_reading(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    _poison(db)
    for _ in range(2):  # and again after a restart on the same database
        with ServerThread(settings(db)) as srv, srv.client() as http:
            _read_everything(http)


def test_lone_surrogate_helpers() -> None:
    from cadenza.json_text import lone_surrogate, replace_lone_surrogates

    assert lone_surrogate(json.dumps("a\ud800b")) == "\\ud800"
    assert lone_surrogate(json.dumps("😀")) is None  # json.dumps writes it as a pair
    assert lone_surrogate('"\\\\ud800"') is None
    assert lone_surrogate('"\\\\\\ud800"') == "\\ud800"
    assert lone_surrogate("raw \udc00") == "\\udc00"
    assert replace_lone_surrogates('{"\\ud800": "\\ud83d\\ude00\\udc00"}') == (
        '{"\\ufffd": "\\ud83d\\ude00\\ufffd"}'
    )
    assert json.loads(replace_lone_surrogates(json.dumps({"k": "\ud800\\"}))) == {"k": "\ufffd\\"}
    pairs = "\\" * 400_000  # 200,000 escaped backslashes
    assert lone_surrogate(pairs + "ud800") is None
    assert lone_surrogate(pairs + "\\ud800") == "\\ud800"
