"""Bad input and fuzzing: oversized bodies get 413, and schemathesis, generating requests
from the server's own OpenAPI schema, finds no 5xx (and no response off the schema)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Err, Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from cadenza.server.settings import MiB
from test_server_support import ServerThread
from test_server_support import settings as server_settings

MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    db = tmp_path_factory.mktemp("fuzz") / "runs.db"
    with ServerThread(server_settings(db, max_body_bytes=64 * 1024)) as srv:
        yield srv


def test_no_server_errors_on_generated_requests(server: ServerThread) -> None:
    """Every operation, MAX_EXAMPLES valid and as many invalid requests (schemathesis's Python API:
    its lazy pytest fixture loader does not run on this pytest)."""
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
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
    assert operations >= 20
    assert not failures, "\n\n".join(failures)


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
