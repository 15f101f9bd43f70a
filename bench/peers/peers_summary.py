"""Pool the peers benchmark's results: one line per arm, repeats pooled, spread shown.

    .venv/bin/python bench/peers/peers_summary.py OUT [OUT2 ...] [--eval DIR ...]
        [--common] [--seed 0] [--json FILE]

Reads ``results.jsonl`` from each folder (rows written by `run.py`). ``--eval DIR``
(repeatable) adds the runs of `cadenza eval ifeval --out DIR` folders, each folder one
run of its arms (numbered in the order given), with the budget of its ``report.json``:
so cadenza's arms measured on their own sit beside the peers on the same prompts (their
tokens are cadenza's own count, which equals the proxy's: `tests/test_bench_peers.py`;
input and output are not told apart there). ``--common`` keeps only the prompts that
every run of every arm finished. An arm is its name
plus, for cadenza's arms, the budget; its repeats are the runs. Per arm it reports, over
the prompts every one of its runs finished:

- prompt-level strict accuracy: the mean over runs, the lowest and the highest run, and
  a 95 % bootstrap interval over prompts (`bench/ifeval_runs.py`'s, each prompt's
  accuracy averaged over its runs);
- instruction-level strict accuracy (mean over runs);
- tokens per prompt counted at the model server (input + output), calls per prompt,
  seconds per prompt, and the calls the server refused;
- with ``--versus ARM``: the paired difference to that arm on the prompts both finished,
  with its 95 % bootstrap interval.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ifeval_runs import bootstrap

__all__ = ["ArmSummary", "arm_label", "load_eval_rows", "load_rows", "markdown", "summarize"]


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    runs: int
    prompts: int
    prompt_strict: float
    lowest: float
    highest: float
    interval: tuple[float, float]
    instruction_strict: float
    prompt_loose: float
    tokens: float
    input_tokens: float | None
    output_tokens: float | None
    calls: float
    seconds: float
    errors: int
    versus: tuple[float, float, float, int] | None = None
    """Paired difference to the ``versus`` arm: mean, interval low, high, prompts."""


def arm_label(row: dict[str, Any]) -> str:
    budget = row.get("budget")
    if budget is None:
        return str(row["arm"])
    text = budget if isinstance(budget, str) else json.dumps(budget, sort_keys=True)
    return f"{row['arm']} {text}"


def load_rows(folders: Iterable[Path]) -> list[dict[str, Any]]:
    """Every complete row of each folder's results.jsonl (a line cut short is skipped)."""
    rows = []
    for folder in folders:
        path = folder / "results.jsonl"
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    return rows


def load_eval_rows(folders: Iterable[Path]) -> list[dict[str, Any]]:
    """The rows of `cadenza eval ifeval` output folders, as `run.py` would write them: each
    folder is one run (``repeat``) of each of its arms, numbered per arm in order."""
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = defaultdict(int)
    for folder in folders:
        report = folder / "report.json"
        if not report.exists():
            raise SystemExit(f"{folder}: no report.json (is it a `cadenza eval ifeval` folder?)")
        budget = json.loads(report.read_text(encoding="utf-8")).get("budget")
        repeats: dict[str, int] = {}
        for row in load_rows([folder]):
            arm = str(row["arm"])
            if arm not in repeats:
                seen[arm] += 1
                repeats[arm] = seen[arm]
            rows.append(
                {
                    **row,
                    "repeat": repeats[arm],
                    "budget": budget if arm.startswith("cadenza") else None,
                    "prompt_tokens": None,
                    "completion_tokens": None,
                    "errors": 0,
                }
            )
    return rows


def summarize(
    rows: Iterable[dict[str, Any]],
    *,
    seed: int = 0,
    versus: str | None = None,
    common: bool = False,
) -> list[ArmSummary]:
    runs: dict[str, dict[int, dict[str, dict[str, Any]]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        runs[arm_label(row)][int(row["repeat"])][str(row["key"])] = row
    rng = random.Random(seed)
    base = list(runs[versus].values()) if versus in runs else None
    everywhere = (
        set.intersection(*(set(r) for arm in runs.values() for r in arm.values()))
        if common and runs
        else None
    )
    out = []
    for label in sorted(runs):
        by_run = list(runs[label].values())
        keys = sorted(set.intersection(*(set(r) for r in by_run)))
        if everywhere is not None:
            keys = [k for k in keys if k in everywhere]
        if not keys:
            continue
        per_run = [statistics.fmean(_ok(r[k]["strict"]) for k in keys) for r in by_run]
        per_prompt = [statistics.fmean(_ok(r[k]["strict"]) for r in by_run) for k in keys]
        done = [r[k] for r in by_run for k in keys]
        paired = None
        if base is not None and label != versus:
            shared = [k for k in keys if all(k in r for r in base)]
            if shared:
                deltas = [
                    statistics.fmean(_ok(r[k]["strict"]) for r in by_run)
                    - statistics.fmean(_ok(r[k]["strict"]) for r in base)
                    for k in shared
                ]
                lo, hi = bootstrap(deltas, rng)
                paired = (statistics.fmean(deltas), lo, hi, len(shared))
        out.append(
            ArmSummary(
                arm=label,
                runs=len(by_run),
                prompts=len(keys),
                prompt_strict=statistics.fmean(per_run),
                lowest=min(per_run),
                highest=max(per_run),
                interval=bootstrap(per_prompt, rng),
                instruction_strict=statistics.fmean(
                    statistics.fmean(float(s) for k in keys for s in r[k]["strict"]) for r in by_run
                ),
                prompt_loose=statistics.fmean(_ok(row["loose"]) for row in done),
                tokens=statistics.fmean(row["tokens"] for row in done),
                input_tokens=_mean_or_none(row["prompt_tokens"] for row in done),
                output_tokens=_mean_or_none(row["completion_tokens"] for row in done),
                calls=statistics.fmean(row["calls"] for row in done),
                seconds=statistics.fmean(row["seconds"] for row in done),
                errors=sum(row["errors"] for row in done),
                versus=paired,
            )
        )
    return out


def _mean_or_none(values: Iterable[float | None]) -> float | None:
    """The mean, or None when any value is unknown (rows from `cadenza eval ifeval`)."""
    known = list(values)
    if any(v is None for v in known):
        return None
    return statistics.fmean(v for v in known if v is not None)


def _ok(verdicts: list[bool]) -> float:
    return 1.0 if all(verdicts) else 0.0


def markdown(summaries: Iterable[ArmSummary], versus: str | None = None) -> str:
    summaries = list(summaries)
    lines = [
        "| arm | runs | prompts | prompt strict | lowest–highest run | 95 % interval "
        "| instr. strict | tokens/prompt (in + out) | calls/prompt | s/prompt | refused calls |"
        + (f" vs {versus} |" if versus else ""),
        "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if versus else ""),
    ]
    for s in summaries:
        spread = f"{100 * s.lowest:.1f}–{100 * s.highest:.1f} %" if s.runs > 1 else ""
        lines.append(
            f"| {s.arm} | {s.runs} | {s.prompts} | {100 * s.prompt_strict:.1f} % | {spread} "
            f"| {100 * s.interval[0]:.1f}–{100 * s.interval[1]:.1f} % "
            f"| {100 * s.instruction_strict:.1f} % "
            f"| {_tokens(s)} "
            f"| {s.calls:.1f} | {s.seconds:.1f} | {s.errors} |"
            + (f" {_paired(s.versus)} |" if versus else "")
        )
    return "\n".join(lines)


def _tokens(s: ArmSummary) -> str:
    if s.input_tokens is None or s.output_tokens is None:
        return f"{s.tokens:,.0f}"
    return f"{s.tokens:,.0f} ({s.input_tokens:,.0f} + {s.output_tokens:,.0f})"


def _paired(versus: tuple[float, float, float, int] | None) -> str:
    if versus is None:
        return ""
    mean, lo, hi, n = versus
    return f"{100 * mean:+.1f} pts [{100 * lo:+.1f}, {100 * hi:+.1f}] on {n}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument(
        "--eval",
        type=Path,
        action="append",
        default=[],
        help="a `cadenza eval ifeval --out` folder: one more run of its arms (repeatable)",
    )
    parser.add_argument(
        "--common", action="store_true", help="only the prompts every run of every arm finished"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--versus", help="an arm (as the table names it) to pair others with")
    parser.add_argument("--json", type=Path, help="also write the summaries as JSON here")
    args = parser.parse_args()
    rows = load_rows(args.folders) + load_eval_rows(args.eval)
    summaries = summarize(rows, seed=args.seed, versus=args.versus, common=args.common)
    print(markdown(summaries, args.versus))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(s) for s in summaries], indent=2) + "\n")


if __name__ == "__main__":
    main()
