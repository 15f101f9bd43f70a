"""The cost of running validators off the event loop, as a ratio to running them on it.

    flock /work/wt/cpu.lock .venv/bin/python bench/bench_validators.py [--calls 3000] [--repeats 5]

`run_validator` runs a sync validator in a worker thread under a time limit. The baseline,
measured in the same run, is what cadenza did before: call the validator on the event
loop and normalise its result. Two workloads, each as `--calls` sequential calls (what one
candidate's checks are) and as the same calls 8 at a time (candidates checked in parallel):

- ifeval: the built-in IFEval checks of the dev data's instruction types on ~150-word
  answers (what a code-mode run does);
- trivial: ``lambda text: "," not in text`` (the overhead alone, the worst case).

Prints the median over `--repeats` of microseconds per call for each, and the ratio
off-loop / on-loop, with the spread (min..max of the per-repeat ratios).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from cadenza.validators.base import (
    CheckContext,
    Validator,
    Verdict,
    _to_verdict,
    get_validator,
    run_validator,
)

ANSWER = (
    "the sea rolls in under a grey sky and the gulls cry over the harbour. "
    "fishermen mend their nets while the tide turns; a child runs along the sand. "
) * 5
IFEVAL: list[tuple[str, dict[str, object]]] = [
    ("punctuation:no_comma", {}),
    ("change_case:english_lowercase", {}),
    ("length_constraints:number_words", {"relation": "at least", "num_words": 100}),
    ("length_constraints:number_sentences", {"relation": "less than", "num_sentences": 12}),
    ("keywords:existence", {"keywords": ["harbour", "tide"]}),
    ("keywords:forbidden_words", {"forbidden_words": ["storm", "ship"]}),
    ("keywords:frequency", {"keyword": "sea", "relation": "at least", "frequency": 2}),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}),
    ("startend:end_checker", {"end_phrase": "Any questions?"}),
]


def on_loop(v: Validator, text: str, ctx: CheckContext) -> Verdict:
    """What cadenza did before: the validator runs right on the event loop."""
    out = v.fn(text, ctx) if v.wants_context else v.fn(text)
    return _to_verdict(out, v.name)


Job = tuple[Validator, CheckContext]


async def timed(jobs: list[Job], call: Callable[[Job], Awaitable[Verdict]], width: int) -> float:
    """Seconds per call, running `width` calls at a time."""
    started = time.perf_counter()
    for i in range(0, len(jobs), width):
        await asyncio.gather(*(call(job) for job in jobs[i : i + width]))
    return (time.perf_counter() - started) / len(jobs)


async def measure(jobs: list[Job], width: int, repeats: int) -> tuple[float, float, list[float]]:
    async def before(job: Job) -> Verdict:
        return on_loop(job[0], ANSWER, job[1])

    async def after(job: Job) -> Verdict:
        return await run_validator(job[0], ANSWER, job[1])

    await timed(jobs[:50], after, width)  # start the worker threads, warm the caches
    base, off, ratios = [], [], []
    for _ in range(repeats):
        b = await timed(jobs, before, width)
        o = await timed(jobs, after, width)
        base.append(b)
        off.append(o)
        ratios.append(o / b)
    return statistics.median(base), statistics.median(off), ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    ifeval = [
        (get_validator(iid), CheckContext("Write about the sea.", iid, iid, kw))
        for iid, kw in IFEVAL
    ]
    trivial = Validator("no_commas", lambda text: "," not in text)
    workloads = {
        "ifeval": [ifeval[i % len(ifeval)] for i in range(args.calls)],
        "trivial": [(trivial, CheckContext("", "r", "r", {}))] * args.calls,
    }
    print(f"{args.calls} calls, {args.repeats} repeats; us per call (median); ratio off/on")
    for name, jobs in workloads.items():
        for width in (1, 8):
            base, off, ratios = asyncio.run(measure(jobs, width, args.repeats))
            print(
                f"{name:8s} {width} at a time: on-loop {base * 1e6:8.1f} us, off-loop "
                f"{off * 1e6:8.1f} us, ratio {statistics.median(ratios):5.2f} "
                f"(spread {min(ratios):.2f}..{max(ratios):.2f})"
            )


if __name__ == "__main__":
    main()
