"""Pool several `cadenza eval jsonschema` output folders: mean, spread and confidence.

    .venv/bin/python bench/jsonschema_runs.py OUT1 OUT2 ... [--versus constrained] [--seed 0]

Each folder holds the `results.jsonl` and `report.json` of one run. Arms with the same
name and budget are the same configuration run again. Per configuration it prints:
- the runs, and coverage (share of schemas with a valid instance): the mean over runs and
  the lowest and highest run (the spread a single run can show), with repairs and
  without;
- a 95 % bootstrap interval over schemas (10,000 resamples of the schemas, each schema's
  coverage averaged over its runs): how much the figure depends on which schemas were
  drawn;
- coverage per subset (mean over runs, lowest–highest run);
- tokens, calls and seconds per schema (means over runs);
- the paired difference to `--versus` (same schemas), with its bootstrap interval.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

REFERENCE_ARMS = ("free", "constrained")
"""Arms whose one greedy call does not depend on the budget."""

Run = dict[str, dict[str, Any]]
"""Schema id -> its result row, for one arm in one folder."""


def _label(arm: str, report: dict[str, Any]) -> str:
    if arm in REFERENCE_ARMS:
        return arm
    budget = report.get("budget")
    return f"{arm} ({budget if isinstance(budget, str) else json.dumps(budget, sort_keys=True)})"


def load(folders: list[Path]) -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = defaultdict(list)
    for folder in folders:
        report = json.loads((folder / "report.json").read_text())
        by_arm: dict[str, Run] = defaultdict(dict)
        for line in (folder / "results.jsonl").read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                by_arm[row["arm"]][row["id"]] = row
        for arm, rows in by_arm.items():
            runs[_label(arm, report)].append(rows)
    return runs


def _per_schema(runs: list[Run], ids: list[str], field: str = "valid") -> list[float]:
    return [statistics.mean(float(run[i][field]) for run in runs) for i in ids]


def _interval(values: list[float], rng: random.Random, n: int = 10_000) -> tuple[float, float]:
    means = sorted(statistics.mean(rng.choices(values, k=len(values))) for _ in range(n))
    return means[int(0.025 * n)], means[int(0.975 * n)]


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--versus", default="constrained")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    runs = load(args.folders)
    rng = random.Random(args.seed)
    common = sorted(set.intersection(*(set(r) for rs in runs.values() for r in rs)))
    subsets = sorted({rs[0][i]["subset"] for rs in runs.values() for i in common})
    print(f"{len(common)} schemas in every run; subsets: {', '.join(subsets)}\n")
    reference = _per_schema(runs[args.versus], common) if args.versus in runs else None
    for label, rs in runs.items():
        per_run = [statistics.mean(float(r[i]["valid"]) for i in common) for r in rs]
        raw = [statistics.mean(float(r[i]["valid_without_repairs"]) for i in common) for r in rs]
        pooled = _per_schema(rs, common)
        low, high = _interval(pooled, rng)
        print(f"{label}: {len(rs)} run(s)")
        print(
            f"  coverage {_pct(statistics.mean(per_run))}"
            f" (runs {', '.join(_pct(x) for x in per_run)}; 95 % interval {_pct(low)}–{_pct(high)})"
        )
        raw_runs = ", ".join(_pct(x) for x in raw)
        print(f"  without repairs {_pct(statistics.mean(raw))} (runs {raw_runs})")
        for s in subsets:
            ids = [i for i in common if rs[0][i]["subset"] == s]
            vals = [statistics.mean(float(r[i]["valid"]) for i in ids) for r in rs]
            print(f"  {s}: {_pct(statistics.mean(vals))} ({_pct(min(vals))}–{_pct(max(vals))})")
        for field in ("tokens", "calls", "seconds"):
            mean = statistics.mean(statistics.mean(r[i][field] for i in common) for r in rs)
            print(f"  {field} per schema {mean:.1f}")
        if reference is not None and label != args.versus:
            diffs = [a - b for a, b in zip(pooled, reference, strict=True)]
            dlow, dhigh = _interval(diffs, rng)
            print(
                f"  vs {args.versus}: {100 * statistics.mean(diffs):+.1f} pts "
                f"[{100 * dlow:+.1f}, {100 * dhigh:+.1f}]"
            )
        print()


if __name__ == "__main__":
    main()
