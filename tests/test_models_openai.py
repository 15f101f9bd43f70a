"""The OpenAI-compatible provider against HTTP-level fakes (pytest-httpx2 / respx)."""

from __future__ import annotations

import asyncio
import json
import socket
import warnings
from typing import Any

import httpx2
import pytest
import respx

from cadenza.errors import PermanentProviderError, TransientProviderError
from cadenza.models import Message, ModelRequest, OpenAICompatibleModel

BASE = "http://llm.test/v1"
CHAT = f"{BASE}/chat/completions"


def completion(
    text: str = "Hello!", *, usage: dict[str, int] | None = None, finish: str = "stop"
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "served-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "error", "code": None, "param": None}}


def model(**kwargs: Any) -> OpenAICompatibleModel:
    return OpenAICompatibleModel("test:model", "gpt-test", BASE, "sk-test", **kwargs)


REQUEST = ModelRequest(
    messages=(Message("system", "Be brief."), Message("user", "Say hi.")),
    max_tokens=32,
    temperature=0.7,
    seed=7,
    timeout=5.0,
)


def body_of(route: respx.Route) -> dict[str, Any]:
    content = route.calls.last.request.content
    data: dict[str, Any] = json.loads(content)
    return data


async def test_success_reports_usage_and_sends_the_request(httpx2_mock: respx.Router) -> None:
    usage = {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    route = httpx2_mock.post(CHAT).respond(200, json=completion("Hi there", usage=usage))
    m = model()
    response = await m.complete(REQUEST)
    await m.aclose()

    assert response.text == "Hi there"
    assert (response.input_tokens, response.output_tokens) == (11, 3)
    assert response.finish_reason == "stop"
    assert response.model == "test:model"
    assert response.extra["served_model"] == "served-model"
    assert "usage_estimated" not in response.extra

    sent = body_of(route)
    assert sent["model"] == "gpt-test"
    assert sent["max_tokens"] == 32
    assert sent["temperature"] == 0.7
    assert sent["seed"] == 7
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hi."},
    ]
    headers = route.calls.last.request.headers
    assert headers["authorization"] == "Bearer sk-test"
    assert headers.get("x-stainless-retry-count") in (None, "0")


async def test_no_seed_is_not_sent(httpx2_mock: respx.Router) -> None:
    route = httpx2_mock.post(CHAT).respond(200, json=completion(usage={"prompt_tokens": 1}))
    m = model()
    await m.complete(ModelRequest(messages=(Message("user", "x"),), max_tokens=4))
    await m.aclose()
    sent = body_of(route)
    assert "seed" not in sent
    assert sent["temperature"] == 0.0


async def test_missing_usage_is_estimated_conservatively(httpx2_mock: respx.Router) -> None:
    httpx2_mock.post(CHAT).respond(200, json=completion("four words of text"))
    m = model()
    response = await m.complete(REQUEST)
    await m.aclose()
    assert response.extra["usage_estimated"] is True
    assert response.input_tokens >= await m.count_input_tokens(REQUEST.messages)
    assert 4 <= response.output_tokens <= REQUEST.max_tokens  # at least its words


async def test_missing_usage_at_the_length_cap_counts_the_cap(httpx2_mock: respx.Router) -> None:
    httpx2_mock.post(CHAT).respond(200, json=completion("cut", finish="length"))
    m = model()
    response = await m.complete(REQUEST)
    await m.aclose()
    assert response.output_tokens == REQUEST.max_tokens
    assert response.finish_reason == "length"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 408])
async def test_retryable_statuses_are_transient(httpx2_mock: respx.Router, status: int) -> None:
    httpx2_mock.post(CHAT).respond(status, json=error("slow down"))
    m = model()
    with pytest.raises(TransientProviderError) as info:
        await m.complete(REQUEST)
    await m.aclose()
    assert info.value.status_code == status
    assert BASE in str(info.value)
    assert f"HTTP {status}" in str(info.value)
    assert "slow down" not in str(info.value)  # the upstream body is never repeated
    assert len(httpx2_mock.calls) == 1  # the SDK does not retry: the engine does


async def test_401_is_permanent_and_names_the_key_variable(httpx2_mock: respx.Router) -> None:
    httpx2_mock.post(CHAT).respond(401, json=error("Incorrect API key provided"))
    m = model(api_key_env="OPENAI_API_KEY")
    with pytest.raises(PermanentProviderError) as info:
        await m.complete(REQUEST)
    await m.aclose()
    assert info.value.status_code == 401
    assert "set OPENAI_API_KEY" in str(info.value)
    assert "Incorrect API key provided" not in str(info.value)


@pytest.mark.parametrize(
    ("status", "words"),
    [(400, "rejected the request"), (403, "permission denied"), (404, "could not find")],
)
async def test_client_errors_are_permanent(
    httpx2_mock: respx.Router, status: int, words: str
) -> None:
    httpx2_mock.post(CHAT).respond(status, json=error("nope"))
    m = model(not_found_hint="run `ollama pull gpt-test`")
    with pytest.raises(PermanentProviderError) as info:
        await m.complete(REQUEST)
    await m.aclose()
    assert info.value.status_code == status
    assert words in str(info.value)
    if status == 404:
        assert "'gpt-test'" in str(info.value)
        assert "ollama pull gpt-test" in str(info.value)


async def test_timeout_is_transient(httpx2_mock: respx.Router) -> None:
    httpx2_mock.post(CHAT).mock(side_effect=httpx2.ReadTimeout("slow"))
    m = model()
    with pytest.raises(TransientProviderError, match=r"no answer from http://llm.test/v1 within 5"):
        await m.complete(REQUEST)
    await m.aclose()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_connection_refused_is_transient_and_names_the_url() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    m = OpenAICompatibleModel(
        "openai:gpt-test", "gpt-test", url, "k", unreachable_hint="set OPENAI_BASE_URL"
    )
    with pytest.raises(TransientProviderError) as info:
        await m.complete(REQUEST)
    await m.aclose()
    message = str(info.value)
    assert f"could not reach {url}" in message
    assert "is the server running?" in message
    assert "set OPENAI_BASE_URL" in message


async def test_switches_to_max_completion_tokens_when_told(httpx2_mock: respx.Router) -> None:
    refusal = error(
        "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead."
    )
    route = httpx2_mock.post(CHAT)
    route.side_effect = [
        respx.MockResponse(400, json=refusal),
        respx.MockResponse(
            200, json=completion(usage={"prompt_tokens": 2, "completion_tokens": 1})
        ),
        respx.MockResponse(
            200, json=completion(usage={"prompt_tokens": 2, "completion_tokens": 1})
        ),
    ]
    m = model()
    await m.complete(REQUEST)
    await m.complete(REQUEST)  # remembered: no second refusal
    await m.aclose()
    first, second, third = (json.loads(c.request.content) for c in route.calls)
    assert "max_tokens" in first
    assert second["max_completion_tokens"] == 32
    assert "max_tokens" not in second
    assert third["max_completion_tokens"] == 32


async def test_drops_an_unsupported_temperature(httpx2_mock: respx.Router) -> None:
    refusal = error(
        "Unsupported value: 'temperature' does not support 0.7 with this model. "
        "Only the default (1) value is supported."
    )
    route = httpx2_mock.post(CHAT)
    route.side_effect = [
        respx.MockResponse(400, json=refusal),
        respx.MockResponse(
            200, json=completion(usage={"prompt_tokens": 2, "completion_tokens": 1})
        ),
    ]
    m = model()
    response = await m.complete(REQUEST)
    await m.aclose()
    assert "temperature" not in json.loads(route.calls.last.request.content)
    assert response.extra["temperature_ignored"] is True


async def test_asks_the_server_for_its_model_when_none_is_named(
    httpx2_mock: respx.Router,
) -> None:
    httpx2_mock.get(f"{BASE}/models").respond(
        200,
        json={
            "object": "list",
            "data": [{"id": "only-model", "object": "model", "created": 0, "owned_by": "me"}],
        },
    )
    route = httpx2_mock.post(CHAT).respond(200, json=completion(usage={"prompt_tokens": 1}))
    m = OpenAICompatibleModel("http://llm.test/v1", None, BASE)
    await m.complete(REQUEST)
    await m.aclose()
    assert body_of(route)["model"] == "only-model"


async def test_no_choices_is_a_provider_error(httpx2_mock: respx.Router) -> None:
    body = completion()
    body["choices"] = []
    httpx2_mock.post(CHAT).respond(200, json=body)
    m = model()
    with pytest.raises(PermanentProviderError, match="no choices"):
        await m.complete(REQUEST)
    await m.aclose()


def test_one_model_serves_several_event_loops(httpx2_mock: respx.Router) -> None:
    """cadenza.run() makes a loop per call, and resolved models are shared between calls."""
    usage = {"prompt_tokens": 1, "completion_tokens": 1}
    httpx2_mock.post(CHAT).respond(200, json=completion(usage=usage))
    m = model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            response = asyncio.run(m.complete(REQUEST))
            assert response.text == "Hello!"
    assert len(httpx2_mock.calls) == 3


def test_rejects_a_bad_concurrency() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        model(max_concurrency=0)
