"""A request cannot freeze the server: with a catastrophic pattern in a run's validator
arguments in flight, /healthz and other runs keep answering promptly.

The server runs in a subprocess: a pattern that ties up the interpreter would otherwise
freeze this test too, and the test must fail, not hang, on a server that has the bug.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from test_server_support import server_process, wait_for

REDOS_RUN: dict[str, Any] = {
    "input": "Say something",
    "models": ["fake:x"],  # answers "scripted answer": 15 characters, ~8 s of backtracking
    "requirements": [
        {
            "name": "kw",
            "description": "mention it",
            "validator": "keywords:existence",
            "validator_args": {"keywords": ["(.*.*)*!"]},
        }
    ],
    "budget": {"max_calls": 8},
}


def test_a_catastrophic_pattern_does_not_stall_the_server(tmp_path: Path) -> None:
    with (
        server_process(tmp_path / "runs.db") as (_, url),
        httpx.Client(base_url=url, timeout=3) as http,
    ):
        r = http.post("/v1/runs", json=REDOS_RUN)
        assert r.status_code == 200, r.text
        redos_id = r.json()["id"]
        for _ in range(10):
            started = time.monotonic()
            assert http.get("/healthz", timeout=1.0).status_code == 200
            assert time.monotonic() - started < 1.0
            time.sleep(0.1)
        started = time.monotonic()
        other = http.post("/v1/runs", json={"input": "hi", "models": ["fake:y"]}, timeout=2.0)
        assert wait_for(http, other.json()["id"], timeout=5)["status"] == "completed"
        assert time.monotonic() - started < 5.0
        done = wait_for(http, redos_id, timeout=10)
        assert done["status"] == "completed"
        (req,) = done["requirements_result"]["requirements"]
        assert req["score"] == 0.0 and "(.*.*)*!" in req["reason"]  # matched as plain text
