"""The shared machinery of benchmark runners: results kept as they finish, resumable."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from cadenza.errors import InvalidTaskError
from cadenza.evals.resume import check_config, read_results, run_resumable
from cadenza.evals.runs import by_arm, load_jsonl, run_arms


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


@dataclass
class ArmResult:
    item: str
    arm: str
    value: int


async def test_run_arms_runs_only_the_missing_pairs_of_these_items(tmp_path: Path) -> None:
    earlier = [ArmResult("a", "x", 1), ArmResult("gone", "x", 9)]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(asdict(r)) + "\n" for r in earlier))
    ran: list[tuple[str, str]] = []

    async def one(item: str, arm: str) -> ArmResult:
        ran.append((item, arm))
        return ArmResult(item, arm, 2)

    ticks: list[tuple[int, int]] = []
    got = await run_arms(
        ["a", "b"], ("x", "y"), one, tmp_path,
        item_key=lambda item: item, outcome_key=lambda o: o.item,
        parse=lambda d: ArmResult(**d), on_progress=lambda d, t: ticks.append((d, t)),
    )  # fmt: skip
    assert sorted(ran) == [("a", "y"), ("b", "x"), ("b", "y")]
    assert got[0] == ArmResult("a", "x", 1)  # found in the file, first
    assert sorted((o.item, o.arm) for o in got) == [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")]
    assert ticks[0] == (1, 4) and ticks[-1] == (4, 4)
    assert len(read_results(tmp_path / "results.jsonl", lambda d: ArmResult(**d))) == 5
    grouped = by_arm(got, ["y", "z", "x"])
    assert list(grouped) == ["y", "x"] and len(grouped["x"]) == 2


def test_load_jsonl_skips_refused_rows_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"n": 1}\nnot json\n\n{"n": "two"}\n{"n": 3}\n{"n": 4}\n{"n": "five"}\n')

    def parse(data: Any, line: int) -> tuple[int, int]:
        if not isinstance(data["n"], int):
            raise ValueError("n must be a number")
        return data["n"], line

    rows, skipped = load_jsonl(path, parse, limit=2)
    assert rows == [(1, 1), (3, 5)]
    assert skipped == ["d.jsonl line 2: Expecting value: line 1 column 1 (char 0)",
                       "d.jsonl line 4: n must be a number"]  # fmt: skip
    with pytest.raises(TypeError):  # an error the caller does not list is not a bad row
        load_jsonl(path, lambda d, _: d["n"] + 0, errors=(ValueError,))
    with pytest.raises(InvalidTaskError, match="cannot read"):
        load_jsonl(tmp_path / "missing.jsonl", parse)
