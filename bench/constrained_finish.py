"""Does a small model finish under a grammar of the requirements, and does the answer pass?

For each IFEval prompt whose exact requirements make a grammar where something must
follow free text (an end phrase, a closing quote, more paragraphs or bullet points, a
postscript), one greedy call under that grammar with free text unbounded
(``max_words`` None) and one with the bound cadenza uses (``--max-words``, 150 by
default), both with the same output cap (512 tokens, `SearchSettings.max_output_tokens`).
Prints per arm: calls cut off at the token limit, answers that pass every enforced check
(IFEval strict), and output tokens. Run it under the shared CPU lock:

    flock /work/wt/cpu.lock .venv/bin/python bench/constrained_finish.py \\
        --data ../shared/benchmarks/ifeval/dev.jsonl --limit 15 --out runs/finish.jsonl

Each (prompt, arm) is one line of ``--out``; a rerun skips the lines already there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from cadenza.engine import BudgetLedger, CallRunner, CallSettings
from cadenza.evals.ifeval import load_rows, requirements_for
from cadenza.models import Message, ResponseFormat, resolve_model
from cadenza.planner.grammar import ExactRequirement, Shape, requirements_grammar
from cadenza.task import Budget
from cadenza.trace import TraceRecorder
from cadenza.validators.ifeval import check_instruction


def must_finish(s: Shape) -> bool:
    """Whether something must follow free text in answers of this shape."""
    return bool(
        s.end is not None
        or s.quotes
        or s.postscript is not None
        or (s.content in ("bullets", "paragraphs") and s.count > 1)
    )


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=15)
    ap.add_argument("--max-words", type=int, default=150)
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--model", default="local:smollm2")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rows, _ = load_rows(args.data)
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            d = json.loads(line)
            done.add((d["key"], d["arm"]))
    model = resolve_model(args.model)
    picked = 0
    for row in rows:
        if picked >= args.limit:
            break
        reqs = requirements_for(row, "code")
        exact = [
            ExactRequirement(r.name, str(r.validator), r.validator_args, row.prompt) for r in reqs
        ]
        for arm, cap in (("unbounded", None), ("bounded", args.max_words)):
            g = requirements_grammar(exact, max_words=cap)
            if g is None or not must_finish(g.shape):
                break
            if arm == "unbounded":
                picked += 1
            if (row.key, arm) in done:
                continue
            calls = CallRunner(BudgetLedger(Budget(max_calls=1)), TraceRecorder(), CallSettings())
            response, node = await calls.call(
                kind="generate",
                parent=None,
                model=model,
                messages=(Message("user", row.prompt),),
                max_tokens=args.max_tokens,
                response_format=ResponseFormat("grammar", grammar=g.grammar),
            )
            enforced = [r for r in reqs if r.name in g.enforced]
            passed = all(
                check_instruction(
                    str(r.validator), response.text, r.validator_args, prompt=row.prompt
                ).score
                >= 1.0
                for r in enforced
            )
            line = {
                "key": row.key,
                "arm": arm,
                "finish_reason": node.detail.get("finish_reason"),
                "passed": passed,
                "output_tokens": response.output_tokens,
            }
            with args.out.open("a") as f:
                f.write(json.dumps(line) + "\n")
            print(line, flush=True)
    lines = [json.loads(x) for x in args.out.read_text().splitlines()] if args.out.exists() else []
    for arm in ("unbounded", "bounded"):
        mine = [x for x in lines if x["arm"] == arm]
        if not mine:
            continue
        n = len(mine)
        cut = sum(x["finish_reason"] == "length" for x in mine)
        ok = sum(x["passed"] for x in mine)
        toks = sum(x["output_tokens"] for x in mine) / n
        print(
            f"{arm}: n={n} cut off {cut}/{n}, pass every enforced check {ok}/{n}, "
            f"{toks:.0f} output tokens/call"
        )


if __name__ == "__main__":
    asyncio.run(main())
