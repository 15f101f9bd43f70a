"""bench/ifeval_runs.py pools eval folders into mean, spread and paired intervals."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "ifeval_runs.py"


def _folder(path: Path, budget: object, rows: list[tuple[str, str, list[bool], int]]) -> Path:
    path.mkdir()
    report: dict[str, Any] = {"mode": "code", "budget": budget, "samples": 8, "arms": {}}
    (path / "report.json").write_text(json.dumps(report))
    lines = [
        json.dumps({"key": k, "arm": a, "strict": s, "tokens": t, "calls": 2})
        for k, a, s, t in rows
    ]
    (path / "results.jsonl").write_text("\n".join(lines) + "\n")
    return path


def test_pools_runs_of_the_same_configuration(tmp_path: Path) -> None:
    cap = {"max_tokens": 1400}
    one = _folder(
        tmp_path / "one",
        cap,
        [
            ("1", "cadenza", [True, True], 100),
            ("2", "cadenza", [True, False], 300),
            ("1", "oracle", [False, True], 800),
            ("2", "oracle", [False], 800),
        ],
    )
    two = _folder(
        tmp_path / "two",
        cap,
        [("1", "cadenza", [True], 200), ("2", "cadenza", [True], 200)],
    )
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(one), str(two)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (row,) = [line for line in out.splitlines() if line.startswith("cadenza")]
    # runs: 50 % and 100 % -> mean 75 %, lowest 50 %, highest 100 %; tokens (100+300+200+200)/4
    assert '(code, {"max_tokens": 1400})' in row
    assert " 2 " in row and "75.0%" in row and "50.0-100.0%" in row and " 200 " in row
    # paired with the oracle (0 of 2): +75 points on 2 prompts
    assert "+75.0 pts" in row and "on 2" in row
    (oracle,) = [line for line in out.splitlines() if line.startswith("oracle best-of-8")]
    assert "0.0%" in oracle


def test_bootstrap_interval_contains_the_mean() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import ifeval_runs  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(SCRIPT.parent))
    values = [1.0] * 30 + [0.0] * 70
    lo, hi = ifeval_runs.bootstrap(values, random.Random(0), n=2000)
    assert 0.2 < lo < 0.3 < hi < 0.4


def test_data_adds_the_share_met_per_instruction_type(tmp_path: Path) -> None:
    data = tmp_path / "dev.jsonl"
    rows = [
        {"key": 1, "instruction_id_list": ["punctuation:no_comma", "change_case:english_capital"]},
        {"key": 2, "instruction_id_list": ["punctuation:no_comma"]},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    one = _folder(
        tmp_path / "one",
        "low",
        [("1", "cadenza", [True, False], 100), ("2", "cadenza", [False], 100)],
    )
    two = _folder(tmp_path / "two", "low", [("1", "cadenza", [True, True], 100)])
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(one), str(two), "--data", str(data)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "[1] cadenza (code, low)" in out
    (comma,) = [line for line in out.splitlines() if line.startswith("punctuation:no_comma")]
    (capital,) = [line for line in out.splitlines() if line.startswith("change_case:")]
    # no_comma: 2 instructions in the data; met in 2 of the 3 attempts over both runs
    assert comma.split()[1:] == ["2", "67%"]
    assert capital.split()[1:] == ["1", "50%"]


def test_plot_draws_one_point_per_budget(tmp_path: Path) -> None:
    cheap = _folder(tmp_path / "cheap", {"max_tokens": 700}, [("1", "cadenza", [False], 500)])
    dear = _folder(tmp_path / "dear", "low", [("1", "cadenza", [True], 1500)])
    png = tmp_path / "curve.png"
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(cheap), str(dear), "--plot", str(png)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"curve: {png}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
