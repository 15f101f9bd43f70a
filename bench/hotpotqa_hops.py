"""Multi-hop retrieval without a model, on the HotpotQA pool: how often both supporting
paragraphs are among the passages a run shows the model (at most 6).

The library is the one `cadenza eval hotpotqa` builds (every row's paragraphs pooled; pass
its database with --library and its ``.files.json`` mapping is read beside it). Each
question goes through the `Retriever` the planner's `Retrieve` action drives, with no
model call: the question's search, then 0, 1 or 2 hops of bridge lookups, then the
selection of at most ``max_shown`` passages. Baseline in the same run: the question's own
top 6 (``hops=0``). Prints the share of questions with both supporting paragraphs shown,
with a 95 % bootstrap interval over questions, and the searches per question.

    flock /work/wt/cpu.lock .venv/bin/python bench/hotpotqa_hops.py \\
        --data ../shared/benchmarks/hotpotqa/dev.jsonl --library /tmp/hq/library.db
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from pathlib import Path

from cadenza.evals.hotpotqa_data import build_corpus, load_rows
from cadenza.retrieval import FileSearch, Library
from cadenza.sources.retriever import RetrievalSettings, Retriever
from cadenza.sources.tools import ToolSet
from cadenza.trace import TraceRecorder


async def measure(args: argparse.Namespace) -> dict[str, object]:
    rows, _ = load_rows(args.data)
    lib = Library(f"sqlite:///{args.library}")
    corpus = build_corpus(rows, lib, args.library.with_suffix(".files.json"))
    tools = await ToolSet.open([FileSearch()], library=lib)
    rng = random.Random(0)
    out: dict[str, object] = {"n_questions": len(rows)}
    for hops in args.hops:
        settings = RetrievalSettings(hops=hops, max_shown=args.max_shown)
        hits: list[bool] = []
        searches = 0
        for row in rows:
            r = Retriever(tools, TraceRecorder(), row.question, settings)
            await r.search_question()
            for _ in range(hops):
                if not await r.follow_up():
                    break
            shown = {s.found.file_id for s in r.select()}
            hits.append(corpus.supporting_files(row) <= shown)
            searches += len(r.evidence.queries)
        boot = sorted(sum(rng.choice(hits) for _ in hits) / len(hits) for _ in range(1000))
        out[f"hops={hops}"] = {
            "both_supporting_shown": round(sum(hits) / len(hits), 3),
            "interval_95": [round(boot[25], 3), round(boot[974], 3)],
            "searches_per_question": round(searches / len(rows), 1),
        }
    lib.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--library", type=Path, required=True)
    ap.add_argument("--hops", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--max-shown", type=int, default=6)
    print(json.dumps(asyncio.run(measure(ap.parse_args())), indent=2))


if __name__ == "__main__":
    main()
