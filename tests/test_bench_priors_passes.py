"""bench/priors_passes.py: second passes against first passes, paired by prompt."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

_PATH = Path(__file__).resolve().parent.parent / "bench" / "priors_passes.py"
_spec = importlib.util.spec_from_file_location("priors_passes", _PATH)
assert _spec is not None and _spec.loader is not None
passes = importlib.util.module_from_spec(_spec)
sys.modules["priors_passes"] = passes
_spec.loader.exec_module(passes)


def run(met: list[bool], tokens: list[int]) -> dict[str, dict[str, Any]]:
    return {
        str(i): {"strict": [m], "tokens": t}
        for i, (m, t) in enumerate(zip(met, tokens, strict=True))
    }


def test_a_cheaper_more_accurate_second_pass() -> None:
    keys = [str(i) for i in range(4)]
    first = run([True, False, False, True], [100, 200, 200, 100])
    second = run([True, True, False, True], [50, 100, 200, 50])
    c = passes.compare(keys, [first], [second], resamples=200)
    assert c["points"] == 25.0 and (c["won"], c["lost"]) == (1, 0)
    assert c["ratio"] == 400 / 600
    lo, hi = c["ratio_interval"]
    assert lo <= c["ratio"] <= hi


def test_repeats_are_averaged_per_prompt() -> None:
    keys = ["0", "1"]
    firsts = [run([True, False], [100, 100]), run([False, False], [300, 100])]
    seconds = [run([True, True], [100, 100])]
    c = passes.compare(keys, firsts, seconds, resamples=100)
    # prompt 0: 1 - 0.5, prompt 1: 1 - 0 -> mean 0.75; tokens 200 vs mean (200 + 100)
    assert c["points"] == 75.0 and c["ratio"] == 200 / 300
    assert (c["won"], c["lost"]) == (2, 0)
    same = passes.compare(keys, firsts, firsts, resamples=100)
    assert same["points"] == 0.0 and same["ratio"] == 1.0 and same["won"] == same["lost"] == 0
