"""bench/ifeval_repetition.py: degenerate answers among those IFEval counts as met."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "ifeval_repetition.py"
_spec = importlib.util.spec_from_file_location("ifeval_repetition", _PATH)
assert _spec is not None and _spec.loader is not None
rep = importlib.util.module_from_spec(_spec)
sys.modules["ifeval_repetition"] = rep
_spec.loader.exec_module(rep)


def test_repeated_share_tells_a_loop_from_prose() -> None:
    loop = "the river runs to the sea and " * 10
    assert rep.repeated_share(loop) > 0.8
    prose = (
        "Rivers carry water from hills to the sea. Along the way they cut valleys, "
        "feed farms and towns, and carry silt that builds deltas where they end."
    )
    assert rep.repeated_share(prose) == 0.0
    assert rep.repeated_share("a a a a a") == 0.0  # too short to judge
    half = " ".join(f"w{i}" for i in range(20)) + " " + "x y z " * 7
    assert rep.repeated_share(half) == pytest.approx(16 / 39)  # 39 grams, 23 unique


def test_tally_counts_met_and_repetitive_per_arm_and_repeat() -> None:
    loop = "the river runs to the sea and " * 10
    rows = [
        {"arm": "cadenza", "strict": [True], "response": loop},
        {"arm": "cadenza", "strict": [True, True], "response": "Short and fine."},
        {"arm": "cadenza", "strict": [True, False], "response": loop},  # not met
        {"arm": "single", "repeat": 1, "strict": [True], "response": None},
    ]
    got = rep.tally(rows)
    assert got["cadenza"] == {"prompts": 3, "met": 2, "repetitive": 1}
    assert got["single #1"] == {"prompts": 1, "met": 1, "repetitive": 0}
    assert rep.tally(rows, threshold=0.99)["cadenza"]["repetitive"] == 0
