"""bench/jsonschema_runs.py pools eval folders into mean, spread and paired intervals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "jsonschema_runs.py"


def _folder(path: Path, rows: list[tuple[str, str, bool, bool]]) -> Path:
    path.mkdir()
    (path / "report.json").write_text(json.dumps({"budget": "low", "arms": {}}))
    lines = [
        json.dumps(
            {
                "id": i,
                "arm": arm,
                "subset": i.split("/")[0],
                "valid": valid,
                "valid_without_repairs": raw,
                "tokens": 100,
                "calls": 2,
                "seconds": 1.5,
            }
        )
        for i, arm, valid, raw in rows
    ]
    (path / "results.jsonl").write_text("\n".join(lines) + "\n")
    return path


def test_pools_runs_and_compares_with_the_reference(tmp_path: Path) -> None:
    one = _folder(
        tmp_path / "one",
        [
            ("a/1", "cadenza", True, True),
            ("b/2", "cadenza", True, False),
            ("a/1", "constrained", False, False),
            ("b/2", "constrained", True, True),
        ],
    )
    two = _folder(
        tmp_path / "two", [("a/1", "cadenza", True, True), ("b/2", "cadenza", False, False)]
    )
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(one), str(two)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "2 schemas in every run; subsets: a, b" in out
    assert "cadenza (low): 2 run(s)" in out
    assert "coverage 75.0 % (runs 100.0 %, 50.0 %;" in out
    assert "without repairs 50.0 % (runs 50.0 %, 50.0 %)" in out
    assert "a: 100.0 % (100.0 %–100.0 %)" in out and "b: 50.0 % (0.0 %–100.0 %)" in out
    assert "vs constrained: +25.0 pts" in out
