"""Throwaway PostgreSQL clusters on loopback for the tests that need a real server.

`bin_dir()` finds Debian's server binaries (or skips the test); `throwaway_cluster(bin_dir)`
runs a cluster of them (any PostgreSQL's) in a temporary folder, as the `postgres` user
when the tests run as root, and removes it afterwards; `fresh_database` makes an empty
database in it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from test_server_support import bound_socket

__all__ = ["Cluster", "as_postgres_user", "bin_dir", "fresh_database", "throwaway_cluster"]


def bin_dir() -> Path:
    """The folder of Debian's PostgreSQL server binaries (the newest), else of `initdb`
    on the PATH; the test is skipped without either."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        pytest.skip("PostgreSQL server binaries not found: apt-get install -y postgresql")
    return Path(initdb).parent


def as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as `postgres` then."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class Cluster:
    """A throwaway PostgreSQL server: its admin URL, and a way to restart it."""

    url: str
    pg_ctl: list[str]

    def restart(self) -> None:
        """Stop it (ending every connection, as a crash or an upgrade would), start it."""
        subprocess.run(
            [*self.pg_ctl, "-m", "fast", "-w", "-t", "60", "restart"],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def end_connections(self, database: str) -> int:
        """End every backend serving `database`, as an administrator or a failover would."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
        return len(rows)


@contextlib.contextmanager
def throwaway_cluster(bin_dir: Path, *, prefix: str = "cadenza-pg-") -> Iterator[Cluster]:
    """A cluster of the server binaries in `bin_dir`, on 127.0.0.1, in a temporary folder
    named with `prefix`; stopped and removed afterwards."""
    as_user = as_postgres_user()
    base = Path(tempfile.mkdtemp(prefix=prefix))
    if as_user:
        shutil.chown(base, "postgres", "postgres")
    data = base / "data"
    with bound_socket() as sock:
        port = sock.getsockname()[1]
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run(
        [
            *as_user,
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
            *as_user,
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
    pg_ctl = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log")]
    try:
        yield Cluster(f"postgresql://cadenza@127.0.0.1:{port}/postgres", pg_ctl)
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


def fresh_database(admin_url: str, *, prefix: str = "t_") -> str:
    """The URL of a new, empty database in the cluster at `admin_url`."""
    import psycopg

    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + f"/{name}"
