"""How often the haiku task meets both requirements: cadenza vs a single call.

    .venv/bin/python bench/bench_haiku.py --tries 20 [--model local:smollm2] [--max-tokens 4000]

Arms, each scored by the exact checks (IFEval's english_lowercase and no_comma):
- single call, greedy (temperature 0: deterministic, so one try says it all);
- single call, sampled at temperature 0.8 (`--tries` times);
- cadenza with its defaults (compiler on, deterministic repairs on);
- cadenza without repairs (only the model's own revisions).
Prints, per arm: success rate over the tries, mean tokens, mean calls, mean seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import cadenza
from cadenza.engine import BudgetLedger, CallRunner
from cadenza.models.base import Message
from cadenza.planner import SearchSettings
from cadenza.task import Budget
from cadenza.trace import TraceRecorder
from cadenza.validators.ifeval import check_instruction

PROMPT = "Write a haiku about the sea."
REQS = ["Use only lowercase letters", "Do not use any commas"]


def meets_both(text: str) -> bool:
    return (
        check_instruction("change_case:english_lowercase", text, {}).passed
        and check_instruction("punctuation:no_comma", text, {}).passed
    )


async def single(model: cadenza.Model, temperature: float) -> tuple[bool, int, int, float]:
    start = time.monotonic()
    calls = CallRunner(BudgetLedger(Budget(max_calls=1)), TraceRecorder())
    messages = (Message("user", PROMPT + "\n\n" + ".\n".join(REQS) + "."),)
    response, _ = await calls.call(
        kind="generate",
        parent=None,
        model=model,
        messages=messages,
        max_tokens=512,
        temperature=temperature,
    )
    text = response.text.strip()
    return (
        meets_both(text),
        response.input_tokens + response.output_tokens,
        1,
        (time.monotonic() - start),
    )


async def harness(
    model: cadenza.Model, max_tokens: int, repairs: bool
) -> tuple[bool, int, int, float]:
    result = await cadenza.arun(
        PROMPT,
        list(REQS),
        models=[model],
        budget={"max_tokens": max_tokens},
        options=cadenza.RunOptions(search=SearchSettings(repairs=repairs)),
    )
    assert result.usage.total_tokens <= max_tokens
    return (
        meets_both(result.result),
        result.usage.total_tokens,
        result.usage.calls,
        (result.seconds),
    )


def report(name: str, rows: list[tuple[bool, int, int, float]]) -> None:
    ok = sum(r[0] for r in rows)
    print(
        f"{name:28s} {ok:3d}/{len(rows):<3d} = {100 * ok / len(rows):5.1f} %   "
        f"tokens {statistics.mean(r[1] for r in rows):7.0f}   "
        f"calls {statistics.mean(r[2] for r in rows):5.1f}   "
        f"seconds {statistics.mean(r[3] for r in rows):6.1f}",
        flush=True,
    )


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tries", type=int, default=20)
    ap.add_argument("--model", default="local:smollm2")
    ap.add_argument("--max-tokens", type=int, default=4000)
    args = ap.parse_args()
    model = cadenza.resolve_model(args.model)
    print(
        f"{PROMPT!r} + {REQS}, model {args.model}, {args.tries} tries, cadenza budget "
        f"max_tokens={args.max_tokens}"
    )
    report("single call, greedy", [await single(model, 0.0)])
    report("single call, T=0.8", [await single(model, 0.8) for _ in range(args.tries)])
    report(
        "cadenza, no repairs",
        [await harness(model, args.max_tokens, False) for _ in range(args.tries)],
    )
    report(
        "cadenza (default)",
        [await harness(model, args.max_tokens, True) for _ in range(args.tries)],
    )


if __name__ == "__main__":
    asyncio.run(main())
