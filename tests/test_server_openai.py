"""OpenAI-compatible chat completions and models, driven by the official `openai` SDK."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from test_server_support import ServerThread, settings, sse_events, wait_for, wait_until

LOWERCASE = {"name": "lowercase", "description": "Use only lowercase letters", "is_mandatory": True}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with ServerThread(settings(tmp_path_factory.mktemp("openai") / "runs.db")) as srv:
        yield srv


@pytest.fixture
def client(server: ServerThread) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0) as c:
        yield c


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def test_completion_with_requirements_in_the_extension_field(
    client: OpenAI, http: httpx.Client
) -> None:
    reply = client.chat.completions.create(
        model="cadenza/fake:picky",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Greet the world"},
        ],
        extra_body={
            "cadenza": {"requirements": [LOWERCASE], "budget": {"max_calls": 20}, "threshold": 1.0}
        },
    )
    assert reply.object == "chat.completion"
    assert reply.model == "cadenza/fake:picky"
    assert reply.choices[0].message.content == "hello world"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.total_tokens > 0
    ext: dict[str, Any] = reply.model_extra["cadenza"]  # type: ignore[index]
    assert ext["score"] == 1.0 and ext["finish_reason"] == "all_requirements_met"
    assert ext["requirements"][0]["name"] == "lowercase"
    assert ext["requirements"][0]["score"] == 1.0
    assert ext["usage"]["calls"] <= 20
    # the completion is a run like any other
    run = http.get(f"/v1/runs/{ext['run_id']}").json()
    assert run["source"] == "openai" and run["status"] == "completed"
    assert run["request"]["cadenza"]["requirements"][0]["description"] == LOWERCASE["description"]


def test_model_cadenza_is_the_servers_default(client: OpenAI) -> None:
    reply = client.chat.completions.create(
        model="cadenza", messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    )
    assert reply.choices[0].message.content == "scripted answer"
    assert reply.model_extra["cadenza"]["models"] == ["fake:default"]  # type: ignore[index]


def test_streaming_gives_chunks_then_the_results(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="cadenza/fake:picky",
        messages=[{"role": "user", "content": "Greet the world"}],
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"cadenza": {"requirements": [LOWERCASE]}},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "hello world"
    last = [c for c in chunks if c.choices][-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["cadenza"]["requirements"][0]["score"] == 1.0  # type: ignore[index]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0


def test_stream_shows_progress_as_sse_comments(
    http: httpx.Client,
) -> None:
    body = {
        "model": "cadenza/fake:slow",
        "stream": True,
        "messages": [{"role": "user", "content": "Say hi"}],
        "cadenza": {"requirements": [LOWERCASE], "budget": {"max_calls": 6}},
    }
    with http.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        run_id = r.headers["x-cadenza-run-id"]
        raw = r.read().decode()
    assert ": cadenza generate" in raw and ": cadenza judge" in raw
    events = sse_events(raw)
    assert events[-1][1] == "[DONE]"
    assert http.get(f"/v1/runs/{run_id}").json()["status"] == "completed"


def test_a_client_that_leaves_a_stream_cancels_its_run(http: httpx.Client) -> None:
    body = {
        "model": "cadenza/fake:slow",
        "stream": True,
        "messages": [{"role": "user", "content": "Say hi"}],
        "cadenza": {"requirements": [LOWERCASE], "budget": {"max_calls": 400}},
    }
    with http.stream("POST", "/v1/chat/completions", json=body) as r:
        run_id = r.headers["x-cadenza-run-id"]
        next(r.iter_bytes())
    wait_until(
        lambda: http.get(f"/v1/runs/{run_id}").json()["status"] != "in_progress",
        what="the run to stop",
    )
    run = wait_for(http, run_id)
    assert run["status"] == "cancelled" and run["usage"]["calls"] < 400


def test_models(client: OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == ["cadenza", "cadenza/fake:default"]
    assert client.models.retrieve("cadenza/fake:picky").id == "cadenza/fake:picky"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_errors_reach_the_sdk_with_their_message(client: OpenAI) -> None:
    msgs: Any = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.BadRequestError, match="use 'cadenza'"):
        client.chat.completions.create(model="gpt-4o", messages=msgs)
    with pytest.raises(
        openai.BadRequestError, match="'cadenza/nope' is not one this server offers"
    ):
        client.chat.completions.create(model="cadenza/nope", messages=msgs)
    with pytest.raises(openai.BadRequestError, match="n: cadenza returns one answer"):
        client.chat.completions.create(model="cadenza", messages=msgs, n=2)
    with pytest.raises(openai.BadRequestError, match="function calling"):
        client.chat.completions.create(
            model="cadenza",
            messages=msgs,
            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        )
    with pytest.raises(openai.UnprocessableEntityError, match=r"cadenza.budget"):
        client.chat.completions.create(
            model="cadenza", messages=msgs, extra_body={"cadenza": {"budget": "infinite"}}
        )
    with pytest.raises(openai.UnprocessableEntityError, match=r"cadenza.requirements.0.descr"):
        client.chat.completions.create(
            model="cadenza", messages=msgs, extra_body={"cadenza": {"requirements": [{"x": 1}]}}
        )
    with pytest.raises(openai.UnprocessableEntityError, match="from the user"):
        client.chat.completions.create(
            model="cadenza", messages=[{"role": "assistant", "content": "hi"}]
        )
    with pytest.raises(openai.BadRequestError, match="image_url"):
        client.chat.completions.create(
            model="cadenza",
            messages=[
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}
            ],
        )
