"""Compare passes of `cadenza eval ifeval` over the same prompts: does a pass with priors
learned by an earlier one reach its accuracy with fewer tokens?

    .venv/bin/python bench/priors_passes.py FIRST_DIR SECOND_DIR [MORE_DIRS ...]
        [--arm cadenza_no_repair] [--seed 0] [--firsts N]

On the prompts every folder has finished (paired), per folder: prompt-level strict
accuracy, tokens per prompt, the finish reasons; then each later folder against the
first: the accuracy difference and the token ratio, with 95 % bootstrap intervals over
prompts (10,000 resamples). The target of issue 12: the second pass reaches the first's
accuracy with >= 20 % fewer tokens (ratio <= 0.80), or is more accurate at the same tokens.
With ``--firsts N`` the first N folders are repeats of the first pass and the rest
second passes: the last line compares their means, prompt by prompt (the repeats'
spread enters the intervals through the prompts).
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


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def compare(
    keys: list[str],
    firsts: list[dict[str, dict[str, Any]]],
    seconds: list[dict[str, dict[str, Any]]],
    *,
    seed: int = 0,
    resamples: int = 10_000,
) -> dict[str, Any]:
    """Second passes against first passes on the same prompts, each side averaged over
    its runs per prompt (one run a side: the plain paired comparison). Accuracy difference
    in points and token ratio, with 95 % bootstrap intervals over prompts."""
    d_acc = [
        _mean([_met(r[k]) for r in seconds]) - _mean([_met(r[k]) for r in firsts]) for k in keys
    ]
    t0 = [_mean([r[k]["tokens"] for r in firsts]) for k in keys]
    t1 = [_mean([r[k]["tokens"] for r in seconds]) for k in keys]
    rng = random.Random(seed)
    accs, ratios = [], []
    for _ in range(resamples):
        idx = [rng.randrange(len(keys)) for _ in keys]
        accs.append(sum(d_acc[i] for i in idx) / len(idx))
        ratios.append(sum(t1[i] for i in idx) / max(1.0, sum(t0[i] for i in idx)))
    accs.sort()
    ratios.sort()
    lo, hi = int(0.025 * resamples), int(0.975 * resamples) - 1
    return {
        "points": 100 * sum(d_acc) / len(keys),
        "points_interval": (100 * accs[lo], 100 * accs[hi]),
        "ratio": sum(t1) / max(1.0, sum(t0)),
        "ratio_interval": (ratios[lo], ratios[hi]),
        "won": sum(1 for d in d_acc if d > 0),
        "lost": sum(1 for d in d_acc if d < 0),
        "prompts": len(keys),
    }


def _line(name: str, c: dict[str, Any]) -> str:
    (plo, phi), (rlo, rhi) = c["points_interval"], c["ratio_interval"]
    same = c["prompts"] - c["won"] - c["lost"]
    return (
        f"\n{name}: accuracy {c['points']:+.1f} pts [{plo:+.1f}, {phi:+.1f}], "
        f"tokens x {c['ratio']:.3f} [{rlo:.3f}, {rhi:.3f}] ({(1 - c['ratio']) * 100:+.1f} % fewer)"
        f"\n  prompts won {c['won']}, lost {c['lost']}, same {same}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--arm", default="cadenza_no_repair")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--firsts",
        type=int,
        default=1,
        help="the first N folders are repeats of the first pass: also compare the mean of "
        "the second passes (the other folders) with theirs, prompt by prompt",
    )
    args = parser.parse_args()
    if not 1 <= args.firsts <= len(args.folders):
        parser.error("--firsts must be between 1 and the number of folders")
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
    first = runs[0]
    for folder, run in zip(args.folders[1:], runs[1:], strict=True):
        c = compare(keys, [first], [run], seed=args.seed)
        print(_line(f"{folder.name} vs {args.folders[0].name}", c))
    if args.firsts > 1 and len(args.folders) > args.firsts:
        names = [f.name for f in args.folders]
        c = compare(keys, runs[: args.firsts], runs[args.firsts :], seed=args.seed)
        pooled = (
            f"mean of {'+'.join(names[args.firsts :])} vs mean of {'+'.join(names[: args.firsts])}"
        )
        print(_line(pooled, c))


if __name__ == "__main__":
    main()
