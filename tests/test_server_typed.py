"""Typed results over HTTP: OpenAI `response_format` (with the openai SDK, `parse`
included), the Maestro runs API (with the ai21 SDK) and /v1/runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
import uvicorn
from ai21 import AI21Client
from openai import OpenAI
from pydantic import BaseModel

from cadenza.models.base import Model, ModelRequest
from cadenza.server import create_app
from cadenza.testing import ScriptedModel
from test_server_support import ServerThread, bound_socket, fake_resolver, settings, wait_for

# The ai21 SDK posts JSON with httpx's deprecated `data=` bytes; that is its business.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


class Person(BaseModel):
    name: str
    age: int


PERSON_JSON = '{"name": "Ann", "age": 31}'
PERSON_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


def _json_answer(request: ModelRequest) -> str:
    """fake:json answers a Person, in a Markdown fence first (cadenza unwraps it)."""
    prompt = request.messages[-1].content
    if "Rewrite your answer" in prompt:
        return PERSON_JSON
    return f"Here you go:\n```json\n{PERSON_JSON}\n```"


def typed_resolver(name: str) -> Model:
    if name == "fake:json":
        return ScriptedModel(name=name, default=_json_answer)
    if name == "fake:prose":
        return ScriptedModel(name=name, default="Ann is thirty-one.")
    return fake_resolver(name)


class TypedServer(ServerThread):
    def __init__(self, db: Any) -> None:
        self.app = create_app(settings(db), resolver=typed_resolver)
        self.sock = bound_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", ws="none", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with TypedServer(tmp_path_factory.mktemp("typed") / "runs.db") as srv:
        yield srv


@pytest.fixture
def client(server: ServerThread) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0) as c:
        yield c


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


# -- OpenAI -----------------------------------------------------------------------------------
def test_parse_with_a_pydantic_model(client: OpenAI) -> None:
    completion = client.chat.completions.parse(
        model="cadenza/fake:json",
        messages=[{"role": "user", "content": "Who is Ann?"}],
        response_format=Person,
    )
    message = completion.choices[0].message
    assert message.parsed == Person(name="Ann", age=31)
    assert message.content == PERSON_JSON  # the fence is gone: bare, validated JSON
    assert message.refusal is None
    ext: dict[str, Any] = completion.model_extra["cadenza"]  # type: ignore[index]
    assert ext["output"] == {"name": "Ann", "age": 31}
    assert ext["requirements"][-1]["name"] == "output_schema"


def test_json_schema_not_strict_and_json_object(client: OpenAI) -> None:
    for response_format in (
        {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON_SCHEMA}},
        {"type": "json_object"},
    ):
        reply = client.chat.completions.create(
            model="cadenza/fake:json",
            messages=[{"role": "user", "content": "Who is Ann?"}],
            response_format=response_format,  # type: ignore[arg-type]
        )
        assert json.loads(reply.choices[0].message.content or "") == {"name": "Ann", "age": 31}


def test_no_matching_answer_is_a_refusal_that_says_why(client: OpenAI) -> None:
    completion = client.chat.completions.parse(
        model="cadenza/fake:prose",
        messages=[{"role": "user", "content": "Who is Ann?"}],
        response_format=Person,
        extra_body={"cadenza": {"budget": {"max_calls": 3}}},
    )
    message = completion.choices[0].message
    assert message.parsed is None
    assert message.refusal is not None and "no answer that matches the schema" in message.refusal
    assert "not JSON" in message.refusal
    assert message.content == "Ann is thirty-one."  # the best answer, for inspection


def test_streaming_a_typed_result(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="cadenza/fake:json",
        messages=[{"role": "user", "content": "Who is Ann?"}],
        response_format={"type": "json_object"},
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert json.loads(text) == {"name": "Ann", "age": 31}
    assert chunks[-1].model_extra["cadenza"]["output"] == {"name": "Ann", "age": 31}  # type: ignore[index]


@pytest.mark.parametrize(
    ("response_format", "status", "param"),
    [
        (
            {"type": "json_schema", "json_schema": {"name": "x"}},
            400,
            "response_format.json_schema.schema",
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": 5}}},
            422,
            "response_format.json_schema.schema",
        ),
        ({"type": "xml"}, 400, "response_format.type"),
    ],
)
def test_bad_response_formats_are_refused_naming_the_field(
    client: OpenAI, response_format: dict[str, Any], status: int, param: str
) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(
            model="cadenza/fake:json",
            messages=[{"role": "user", "content": "x"}],
            response_format=response_format,  # type: ignore[arg-type]
        )
    assert info.value.status_code == status
    body: Any = info.value.body
    assert body["param"] == param


# -- Maestro (ai21 SDK) and /v1/runs ---------------------------------------------------------------
def test_maestro_sdk_passes_output_schema_and_gets_the_output(server: ServerThread) -> None:
    with httpx.Client(timeout=30) as transport:
        ai21 = AI21Client(
            api_key="unused", api_host=f"{server.url}/studio/v1", http_client=transport
        )
        run = ai21.beta.maestro.runs.create_and_poll(
            input="Who is Ann?",
            models=["fake:json"],
            output_schema=PERSON_SCHEMA,  # an extension: the SDK sends it through
            include=["requirements_result"],
            poll_interval_sec=0.05,
            poll_timeout_sec=30,
        )
    assert run.status == "completed"
    assert run.result == PERSON_JSON
    assert run.output == {"name": "Ann", "age": 31}  # type: ignore[attr-defined]
    assert run.requirements_result is not None
    names = [r["name"] for r in run.requirements_result["requirements"]]
    assert names == ["output_schema"]


def test_v1_runs_takes_an_output_schema(http: httpx.Client) -> None:
    created = http.post(
        "/v1/runs",
        json={"input": "Who is Ann?", "models": ["fake:json"], "output_schema": PERSON_SCHEMA},
    )
    assert created.status_code == 200, created.text
    run = wait_for(http, created.json()["id"])
    assert run["status"] == "completed"
    assert run["output"] == {"name": "Ann", "age": 31}
    assert run["request"]["output_schema"] == PERSON_SCHEMA
    trace = http.get(f"/v1/runs/{run['id']}/trace").json()["nodes"]
    assert any(n["kind"] == "repair" for n in trace)


def test_v1_runs_without_a_match_has_null_output(http: httpx.Client) -> None:
    created = http.post(
        "/v1/runs",
        json={
            "input": "Who is Ann?",
            "models": ["fake:prose"],
            "output_schema": PERSON_SCHEMA,
            "budget": {"max_calls": 2},
        },
    )
    run = wait_for(http, created.json()["id"])
    assert run["output"] is None
    assert run["result"] == "Ann is thirty-one."


def test_a_bad_output_schema_is_a_422_naming_it(http: httpx.Client) -> None:
    for path in ("/v1/runs", "/studio/v1/maestro/runs"):
        r = http.post(path, json={"input": "x", "output_schema": {"type": "nope"}})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["param"] == "output_schema"
        assert "not a valid JSON Schema" in r.json()["error"]["message"]


def test_untyped_runs_have_no_output(http: httpx.Client) -> None:
    created = http.post("/v1/runs", json={"input": "hi", "models": ["fake:json"]})
    run = wait_for(http, created.json()["id"])
    assert run["output"] is None and "Here you go" in run["result"]
