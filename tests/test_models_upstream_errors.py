"""Upstream errors are reported as a status and our own short reason, never the server's body."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

import cadenza
from cadenza import RunOptions
from cadenza.errors import PermanentProviderError, ProviderError, TransientProviderError
from cadenza.models import AnthropicModel, Message, ModelRequest, OpenAICompatibleModel

SECRET = "SECRET-d41d8cd98f00b204-/etc/shadow"
BASE = "http://llm.test/v1"
CHAT = f"{BASE}/chat/completions"
CLAUDE = "http://claude.test"
REQUEST = ModelRequest(messages=(Message("user", "hi"),), max_tokens=8)

STATUSES = [400, 401, 403, 404, 409, 413, 422, 429, 500, 503]


def openai_error(message: str = SECRET) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": SECRET}}


def anthropic_error(message: str = SECRET) -> dict[str, Any]:
    return {"type": "error", "error": {"type": "api_error", "message": message}}


def openai_model() -> OpenAICompatibleModel:
    return OpenAICompatibleModel("test:model", "m", BASE, "sk-test", api_key_env="TEST_KEY")


@pytest.mark.parametrize("status", STATUSES)
async def test_openai_compatible_errors_never_repeat_the_body(
    httpx2_mock: respx.Router, status: int
) -> None:
    httpx2_mock.post(CHAT).respond(status, json=openai_error())
    model = openai_model()
    with pytest.raises(ProviderError) as info:
        await model.complete(REQUEST)
    await model.aclose()
    message = str(info.value)
    assert SECRET not in message
    assert f"HTTP {status}" in message
    assert info.value.status_code == status
    assert isinstance(info.value, TransientProviderError) == (status in (409, 429, 500, 503))


@pytest.mark.parametrize(
    "body",
    [
        f"<html><body>{SECRET}</body></html>",  # not JSON at all
        json.dumps({"detail": SECRET}),
        json.dumps({"error": SECRET}),
    ],
)
async def test_odd_error_bodies_are_not_repeated(httpx2_mock: respx.Router, body: str) -> None:
    httpx2_mock.post(CHAT).respond(400, content=body.encode())
    model = openai_model()
    with pytest.raises(PermanentProviderError) as info:
        await model.complete(REQUEST)
    await model.aclose()
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        {"choices": SECRET},
        {"choices": [{"message": {"content": {"x": SECRET}}, "finish_reason": "stop"}]},
        {"object": SECRET},
    ],
)
async def test_a_success_status_with_a_strange_body_is_not_repeated(
    httpx2_mock: respx.Router, body: dict[str, Any]
) -> None:
    httpx2_mock.post(CHAT).respond(200, json=body)
    model = openai_model()
    with pytest.raises(PermanentProviderError) as info:
        await model.complete(REQUEST)
    await model.aclose()
    assert SECRET not in str(info.value)
    assert BASE in str(info.value)


async def test_the_body_still_chooses_our_reason(httpx2_mock: respx.Router) -> None:
    httpx2_mock.post(CHAT).respond(
        400, json=openai_error(f"This model's maximum context length is 8192 tokens {SECRET}")
    )
    model = openai_model()
    with pytest.raises(PermanentProviderError) as info:
        await model.complete(REQUEST)
    await model.aclose()
    assert "do not fit the model's context" in str(info.value)
    assert "lower the answer's max_tokens" in str(info.value)
    assert SECRET not in str(info.value)


async def test_listing_models_fails_without_the_body(httpx2_mock: respx.Router) -> None:
    httpx2_mock.get(f"{BASE}/models").respond(403, json=openai_error())
    model = OpenAICompatibleModel("http://llm.test/v1", None, BASE)
    with pytest.raises(PermanentProviderError) as info:
        await model.complete(REQUEST)
    await model.aclose()
    assert SECRET not in str(info.value)
    assert "HTTP 403" in str(info.value)


@pytest.mark.parametrize("status", [*STATUSES, 529])
async def test_anthropic_errors_never_repeat_the_body(
    httpx2_mock: respx.Router, status: int
) -> None:
    httpx2_mock.post(f"{CLAUDE}/v1/messages").respond(status, json=anthropic_error())
    model = AnthropicModel("anthropic:claude-test", "claude-test", "sk-ant", base_url=CLAUDE)
    with pytest.raises(ProviderError) as info:
        await model.complete(REQUEST)
    await model.aclose()
    assert SECRET not in str(info.value)
    assert f"HTTP {status}" in str(info.value)


@pytest.mark.parametrize("status", [400, 401, 500])
async def test_neither_the_trace_nor_the_result_holds_the_body(
    httpx2_mock: respx.Router, fast_options: RunOptions, status: int
) -> None:
    httpx2_mock.post(CHAT).respond(status, json=openai_error())
    model = openai_model()
    result = await cadenza.arun(
        "Say hi.", [], models=[model], budget={"max_calls": 3}, options=fast_options
    )
    await model.aclose()
    failed = [node for node in result.trace if node.status == "failed"]
    assert failed
    assert all(node.error and f"HTTP {status}" in node.error for node in failed)
    assert SECRET not in result.model_dump_json()
