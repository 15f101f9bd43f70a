"""The PostgreSQL store, for real: a throwaway cluster of Debian's postgresql on loopback.

Skipped (with the reason) when the server binaries or psycopg are missing; CI installs
them with `apt-get install -y postgresql` and the `postgres` extra.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cadenza.store import (
    FinishRun,
    InsertRun,
    NodeRow,
    RunRecord,
    RunStatus,
    UpsertNodes,
    open_store,
)
from cadenza.store.migrations import MIGRATIONS
from cadenza.store.postgres import PostgresStore
from test_server_support import bound_socket, server_process, wait_for, wait_until

psycopg = pytest.importorskip("psycopg", reason="pip install 'cadenza[postgres]'")


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as `postgres` then."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 for this module; yields its admin URL."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not found: apt-get install -y postgresql")
    prefix = _as_postgres_user()
    base = Path(tempfile.mkdtemp(prefix="cadenza-pg-"))
    if prefix:
        shutil.chown(base, "postgres", "postgres")
    data = base / "data"
    with bound_socket() as sock:
        port = sock.getsockname()[1]
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run(
        [
            *prefix,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "cadenza",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        **run,
    )  # type: ignore[call-overload]
    subprocess.run(
        [
            *prefix,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-t",
            "60",
            "-l",
            str(base / "log"),
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ],
        **run,
    )  # type: ignore[call-overload]
    try:
        yield f"postgresql://cadenza@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def db_url(cluster: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield cluster.rsplit("/", 1)[0] + f"/{name}"


def record(run_id: str, status: RunStatus = "in_progress", **kw: Any) -> RunRecord:
    now = time.time()
    return RunRecord(
        id=run_id,
        source="api",
        status=status,
        created_at=now,
        updated_at=now,
        request={"input": "hi\x00"},
        **kw,
    )


@contextlib.contextmanager
def opened(url: str) -> Iterator[PostgresStore]:
    store = open_store(url)
    assert isinstance(store, PostgresStore)
    try:
        yield store
    finally:
        store.close()


def test_migrations_on_postgres(db_url: str) -> None:
    names = [m.name for m in MIGRATIONS]
    with opened(db_url) as one, opened(db_url) as two:
        assert one.migrate() == names
        assert two.migrate() == []  # a second process finds them applied
        assert two.applied_migrations() == names
        assert one.check() == "ok"


def test_round_trip_on_postgres(db_url: str) -> None:
    with opened(db_url) as store:
        store.migrate()
        root = NodeRow.of(0, {"id": "n0", "parent": None, "kind": "run", "status": "running"})
        store.apply([InsertRun(record(f"r{i}"), [root]) for i in range(4)])
        child = {"id": "n1", "parent": "n0", "kind": "generate", "status": "ok"}
        store.apply([UpsertNodes("r1", [NodeRow.of(1, {**child, "response": "a\x00b"})])])
        store.apply(
            [
                FinishRun(
                    record(
                        "r1",
                        status="completed",
                        result="answer \x00 NUL",
                        usage={"calls": 2},
                        models=["fake:x"],
                        seconds=1.5,
                    )
                )
            ]
        )
        got = store.get_run("r1")
        assert got is not None and got.status == "completed"
        assert got.result == "answer \x00 NUL" and got.request == {"input": "hi\x00"}
        assert got.usage == {"calls": 2} and got.seconds == 1.5
        assert [n["id"] for n in store.get_nodes("r1")] == ["n0", "n1"]
        assert store.get_nodes("r1")[1]["response"] == "a\x00b"
        assert [r.id for r in store.list_runs()] == ["r3", "r2", "r1", "r0"]
        first = store.list_runs(limit=2)
        assert [r.id for r in store.list_runs(limit=2, before_seq=first[-1].seq)] == ["r1", "r0"]
        assert [r.id for r in store.list_runs(status="completed")] == ["r1"]
        assert store.mark_interrupted() == 3
        r0 = store.get_run("r0")
        assert r0 is not None and (r0.status, r0.error) == ("failed", "interrupted")


def test_server_on_postgres_survives_sigkill(db_url: str, tmp_path: Path) -> None:
    slow = {
        "input": "Say hi",
        "models": ["fake:slow"],
        "budget": {"max_calls": 1000},
        "requirements": [{"description": "Use only lowercase letters"}],
    }
    with (
        server_process(db_url, workdir=tmp_path) as (proc, url),
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        done = [
            http.post("/v1/runs", json={"input": f"t{i}", "models": ["fake:picky"]}).json()
            for i in range(3)
        ]
        finished = {r["id"]: wait_for(http, r["id"]) for r in done}
        victim = http.post("/v1/runs", json=slow).json()["id"]
        wait_until(
            lambda: len(http.get(f"/v1/runs/{victim}/trace").json()["nodes"]) >= 6,
            what="the run to get going",
        )
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    with (
        server_process(db_url, workdir=tmp_path) as (_, url),
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        for run_id, before in finished.items():
            assert http.get(f"/v1/runs/{run_id}").json() == before
        run = http.get(f"/v1/runs/{victim}").json()
        assert run["status"] == "failed" and run["error"] == {"message": "interrupted"}
        assert len(http.get(f"/v1/runs/{victim}/trace").json()["nodes"]) >= 6
