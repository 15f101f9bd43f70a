"""How many of the answers IFEval counts as met are degenerate repetition.

    .venv/bin/python bench/ifeval_repetition.py DIR [DIR ...] [--threshold 0.5]

IFEval's strict checks score form (word counts, case, highlights, ...), not content: a
135M model's answer that repeats one line forty times can meet "at least 300 words" and
"no commas". For each folder's `results.jsonl` (of `cadenza eval ifeval` or of
`bench/peers/run.py`), per arm and run: the prompts met, those whose answer is
repetitive (more than `threshold` of its word 3-grams are repeats of earlier ones), and
the share met by an answer that is not.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["repeated_share", "tally"]

_WORD = re.compile(r"\w+")


def repeated_share(text: str) -> float:
    """The share of the text's word 3-grams that repeat an earlier one (0 for fewer than
    12 words: too short to call repetitive)."""
    words = _WORD.findall(text.lower())
    if len(words) < 12:
        return 0.0
    grams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return 1.0 - len(set(grams)) / len(grams)


def tally(rows: list[dict[str, Any]], threshold: float = 0.5) -> dict[str, dict[str, int]]:
    """Per arm (and repeat, when rows have one): prompts, met, met by a repetitive answer."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"prompts": 0, "met": 0, "repetitive": 0})
    for row in rows:
        arm = str(row["arm"]) + (f" #{row['repeat']}" if "repeat" in row else "")
        t = out[arm]
        t["prompts"] += 1
        if all(row["strict"]):
            t["met"] += 1
            if repeated_share(str(row.get("response") or "")) > threshold:
                t["repetitive"] += 1
    return dict(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    print(
        f"{'folder / arm':<44} {'prompts':>7} {'met':>5} {'repetitive':>10} {'met, not rep.':>14}"
    )
    for folder in args.folders:
        rows = [
            json.loads(line)
            for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        for arm, t in sorted(tally(rows, args.threshold).items()):
            clean = t["met"] - t["repetitive"]
            print(
                f"{folder.name + ' ' + arm:<44} {t['prompts']:>7} {t['met']:>5} "
                f"{t['repetitive']:>10} {clean:>6} ({100 * clean / t['prompts']:.1f} %)"
            )


if __name__ == "__main__":
    main()
