"""API keys: Bearer auth for both SDKs, clear 401s, and no open server off loopback."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from ai21 import AI21Client
from ai21.errors import Unauthorized
from click.testing import CliRunner
from openai import OpenAI

from cadenza.cli.serve import serve_command
from cadenza.server import auth
from cadenza.server.settings import is_loopback, keys_from_env
from test_server_support import ServerThread, settings

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

KEYS = ("key-one", "key-two")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    db = tmp_path_factory.mktemp("auth") / "runs.db"
    with ServerThread(settings(db, api_keys=KEYS)) as srv:
        yield srv


def test_requests_without_a_valid_key_get_a_clear_401(server: ServerThread) -> None:
    with server.client() as http:
        cases = [
            ({}, "missing API key"),
            ({"Authorization": "Bearer wrong"}, "invalid API key"),
            ({"Authorization": "Basic a2V5LW9uZQ=="}, "malformed Authorization header"),
            ({"Authorization": "Bearer key-one-and-more"}, "invalid API key"),
        ]
        for headers, message in cases:
            for method, path in [
                ("GET", "/v1/runs"),
                ("POST", "/studio/v1/maestro/runs"),
                ("POST", "/v1/chat/completions"),
                ("GET", "/v1/models"),
            ]:
                r = http.request(method, path, headers=headers, json={})
                assert r.status_code == 401, (method, path, headers)
                assert r.headers["www-authenticate"].startswith("Bearer")
                assert message in r.json()["error"]["message"]
        ok = http.get("/v1/runs", headers={"Authorization": "Bearer key-two"})
        assert ok.status_code == 200
        # the page's HTML and the health check hold no data and stay public
        assert http.get("/").status_code == 200
        assert http.get("/static/app.js").status_code == 200
        assert http.get("/healthz").status_code == 200


def test_the_ai21_sdk_sends_its_key_as_bearer(server: ServerThread) -> None:
    with httpx.Client(timeout=30) as transport:
        good = AI21Client(
            api_key="key-one", api_host=f"{server.url}/studio/v1", http_client=transport
        )
        run = good.beta.maestro.runs.create_and_poll(
            input="hi", models=["fake:x"], poll_interval_sec=0.05, poll_timeout_sec=20
        )
        assert run.status == "completed"
        bad = AI21Client(api_key="nope", api_host=f"{server.url}/studio/v1", http_client=transport)
        with pytest.raises(Unauthorized, match="invalid API key"):
            bad.beta.maestro.runs.create(input="hi")


def test_the_openai_sdk_sends_its_key_as_bearer(server: ServerThread) -> None:
    with OpenAI(base_url=f"{server.url}/v1", api_key="key-two", max_retries=0) as good:
        reply = good.chat.completions.create(
            model="cadenza", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == "scripted answer"
    with (
        OpenAI(base_url=f"{server.url}/v1", api_key="nope", max_retries=0) as bad,
        pytest.raises(openai.AuthenticationError, match="invalid API key"),
    ):
        bad.models.list()


def test_keys_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return a == b

    monkeypatch.setattr(hmac, "compare_digest", spy)  # auth looks it up at each call
    keys = tuple(k.encode() for k in KEYS)
    assert auth.key_matches("key-one", keys)
    assert len(calls) == 2  # every key is compared, even after a match
    assert not auth.key_matches("key-", keys)
    assert not auth.key_matches("ключ", keys)


def test_keys_from_env_and_loopback() -> None:
    assert keys_from_env({"CADENZA_API_KEYS": " a, b,,c "}) == ("a", "b", "c")
    assert keys_from_env({}) == ()
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.3.4.5") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    assert not is_loopback("example.com")


def test_serve_refuses_to_bind_off_loopback_without_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CADENZA_API_KEYS", raising=False)
    started: list[object] = []
    monkeypatch.setattr("cadenza.server.run_server", lambda s, **kw: started.append(s))
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'x.db'}"
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        result = runner.invoke(serve_command, ["--host", host, "--db", db])
        assert result.exit_code == 2, result.output
        assert "refusing to listen on" in result.output and "--api-key" in result.output
    assert started == []

    result = runner.invoke(serve_command, ["--host", "0.0.0.0", "--api-key", "k", "--db", db])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("CADENZA_API_KEYS", "e1,e2")
    result = runner.invoke(serve_command, ["--host", "0.0.0.0", "--db", db, "-m", "fake:x"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(serve_command, ["--db", db])  # loopback needs no key
    assert result.exit_code == 0, result.output
    first, second, third = started
    assert first.api_keys == ("k",)  # type: ignore[attr-defined]
    assert second.api_keys == ("e1", "e2")  # type: ignore[attr-defined]
    assert second.models == ("fake:x",)  # type: ignore[attr-defined]
    assert third.host == "127.0.0.1" and third.port == 8000  # type: ignore[attr-defined]
