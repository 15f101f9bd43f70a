"""The Anthropic provider against HTTP-level fakes (pytest-httpx2 / respx)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

from cadenza.errors import PermanentProviderError, TransientProviderError
from cadenza.models import AnthropicModel, Message, ModelRequest

BASE = "http://claude.test"
MESSAGES = f"{BASE}/v1/messages"

REQUEST = ModelRequest(
    messages=(
        Message("system", "Be brief."),
        Message("system", "Answer in English."),
        Message("user", "Say hi."),
        Message("assistant", "Hi."),
        Message("user", "Again."),
    ),
    max_tokens=64,
    temperature=0.3,
    timeout=5.0,
)


def reply(
    text: str = "Hello!", *, stop: str = "end_turn", input_tokens: int = 12, output_tokens: int = 4
) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test-20250101",
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def model() -> AnthropicModel:
    return AnthropicModel("anthropic:claude-test", "claude-test", "sk-ant-test", base_url=BASE)


async def test_success_maps_system_messages_and_usage(httpx2_mock: respx.Router) -> None:
    route = httpx2_mock.post(MESSAGES).respond(200, json=reply("Hello again"))
    m = model()
    response = await m.complete(REQUEST)
    await m.aclose()

    assert response.text == "Hello again"
    assert (response.input_tokens, response.output_tokens) == (12, 4)
    assert response.finish_reason == "stop"
    assert response.model == "anthropic:claude-test"
    assert response.extra["served_model"] == "claude-test-20250101"

    sent = json.loads(route.calls.last.request.content)
    assert sent["model"] == "claude-test"
    assert sent["max_tokens"] == 64
    assert sent["system"] == "Be brief.\n\nAnswer in English."
    assert sent["messages"] == [
        {"role": "user", "content": "Say hi."},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "Again."},
    ]
    headers = route.calls.last.request.headers
    assert "sk-ant-test" in (headers.get("x-api-key", "") + headers.get("authorization", ""))


async def test_no_system_message_sends_no_system(httpx2_mock: respx.Router) -> None:
    route = httpx2_mock.post(MESSAGES).respond(200, json=reply())
    m = model()
    await m.complete(ModelRequest(messages=(Message("user", "x"),), max_tokens=8))
    await m.aclose()
    assert "system" not in json.loads(route.calls.last.request.content)


async def test_max_tokens_stop_is_length(httpx2_mock: respx.Router) -> None:
    httpx2_mock.post(MESSAGES).respond(200, json=reply(stop="max_tokens", output_tokens=64))
    m = model()
    response = await m.complete(REQUEST)
    await m.aclose()
    assert response.finish_reason == "length"
    assert response.output_tokens == 64


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, "rate_limit_error"), (500, "api_error"), (529, "overloaded_error")],
)
async def test_retryable_errors_are_transient(
    httpx2_mock: respx.Router, status: int, kind: str
) -> None:
    httpx2_mock.post(MESSAGES).respond(status, json=error(kind, "busy"))
    m = model()
    with pytest.raises(TransientProviderError) as info:
        await m.complete(REQUEST)
    await m.aclose()
    assert info.value.status_code == status
    assert "busy" not in str(info.value)  # the upstream body is never repeated
    assert len(httpx2_mock.calls) == 1


async def test_401_is_permanent_and_names_the_key_variable(httpx2_mock: respx.Router) -> None:
    httpx2_mock.post(MESSAGES).respond(401, json=error("authentication_error", "invalid x-api-key"))
    m = model()
    with pytest.raises(PermanentProviderError) as info:
        await m.complete(REQUEST)
    await m.aclose()
    assert info.value.status_code == 401
    assert "set ANTHROPIC_API_KEY" in str(info.value)
    assert "invalid x-api-key" not in str(info.value)


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_client_errors_are_permanent(httpx2_mock: respx.Router, status: int) -> None:
    httpx2_mock.post(MESSAGES).respond(status, json=error("invalid_request_error", "bad"))
    m = model()
    with pytest.raises(PermanentProviderError) as info:
        await m.complete(REQUEST)
    await m.aclose()
    assert info.value.status_code == status


async def test_connection_refused_is_transient() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    m = AnthropicModel("anthropic:claude-test", "claude-test", "k", base_url=url)
    with pytest.raises(TransientProviderError, match=f"could not reach {url}"):
        await m.complete(REQUEST)
    await m.aclose()


async def test_only_a_system_prompt_is_refused_before_sending() -> None:
    m = model()
    with pytest.raises(PermanentProviderError, match="needs a user message"):
        await m.complete(ModelRequest(messages=(Message("system", "x"),), max_tokens=8))
    await m.aclose()
