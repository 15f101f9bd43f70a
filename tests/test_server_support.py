"""Helpers for the server tests (no tests here): scripted models, servers on loopback.

Model names the fake resolver understands:

- ``fake:<anything>``  answers "scripted answer"; its judge accepts everything.
- ``fake:picky``       answers "Hello, World", and "hello world" when asked to revise; its
                       judge checks lowercase / no-comma requirements for real.
- ``fake:slow``        each call takes SLOW_DELAY s (``fake:slow-0.3``: 0.3 s) and the judge
                       never fully accepts, so a run goes on until its budget or patience
                       runs out: for live views, cancel and kill tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import uvicorn

from cadenza.errors import UnknownModelError
from cadenza.models.base import Model, ModelRequest
from cadenza.runner import RunOptions
from cadenza.server import ServerSettings, create_app
from cadenza.server.model_pool import Resolver
from cadenza.testing import ScriptedModel

TESTS_DIR = Path(__file__).parent
SLOW_DELAY = 0.12


def _picky_answer(request: ModelRequest) -> str:
    last = request.messages[-1].content
    return "hello world" if "Rewrite your answer" in last else "Hello, World"


def _picky_judge(requirement: str, text: str) -> float:
    req = requirement.lower()
    if "lowercase" in req:
        return 1.0 if text == text.lower() else 0.0
    if "comma" in req:
        return 0.0 if "," in text else 1.0
    return 1.0


def fake_resolver(name: str) -> Model:
    if not name.startswith("fake:"):
        raise UnknownModelError(f"unknown model {name!r}: the test server knows fake:* only")
    kind = name.split(":", 1)[1]
    if kind == "picky":
        return ScriptedModel(name=name, default=_picky_answer, judge=_picky_judge)
    if kind.startswith("slow"):
        delay = float(kind.removeprefix("slow-")) if kind.startswith("slow-") else SLOW_DELAY
        return ScriptedModel(
            name=name, delay=delay, default="a slow answer", judge=lambda req, text: 0.4
        )
    return ScriptedModel(name=name)


def run_options() -> RunOptions:
    return RunOptions(compile_requirements=False)


def settings(db: Path | str, **kw: Any) -> ServerSettings:
    """Test settings: `db` is a SQLite file, or a database URL."""
    base: dict[str, Any] = {
        "db_url": db if isinstance(db, str) and "://" in db else f"sqlite:///{db}",
        "models": ("fake:default",),
        "allow_fake_models": True,
        "options": run_options(),
        "shutdown_grace_s": 2.0,
    }
    base.update(kw)
    return ServerSettings(**base)


def bound_socket() -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only then (else ~40 ms per response)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class AppThread:
    """Any ASGI app served by uvicorn on 127.0.0.1 in a thread (e.g. a fake upstream)."""

    def __init__(self, app: Any, *, lifespan: str = "on") -> None:
        self.app = app
        self.sock = bound_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", ws="none", lifespan=lifespan)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kw)


class ServerThread(AppThread):
    """cadenza's server on 127.0.0.1 in a thread, for the SDKs and the browser. Models
    resolve through `resolver` (default: the scripted fakes above; None: cadenza's own
    registry)."""

    def __init__(
        self,
        server_settings: ServerSettings,
        *,
        resolver: Resolver | None = fake_resolver,
        **app_options: Any,
    ) -> None:
        super().__init__(create_app(server_settings, resolver=resolver, **app_options))


def wait_for(client: httpx.Client, run_id: str, *, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
        if run["status"] != "in_progress":
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still in progress after {timeout} s")
        time.sleep(0.05)


def wait_until(predicate: Any, *, timeout: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- a server in a subprocess, for restarts and SIGKILL --------------------------------
LAUNCHER = """
import socket, sys
sys.path.insert(0, {tests!r})
from test_server_support import fake_resolver, settings
from cadenza.server import run_server
from pathlib import Path
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[2])))
print(sock.getsockname()[1], flush=True)
db = sys.argv[1] if "://" in sys.argv[1] else Path(sys.argv[1])
run_server(settings(db), resolver=fake_resolver, log_level="warning", sock=sock)
"""


@contextlib.contextmanager
def server_process(
    db: Path | str, port: int = 0, *, workdir: Path | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`cadenza.server.run_server` in a subprocess on `db` (a SQLite file or a URL)."""
    where = workdir or (db.parent if isinstance(db, Path) else Path(tempfile.mkdtemp()))
    script = where / "launch_server.py"
    script.write_text(LAUNCHER.format(tests=str(TESTS_DIR)))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.strip():
            raise RuntimeError(f"server did not start: {proc.stderr.read() if proc.stderr else ''}")
        url = f"http://127.0.0.1:{int(line)}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read() if proc.stderr else ""
                raise RuntimeError(f"server did not come up: {err}")
            time.sleep(0.05)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def sse_events(text: str) -> list[tuple[str, Any]]:
    """Parse a server-sent event stream into (event, data) pairs; comments are skipped."""
    events = []
    for block in text.split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if data:
            raw = "\n".join(data)
            events.append((name, raw if raw == "[DONE]" else json.loads(raw)))
    return events
