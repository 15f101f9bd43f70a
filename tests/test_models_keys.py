"""A key is only ever sent to the base URL (origin) it was configured for, checked on the wire."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
import respx

from cadenza.models import Message, ModelRequest, OpenAICompatibleModel, clear_model_cache
from cadenza.models.registry import resolve_model

SECRET = "sk-cadenza-secret-0042"
OPENAI_SECRET = "sk-openai-secret-0042"
REQUEST = ModelRequest(messages=(Message("user", "hi"),), max_tokens=4)

ENV = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENROUTER_API_KEY",
    "CADENZA_BASE_URL",
    "CADENZA_API_KEY",
]


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    clear_model_cache()
    yield
    clear_model_cache()


def completion() -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


async def authorization_sent(router: respx.Router, name: str, chat_url: str) -> str:
    route = router.post(chat_url).respond(200, json=completion())
    model = resolve_model(name)
    assert isinstance(model, OpenAICompatibleModel)
    await model.complete(REQUEST)
    await model.aclose()
    assert route.called
    header: str = route.calls.last.request.headers.get("authorization", "")
    return header


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.test/v1",  # another host
        "http://good.test:8080/v1",  # another port
        "https://good.test/v1",  # another scheme
        "http://good.test.evil.test/v1",  # a look-alike host
    ],
)
async def test_cadenza_api_key_never_reaches_another_origin(
    monkeypatch: pytest.MonkeyPatch, httpx2_mock: respx.Router, url: str
) -> None:
    monkeypatch.setenv("CADENZA_BASE_URL", "http://good.test/v1")
    monkeypatch.setenv("CADENZA_API_KEY", SECRET)
    sent = await authorization_sent(httpx2_mock, f"{url}#m", f"{url}/chat/completions")
    assert SECRET not in sent
    assert sent == "Bearer EMPTY"


async def test_cadenza_api_key_reaches_its_own_origin(
    monkeypatch: pytest.MonkeyPatch, httpx2_mock: respx.Router
) -> None:
    monkeypatch.setenv("CADENZA_BASE_URL", "http://GOOD.test:80/v1")
    monkeypatch.setenv("CADENZA_API_KEY", SECRET)
    sent = await authorization_sent(
        httpx2_mock, "http://good.test/other/v1#m", "http://good.test/other/v1/chat/completions"
    )
    assert sent == f"Bearer {SECRET}"
    clear_model_cache()
    sent = await authorization_sent(
        httpx2_mock, "vllm:my-model", "http://good.test/v1/chat/completions"
    )
    assert sent == f"Bearer {SECRET}"


async def test_without_a_base_url_the_cadenza_key_goes_nowhere(
    monkeypatch: pytest.MonkeyPatch, httpx2_mock: respx.Router
) -> None:
    monkeypatch.setenv("CADENZA_API_KEY", SECRET)
    sent = await authorization_sent(
        httpx2_mock, "http://gpu-box.test/v1#m", "http://gpu-box.test/v1/chat/completions"
    )
    assert sent == "Bearer EMPTY"


async def test_openai_key_goes_only_to_openai(
    monkeypatch: pytest.MonkeyPatch, httpx2_mock: respx.Router
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_SECRET)
    sent = await authorization_sent(
        httpx2_mock, "http://evil.test/v1#gpt-4.1", "http://evil.test/v1/chat/completions"
    )
    assert sent == "Bearer EMPTY"
    clear_model_cache()
    official = "https://api.openai.com/v1/chat/completions"
    sent = await authorization_sent(httpx2_mock, "openai:gpt-4.1", official)
    assert sent == f"Bearer {OPENAI_SECRET}"
    clear_model_cache()
    # A URL naming OpenAI's own origin is where that key was configured to go.
    sent = await authorization_sent(httpx2_mock, "https://api.openai.com/v1#gpt-4.1", official)
    assert sent == f"Bearer {OPENAI_SECRET}"


class _Recorder(BaseHTTPRequestHandler):
    """Answers a chat completion and records the headers it got."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.seen.append(dict(self.headers))
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps(completion()).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> HTTPServer:
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def test_a_redirect_does_not_carry_the_key_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Real servers on loopback: the configured one redirects to another origin."""
    _Recorder.seen = []
    elsewhere = _serve(_Recorder)
    target = f"http://127.0.0.1:{elsewhere.server_port}/v1/chat/completions"

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(307)
            self.send_header("Location", target)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    configured = _serve(Redirect)
    base = f"http://127.0.0.1:{configured.server_port}/v1"
    monkeypatch.setenv("CADENZA_BASE_URL", base)
    monkeypatch.setenv("CADENZA_API_KEY", SECRET)
    model = resolve_model(f"{base}#m")
    assert isinstance(model, OpenAICompatibleModel)
    assert model.api_key == SECRET
    try:
        await model.complete(REQUEST)
    finally:
        await model.aclose()
        for server in (configured, elsewhere):
            server.shutdown()
            server.server_close()
    assert _Recorder.seen, "the redirect was followed"
    for headers in _Recorder.seen:
        assert SECRET not in json.dumps(headers)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://Good.Test/v1", ("http", "good.test", 80)),
        ("https://good.test:443/x", ("https", "good.test", 443)),
        ("http://user:pw@good.test:8000", ("http", "good.test", 8000)),
        ("http://good.test@evil.test/v1", ("http", "evil.test", 80)),
        ("ftp://good.test", None),
        ("http://good.test:port", None),
        ("good.test/v1", None),
    ],
)
def test_origin(url: str, expected: tuple[str, str, int] | None) -> None:
    from cadenza.models.keys import origin

    assert origin(url) == expected


def test_key_for_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from cadenza.models.keys import key_for_url

    monkeypatch.setenv("CADENZA_BASE_URL", "https://gpu.test/v1")
    monkeypatch.setenv("CADENZA_API_KEY", SECRET)
    monkeypatch.setenv("OPENROUTER_API_KEY", "or-key")
    assert key_for_url("https://gpu.test:443/other") == (SECRET, "CADENZA_API_KEY")
    assert key_for_url("https://openrouter.ai/api/v1") == ("or-key", "OPENROUTER_API_KEY")
    assert key_for_url("http://gpu.test/v1") is None
    assert key_for_url("https://gpu.test.evil/v1") is None
    assert key_for_url("not a url") is None
