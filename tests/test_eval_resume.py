"""The shared machinery of benchmark runners: results kept as they finish, resumable."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from cadenza.errors import InvalidTaskError
from cadenza.evals.resume import check_config, read_results, run_resumable


@dataclass
class Outcome:
    key: str
    value: int


async def test_jobs_run_concurrently_and_each_is_written_when_it_finishes(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    running = 0
    most = 0

    async def one(job: int) -> Outcome:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01 * (job % 3))
        running -= 1
        return Outcome(str(job), job * 2)

    ticks: list[tuple[int, int]] = []
    done = await run_resumable(
        list(range(7)), one, path, total=9, on_progress=lambda d, t: ticks.append((d, t)),
        concurrency=3,
    )  # fmt: skip
    assert sorted(o.value for o in done) == [0, 2, 4, 6, 8, 10, 12]
    assert most == 3
    assert ticks[0] == (2, 9) and ticks[-1] == (9, 9)
    rows = read_results(path, lambda d: Outcome(**d))
    assert sorted(r.key for r in rows) == [str(i) for i in range(7)]


async def test_a_failing_job_stops_the_others_and_keeps_what_finished(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"

    async def one(job: int) -> Outcome:
        if job == 2:
            raise RuntimeError("boom")
        await asyncio.sleep(0 if job < 2 else 5)
        return Outcome(str(job), job)

    with pytest.raises(ExceptionGroup):
        await run_resumable([0, 1, 2, 3], one, path, total=4, concurrency=2)
    assert {r.key for r in read_results(path, lambda d: Outcome(**d))} <= {"0", "1"}
    path.write_text(path.read_text() + '{"key": "cut')  # an interrupted last line is skipped
    assert all(r.key in ("0", "1") for r in read_results(path, lambda d: Outcome(**d)))


def test_a_folder_keeps_one_configuration(tmp_path: Path) -> None:
    check_config(tmp_path, {"model": "a", "budget": "low"})
    check_config(tmp_path, {"model": "a", "budget": "low"})
    with pytest.raises(InvalidTaskError, match="another model"):
        check_config(tmp_path, {"model": "b", "budget": "low"})
    assert json.loads((tmp_path / "config.json").read_text())["model"] == "a"
