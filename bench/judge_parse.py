"""How often the LLM judge's answer cannot be parsed, and how often it agrees with exact checks.

Measured on the embedded model (SmolLM2-135M-Instruct) unless ``--model`` says otherwise.
Run the heavy steps under the shared CPU lock, e.g. ``flock /work/wt/cpu.lock ...``.

    D=../shared/benchmarks/ifeval/dev.jsonl
    P=bench/data/judge_content.jsonl
    # 1. candidates to judge: one greedy answer per IFEval prompt, 3 samples per content pair
    #    (each step resumes where it stopped; --max-items N keeps a locked command short)
    .venv/bin/python bench/judge_parse.py candidates --data $D --pairs $P --out runs/judge
    # 2. judge every (candidate, requirement) pair, the way the planner does...
    .venv/bin/python bench/judge_parse.py judge --out runs/judge --label current
    #    ...or the way it did before constrained decoding (plain prompt, no response format)
    .venv/bin/python bench/judge_parse.py judge --out runs/judge --label old --judge old
    # 3. IFEval dev in judge mode, a whole cadenza run per prompt (the `cadenza eval ifeval
    #    --mode judge --arms cadenza` arm, 1,400 tokens), counting the judge's unparsable
    #    answers in each run's trace; --start/--stop split it into short locked commands;
    #    --judged-only keeps the prompts where the judge is called at all
    .venv/bin/python bench/judge_parse.py runs --data $D --out runs/judge-runs --stop 45
    # 4. the tables
    .venv/bin/python bench/judge_parse.py report runs/judge runs/judge-runs

Step 2 writes ``judge-<label>.jsonl``: per judgement, the set (``ifeval`` or ``content``),
the requirement, whether the answer parsed, the score, and for IFEval the exact check's
strict result, and whether cadenza's requirement compiler turns the sentence into code
(``compiled``: the requirements that have both a judge and an exact check). Agreement is
judge pass (score >= 0.5) against the exact check's strict pass, on the compiled ones.
Step 3 needs only the public API, so it also measures older checkouts (``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

UNPARSABLE_PREFIXES = ("no score found", "the judge returned an empty answer")
JUDGE_PASS = 0.5
IFEVAL_MAX_TOKENS = 512
SAMPLE_TEMPERATURE = 0.7
RUN_BUDGET = {"max_tokens": 1400}


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                yield json.loads(line)
            except ValueError:
                continue  # a line cut by an interruption


def _unparsable(error: str | None) -> bool:
    return bool(error) and any(p in str(error) for p in UNPARSABLE_PREFIXES)


# -- 1. candidates ----------------------------------------------------------------------


async def make_candidates(args: argparse.Namespace) -> None:
    from cadenza.evals.ifeval import load_rows
    from cadenza.models.base import Message, ModelRequest
    from cadenza.models.registry import resolve_model

    model = resolve_model(args.model)
    path: Path = args.out / "candidates.jsonl"
    done = {(r["set"], r["id"], r["sample"]) for r in _rows(path)}
    todo: list[tuple[str, str, int, str, float, dict[str, Any]]] = []
    rows, _ = load_rows(args.data, limit=args.limit)
    for row in rows:
        meta = {"instruction_id_list": row.instruction_id_list, "kwargs": row.kwargs}
        todo.append(("ifeval", row.key, 0, row.prompt, 0.0, meta))
    for pair in _rows(args.pairs):
        for sample in range(args.samples):
            meta = {"requirement": pair["requirement"]}
            temperature = 0.0 if sample == 0 else SAMPLE_TEMPERATURE
            todo.append(("content", pair["id"], sample, pair["instruction"], temperature, meta))
    todo = [t for t in todo if (t[0], t[1], t[2]) not in done][: args.max_items]
    slots = asyncio.Semaphore(model.max_concurrency)

    async def one(item: tuple[str, str, int, str, float, dict[str, Any]]) -> dict[str, Any]:
        kind, key, sample, prompt, temperature, meta = item
        async with slots:
            response = await model.complete(
                ModelRequest(
                    messages=(Message("user", prompt),),
                    max_tokens=IFEVAL_MAX_TOKENS,
                    temperature=temperature,
                    seed=sample,
                )
            )
        return {
            "set": kind,
            "id": key,
            "sample": sample,
            "prompt": prompt,
            "text": response.text.strip(),
            **meta,
        }

    with path.open("a", encoding="utf-8") as sink:
        for i, task in enumerate(asyncio.as_completed([one(t) for t in todo]), 1):
            sink.write(json.dumps(await task) + "\n")
            sink.flush()
            print(f"\rcandidates {i}/{len(todo)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    await model.aclose()


# -- 2. judgements ----------------------------------------------------------------------


def _judge_items(out: Path) -> list[dict[str, Any]]:
    from cadenza.evals.ifeval_requirements import describe_instruction
    from cadenza.validators.compiler import compile_requirement
    from cadenza.validators.ifeval import check_instruction

    items: list[dict[str, Any]] = []
    for cand in _rows(out / "candidates.jsonl"):
        if cand["set"] == "content":
            items.append(
                {
                    "set": "content",
                    "id": f"{cand['id']}/{cand['sample']}",
                    "requirement": cand["requirement"],
                    "text": cand["text"],
                }
            )
            continue
        for n, (iid, kwargs) in enumerate(
            zip(cand["instruction_id_list"], cand["kwargs"], strict=True)
        ):
            kw = {k: v for k, v in (kwargs or {}).items() if v is not None}
            sentence = describe_instruction(iid, kw)
            verdict = check_instruction(iid, cand["text"], kw, prompt=cand["prompt"])
            items.append(
                {
                    "set": "ifeval",
                    "id": f"{cand['id']}/{n}",
                    "instruction_id": iid,
                    "requirement": sentence,
                    "text": cand["text"],
                    "code_pass": verdict.score >= 1.0,
                    "compiled": compile_requirement(sentence) is not None,
                }
            )
    return items


async def judge_all(args: argparse.Namespace) -> None:
    from cadenza.models.base import ModelRequest
    from cadenza.models.registry import resolve_model
    from cadenza.validators import judge as judging

    model = resolve_model(args.model)
    path: Path = args.out / f"judge-{args.label}.jsonl"
    done = {r["id"] for r in _rows(path)}
    items = [i for i in _judge_items(args.out) if i["id"] not in done][: args.max_items]
    slots = asyncio.Semaphore(model.max_concurrency)
    if args.judge == "old":
        fmt = None  # the judge before constrained decoding: plain prompt, free answer
        max_tokens = 60
    else:
        from cadenza.planner.evaluation import JUDGE_MAX_TOKENS

        fmt = judging.verdict_format(model) if args.format == "auto" else None
        if args.format not in ("auto", "none"):
            fmt = next(f for f in judging.VERDICT_FORMATS if f.kind == args.format)
            if not model.supports(fmt):
                raise SystemExit(f"{model.name} does not support {args.format}")
        max_tokens = JUDGE_MAX_TOKENS

    async def one(item: dict[str, Any]) -> dict[str, Any]:
        if fmt is None:
            messages = judging.judge_messages(item["requirement"], item["text"])
        else:
            messages = judging.judge_messages(item["requirement"], item["text"], fmt)
        started = time.monotonic()
        async with slots:
            response = await model.complete(
                ModelRequest(
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=0.0,
                    response_format=fmt,
                )
            )
        row = {k: v for k, v in item.items() if k != "text"}
        row.update(answer=response.text, finish=response.finish_reason)
        row.update(format=fmt.kind if fmt else "none", seconds=time.monotonic() - started)
        try:
            verdict = judging.parse_judgement(response.text)
        except judging.UnparseableJudgement as exc:
            row.update(parsed=False, score=None, error=str(exc))
        else:
            row.update(parsed=True, score=verdict.score, error=None)
        return row

    with path.open("a", encoding="utf-8") as sink:
        for i, task in enumerate(asyncio.as_completed([one(t) for t in items]), 1):
            sink.write(json.dumps(await task) + "\n")
            sink.flush()
            print(f"\rjudgements {i}/{len(items)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    await model.aclose()


# -- 3. whole runs, IFEval dev in judge mode ------------------------------------------------


async def whole_runs(args: argparse.Namespace) -> None:
    from cadenza import RunOptions, arun_task, make_task
    from cadenza.evals.ifeval import load_rows, requirements_for
    from cadenza.models.registry import resolve_model
    from cadenza.planner import SearchSettings
    from cadenza.validators.ifeval import score_response

    model = resolve_model(args.model)
    path: Path = args.out / "runs.jsonl"
    done = {r["key"] for r in _rows(path)}
    rows, _ = load_rows(args.data)
    rows = [r for r in rows[args.start : args.stop] if r.key not in done]
    if args.judged_only:
        from cadenza.validators.compiler import compile_requirement

        rows = [
            r
            for r in rows
            if any(compile_requirement(q.description) is None for q in requirements_for(r, "judge"))
        ]
    with path.open("a", encoding="utf-8") as sink:
        for i, row in enumerate(rows, 1):
            started = time.monotonic()
            # The same run as `cadenza eval ifeval --mode judge --arms cadenza`.
            settings = SearchSettings(
                max_output_tokens=IFEVAL_MAX_TOKENS, mention_requirements=False, repairs=True
            )
            task = make_task(
                row.prompt,
                list(requirements_for(row, "judge")),
                budget=json.loads(args.budget),
                models=[model.name],
            )
            result = await arun_task(
                task, models=[model], options=RunOptions(search=settings, compile_requirements=True)
            )
            judged = [n for n in result.trace if n.kind == "judge"]
            unparsable = [n for n in judged if n.status == "failed" and _unparsable(n.error)]
            verdicts = score_response(
                row.prompt, result.result, row.instruction_id_list, row.kwargs
            )
            record = {
                "key": row.key,
                "strict": [s for _, s, _ in verdicts],
                "judge_calls": len(judged),
                "judge_ok": sum(1 for n in judged if n.status == "ok"),
                "unparsable": len(unparsable),
                "unparsable_answers": [n.response for n in unparsable],
                "constrained": sum(1 for n in judged if n.detail.get("constrained")),
                "tokens": result.usage.total_tokens,
                "calls": result.usage.calls,
                "finish_reason": result.requirements_result.finish_reason,
                "seconds": time.monotonic() - started,
            }
            sink.write(json.dumps(record) + "\n")
            sink.flush()
            print(f"\rruns {i}/{len(rows)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    await model.aclose()


# -- 4. report --------------------------------------------------------------------------


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f} %" if d else "n/a"


def report(args: argparse.Namespace) -> None:
    for folder in args.folders:
        for path in sorted(folder.glob("judge-*.jsonl")):
            rows = list(_rows(path))
            print(f"\n## {path}")
            print("| set | judgements | unparsable | share | format |")
            print("|---|---|---|---|---|")
            for kind in ("ifeval", "content"):
                sub = [r for r in rows if r["set"] == kind]
                bad = sum(1 for r in sub if not r["parsed"])
                formats = ",".join(sorted({r["format"] for r in sub}))
                print(f"| {kind} | {len(sub)} | {bad} | {_pct(bad, len(sub))} | {formats} |")
            both = [r for r in rows if r["set"] == "ifeval" and r["compiled"]]
            cells: Counter[tuple[str, str]] = Counter()
            for r in both:
                judge = (
                    "unparsable"
                    if not r["parsed"]
                    else "pass"
                    if r["score"] >= JUDGE_PASS
                    else "fail"
                )
                cells[("pass" if r["code_pass"] else "fail", judge)] += 1
            agree = cells[("pass", "pass")] + cells[("fail", "fail")]
            print(
                f"\nagreement with the exact checks on {len(both)} judgements of sentences the "
                f"compiler turns into code: {agree}/{len(both)} = {_pct(agree, len(both))} "
                "(an unparsable answer counts as disagreement)"
            )
            parsed = len(both) - cells[("pass", "unparsable")] - cells[("fail", "unparsable")]
            print(f"on the parsed answers only: {agree}/{parsed} = {_pct(agree, parsed)}")
            passing = sum(1 for r in both if r["code_pass"])
            print(
                f"(a judge that always says pass would agree on {_pct(passing, len(both))}, "
                f"one that always says fail on {_pct(len(both) - passing, len(both))})"
            )
            print("| exact check \\ judge | pass | fail | unparsable |")
            print("|---|---|---|---|")
            for code in ("pass", "fail"):
                print(
                    f"| {code} | {cells[(code, 'pass')]} | {cells[(code, 'fail')]} "
                    f"| {cells[(code, 'unparsable')]} |"
                )
        runs = list(_rows(folder / "runs.jsonl"))
        if runs:
            calls = sum(r["judge_calls"] for r in runs)
            bad = sum(r["unparsable"] for r in runs)
            met = sum(1 for r in runs if all(r["strict"]))
            print(f"\n## {folder / 'runs.jsonl'}")
            print(
                f"{len(runs)} prompts, {calls} judge calls ({sum(r['constrained'] for r in runs)} "
                f"constrained), {bad} unparsable ({_pct(bad, calls)}); prompt strict "
                f"{_pct(met, len(runs))}; tokens/prompt "
                f"{sum(r['tokens'] for r in runs) / len(runs):.0f}; s/prompt "
                f"{sum(r['seconds'] for r in runs) / len(runs):.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="step", required=True)
    c = sub.add_parser("candidates")
    c.add_argument("--data", type=Path, required=True)
    c.add_argument("--pairs", type=Path, required=True)
    c.add_argument("--samples", type=int, default=3)
    c.add_argument("--limit", type=int)
    j = sub.add_parser("judge")
    j.add_argument("--label", required=True)
    j.add_argument("--judge", choices=["current", "old"], default="current")
    j.add_argument("--format", choices=["auto", "none", "grammar", "json_schema"], default="auto")
    r = sub.add_parser("runs")
    r.add_argument("--data", type=Path, required=True)
    r.add_argument("--budget", default=json.dumps(RUN_BUDGET))
    r.add_argument("--start", type=int, default=0)
    r.add_argument("--stop", type=int)
    r.add_argument(
        "--judged-only",
        action="store_true",
        help="only prompts with a sentence the compiler leaves to the judge",
    )
    for p in (c, j):
        p.add_argument("--max-items", type=int, help="stop after this many (resume later)")
    for p in (c, j, r):
        p.add_argument("--out", type=Path, required=True)
        p.add_argument("--model", default="local:smollm2")
    rep = sub.add_parser("report")
    rep.add_argument("folders", type=Path, nargs="+")
    args = parser.parse_args()
    if args.step != "report":
        args.out.mkdir(parents=True, exist_ok=True)
    if args.step == "candidates":
        asyncio.run(make_candidates(args))
    elif args.step == "judge":
        asyncio.run(judge_all(args))
    elif args.step == "runs":
        asyncio.run(whole_runs(args))
    else:
        report(args)


if __name__ == "__main__":
    main()
