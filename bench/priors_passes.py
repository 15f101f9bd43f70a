"""Compare passes of `cadenza eval ifeval` over the same prompts: does a pass with priors
learned by an earlier one reach its accuracy with fewer tokens?

    .venv/bin/python bench/priors_passes.py FIRST_DIR SECOND_DIR [MORE_DIRS ...]
        [--arm cadenza_no_repair] [--seed 0]

On the prompts every folder has finished (paired), per folder: prompt-level strict
accuracy, tokens per prompt, the finish reasons; then each later folder against the
first: the accuracy difference and the token ratio, with 95 % bootstrap intervals over
prompts (10,000 resamples). The target of issue 12: the second pass reaches the first's
accuracy with >= 20 % fewer tokens (ratio <= 0.80), or is more accurate at the same tokens.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any


def _load(folder: Path, arm: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row.get("arm") == arm:
                out[str(row["key"])] = row
    return out


def _met(row: dict[str, Any]) -> float:
    return 1.0 if all(row["strict"]) else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--arm", default="cadenza_no_repair")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    runs = [_load(f, args.arm) for f in args.folders]
    keys = sorted(set.intersection(*(set(r) for r in runs)))
    if not keys:
        raise SystemExit("no prompt finished in every folder")
    print(f"{len(keys)} prompts finished in every folder (arm {args.arm})\n")
    print(f"{'folder':<28} {'strict':>8} {'tokens/prompt':>14}  finish reasons")
    for folder, run in zip(args.folders, runs, strict=True):
        acc = sum(_met(run[k]) for k in keys) / len(keys)
        tok = sum(run[k]["tokens"] for k in keys) / len(keys)
        reasons = Counter(run[k].get("finish_reason", "") for k in keys)
        print(f"{folder.name:<28} {100 * acc:>7.1f}% {tok:>14.0f}  {dict(reasons)}")
    rng = random.Random(args.seed)
    first = runs[0]
    for folder, run in zip(args.folders[1:], runs[1:], strict=True):
        d_acc = [_met(run[k]) - _met(first[k]) for k in keys]
        t0 = [first[k]["tokens"] for k in keys]
        t1 = [run[k]["tokens"] for k in keys]
        accs, ratios = [], []
        for _ in range(10_000):
            idx = [rng.randrange(len(keys)) for _ in keys]
            accs.append(sum(d_acc[i] for i in idx) / len(idx))
            ratios.append(sum(t1[i] for i in idx) / max(1, sum(t0[i] for i in idx)))
        accs.sort()
        ratios.sort()
        lo, hi = int(0.025 * len(accs)), int(0.975 * len(accs)) - 1
        print(
            f"\n{folder.name} vs {args.folders[0].name}: accuracy "
            f"{100 * sum(d_acc) / len(keys):+.1f} pts "
            f"[{100 * accs[lo]:+.1f}, {100 * accs[hi]:+.1f}]"
            f", tokens x {sum(t1) / max(1, sum(t0)):.3f} [{ratios[lo]:.3f}, {ratios[hi]:.3f}]"
            f" ({(1 - sum(t1) / max(1, sum(t0))) * 100:+.1f} % fewer)"
        )
        won = sum(1 for d in d_acc if d > 0)
        lost = sum(1 for d in d_acc if d < 0)
        print(f"  prompts won {won}, lost {lost}, same {len(keys) - won - lost}")


if __name__ == "__main__":
    main()
