"""How much a run with a big input costs: list responses and database bytes.

    .venv/bin/python bench/store_sizes.py                  # 10 runs of 950 KB inputs
    .venv/bin/python bench/store_sizes.py --runs 5 --input-kb 500 --json

Starts the server in this process (uvicorn in a thread, 127.0.0.1, SQLite in a temporary
directory, scripted fake models), creates `--runs` runs whose input is `--input-kb` KB,
waits for them, then measures:

- the bytes of one `GET /v1/runs?limit=N` (what the web page polls), of one
  `GET /v1/runs/{id}` and of one trace;
- the database: its file size per run (after a WAL checkpoint, minus the empty
  database), and the JSON stored per run (request, trace nodes, and, where the schema
  has it, the run's stored messages).

Each figure is also printed as a ratio to the input size, the baseline of the same run.
The fake model first answers in capitals and then, when asked to revise, in lowercase; the
judge checks "lowercase", so each run has several generations, judgements and a revision,
every one of which sends the whole input. Uses only the HTTP API, so the same script
measures any version of the server.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx


def _serve(db: Path, max_body: int) -> tuple[Any, str, threading.Thread]:
    import socket

    import uvicorn

    from cadenza.models.base import Model, ModelRequest
    from cadenza.runner import RunOptions
    from cadenza.server import ServerSettings, create_app
    from cadenza.testing import ScriptedModel

    def answer(request: ModelRequest) -> str:
        last = request.messages[-1].content
        return "hello world" if "Rewrite your answer" in last else "Hello World"

    def judge(requirement: str, text: str) -> float:
        return 1.0 if text == text.lower() else 0.0

    def resolver(name: str) -> Model:
        return ScriptedModel(name=name, default=answer, judge=judge)

    settings = ServerSettings(
        db_url=f"sqlite:///{db}",
        models=("fake:bench",),
        options=RunOptions(compile_requirements=False),
        max_body_bytes=max_body,
    )
    app = create_app(settings, resolver=resolver)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    return server, url, thread


def _db_bytes(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db.stat().st_size


def _stored_json(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

        def total(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        out = {
            "request": total("SELECT coalesce(sum(length(request)), 0) FROM runs"),
            "nodes": total("SELECT coalesce(sum(length(data)), 0) FROM nodes"),
            "messages": 0,
        }
        if "run_messages" in tables:
            out["messages"] = total("SELECT coalesce(sum(length(data)), 0) FROM run_messages")
    conn.close()
    return out


def measure(runs: int, input_kb: int) -> dict[str, Any]:
    # words that repeat nowhere, so that no storage scheme gets the input cheap
    text = " ".join(f"w{i}" for i in range(input_kb * 1000 // 4))[: input_kb * 1000]
    body = {
        "input": text,
        "requirements": [{"name": "lc", "description": "Use only lowercase letters"}],
        "budget": {"max_calls": 12},
    }
    with tempfile.TemporaryDirectory(prefix="cadenza-sizes-") as tmp:
        db = Path(tmp) / "runs.db"
        server, url, thread = _serve(db, max_body=input_kb * 1000 + (64 << 10))
        try:
            with httpx.Client(base_url=url, timeout=60) as http:
                empty = _db_bytes(db)
                ids = []
                for _ in range(runs):
                    r = http.post("/v1/runs", json=body)
                    r.raise_for_status()
                    ids.append(r.json()["id"])
                for run_id in ids:
                    while http.get(f"/v1/runs/{run_id}").json()["status"] == "in_progress":
                        time.sleep(0.05)
                listed = http.get("/v1/runs", params={"limit": runs})
                one = http.get(f"/v1/runs/{ids[0]}")
                trace = http.get(f"/v1/runs/{ids[0]}/trace")
                nodes = trace.json()["nodes"]
            stored = _stored_json(db)
            total = _db_bytes(db)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    input_bytes = len(text)
    figures = {
        "runs": runs,
        "input_bytes": input_bytes,
        "trace_nodes": len(nodes),
        "nodes_sending_the_input": sum(
            any(m.get("content", "").startswith(text[:100]) for m in n.get("messages", []))
            for n in nodes
        ),
        "list_response_bytes": len(listed.content),
        "run_response_bytes": len(one.content),
        "trace_response_bytes": len(trace.content),
        "db_file_bytes_per_run": (total - empty) // runs,
        "stored_request_bytes_per_run": stored["request"] // runs,
        "stored_node_bytes_per_run": stored["nodes"] // runs,
        "stored_message_bytes_per_run": stored["messages"] // runs,
    }
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--input-kb", type=int, default=950)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    figures = measure(args.runs, args.input_kb)
    if args.json:
        print(json.dumps(figures))
        return
    size = figures["input_bytes"]
    print(f"{args.runs} runs, input {size:,} bytes each, {figures['trace_nodes']} trace nodes")
    print(f"  ({figures['nodes_sending_the_input']} of them send the whole input)")
    for key in (
        "list_response_bytes",
        "run_response_bytes",
        "trace_response_bytes",
        "db_file_bytes_per_run",
        "stored_request_bytes_per_run",
        "stored_node_bytes_per_run",
        "stored_message_bytes_per_run",
    ):
        value = figures[key]
        print(f"  {key:32} {value:>13,}  = {value / size:6.2f} x the input")


if __name__ == "__main__":
    sys.exit(main())
