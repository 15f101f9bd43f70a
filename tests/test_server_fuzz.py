"""Bad input and fuzzing: oversized bodies get 413; schemathesis, generating requests from
the server's own OpenAPI schema (every operation: bodies, query and path parameters, any
Unicode), finds no 5xx and no response off the schema; a second fuzzer sends what a
schema cannot describe (any path under every route, including /static, any query string,
raw JSON with lone surrogates and deep nesting); and no request, however bad, makes a
later request fail, across a restart (issue 9, item 4)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Err, Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from cadenza.server.settings import MiB
from test_server_support import ServerThread, sse_events, wait_for
from test_server_support import settings as server_settings

MAX_EXAMPLES = 25
RAW_EXAMPLES = 150


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    db = tmp_path_factory.mktemp("fuzz") / "runs.db"
    with ServerThread(server_settings(db, max_body_bytes=64 * 1024)) as srv:
        yield srv


def test_no_server_errors_on_generated_requests(server: ServerThread) -> None:
    """Every operation, MAX_EXAMPLES valid and as many invalid requests (schemathesis's Python API:
    its lazy pytest fixture loader does not run on this pytest)."""
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    # Any Unicode a request can carry (every code point UTF-8 can encode, NUL included) in
    # bodies, query and path parameters, and parameters the schema does not declare.
    schema.config.generation.update(codec="utf-8", allow_x00=True, allow_extra_parameters=True)
    failures: list[str] = []
    operations = 0
    results = list(schema.get_all_operations())
    bad = [r.err() for r in results if isinstance(r, Err)]
    assert not bad, f"the server's OpenAPI schema has invalid operations: {bad}"
    cases = [
        (r.ok(), mode)
        for r in results
        if isinstance(r, Ok)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    for operation, mode in cases:
        operations += 1

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(
                checks=[schemathesis.checks.not_a_server_error, response_schema_conformance],
                timeout=30,
            )

        try:
            check()
        except Unsatisfiable:  # no invalid input exists: e.g. any string is a valid run id
            assert mode == GenerationMode.NEGATIVE
        except Exception as exc:  # collect them all, then fail with every one
            failures.append(f"{operation.label} ({mode}): {exc}")
    assert operations >= 26  # 13 operations, each valid and invalid
    assert not failures, "\n\n".join(failures)
    paths = {r.ok().path for r in results if isinstance(r, Ok)}
    assert {"/v1/runs", "/v1/runs/{run_id}", "/", "/runs/{run_id}", "/healthz"} <= paths
    with server.client() as http:
        assert_reads_work(http)


def test_oversized_bodies_are_refused_with_413(server: ServerThread) -> None:
    big = {"input": "x" * (64 * 1024 + 1)}
    with server.client() as http:
        r = http.post("/studio/v1/maestro/runs", json=big)
        assert r.status_code == 413
        assert "at most 65536 bytes" in r.json()["error"]["message"]
        r = http.post(
            "/v1/chat/completions",
            json={"model": "cadenza", "messages": [{"role": "user", "content": "y" * 70_000}]},
        )
        assert r.status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
            yield b'{"input": "'
            for _ in range(80):
                yield b"z" * 1024
            yield b'"}'

        r = http.post("/v1/runs", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        small = http.post("/v1/runs", json={"input": "small", "models": ["fake:x"]})
        assert small.status_code == 200


def test_lying_content_length_is_refused(server: ServerThread) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 99999999\r\n\r\n{}"
        )
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 413")


def test_default_limit_is_one_mebibyte() -> None:
    from cadenza.server import ServerSettings

    assert ServerSettings().max_body_bytes == MiB == 1 << 20


def test_unknown_paths_and_methods(server: ServerThread) -> None:
    with httpx.Client(base_url=server.url) as http:
        r = http.get("/v2/nothing")
        assert r.status_code == 404 and "no such endpoint" in r.json()["error"]["message"]
        r = http.delete("/v1/runs")
        assert r.status_code == 405 and "not allowed" in r.json()["error"]["message"]


# -- item 4: the 500s that were reported ---------------------------------------------------
@pytest.mark.parametrize(
    "cursor", ["²", "¹²", "٣", "99999999999999999999", "9223372036854775808", "-1", "1e3", " 1", ""]
)
def test_bad_cursors_are_4xx(server: ServerThread, cursor: str) -> None:
    with server.client() as http:
        r = http.get("/v1/runs", params={"cursor": cursor})
        if cursor == "":  # no cursor: the first page
            assert r.status_code == 200
            return
        assert r.status_code == 422, r.text
        assert r.json()["error"]["param"] == "query.cursor"
        assert http.get("/v1/runs", params={"cursor": "123456789012345678"}).status_code == 200


@pytest.mark.parametrize("depth", [202, 900, 5_000])
def test_deeply_nested_json_is_4xx_on_every_post(server: ServerThread, depth: int) -> None:
    nested_list = "[" * depth + "]" * depth
    nested_object = '{"a":' * depth + "1" + "}" * depth
    bodies = {
        "/v1/runs": '{"input": "x", "requirements": [{"description": "d", "validator_args": %s}]}',
        "/studio/v1/maestro/runs": '{"input": "x", "tools": [%s]}',
        "/v1/chat/completions": '{"model": "cadenza", "messages": [], "extra": %s}',
        "/v1/runs/some-id/cancel": "%s",
    }
    with server.client() as http:
        for path, template in bodies.items():
            for nested in (nested_list, nested_object):
                r = http.post(path, content=template % nested, headers=JSON)
                assert r.status_code == 422, (path, r.text[:200])
                assert "nested more than 200 levels" in r.json()["error"]["message"]


# -- a fuzzer for what a schema cannot describe --------------------------------------------
JSON = {"content-type": "application/json"}
ANY_CHAR = st.characters(codec=None, exclude_categories=())  # lone surrogates included
ANY_TEXT = st.text(ANY_CHAR, max_size=20)
QUERY_NAMES = st.sampled_from(["status", "limit", "cursor", "offset", "include", "stream", "x"])
PATHS = [
    "/v1/runs",
    "/v1/runs/{}",
    "/v1/runs/{}/cancel",
    "/v1/runs/{}/events",
    "/v1/runs/{}/trace",
    "/studio/v1/maestro/runs",
    "/studio/v1/maestro/runs/{}",
    "/v1/chat/completions",
    "/v1/models",
    "/v1/models/{}",
    "/",
    "/runs/{}",
    "/static/{}",
    "/healthz",
    "/openapi.json",
    "/{}",
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)


def _segment(text: str) -> str:
    """`text` as a URL path segment: percent-encoded UTF-8 (a lone surrogate as the bytes
    Python would give it, which are not UTF-8)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def raw_requests(draw: Any) -> tuple[str, str, dict[str, str], bytes | None]:
    """(method, path with query, headers, body) for any route, the body raw JSON text."""
    template = draw(st.sampled_from(PATHS))
    segment = _segment(draw(st.one_of(ANY_TEXT, st.sampled_from(["..", "%00", "a/b", "²"]))))
    path = template.replace("{}", segment) if "{}" in template else template
    query = draw(st.lists(st.tuples(QUERY_NAMES, ANY_TEXT), max_size=3))
    if query:
        path += "?" + "&".join(f"{_segment(k)}={_segment(v)}" for k, v in query)
    method = draw(st.sampled_from(["GET", "POST", "GET", "POST", "DELETE", "PUT"]))
    body: bytes | None = None
    if method in ("POST", "PUT"):
        value = draw(
            st.one_of(
                st.fixed_dictionaries({"input": ANY_TEXT}, optional={"extra": JSON_VALUES}),
                st.fixed_dictionaries(
                    {
                        "model": st.sampled_from(["cadenza", "cadenza/fake:x"]) | ANY_TEXT,
                        "messages": st.lists(
                            st.fixed_dictionaries({"role": st.just("user"), "content": ANY_TEXT}),
                            max_size=2,
                        ),
                    }
                ),
                JSON_VALUES,
            )
        )
        # ensure_ascii: a lone surrogate is written as the escape "\\udXXX", as a client would
        body = json.dumps(value).encode()
    return method, path, JSON if body is not None else {}, body


def fuzz_raw(url: str, examples: int) -> list[str]:
    """Send `examples` raw requests; return those answered with a 5xx."""
    failures: list[str] = []
    with httpx.Client(base_url=url, timeout=30) as http:

        @given(request=raw_requests())
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(request: tuple[str, str, dict[str, str], bytes | None]) -> None:
            method, path, headers, body = request
            if path.split("?")[0].endswith("/events"):  # a stream: its first bytes suffice
                with http.stream(method, path, headers=headers, content=body) as r:
                    status = r.status_code
            else:
                status = http.request(method, path, headers=headers, content=body).status_code
            if status >= 500:
                failures.append(f"{status} {method} {path} {body!r}")

        check()
    return failures


EXPLICIT_POISON = [
    ("POST", "/v1/runs", b'{"input": "poison \\\\ud800 \\ud800"}'),
    ("POST", "/studio/v1/maestro/runs", b'{"input": [{"role": "user", "content": "\\udfff"}]}'),
    (
        "POST",
        "/v1/chat/completions",
        b'{"model": "cadenza", "messages": [{"role": "user", "content": "hi", "\\ud800": 1}]}',
    ),
    ("POST", "/v1/runs", b'{"input": "x", "budget": {"max_calls": 2}, "system_prompt": "\\udc00"}'),
    ("POST", "/v1/runs", b'{"input": "ok \xed\xa0\x80"}'),
    ("GET", "/v1/runs?cursor=%C2%B2", None),
    ("GET", "/v1/runs?cursor=99999999999999999999", None),
]


def assert_reads_work(http: httpx.Client) -> None:
    """What a well-behaved client does still works: every page of the list, every run's
    views, the models, the page, and a new run."""
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        page = http.get("/v1/runs", params=params)
        assert page.status_code == 200, page.text
        seen += page.json()["data"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    for run in seen:
        for path in (
            f"/v1/runs/{run['id']}",
            f"/v1/runs/{run['id']}/trace",
            f"/studio/v1/maestro/runs/{run['id']}",
            f"/runs/{run['id']}",
        ):
            r = http.get(path)
            assert r.status_code == 200, (path, r.text)
        if run["status"] != "in_progress":
            events = http.get(f"/v1/runs/{run['id']}/events")
            assert events.status_code == 200
            assert [name for name, _ in sse_events(events.text)] == ["snapshot", "done"]
    for path in ("/v1/models", "/", "/healthz", "/static/app.js", "/openapi.json"):
        assert http.get(path).status_code == 200, path
    fresh = http.post("/v1/runs", json={"input": "still fine?"})
    assert fresh.status_code == 200, fresh.text
    assert wait_for(http, fresh.json()["id"])["status"] == "completed"


def test_no_request_makes_a_later_request_fail(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    with ServerThread(server_settings(db, max_body_bytes=64 * 1024)) as srv:
        with srv.client() as http:
            for method, path, body in EXPLICIT_POISON:
                r = http.request(method, path, content=body, headers=JSON)
                assert 400 <= r.status_code < 500, (method, path, body, r.text)
        failures = fuzz_raw(srv.url, RAW_EXAMPLES)
        assert not failures, "\n".join(failures)
        with srv.client() as http:
            assert_reads_work(http)
    with ServerThread(server_settings(db)) as srv, srv.client() as http:  # after a restart
        assert_reads_work(http)


def test_the_raw_fuzzer_reaches_every_route(server: ServerThread) -> None:
    """PATHS covers every route the app serves, so that a new one is fuzzed too."""
    from starlette.routing import Mount, Route

    routes = {r.path for r in server.app.routes if isinstance(r, Route | Mount)}
    templates = {p.replace("{}", "{run_id}") for p in PATHS}
    templates |= {"/v1/models/{model_id:path}", "/static", "/runs/{run_id}"}
    assert routes <= templates, routes - templates
