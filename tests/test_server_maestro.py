"""The Maestro runs API, driven by the official `ai21` SDK and by plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ai21 import AI21Client
from ai21.errors import BadRequest, UnprocessableEntity

from cadenza.validators.base import register_validator
from test_server_support import ServerThread, settings, wait_for

# The ai21 SDK posts JSON with httpx's deprecated `data=` bytes; that is its business.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    register_validator("no_digits", lambda text: not any(c.isdigit() for c in text))
    with ServerThread(settings(tmp_path_factory.mktemp("maestro") / "runs.db")) as srv:
        yield srv


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def ai21(server: ServerThread) -> Iterator[AI21Client]:
    with httpx.Client(timeout=30) as transport:  # the SDK never closes its own
        yield AI21Client(
            api_key="unused-without-keys", api_host=f"{server.url}/studio/v1", http_client=transport
        )


def test_sdk_create_and_poll_meets_the_requirements(ai21: AI21Client) -> None:
    run = ai21.beta.maestro.runs.create_and_poll(
        input="Greet the world",
        requirements=[
            {
                "name": "lowercase",
                "description": "Use only lowercase letters",
                "is_mandatory": True,
            },
            {"name": "no commas", "description": "Do not use any commas", "is_mandatory": False},
        ],
        models=["fake:picky"],
        budget="low",
        include=["requirements_result"],
        poll_interval_sec=0.05,
        poll_timeout_sec=30,
    )
    assert run.status == "completed"
    assert run.result == "hello world"
    assert run.error is None
    rr = run.requirements_result
    assert rr is not None
    assert rr["score"] == 1.0 and rr["finish_reason"] == "all_requirements_met"
    assert [(r["name"], r["is_mandatory"], r["score"]) for r in rr["requirements"]] == [
        ("lowercase", True, 1.0),
        ("no commas", False, 1.0),
    ]
    assert all(r["reason"] for r in rr["requirements"])
    # cadenza's extension rides along as an extra field the SDK keeps
    usage: dict[str, Any] = run.model_extra["usage"]  # type: ignore[index]
    assert usage["calls"] > 0 and usage["input_tokens"] > 0


def test_sdk_retrieve_and_messages_input(ai21: AI21Client) -> None:
    created = ai21.beta.maestro.runs.create(
        input=[{"role": "user", "content": "Say hello"}],
        requirements=[{"name": "lc", "description": "Use only lowercase letters"}],
        models=["fake:picky"],
    )
    assert created.status in ("in_progress", "completed")  # fakes can finish that fast
    run = ai21.beta.maestro.runs.poll_for_status(
        run_id=created.id, poll_interval_sec=0.05, poll_timeout_sec=30
    )
    assert run.status == "completed" and run.result == "hello world"
    assert run.requirements_result is None  # not asked for in `include`
    assert ai21.beta.maestro.runs.retrieve(created.id).id == created.id


def test_sdk_sees_unsupported_tools_as_a_clear_400(ai21: AI21Client) -> None:
    with pytest.raises(BadRequest, match=r"web_search.*not supported"):
        ai21.beta.maestro.runs.create(input="Find news", tools=[{"type": "web_search"}])
    with pytest.raises(BadRequest, match=r"file_search.*not supported"):
        ai21.beta.maestro.runs.create(
            input="Search my files", tool_resources={"file_search": {"labels": ["a"]}}
        )


def test_sdk_sees_bad_input_as_422(ai21: AI21Client) -> None:
    with pytest.raises(UnprocessableEntity, match="input is empty"):
        ai21.beta.maestro.runs.create(input="   ")
    with pytest.raises(UnprocessableEntity, match="budget"):
        ai21.beta.maestro.runs.create(input="hi", budget="huge")  # type: ignore[arg-type]


def test_extensions_numeric_budget_threshold_usage(http: httpx.Client) -> None:
    r = http.post(
        "/studio/v1/maestro/runs",
        json={
            "input": "Say hi",
            "requirements": [{"description": "Use only lowercase letters"}],
            "models": ["fake:slow"],
            "budget": {"max_calls": 6, "max_tokens": 5000},
            "threshold": 0.3,
            "include": ["requirements_result", "data_sources"],
        },
    )
    assert r.status_code == 200, r.text
    assert set(r.json()) >= {"id", "status", "result", "usage"}
    run = wait_for(http, r.json()["id"])
    assert run["status"] == "completed"
    assert run["requirements_result"]["finish_reason"] == "threshold_reached"
    assert run["usage"]["calls"] <= 6
    maestro = http.get(f"/studio/v1/maestro/runs/{run['id']}").json()
    assert maestro["data_sources"] == {"file_search": [], "web_search": [], "tool_calls": []}
    assert maestro["requirements_result"]["score"] == pytest.approx(0.4)
    assert maestro["usage"] == run["usage"]


def test_validators_by_registered_name_only(http: httpx.Client) -> None:
    r = http.post(
        "/studio/v1/maestro/runs",
        json={
            "input": "Say hi",
            "models": ["fake:x"],
            "requirements": [{"name": "nd", "description": "No digits", "validator": "no_digits"}],
            "include": ["requirements_result"],
        },
    )
    assert r.status_code == 200, r.text
    run = wait_for(http, r.json()["id"])
    req = run["requirements_result"]["requirements"][0]
    assert req["validator"] == "code:no_digits" and req["score"] == 1.0

    r = http.post(
        "/studio/v1/maestro/runs",
        json={
            "input": "Say hi",
            "requirements": [{"description": "x", "validator": "os.system('rm -rf /')"}],
        },
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["param"] == "requirements.0.validator"
    assert "no validator is registered" in err["message"]

    r = http.post(
        "/studio/v1/maestro/runs",
        json={"input": "Say hi", "requirements": [{"description": "x", "code": "print(1)"}]},
    )
    assert r.status_code == 422 and "requirements.0.code" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "points_at"),
    [
        ({}, 422, "input: Field required"),
        ({"input": 3}, 422, "input"),
        ({"input": []}, 422, "no messages"),
        ({"input": [{"role": "assistant", "content": "x"}]}, 422, "from the user"),
        ({"input": "hi", "requirements": [{"name": "a"}]}, 422, "requirements.0.description"),
        ({"input": "hi", "budget": {"max_seconds": 5}}, 422, "at least one of max_tokens"),
        ({"input": "hi", "budget": {"max_tokens": -1}}, 422, "budget"),
        ({"input": "hi", "threshold": 2}, 422, "threshold"),
        ({"input": "hi", "include": ["everything"]}, 422, "include.0"),
        ({"input": "hi", "surprise": 1}, 422, "surprise: Extra inputs are not permitted"),
        ({"input": "hi", "models": ["gpt-17"]}, 400, "'gpt-17' is not a model this server offers"),
        ({"input": "hi", "tools": [{"type": "http"}]}, 400, "'http' is not supported"),
    ],
)
def test_bad_bodies_get_4xx_that_point_at_the_field(
    http: httpx.Client, body: dict[str, Any], status: int, points_at: str
) -> None:
    r = http.post("/studio/v1/maestro/runs", json=body)
    assert r.status_code == status, r.text
    assert points_at in r.json()["error"]["message"]


def test_not_json_and_unknown_run(http: httpx.Client) -> None:
    r = http.post(
        "/studio/v1/maestro/runs",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and "not valid JSON" in r.json()["error"]["message"]
    r = http.get("/studio/v1/maestro/runs/does-not-exist")
    assert r.status_code == 404 and "no run with id" in r.json()["error"]["message"]
