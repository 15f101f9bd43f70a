"""Issue 9, item 1 (server side): requests choose among the models the operator configured,
by name, before anything resolves them; no URL, file or fake of the request's choosing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ai21 import AI21Client

from cadenza.models.base import Model
from cadenza.server import ServerSettings
from test_server_support import AppThread, ServerThread, fake_resolver, settings, wait_for

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

HOSTILE_NAMES = [
    "http://169.254.169.254/latest#x",
    "https://attacker.example/v1#gpt",
    "local:/etc/passwd",
    "local:/no/such/file.gguf",
    "local:~/.ssh/id_rsa",
    "ollama:llama3.2",
    "openai:gpt-4o",
    "fake:chosen-by-the-request",
    "local",
]


class SpyResolver:
    """The fake resolver, recording every name it is asked to resolve."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, name: str) -> Model:
        self.names.append(name)
        return fake_resolver(name)


@pytest.fixture(scope="module")
def spy() -> SpyResolver:
    return SpyResolver()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, spy: SpyResolver) -> Iterator[ServerThread]:
    db = tmp_path_factory.mktemp("models") / "runs.db"
    configured = settings(
        db,
        models=("fake:default",),
        judge_model="fake:judge",
        allowed_models=("fake:picky",),
        model_aliases={"jamba-large": "fake:picky", "jamba-mini": "fake:mini"},
        allow_fake_models=False,
    )
    with ServerThread(configured, resolver=spy) as srv:
        yield srv


def test_fake_models_are_off_unless_the_operator_turns_them_on() -> None:
    from cadenza.server.model_catalog import ModelCatalog

    assert ServerSettings().allow_fake_models is False
    catalog = ModelCatalog(ServerSettings(models=("fake:demo",)))
    assert catalog.allows("fake:demo")  # configured by the operator
    assert not catalog.allows("fake:other")
    assert ModelCatalog(ServerSettings(allow_fake_models=True)).allows("fake:other")
    assert not ModelCatalog(ServerSettings(allow_fake_models=True)).allows("fake:")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_request_naming_an_unconfigured_model_gets_one_clear_400(
    server: ServerThread, spy: SpyResolver, name: str
) -> None:
    with server.client() as http:
        answers = [
            ("models.0", http.post("/v1/runs", json={"input": "hi", "models": [name]})),
            (
                "models.1",
                http.post(
                    "/studio/v1/maestro/runs", json={"input": "hi", "models": ["fake:picky", name]}
                ),
            ),
            ("judge_model", http.post("/v1/runs", json={"input": "hi", "judge_model": name})),
            (
                "cadenza.judge_model",
                http.post(
                    "/v1/chat/completions",
                    json={
                        "model": "cadenza",
                        "messages": [{"role": "user", "content": "hi"}],
                        "cadenza": {"judge_model": name},
                    },
                ),
            ),
            (
                "model",
                http.post(
                    "/v1/chat/completions",
                    json={
                        "model": f"cadenza/{name}",
                        "messages": [{"role": "user", "content": "x"}],
                    },
                ),
            ),
        ]
        for param, r in answers:
            assert r.status_code == 400, (param, r.text)
            error = r.json()["error"]
            assert error["code"] == "model_not_allowed", r.text
            assert param.endswith(error["param"]) or error["param"] == "judge_model", r.text
            # it says which names are allowed
            assert "jamba-large" in error["message"] and "fake:default" in error["message"]
        assert http.get(f"/v1/models/cadenza/{name}").status_code == 404
    assert name not in spy.names  # refused before anything resolved it
    assert not [n for n in spy.names if not n.startswith("fake:")]


def test_a_local_path_answers_the_same_whether_the_file_exists_or_not(
    server: ServerThread, tmp_path: Path
) -> None:
    real = tmp_path / "model.gguf"
    real.write_bytes(b"GGUF")
    with server.client() as http:
        bodies = []
        for name in (f"local:{real}", f"local:{tmp_path / 'missing.gguf'}"):
            r = http.post("/v1/runs", json={"input": "hi", "models": [name]})
            assert r.status_code == 400
            bodies.append(json.dumps(r.json()).replace(name, "NAME"))
        assert bodies[0] == bodies[1]


def test_v1_models_lists_exactly_what_a_request_may_name(server: ServerThread) -> None:
    with server.client() as http:
        ids = [m["id"] for m in http.get("/v1/models").json()["data"]]
        assert ids == [
            "cadenza",
            "cadenza/fake:default",
            "cadenza/fake:judge",
            "cadenza/fake:picky",
            "cadenza/jamba-large",
            "cadenza/jamba-mini",
        ]
        for model_id in ids:
            assert http.get(f"/v1/models/{model_id}").status_code == 200
        # every listed name can be used; the alias targets only where configured themselves
        for model_id in ids[1:]:
            name = model_id.removeprefix("cadenza/")
            r = http.post("/v1/runs", json={"input": "hi", "models": [name]})
            assert r.status_code == 200, r.text
        r = http.post("/v1/runs", json={"input": "hi", "models": ["fake:mini"]})
        assert r.status_code == 400


def test_ai21_names_map_onto_configured_models(server: ServerThread, spy: SpyResolver) -> None:
    with httpx.Client(timeout=30) as transport:
        client = AI21Client(api_key="k", api_host=f"{server.url}/studio/v1", http_client=transport)
        run = client.beta.maestro.runs.create_and_poll(
            input="Say hello",
            models=["jamba-large"],
            requirements=[{"name": "lc", "description": "Use only lowercase letters"}],
            poll_interval_sec=0.05,
            poll_timeout_sec=20,
        )
    assert run.status == "completed"
    assert run.result == "Hello, World"  # fake:picky's answer (the default's differs)
    with server.client() as http:
        stored = http.get(f"/v1/runs/{run.id}").json()
    assert stored["models"] == ["fake:picky"]
    assert "jamba-large" not in spy.names  # the alias is a name, never resolved itself


def test_runs_that_name_no_model_use_the_defaults(server: ServerThread) -> None:
    with server.client() as http:
        r = http.post("/v1/runs", json={"input": "hi"})
        assert r.status_code == 200
        assert wait_for(http, r.json()["id"])["models"] == ["fake:default"]


def test_a_configured_model_that_cannot_be_set_up_is_503_with_no_detail(tmp_path: Path) -> None:
    broken = settings(tmp_path / "runs.db", allowed_models=("nosuch:model",))
    with ServerThread(broken) as srv, srv.client() as http:
        r = http.post("/v1/runs", json={"input": "hi", "models": ["nosuch:model"]})
        assert r.status_code == 503, r.text
        error = r.json()["error"]
        assert error["code"] == "model_unavailable"
        assert "server log" in error["message"]
        assert "fake:*" not in error["message"]  # the resolver's own words stay in the log


def test_catalog_checks_names_exactly() -> None:
    from cadenza.server.model_catalog import ModelCatalog
    from cadenza.server.run_errors import ModelNotAllowed

    catalog = ModelCatalog(
        ServerSettings(models=("openai:gpt-4.1-mini",), model_aliases={"jamba-mini": "x:y"})
    )
    assert catalog.run_models(None) == ["openai:gpt-4.1-mini"]
    assert catalog.run_models(["jamba-mini"]) == ["x:y"]
    for name in ["OpenAI:gpt-4.1-mini", " openai:gpt-4.1-mini", "x:y", "local:smollm2"]:
        with pytest.raises(ModelNotAllowed) as caught:
            catalog.run_models([name])
        assert caught.value.param == "models.0"
    assert ModelCatalog(ServerSettings()).run_models(None) == ["local:smollm2"]


# -- run errors never carry an upstream's body -------------------------------------------
SECRET = "sk-live-UPSTREAM-SECRET-0123456789"


async def leaky_upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An OpenAI-compatible server whose every answer is an error carrying a secret."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    status = 500 if "five" in scope["path"] else 400
    body = json.dumps({"error": {"message": f"internal: {SECRET}", "type": "x"}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def test_run_errors_never_carry_an_upstream_body(tmp_path: Path) -> None:
    with AppThread(leaky_upstream, lifespan="off") as upstream:
        names = (f"{upstream.url}/v1#m", f"{upstream.url}/five/v1#m")
        configured = settings(tmp_path / "runs.db", models=names[:1], allowed_models=names[1:])
        with ServerThread(configured, resolver=None) as srv, srv.client() as http:
            for name in names:
                r = http.post(
                    "/v1/runs", json={"input": "hi", "models": [name], "budget": {"max_calls": 3}}
                )
                assert r.status_code == 200, r.text
                run = wait_for(http, r.json()["id"])
                assert run["status"] == "failed"
                shown = [
                    json.dumps(run),
                    http.get(f"/v1/runs/{run['id']}/trace").text,
                    http.get(f"/v1/runs/{run['id']}/events").text,
                    http.get(f"/studio/v1/maestro/runs/{run['id']}").text,
                ]
                for text in shown:
                    assert SECRET not in text
            chat = http.post(
                "/v1/chat/completions",
                json={"model": "cadenza", "messages": [{"role": "user", "content": "hi"}]},
            )
            assert chat.status_code == 502 and SECRET not in chat.text


def test_a_run_that_crashes_reports_no_exception_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's own part: a run that fails unexpectedly says so, and the details (which
    may hold anything an upstream said) go to the log only."""
    from cadenza.server import runs

    real = runs.arun_task

    async def crashing(task: Any, **kw: Any) -> Any:
        kw["on_event"](_first_event())
        raise RuntimeError(f"upstream said: {SECRET}")

    monkeypatch.setattr(runs, "arun_task", crashing)
    with ServerThread(settings(tmp_path / "runs.db")) as srv, srv.client() as http:
        r = http.post("/v1/runs", json={"input": "hi"})
        assert r.status_code == 200, r.text
        run = wait_for(http, r.json()["id"])
    assert run["status"] == "failed"
    assert SECRET not in json.dumps(run) and "RuntimeError" not in json.dumps(run)
    assert "internal error" in run["error"]["message"]
    assert real is not crashing


def _first_event() -> Any:
    from cadenza.trace import RunEvent

    return RunEvent(kind="message", message="started")
