"""Does the search keep its slots busy? Wall time against the critical path of the run.

    .venv/bin/python bench/bench_scheduler.py [--runs 40] [--slots 8] [--seed 0]

A scripted model (cadenza.testing.ScriptedModel, 8 parallel slots) answers every call
after a set latency: fixed (50 ms) or log-normal (median 50 ms, sigma 1: a mean of
82 ms, one call in ten above 180 ms). The search cannot go faster than the longest
chain of calls that depend on each other, so for every run the benchmark prints

    wall / critical path

where *wall* is the run's own `result.seconds` and the *critical path* is computed from
the run's trace, over the calls the run actually made:

- a generation (``generate``) depends on nothing: it could start at time 0, unless its
  trace parent is a candidate (a focused sample, which restates what that candidate
  missed): then it starts once that candidate is ready, as a revision does;
- a candidate is *ready* when the node that produced it has finished and it has been
  evaluated: its code checks (``check`` nodes, run one after the other) and then its
  LLM judgements (``judge`` nodes, run in parallel: the slowest counts);
- a revision (``revise``) or a deterministic repair (``repair``) starts once the
  candidate it works on (its trace parent) is ready;
- each node takes its recorded `latency_s` (cancelled nodes until they were cancelled);
- the critical path is the latest end time of any node under these rules: the wall time
  of the same calls on unlimited slots, with no time lost between them.

A ratio of 1.0 means the run lost no time to waiting; the round-based search it
replaced waited for every round's slowest branch. The second ratio divides by
max(critical path, busy time / slots): on a run that makes more calls than its slots can
run side by side, that bound is the higher one. The third figure is the share of
slot-time left idle between the first call and the start of the last one.

Only cadenza's public API is used, so the same script measures another version of the
search: ``PYTHONPATH=/path/to/other/src .venv/bin/python bench/bench_scheduler.py``.
Results and their reading are in docs/planner.md.

Scenarios (each run draws its answers from its own seed):

- ``fix``: one code check (no commas, scored 1/(1+n)); a sample has 3-8 commas; a
  revision removes one. Runs end when an answer has none, or at 28 calls.
- ``stuck``: the same, but a revision removes a comma only half of the time.
- ``unfixable``: a code check no answer fully meets (it scores each answer by a hash
  of its text, below 1): runs end at 28 calls, and revisions win only by chance.
- ``judged``: an LLM-judged requirement on the same model (its judge calls take a
  slot each): the judge scores how many "please" the answer has; a revision adds one.

Runs use the default settings (width = the model's slots) without repairs. The
distribution over runs is printed for each scenario and latency.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cadenza
from cadenza import Requirement, RunOptions, Verdict
from cadenza.models.base import ModelRequest, ModelResponse
from cadenza.planner import SearchSettings
from cadenza.result import TraceNode
from cadenza.testing import ScriptedModel

MODEL_KINDS = ("generate", "revise", "judge")
SCENARIOS = ("fix", "stuck", "unfixable", "judged")


# -- the critical path ------------------------------------------------------------------
def critical_path(nodes: Sequence[TraceNode]) -> float:
    """The latest end time of any node when every node starts as soon as what it
    depends on has finished (the rules are in the module docstring)."""
    by_id = {n.id: n for n in nodes}
    producer: dict[str, TraceNode] = {}
    evals: dict[str, list[TraceNode]] = defaultdict(list)
    for n in nodes:
        if n.kind in ("generate", "revise", "repair") and n.candidate_id:
            if "duplicate_of" not in n.detail:
                producer[n.candidate_id] = n
        elif n.kind in ("check", "judge") and n.candidate_id:
            evals[n.candidate_id].append(n)
    end: dict[str, float] = {}
    ready: dict[str, float] = {}

    def node_end(n: TraceNode) -> float:
        if n.id in end:
            return end[n.id]
        start = 0.0
        if n.kind in ("generate", "revise", "repair") and n.parent in by_id:
            parent = by_id[n.parent]
            if parent.candidate_id is not None:
                start = candidate_ready(parent.candidate_id)
        end[n.id] = start + n.latency_s
        return end[n.id]

    def candidate_ready(cid: str) -> float:
        if cid in ready:
            return ready[cid]
        made = producer.get(cid)
        t = node_end(made) if made is not None else 0.0
        checks = [e for e in evals[cid] if e.kind == "check"]
        t += sum(e.latency_s for e in checks)
        judges = [e.latency_s for e in evals[cid] if e.kind == "judge"]
        ready[cid] = t + (max(judges) if judges else 0.0)
        return ready[cid]

    latest = 0.0
    for n in nodes:
        if n.kind == "run":
            continue
        if n.kind in ("check", "judge") and n.candidate_id:
            made = producer.get(n.candidate_id)
            base = node_end(made) if made is not None else 0.0
            checks = [e for e in evals[n.candidate_id] if e.kind == "check"]
            if n.kind == "check":
                before = checks[: checks.index(n) + 1]
                latest = max(latest, base + sum(e.latency_s for e in before))
            else:
                latest = max(latest, base + sum(e.latency_s for e in checks) + n.latency_s)
        else:
            latest = max(latest, node_end(n))
    return latest


def busy_bound(nodes: Sequence[TraceNode], slots: int) -> float:
    """The model's busy time over its slots: no schedule on `slots` slots is shorter."""
    return sum(n.latency_s for n in nodes if n.kind in MODEL_KINDS) / slots


# -- the scripted model -------------------------------------------------------------------
Latency = Callable[[random.Random], float]


def fixed(rng: random.Random) -> float:
    return 0.05


def lognormal(rng: random.Random) -> float:
    return 0.05 * math.exp(rng.gauss(0.0, 1.0))


@dataclass
class LatencyModel(ScriptedModel):
    """ScriptedModel whose every call takes a latency drawn from `latency`; it records
    when each call ran, to see whether slots sat idle."""

    latency: Latency = fixed
    rng: random.Random = field(default_factory=random.Random)
    spans: list[tuple[float, float]] = field(default_factory=list)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        start = time.monotonic()
        try:
            await asyncio.sleep(self.latency(self.rng))
            return await super().complete(request)
        finally:
            self.spans.append((start, time.monotonic()))


def idle_share(spans: list[tuple[float, float]], slots: int, since: float) -> float:
    """The share of slot-time left idle from `since` (the first call) until the last
    call started: zero for a scheduler that never leaves a slot free while it could
    still start work. (Fixed latencies and a budget of 28 calls on 8 slots leave
    3.5 waves: the last, half-full one, counts as idle up to its last start.)"""
    last_start = max(s for s, _ in spans)
    if last_start <= since:
        return 0.0
    busy = sum(max(0.0, min(e, last_start) - max(s, since)) for s, e in spans)
    return max(0.0, 1 - busy / (slots * (last_start - since)))


def no_commas(text: str) -> Verdict:
    n = text.count(",")
    return Verdict(1.0 if n == 0 else 1 / (1 + n), f"{n} commas found")


def unreachable(text: str) -> float:
    return (zlib.crc32(text.encode()) % 90) / 100


def _scenario(name: str, rng: random.Random) -> tuple[Callable[[ModelRequest], str], list[Any]]:
    words = ["sea", "wave", "tide", "salt", "foam", "gull", "reef", "sand"]

    def filler() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(4, 9)))

    def with_commas(n: int) -> str:
        return filler() + "".join(f", {rng.choice(words)}" for _ in range(n)) + "."

    def answer(req: ModelRequest) -> str:
        last = req.messages[-1].content
        if "Rewrite your answer" in last:
            before = req.messages[-2].content
            if name == "judged":
                return f"{filler()} {'please ' * (before.count('please') + 1)}".strip()
            n = before.count(",")
            if name == "stuck" and rng.random() < 0.5:
                return with_commas(n)
            return with_commas(max(0, n - 1))
        if name == "judged":
            return f"{filler()} {'please ' * rng.randint(0, 1)}".strip()
        return with_commas(rng.randint(3, 8))

    if name == "judged":
        return answer, ["Be very polite"]
    if name == "unfixable":
        return answer, [Requirement(description="Be excellent", validator=unreachable)]
    return answer, [Requirement(description="Do not use any commas", validator=no_commas)]


def _judge(requirement: str, text: str) -> float:
    return min(1.0, text.count("please") / 4)


@dataclass
class RunFigures:
    ratio: float
    """wall / critical path"""
    bounded: float
    """wall / max(critical path, busy / slots)"""
    critical_path: float
    calls: int
    finish_reason: str
    idle: float
    """Share of slot-time idle before the last call started (see `idle_share`)."""


async def one_run(scenario: str, latency: Latency, seed: int, slots: int) -> RunFigures:
    rng = random.Random(seed)
    answer, reqs = _scenario(scenario, rng)
    model = LatencyModel(
        default=answer, judge=_judge, max_concurrency=slots, latency=latency, rng=rng
    )
    options = RunOptions(
        search=SearchSettings(max_output_tokens=64, repairs=False), compile_requirements=False
    )
    result = await cadenza.arun(
        "Describe the sea.", reqs, models=[model], budget={"max_calls": 28}, options=options
    )
    cp = critical_path(result.trace)
    return RunFigures(
        ratio=result.seconds / cp,
        bounded=result.seconds / max(cp, busy_bound(result.trace, slots)),
        critical_path=cp,
        calls=result.usage.calls,
        finish_reason=result.requirements_result.finish_reason,
        idle=idle_share(model.spans, slots, min(s for s, _ in model.spans)),
    )


def _dist(values: list[float]) -> str:
    q = statistics.quantiles(values, n=10, method="inclusive")
    return (
        f"min {min(values):.2f}  p10 {q[0]:.2f}  median {statistics.median(values):.2f}  "
        f"mean {statistics.fmean(values):.2f}  p90 {q[-1]:.2f}  max {max(values):.2f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    targets = {"fixed": 1.15, "lognormal": 1.3}
    for latency_name, latency in (("fixed", fixed), ("lognormal", lognormal)):
        for scenario in SCENARIOS:
            runs = [
                await one_run(scenario, latency, args.seed + i, args.slots)
                for i in range(args.runs)
            ]
            _report(latency_name, scenario, targets[latency_name], runs)


def _report(latency: str, scenario: str, target: float, runs: list[RunFigures]) -> None:
    n = len(runs)
    ratios = [r.ratio for r in runs]
    bounded = [r.bounded for r in runs]
    slot_bound = sum(r.bounded < r.ratio for r in runs)
    print(
        f"{latency} latency, {scenario}: {n} runs, "
        f"{statistics.fmean(r.calls for r in runs):.1f} calls a run, critical path "
        f"{1000 * statistics.median(r.critical_path for r in runs):.0f} ms (median); "
        f"{slot_bound} runs bound by the slots rather than the critical path"
    )
    print(f"    wall / critical path           {_dist(ratios)}")
    print(f"    wall / max(cp, busy / slots)   {_dist(bounded)}")
    print(f"    slot-time idle before the last call started  {_dist([r.idle for r in runs])}")
    met = sum(r <= target for r in ratios)
    met_bound = sum(b <= target for b in bounded)
    verdict = "met" if statistics.median(ratios) <= target else "MISSED"
    print(
        f"    target wall <= {target} x critical path: {verdict} at the median; "
        f"{met} of {n} runs within it ({met_bound} of {n} against the slot-aware bound)"
    )
    print(f"    stopped: {dict(Counter(r.finish_reason for r in runs))}")


if __name__ == "__main__":
    asyncio.run(main())
