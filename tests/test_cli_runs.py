"""`cadenza runs ls` and `cadenza runs prune`, in-process on a SQLite file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cadenza.store import FinishRun, InsertRun, NodeRow, RunRecord, opened_store
from in_process_cli import run_cli


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    day = 86400.0
    now = time.time()
    node = {"id": "n0", "parent": None, "kind": "run", "status": "ok", "messages": []}
    with opened_store(url) as store:
        for name, age in [("run-old", 40 * day), ("run-new", 60.0), ("run-live", 40 * day)]:
            t = now - age
            rec = RunRecord(
                id=name,
                source="api",
                status="in_progress",
                created_at=t,
                updated_at=t,
                request={"input": f"the input of {name}"},
            )
            store.apply([InsertRun(rec, [NodeRow.of(0, node)])])
            if name != "run-live":
                rec.status, rec.finished_at = "completed", t
                rec.requirements_result = {"score": 1.0, "finish_reason": "all_requirements_met"}
                store.apply([FinishRun(rec)])
    return url


def test_runs_ls(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "runs", "ls", "--db", db)
    assert code == 0
    assert out.index("run-live") < out.index("run-new") < out.index("run-old")
    assert "the input of run-new" in out and "all_requirements_met" in out
    code, out, _ = run_cli(
        monkeypatch, capsys, "runs", "ls", "--db", db, "--json", "--status", "completed"
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["run-new", "run-old"]
    assert rows[0]["input_preview"] == "the input of run-new" and rows[0]["score"] == 1.0


def test_runs_prune(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "runs", "prune", "--older-than", "30d", "--db", db)
    assert (code, out.strip()) == (0, "deleted 1 run(s) that finished over 30d ago")
    with opened_store(db) as store:
        assert {r.id for r in store.list_runs()} == {"run-new", "run-live"}
        assert store.get_nodes("run-old") == []
    code, out, _ = run_cli(monkeypatch, capsys, "runs", "prune", "--older-than", "1s", "--db", db)
    assert code == 0 and "deleted 1 run(s)" in out  # never the run in progress
    with opened_store(db) as store:
        assert [r.id for r in store.list_runs()] == ["run-live"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["runs", "prune", "--older-than", "30 days"], "'30 days' is not a duration"),
        (["runs", "prune"], "Missing option '--older-than'"),
        (["runs", "prune", "--older-than", "1d", "--db", "mysql://x/y"], "unsupported database"),
        (["serve", "--retention", "forever"], "'forever' is not a duration"),
    ],
)
def test_runs_usage_errors(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    needle: str,
) -> None:
    code, out, err = run_cli(monkeypatch, capsys, *args)
    assert code == 2
    assert needle in err and "Traceback" not in err + out
