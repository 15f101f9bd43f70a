"""Retrieval quality on HotpotQA: are both supporting paragraphs among the top k?

    flock /work/wt/cpu.lock .venv/bin/python bench/hotpotqa_retrieval.py \\
        --data ../shared/benchmarks/hotpotqa/dev.jsonl --db /tmp/hotpot.db

The paragraphs of every question in the file are pooled into one library (one Markdown
file per paragraph: its title as heading, its text below), and each question is asked
against the whole pool with BM25, vectors (MiniLM) and hybrid search. Reported for k in
2, 5, 6, 10: the share of questions whose two supporting paragraphs are both in the top k
("both"), and whose at least one is ("any"), with a 95% bootstrap interval over the
questions. Retrieval here is deterministic: the interval is the spread over questions,
not over runs. One-shot retrieval over the question text only; the multi-hop planner is a
later layer.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

from cadenza.retrieval import HashingEmbedder, Library, MiniLMEmbedder

KS = (2, 5, 6, 10)


def bootstrap(hits: list[bool], *, seed: int = 0, rounds: int = 2000) -> tuple[float, float]:
    rng = random.Random(seed)
    n = len(hits)
    shares = sorted(sum(rng.choice(hits) for _ in range(n)) / n for _ in range(rounds))
    return shares[int(0.025 * rounds)], shares[int(0.975 * rounds)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--db", required=True, help="a SQLite file to build the library in")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--vectors", choices=["minilm", "hashing"], default="minilm")
    parser.add_argument("--out", help="write the figures here as JSON")
    args = parser.parse_args(argv)

    rows = [json.loads(x) for x in Path(args.data).read_text().splitlines() if x.strip()]
    if args.limit:
        rows = rows[: args.limit]
    db = Path(args.db)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    embedder = HashingEmbedder() if args.vectors == "hashing" else MiniLMEmbedder()
    figures: dict[str, Any] = {"questions": len(rows), "vectors": embedder.name}
    with Library(f"sqlite:///{db}", embedder=embedder) as lib:
        by_key: dict[tuple[str, str], str] = {}
        t0 = time.perf_counter()
        for row in rows:
            for p in row["paragraphs"]:
                key = (p["title"], p["text"])
                if key in by_key:
                    continue
                body = f"# {p['title']}\n\n{' '.join(p['text'].split())}\n"
                by_key[key] = lib.add(body.encode(), name=f"p{len(by_key):05d}.md").id
        figures["paragraphs"] = len(by_key)
        figures["index_seconds"] = round(time.perf_counter() - t0, 1)
        for mode in ("bm25", "vector", "hybrid"):
            both: dict[int, list[bool]] = {k: [] for k in KS}
            anyone: dict[int, list[bool]] = {k: [] for k in KS}
            for row in rows:
                gold = {
                    by_key[(p["title"], p["text"])] for p in row["paragraphs"] if p["is_supporting"]
                }
                found = [p.file_id for p in lib.search(row["question"], limit=max(KS), mode=mode)]  # type: ignore[arg-type]
                for k in KS:
                    top = set(found[:k])
                    both[k].append(gold <= top)
                    anyone[k].append(bool(gold & top))
            figures[mode] = {
                f"top{k}": {
                    "both": round(sum(both[k]) / len(rows), 3),
                    "both_95ci": [round(x, 3) for x in bootstrap(both[k])],
                    "any": round(sum(anyone[k]) / len(rows), 3),
                }
                for k in KS
            }
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
