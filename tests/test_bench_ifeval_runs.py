"""bench/ifeval_runs.py pools eval folders into mean, spread and paired intervals."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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


def _run(*args: Path | str) -> str:
    """The script's output for `args`; fails the test if it exits with an error."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


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
    out = _run(one, two)
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
    out = _run(one, two, "--data", data)
    assert "[1] cadenza (code, low)" in out
    (comma,) = [line for line in out.splitlines() if line.startswith("punctuation:no_comma")]
    (capital,) = [line for line in out.splitlines() if line.startswith("change_case:")]
    # no_comma: 2 instructions in the data; met in 2 of the 3 attempts over both runs
    assert comma.split()[1:] == ["2", "67%"]
    assert capital.split()[1:] == ["1", "50%"]


def test_plot_draws_one_point_per_budget(tmp_path: Path) -> None:
    cheap = _folder(tmp_path / "cheap", {"max_tokens": 700}, [("1", "cadenza", [False], 500)])
    dear = _folder(tmp_path / "dear", "low", [("1", "cadenza", [True], 1500)])
    again = _folder(tmp_path / "again", "low", [("1", "cadenza", [False], 900)])
    png = tmp_path / "curve.png"
    out = _run(cheap, dear, again, "--plot", png)
    assert f"curve: {png}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import ifeval_runs  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(SCRIPT.parent))
    drawn: list[object] = []
    argv = [str(SCRIPT), str(cheap), str(dear), str(again), "--plot", str(png)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", argv)
        mp.setattr(ifeval_runs, "plot_curve", lambda points, path: drawn.extend(points))
        ifeval_runs.main()
    # label, prompts, tokens, mean %, lowest and highest run %: low's two runs pooled
    assert sorted(drawn, key=str) == [
        ("cadenza (code, low)", 1, 1200.0, 50.0, 0.0, 100.0),
        ('cadenza (code, {"max_tokens": 700})', 1, 500.0, 0.0, 0.0, 0.0),
    ]


def test_plot_with_nothing_to_draw_says_so(tmp_path: Path) -> None:
    empty = _folder(tmp_path / "empty", "low", [])
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(empty), "--plot", str(tmp_path / "curve.png")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "--plot: no configuration" in done.stderr
    assert not (tmp_path / "curve.png").exists()
