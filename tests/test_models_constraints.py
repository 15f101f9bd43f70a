"""Constrained decoding on each provider's wire, against HTTP-level fakes (pytest-httpx2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import respx

from cadenza.engine import BudgetLedger, CallRunner
from cadenza.models import (
    AnthropicModel,
    Message,
    Model,
    ModelRequest,
    ModelResponse,
    ResponseFormat,
    clear_model_cache,
    resolve_model,
)
from cadenza.models.constraints import FORMAT_DROPPED
from cadenza.task import Budget
from cadenza.trace import TraceRecorder

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 40},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    },
    "required": ["name"],
}
SCHEMA = ResponseFormat("json_schema", schema=PERSON, name="person record")
JSON_MODE = ResponseFormat("json_object")
GRAMMAR = ResponseFormat("grammar", grammar='root ::= "yes" | "no"')
MESSAGES = (Message("user", "Describe Ada."),)

ENV = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENROUTER_API_KEY",
    "OLLAMA_HOST",
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


def completion(text: str = '{"name": "Ada"}') -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
    }


async def send(
    router: respx.Router, name: str, url: str, fmt: ResponseFormat, **extra: Any
) -> tuple[dict[str, Any], ModelResponse]:
    route = router.post(url).respond(200, json=completion())
    model = resolve_model(name)
    assert model.supports(fmt)
    response = await model.complete(
        ModelRequest(messages=extra.pop("messages", MESSAGES), max_tokens=32, response_format=fmt)
    )
    await model.aclose()
    body: dict[str, Any] = json.loads(route.calls.last.request.content)
    return body, response


# -- llama.cpp (embedded local: and llamacpp:) ---------------------------------------------

LLAMA = "http://llama.test/v1"


@pytest.fixture
def llamacpp(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CADENZA_BASE_URL", LLAMA)
    return f"{LLAMA}/chat/completions"


async def test_llamacpp_json_schema(httpx2_mock: respx.Router, llamacpp: str) -> None:
    body, response = await send(httpx2_mock, "llamacpp:m", llamacpp, SCHEMA)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "person_record", "schema": PERSON},
    }
    assert "grammar" not in body
    # llama.cpp lets uniqueItems through: the gap is reported, the call still constrained
    assert response.extra["constraint_gaps"] == ["$.tags: uniqueItems"]


async def test_llamacpp_grammar_and_json_mode(httpx2_mock: respx.Router, llamacpp: str) -> None:
    body, response = await send(httpx2_mock, "llamacpp:m", llamacpp, GRAMMAR)
    assert body["grammar"] == 'root ::= "yes" | "no"'
    assert "response_format" not in body
    assert "constraint_gaps" not in response.extra
    clear_model_cache()
    body, _ = await send(httpx2_mock, "llamacpp:m", llamacpp, JSON_MODE)
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"] == [{"role": "user", "content": "Describe Ada."}]


async def test_llamacpp_refuses_a_schema_it_cannot_take(llamacpp: str) -> None:
    remote = ResponseFormat("json_schema", schema={"$ref": "https://example.com/s.json"})
    model = resolve_model("llamacpp:m")
    assert not model.supports(remote)
    with pytest.raises(ValueError, match="cannot enforce"):
        await model.complete(ModelRequest(messages=MESSAGES, max_tokens=4, response_format=remote))


async def test_a_refused_format_still_runs_unconstrained(
    httpx2_mock: respx.Router, llamacpp: str
) -> None:
    route = httpx2_mock.post(llamacpp)
    route.side_effect = [
        respx.MockResponse(
            400,
            json={"error": {"message": "Failed to initialize samplers: failed to parse grammar"}},
        ),
        respx.MockResponse(200, json=completion("yes")),
    ]
    model = resolve_model("llamacpp:m")
    response = await model.complete(
        ModelRequest(messages=MESSAGES, max_tokens=4, response_format=GRAMMAR)
    )
    await model.aclose()
    first, second = (json.loads(c.request.content) for c in route.calls)
    assert "grammar" in first and "grammar" not in second
    assert response.text == "yes"
    assert response.extra["constraint_gaps"] == [FORMAT_DROPPED]


def test_the_embedded_model_offers_llamacpp_formats() -> None:
    model = resolve_model("local:smollm2")
    assert all(model.supports(f) for f in (SCHEMA, JSON_MODE, GRAMMAR))


# -- OpenAI ---------------------------------------------------------------------------------

OPENAI_CHAT = "https://api.openai.com/v1/chat/completions"


async def test_openai_strict_json_schema(
    httpx2_mock: respx.Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    body, response = await send(httpx2_mock, "openai:gpt-4.1-mini", OPENAI_CHAT, SCHEMA)
    sent = body["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "person_record"
    assert sent["json_schema"]["strict"] is True
    schema = sent["json_schema"]["schema"]
    # narrowed: closed, every property required; dropped: what strict mode rejects
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "age", "tags"]
    assert schema["properties"]["name"] == {"type": "string"}
    assert schema["properties"]["age"] == {"type": "integer", "minimum": 0, "maximum": 150}
    assert schema["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert response.extra["constraint_gaps"] == ["$.name: maxLength", "$.tags: uniqueItems"]


async def test_openai_json_mode_says_json(
    httpx2_mock: respx.Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    body, _ = await send(httpx2_mock, "openai:gpt-4.1-mini", OPENAI_CHAT, JSON_MODE)
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][0] == {"role": "system", "content": "Reply with a JSON object."}
    said = (Message("user", "Answer in JSON."),)
    body, _ = await send(httpx2_mock, "openai:gpt-4.1-mini", OPENAI_CHAT, JSON_MODE, messages=said)
    assert body["messages"] == [{"role": "user", "content": "Answer in JSON."}]


def test_openai_declines_what_strict_mode_cannot_say(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    model = resolve_model("openai:gpt-4.1-mini")
    assert not model.supports(GRAMMAR)
    assert not model.supports(ResponseFormat("json_schema", schema={"type": "array"}))
    assert not model.supports(ResponseFormat("json_schema", schema=PERSON, strict=False))
    needs_open = {"type": "object", "properties": {}, "required": ["x"]}
    assert not model.supports(ResponseFormat("json_schema", schema=needs_open))


def test_another_server_at_openai_base_url_is_not_assumed_to_constrain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:9/v1")
    model = resolve_model("openai:whatever")
    assert not any(model.supports(f) for f in (SCHEMA, JSON_MODE, GRAMMAR))


# -- vLLM, Ollama, and servers cadenza cannot vouch for ------------------------------------


async def test_vllm(httpx2_mock: respx.Router, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_BASE_URL", "http://vllm.test/v1")
    url = "http://vllm.test/v1/chat/completions"
    body, response = await send(httpx2_mock, "vllm:Qwen/Qwen2.5-7B-Instruct", url, SCHEMA)
    assert body["response_format"]["json_schema"]["schema"] == PERSON
    assert "constraint_gaps" not in response.extra
    clear_model_cache()
    body, _ = await send(httpx2_mock, "vllm:Qwen/Qwen2.5-7B-Instruct", url, GRAMMAR)
    assert body["structured_outputs"] == {"grammar": 'root ::= "yes" | "no"'}
    assert "response_format" not in body


async def test_ollama(httpx2_mock: respx.Router) -> None:
    url = "http://localhost:11434/v1/chat/completions"
    body, response = await send(httpx2_mock, "ollama:llama3.2", url, SCHEMA)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "person_record", "schema": PERSON},
    }
    assert response.extra["constraint_gaps"] == ["$.tags: uniqueItems"]
    model = resolve_model("ollama:llama3.2")
    assert model.supports(JSON_MODE)
    assert not model.supports(GRAMMAR)


def test_hosted_ollama_and_unknown_servers_offer_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "or-x")
    names = ["ollama:gpt-oss:120b-cloud", "openrouter:openai/gpt-4.1", "http://box.test/v1#m"]
    for name in names:
        model = resolve_model(name)
        assert not any(model.supports(f) for f in (SCHEMA, JSON_MODE, GRAMMAR)), name
    monkeypatch.setenv("OLLAMA_HOST", "https://ollama.com")
    clear_model_cache()
    assert not resolve_model("ollama:llama3.2").supports(SCHEMA)


# -- Anthropic ------------------------------------------------------------------------------

CLAUDE = "http://claude.test"


def tool_reply(payload: Any, name: str = "person_record") -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": name, "input": payload}],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 6},
    }


def claude() -> AnthropicModel:
    return AnthropicModel("anthropic:claude-test", "claude-test", "sk-ant", base_url=CLAUDE)


async def test_anthropic_forces_a_strict_tool(httpx2_mock: respx.Router) -> None:
    route = httpx2_mock.post(f"{CLAUDE}/v1/messages").respond(
        200, json=tool_reply({"name": "Ada", "age": 36, "tags": []})
    )
    model = claude()
    assert model.supports(SCHEMA)
    response = await model.complete(
        ModelRequest(messages=MESSAGES, max_tokens=64, response_format=SCHEMA)
    )
    await model.aclose()
    sent = json.loads(route.calls.last.request.content)
    [tool] = sent["tools"]
    assert tool["name"] == "person_record"
    assert tool["strict"] is True
    assert tool["input_schema"]["additionalProperties"] is False
    assert tool["input_schema"]["required"] == ["name", "age", "tags"]
    assert sent["tool_choice"] == {"type": "tool", "name": "person_record"}
    assert json.loads(response.text) == {"name": "Ada", "age": 36, "tags": []}
    assert response.finish_reason == "stop"
    assert "$.age: minimum" in response.extra["constraint_gaps"]


async def test_anthropic_wraps_a_schema_that_is_not_an_object(httpx2_mock: respx.Router) -> None:
    numbers = ResponseFormat("json_schema", schema={"type": "array", "items": {"type": "integer"}})
    route = httpx2_mock.post(f"{CLAUDE}/v1/messages").respond(
        200, json=tool_reply({"value": [1, 2, 3]}, name="output")
    )
    model = claude()
    response = await model.complete(
        ModelRequest(messages=MESSAGES, max_tokens=64, response_format=numbers)
    )
    await model.aclose()
    schema = json.loads(route.calls.last.request.content)["tools"][0]["input_schema"]
    assert schema["properties"]["value"] == {"type": "array", "items": {"type": "integer"}}
    assert json.loads(response.text) == [1, 2, 3]


async def test_anthropic_answer_cut_before_the_tool_is_empty(httpx2_mock: respx.Router) -> None:
    cut = tool_reply({})
    cut["content"] = [{"type": "text", "text": "Let me think"}]
    cut["stop_reason"] = "max_tokens"
    httpx2_mock.post(f"{CLAUDE}/v1/messages").respond(200, json=cut)
    model = claude()
    response = await model.complete(
        ModelRequest(messages=MESSAGES, max_tokens=4, response_format=SCHEMA)
    )
    await model.aclose()
    assert (response.text, response.finish_reason) == ("", "length")


async def test_anthropic_json_mode_and_no_grammar(httpx2_mock: respx.Router) -> None:
    route = httpx2_mock.post(f"{CLAUDE}/v1/messages").respond(
        200, json=tool_reply({"a": 1}, name="output")
    )
    model = claude()
    assert not model.supports(GRAMMAR)
    response = await model.complete(
        ModelRequest(messages=MESSAGES, max_tokens=16, response_format=JSON_MODE)
    )
    await model.aclose()
    [tool] = json.loads(route.calls.last.request.content)["tools"]
    assert tool["input_schema"] == {"type": "object"}
    assert json.loads(response.text) == {"a": 1}


# -- the trace records what was not enforced ------------------------------------------------


class GappyModel(Model):
    name = "gappy"

    def supports(self, response_format: ResponseFormat) -> bool:
        return True

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return ModelResponse("{}", 1, 1, extra={"constraint_gaps": ["$: uniqueItems"]})


async def test_gaps_reach_the_trace_node() -> None:
    calls = CallRunner(BudgetLedger(Budget(max_calls=2)), TraceRecorder())
    _, node = await calls.call(
        kind="generate",
        parent=None,
        model=GappyModel(),
        messages=MESSAGES,
        max_tokens=8,
        response_format=SCHEMA,
    )
    assert node.detail["constrained"] == "json_schema"
    assert node.detail["constraint_gaps"] == ["$: uniqueItems"]
