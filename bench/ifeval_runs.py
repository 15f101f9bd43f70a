"""Pool several `cadenza eval ifeval` output folders: mean, spread and confidence.

    .venv/bin/python bench/ifeval_runs.py OUT1 OUT2 ... [--versus oracle] [--seed 0]
        [--data DEV.jsonl] [--plot CURVE.png]

Each folder holds the `results.jsonl` and `report.json` of one run. Arms with the same
name, mode and budget are the same configuration run again. Per configuration it prints:
- the runs, and prompt-level strict accuracy: the mean over runs and the lowest and
  highest run (the spread a single run can show);
- a 95 % bootstrap interval over prompts (10,000 resamples of the prompts, each
  prompt's accuracy averaged over its runs): how much the figure depends on which
  prompts were drawn;
- instruction-level strict accuracy, tokens and calls per prompt (means over runs);
- the paired difference to `--versus` (same prompts), with its bootstrap interval.
With `--data` (the IFEval rows the runs used) it then prints, per instruction type, the
share of instructions met strictly by each configuration, pooled over its runs.
With `--plot` it draws the curve: one point per configuration, its mean accuracy against
its mean tokens per prompt, with the lowest and highest run as the error bar.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REFERENCE_ARMS = ("baseline", "oracle")
"""Arms that do not depend on the mode or the budget of a run."""


def _label(arm: str, report: dict[str, Any]) -> str:
    if arm in REFERENCE_ARMS:
        return arm if arm == "baseline" else f"oracle best-of-{report.get('samples', '?')}"
    budget = report.get("budget")
    budget_text = budget if isinstance(budget, str) else json.dumps(budget, sort_keys=True)
    return f"{arm} ({report.get('mode')}, {budget_text})"


def load(folders: list[Path]) -> dict[str, list[dict[str, dict[str, Any]]]]:
    """Configuration label -> one {key: result row} per run."""
    runs: dict[str, list[dict[str, dict[str, Any]]]] = defaultdict(list)
    for folder in folders:
        report = json.loads((folder / "report.json").read_text())
        by_arm: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for line in (folder / "results.jsonl").read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                by_arm[row["arm"]][str(row["key"])] = row
        for arm, rows in by_arm.items():
            runs[_label(arm, report)].append(rows)
    return runs


def _prompt_ok(row: dict[str, Any]) -> float:
    return 1.0 if all(row["strict"]) else 0.0


def _per_prompt(runs: list[dict[str, dict[str, Any]]], keys: list[str]) -> list[float]:
    """Each prompt's strict accuracy, averaged over the runs that have it."""
    return [statistics.fmean(_prompt_ok(r[k]) for r in runs if k in r) for k in keys]


def by_instruction(runs: dict[str, list[dict[str, dict[str, Any]]]], data: Path) -> None:
    """Per instruction type: how often each configuration met it strictly."""
    ids: dict[str, list[str]] = {}
    for line in data.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            ids[str(row["key"])] = list(row["instruction_id_list"])
    in_data = Counter(iid for row_ids in ids.values() for iid in row_ids)
    labels = sorted(runs)
    met: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for label in labels:
        for run in runs[label]:
            for key, row in run.items():
                for iid, ok in zip(ids.get(key, []), row["strict"], strict=False):
                    met[iid][label].append(bool(ok))
    print()
    for number, label in enumerate(labels, 1):
        print(f"[{number}] {label}")
    print(
        f"{'instruction':<46} {'n':>3}"
        + "".join(f"{f'[{i}]':>7}" for i in range(1, len(labels) + 1))
    )
    for iid, n in in_data.most_common():
        shares = [met[iid][label] for label in labels]
        cells = "".join(f"{100 * statistics.fmean(s):>6.0f}%" if s else f"{'-':>7}" for s in shares)
        print(f"{iid:<46} {n:>3}{cells}")


Point = tuple[str, int, float, float, float, float]
"""A configuration on the curve: label, prompts, tokens per prompt, mean, lowest and
highest run (accuracies in %)."""


def plot_curve(points: list[Point], path: Path) -> None:
    """Accuracy against tokens, one point per configuration, runs' spread as error bars;
    the configurations of one arm (its budgets) joined by a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    most = max(p[1] for p in points)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    arms: dict[str, list[Point]] = defaultdict(list)
    for point in points:
        arms[point[0].split(" (")[0]].append(point)
    for arm, arm_points in sorted(arms.items()):
        arm_points.sort(key=lambda p: p[2])
        line = ax.plot([p[2] for p in arm_points], [p[3] for p in arm_points], alpha=0.4, label=arm)
        color = line[0].get_color()
        for i, (label, n, tokens, mean, low, high) in enumerate(arm_points):
            ax.errorbar(
                [tokens],
                [mean],
                yerr=[[mean - low], [high - mean]],
                fmt="o",
                capsize=3,
                color=color,
            )
            setting = label[len(arm) :].strip(" ()")  # "" for baseline and oracle
            ax.annotate(
                f"{setting + ': ' if setting else ''}{mean:.1f} %"
                + (f" ({n} prompts)" if n < most else ""),
                (tokens, mean),
                textcoords="offset points",
                xytext=(6, -12 if i % 2 == 0 else 6),  # alternate, so neighbours stay legible
                fontsize=7,
            )
    ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("tokens per prompt (input + output, all calls)")
    ax.set_ylabel("prompt-level strict accuracy (%)")
    ax.set_title(f"IFEval, {most} prompts: accuracy against tokens")
    ax.set_ylim(bottom=0, top=100)
    ax.set_xlim(left=0, right=ax.get_xlim()[1] * 1.5)  # room for the labels
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"curve: {path}")


def bootstrap(values: list[float], rng: random.Random, n: int = 10_000) -> tuple[float, float]:
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(n))
    return means[int(0.025 * n)], means[int(0.975 * n) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--versus", default="oracle", help="arm name prefix to compare with")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="IFEval rows: adds a table per instruction type")
    parser.add_argument("--plot", type=Path, help="draw accuracy against tokens to this PNG")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    runs = load(args.folders)
    versus = next((label for label in runs if label.startswith(args.versus)), None)
    print(
        f"{'configuration':<46} {'runs':>4} {'prompts':>7} {'strict':>7} {'min-max':>13} "
        f"{'95% CI':>13} {'instr':>6} {'tokens':>7} {'calls':>6}  vs {versus or '-'}"
    )
    points: list[Point] = []
    for label, label_runs in sorted(runs.items()):
        keys = sorted(set.intersection(*(set(r) for r in label_runs)), key=str)
        if not keys:
            continue
        per_run = [statistics.fmean(_prompt_ok(r[k]) for k in keys) for r in label_runs]
        lo, hi = bootstrap(_per_prompt(label_runs, keys), rng)
        instr = statistics.fmean(
            statistics.fmean(s for k in keys for s in map(float, r[k]["strict"]))
            for r in label_runs
        )
        tokens = statistics.fmean(r[k]["tokens"] for r in label_runs for k in keys)
        calls = statistics.fmean(r[k]["calls"] for r in label_runs for k in keys)
        mean = 100 * statistics.fmean(per_run)
        points.append((label, len(keys), tokens, mean, 100 * min(per_run), 100 * max(per_run)))
        diff = ""
        if versus is not None and label != versus:
            shared = [k for k in keys if all(k in r for r in runs[versus])]
            ours, theirs = _per_prompt(label_runs, shared), _per_prompt(runs[versus], shared)
            deltas = [a - b for a, b in zip(ours, theirs, strict=True)]
            if deltas:
                d_lo, d_hi = bootstrap(deltas, rng)
                diff = (
                    f"{100 * statistics.fmean(deltas):+.1f} pts "
                    f"[{100 * d_lo:+.1f}, {100 * d_hi:+.1f}] on {len(shared)}"
                )
        print(
            f"{label:<46} {len(label_runs):>4} {len(keys):>7} "
            f"{mean:>6.1f}% "
            f"{100 * min(per_run):>5.1f}-{100 * max(per_run):>5.1f}% "
            f"{100 * lo:>5.1f}-{100 * hi:>5.1f}% {100 * instr:>5.1f}% "
            f"{tokens:>7.0f} {calls:>6.1f}  {diff}"
        )
    if args.plot is not None:
        if not points:
            parser.error("--plot: no configuration has a prompt every one of its runs answered")
        plot_curve(points, args.plot)
    if args.data is not None:
        by_instruction(runs, args.data)


if __name__ == "__main__":
    main()
