"""`cadenza serve` for real, in a subprocess: cadenza's own model registry and defaults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


def test_serve_options_become_settings(monkeypatch: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cadenza.cli.serve import serve_command

    started: list[Any] = []
    monkeypatch.setattr("cadenza.server.run_server", lambda s, **kw: started.append(s))
    monkeypatch.delenv("CADENZA_API_KEYS", raising=False)
    monkeypatch.setenv("CADENZA_ADMIN_KEYS", "env-admin")
    db = f"sqlite:///{tmp_path / 'x.db'}"
    args = [
        "--db", db, "-m", "openai:gpt-4.1-mini", "--allow-model", "anthropic:claude-x",
        "--model-alias", "jamba-large=openai:gpt-4.1-mini", "--model-alias", "jamba-mini=ollama:q",
        "--allow-fake-models", "--api-key", "k1", "--admin-key", "a1",
        "--allowed-host", "api.example.com", "--allowed-host", "*.corp.example",
        "--max-active-runs", "7", "--max-active-runs-per-key", "2", "--max-runs-per-minute", "30",
        "--max-run-tokens", "5000", "--max-run-usd", "0.25", "--max-run-calls", "20",
        "--max-run-seconds", "60",
    ]  # fmt: skip
    result = CliRunner().invoke(serve_command, args)
    assert result.exit_code == 0, result.output
    (s,) = started
    assert s.models == ("openai:gpt-4.1-mini",) and s.allowed_models == ("anthropic:claude-x",)
    assert dict(s.model_aliases) == {
        "jamba-large": "openai:gpt-4.1-mini",
        "jamba-mini": "ollama:q",
    }
    assert s.allow_fake_models and s.api_keys == ("k1",) and s.admin_keys == ("a1", "env-admin")
    assert s.allowed_hosts == ("api.example.com", "*.corp.example")
    assert (s.max_active_runs, s.max_active_runs_per_key, s.max_runs_per_minute) == (7, 2, 30)
    assert (s.max_run_tokens, s.max_run_usd, s.max_run_calls, s.max_run_seconds) == (
        5000,
        0.25,
        20,
        60,
    )
    for bad, says in [
        (["--model-alias", "jamba-large"], "write NAME=MODEL"),
        (["--allowed-host", "not a host"], "not a host name"),
        (["--max-run-calls", "0"], "--max-run-calls"),
    ]:
        result = CliRunner().invoke(serve_command, ["--db", db, *bad])
        assert result.exit_code == 2, result.output
        assert says in result.output
    assert len(started) == 1
    # fake models are off unless asked for
    monkeypatch.delenv("CADENZA_ADMIN_KEYS")
    CliRunner().invoke(serve_command, ["--db", db])
    assert started[-1].allow_fake_models is False and started[-1].admin_keys == ()


def test_serve_help_shows_every_option() -> None:
    from click.testing import CliRunner

    from cadenza.cli.serve import serve_command

    text = CliRunner().invoke(serve_command, ["--help"]).output
    for option in [
        "--admin-key", "--allowed-host", "--allow-model", "--model-alias", "--allow-fake-models",
        "--max-active-runs", "--max-active-runs-per-key", "--max-runs-per-minute",
        "--max-run-tokens", "--max-run-usd", "--max-run-calls", "--max-run-seconds",
    ]:  # fmt: skip
        assert option in text, option
