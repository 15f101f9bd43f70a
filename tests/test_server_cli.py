"""`cadenza serve` for real, in a subprocess: cadenza's own model registry and defaults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from test_server_support import bound_socket, wait_for

SERVE = "from cadenza.cli.serve import serve_command; serve_command()"


def test_serve_command_end_to_end(tmp_path: Path) -> None:
    with bound_socket() as sock:
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "CADENZA_API_KEYS"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVE,
            "--port",
            str(port),
            "--db",
            f"sqlite:///{tmp_path / 'serve.db'}",
            "-m",
            "fake:cli",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "cadenza serve did not come up"
            time.sleep(0.1)
        with httpx.Client(base_url=url, timeout=30) as http:
            r = http.post(
                "/studio/v1/maestro/runs",
                json={
                    "input": "Say hello",
                    "budget": {"max_calls": 8},
                    "requirements": [{"name": "lc", "description": "Use only lowercase letters"}],
                    "include": ["requirements_result"],
                },
            )
            assert r.status_code == 200, r.text
            run = wait_for(http, r.json()["id"])
            assert run["status"] == "completed", run
            assert run["models"] == ["fake:cli"]
            assert run["usage"]["calls"] <= 8
            models = http.get("/v1/models").json()["data"]
            assert [m["id"] for m in models] == ["cadenza", "cadenza/fake:cli"]
            bad = http.post("/v1/runs", json={"input": "x", "models": ["nosuch:model"]})
            assert bad.status_code == 400 and "nosuch:model" in bad.json()["error"]["message"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert "cadenza serving on http://127.0.0.1:" in err
    assert (tmp_path / "serve.db").exists()


def test_serve_command_refuses_an_open_public_bind(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CADENZA_API_KEYS"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SERVE,
            "--host",
            "0.0.0.0",
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without an API key" in done.stderr
    assert not (tmp_path / "x.db").exists()
