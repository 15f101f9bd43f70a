"""Load-test `cadenza serve` on loopback with the scripted fake model.

    .venv/bin/python bench/bench_server.py                     # 400 runs, 32 at a time
    .venv/bin/python bench/bench_server.py --runs 1000 --concurrency 64 --model-delay 0.01

Starts the server in a subprocess (SQLite in a temporary directory unless --db is given),
then drives it with many concurrent Maestro runs over HTTP: each client creates a run,
polls it until it is finished, and repeats. Reports runs/s and p50/p99 latencies of
create, retrieve and whole runs. Bounded in count (--runs) and time (--max-seconds);
it talks to 127.0.0.1 only and stops the server when done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BODY = {
    "input": "Write a one-line greeting.",
    "requirements": [
        {"name": "lowercase", "description": "Use only lowercase letters"},
        {"name": "short", "description": "At most ten words", "is_mandatory": True},
    ],
    "budget": "low",
    "include": ["requirements_result"],
}


def serve(db_url: str, model_delay: float) -> None:
    """The server side (run in a subprocess): fake models that take `model_delay` s."""
    from cadenza.models.base import Model
    from cadenza.runner import RunOptions
    from cadenza.server import ServerSettings, run_server
    from cadenza.testing import ScriptedModel

    def resolver(name: str) -> Model:
        return ScriptedModel(
            name=name, delay=model_delay, default="hello there friend", max_concurrency=64
        )

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    settings = ServerSettings(
        db_url=db_url,
        models=("fake:bench",),
        options=RunOptions(compile_requirements=False),
        max_active_runs=10_000,
    )
    run_server(settings, resolver=resolver, log_level="warning", sock=sock)


@dataclass
class Stats:
    create: list[float] = field(default_factory=list)
    retrieve: list[float] = field(default_factory=list)
    run: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    completed: int = 0


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; Linux only."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def client(
    url: str, n_runs: int, concurrency: int, deadline: float, poll_s: float, stats: Stats
) -> None:
    remaining = n_runs
    lock = asyncio.Lock()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:

        async def worker() -> None:
            nonlocal remaining
            while time.monotonic() < deadline:
                async with lock:
                    if remaining <= 0:
                        return
                    remaining -= 1
                t0 = time.perf_counter()
                try:
                    r = await http.post("/studio/v1/maestro/runs", json=BODY)
                except httpx.TransportError as exc:
                    stats.errors.append(f"create: {exc!r}")
                    continue
                stats.create.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    stats.errors.append(f"create {r.status_code}: {r.text[:200]}")
                    continue
                run_id = r.json()["id"]
                status = r.json()["status"]
                while status == "in_progress" and time.monotonic() < deadline:
                    await asyncio.sleep(poll_s)
                    t1 = time.perf_counter()
                    try:
                        g = await http.get(f"/studio/v1/maestro/runs/{run_id}")
                    except httpx.TransportError as exc:
                        stats.errors.append(f"retrieve: {exc!r}")
                        continue
                    stats.retrieve.append(time.perf_counter() - t1)
                    if g.status_code != 200:
                        stats.errors.append(f"retrieve {g.status_code}: {g.text[:200]}")
                        break
                    status = g.json()["status"]
                if status == "completed":
                    stats.completed += 1
                    stats.run.append(time.perf_counter() - t0)
                elif status != "in_progress":
                    stats.errors.append(f"run {run_id} ended {status}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=400, help="total runs (default 400)")
    ap.add_argument("--concurrency", type=int, default=32, help="clients at once (default 32)")
    ap.add_argument(
        "--model-delay",
        type=float,
        default=0.005,
        help="seconds each fake model call takes (default 0.005)",
    )
    ap.add_argument("--poll", type=float, default=0.02, help="poll interval, s (default 0.02)")
    ap.add_argument("--max-seconds", type=float, default=120, help="stop after this long")
    ap.add_argument("--db", default=None, help="database URL (default: a temporary SQLite)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON only")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.db, args.model_delay)
        return 0

    with tempfile.TemporaryDirectory(prefix="cadenza-bench-") as tmp:
        db = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                "--db",
                db,
                "--model-delay",
                str(args.model_delay),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            url = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            stats = Stats()
            cpu_before = cpu_seconds(proc.pid)
            started = time.monotonic()
            asyncio.run(
                client(
                    url, args.runs, args.concurrency, started + args.max_seconds, args.poll, stats
                )
            )
            wall = time.monotonic() - started
            cpu_after = cpu_seconds(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            if proc.stdout is not None:
                proc.stdout.close()

    ms = 1000.0
    figures = {
        "runs": args.runs,
        "concurrency": args.concurrency,
        "model_delay_s": args.model_delay,
        "completed": stats.completed,
        "errors": len(stats.errors),
        "seconds": round(wall, 2),
        "runs_per_s": round(stats.completed / wall, 1),
        "server_cpu_ms_per_run": (
            round((cpu_after - cpu_before) / max(1, stats.completed) * ms, 2)
            if cpu_before is not None and cpu_after is not None
            else None
        ),
        "server_cpu_share": (
            round((cpu_after - cpu_before) / wall, 2)
            if cpu_before is not None and cpu_after is not None
            else None
        ),
        "create_ms": {
            "p50": round(pct(stats.create, 0.5) * ms, 1),
            "p99": round(pct(stats.create, 0.99) * ms, 1),
            "n": len(stats.create),
        },
        "retrieve_ms": {
            "p50": round(pct(stats.retrieve, 0.5) * ms, 1),
            "p99": round(pct(stats.retrieve, 0.99) * ms, 1),
            "n": len(stats.retrieve),
        },
        "run_ms": {
            "p50": round(pct(stats.run, 0.5) * ms, 1),
            "p99": round(pct(stats.run, 0.99) * ms, 1),
            "mean": round(statistics.fmean(stats.run) * ms, 1) if stats.run else None,
        },
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"{stats.completed}/{args.runs} runs completed in {wall:.1f} s with "
            f"{args.concurrency} concurrent clients: {figures['runs_per_s']} runs/s"
        )
        if figures["server_cpu_ms_per_run"] is not None:
            print(
                f"  server CPU {figures['server_cpu_ms_per_run']} ms per run (busy "
                f"{figures['server_cpu_share']:.0%} of one core; the rest is the load generator)"
            )
        for name in ("create_ms", "retrieve_ms", "run_ms"):
            f = figures[name]
            assert isinstance(f, dict)
            print(f"  {name[:-3]:<9} p50 {f['p50']:>7} ms   p99 {f['p99']:>7} ms")
        for err in stats.errors[:5]:
            print("  error:", err)
    return 1 if stats.errors or stats.completed < args.runs else 0


if __name__ == "__main__":
    sys.exit(main())
