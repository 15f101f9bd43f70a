"""The document library at 100k passages: indexing throughput and query latency.

    flock /work/wt/cpu.lock .venv/bin/python bench/library_100k.py build --db /tmp/lib.db
    flock /work/wt/cpu.lock .venv/bin/python bench/library_100k.py query --db /tmp/lib.db
    flock /work/wt/cpu.lock .venv/bin/python bench/library_100k.py embed-rate

`build` writes 10,000 Markdown files of 10 sections each (100,000 passages) into a fresh
SQLite library through `Library.add`: parsing, chunking, FTS5 and vector rows, one
transaction per file. The text is generated: sentences drawn at random from the HotpotQA
dev paragraphs (../shared/benchmarks/hotpotqa), so words follow real English frequencies.
Embedding 100k passages with MiniLM on this machine would take most of an hour (see
`embed-rate`), so each passage's vector is the normalised mean of the MiniLM vectors of
its sentences (each sentence embedded once): real MiniLM vectors, realistically spread,
cheap to make. Baseline in the same run: the same rows inserted into a plain SQLite table.

`query` asks the HotpotQA questions against that library in each mode (bm25, vector,
hybrid, hybrid filtered by a label and by a path prefix) and reports p50/p95 latency; the
query is embedded by MiniLM inside the measured time. Baselines in the same run: the bare
numpy matrix-vector product over the same matrix (the floor), and decoding every vector
blob from the database per query (what the cached matrix avoids).

`--vectors hashing` swaps MiniLM for the hashing test embedder (used by the test of this
script at a small size; not for the published figures).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.retrieval import Embedder, HashingEmbedder, Library, MiniLMEmbedder

HOTPOT = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "hotpotqa" / "dev.jsonl"
if not HOTPOT.exists():
    HOTPOT = Path("/work/shared/benchmarks/hotpotqa/dev.jsonl")
LABELS = [f"topic-{i:02d}" for i in range(20)]


def hotpot_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def sentence_pool(rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(sentences, titles) of every paragraph in the file."""
    import punkt

    tokenizer = punkt.PunktSentenceTokenizer(punkt.load_model("english"))
    sentences: dict[str, None] = {}
    titles: dict[str, None] = {}
    for row in rows:
        for p in row["paragraphs"]:
            titles.setdefault(p["title"], None)
            for s in tokenizer.tokenize(" ".join(p["text"].split())):
                if 20 <= len(s) <= 300:
                    sentences.setdefault(s, None)
    return list(sentences), list(titles)


class BenchEmbedder(Embedder):
    """Passages get the mean of their sentences' precomputed vectors; anything else (a
    query) is embedded by the real model."""

    def __init__(self, model: Embedder, sentence_vectors: dict[str, np.ndarray]) -> None:
        self.model = model
        self.name = f"bench-{model.name}"
        self.dimensions = model.dimensions
        self.sentence_vectors = sentence_vectors
        self.passages: dict[str, list[str]] = {}

    def embed(self, texts: Sequence[str]) -> Any:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        queries = []
        for i, text in enumerate(texts):
            body = text.split("\n", 1)[-1]
            parts = self.passages.get(body)
            if parts is None:
                queries.append(i)
                continue
            out[i] = np.mean([self.sentence_vectors[s] for s in parts], axis=0)
        if queries:
            out[queries] = self.model.embed([texts[i] for i in queries])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.clip(norms, 1e-12, None)).astype(np.float32)


def make_model(kind: str) -> Embedder:
    return HashingEmbedder() if kind == "hashing" else MiniLMEmbedder()


def build(args: argparse.Namespace) -> dict[str, Any]:
    db = Path(args.db)
    if db.exists():
        db.unlink()
    for extra in ("-wal", "-shm"):
        Path(f"{db}{extra}").unlink(missing_ok=True)
    rng = random.Random(args.seed)
    rows = hotpot_rows(Path(args.data))
    sentences, titles = sentence_pool(rows)
    model = make_model(args.vectors)

    t0 = time.perf_counter()
    vectors = model.embed(sentences)
    sentence_seconds = time.perf_counter() - t0
    embedder = BenchEmbedder(model, dict(zip(sentences, vectors, strict=True)))

    files: list[tuple[str, list[str], str]] = []
    n_files = args.chunks // args.per_file
    for i in range(n_files):
        sections = []
        for j in range(args.per_file):
            parts: list[str] = []
            while sum(len(s) + 1 for s in parts) < rng.randint(350, 800):
                parts.append(rng.choice(sentences))
            paragraph = " ".join(parts)
            while len(paragraph) > 1100:
                parts.pop()
                paragraph = " ".join(parts)
            embedder.passages[paragraph] = parts
            sections.append(f"## Part {j + 1}: {rng.choice(titles)}\n\n{paragraph}\n")
        text = f"# {rng.choice(titles)} ({i})\n\n" + "\n".join(sections)
        labels = rng.sample(LABELS, k=rng.choice([1, 2]))
        files.append((text, labels, f"dept-{i % 10}/year-{2015 + i % 10}"))

    t0 = time.perf_counter()
    with Library(f"sqlite:///{db}", embedder=embedder) as lib:
        for i, (text, labels, path) in enumerate(files):
            lib.add(text.encode(), name=f"doc-{i:05d}.md", labels=labels, path=path)
        index_seconds = time.perf_counter() - t0
        stats = lib.stats()

    # Baseline: the same passages as plain rows (no parsing, no FTS, no vectors).
    plain = sqlite3.connect(":memory:")
    plain.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, file INTEGER, text TEXT)")
    flat = [(i, p) for i, (t, _, _) in enumerate(files) for p in t.split("\n## ")]
    t0 = time.perf_counter()
    plain.executemany("INSERT INTO t (file, text) VALUES (?, ?)", flat)
    plain.commit()
    raw_seconds = time.perf_counter() - t0

    figures = {
        "chunks": stats.chunks,
        "files": stats.files,
        "embedded": stats.embedded,
        "db_mb": round(sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 1e6, 1),
        "index_seconds": round(index_seconds, 1),
        "chunks_per_second": round(stats.chunks / index_seconds, 1),
        "files_per_second": round(stats.files / index_seconds, 1),
        "baseline_plain_insert_chunks_per_second": round(len(flat) / raw_seconds, 1),
        "sentences_embedded": len(sentences),
        "sentence_embedding_seconds": round(sentence_seconds, 1),
        "vectors": args.vectors,
    }
    figures["ratio_library_to_plain_insert"] = round(
        figures["chunks_per_second"] / figures["baseline_plain_insert_chunks_per_second"], 4
    )
    return figures


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": round(p95 * 1000, 2)}


def query(args: argparse.Namespace) -> dict[str, Any]:
    rows = hotpot_rows(Path(args.data))
    questions = [r["question"] for r in rows]
    asked = [questions[i % len(questions)] for i in range(args.queries)]
    model = make_model(args.vectors)
    embedder = BenchEmbedder(model, {})
    out: dict[str, Any] = {"queries_per_mode": len(asked)}
    with Library(f"sqlite:///{args.db}", embedder=embedder) as lib:
        if lib.stats().chunks == 0:
            sys.exit(f"{args.db} holds no library: run `build` first")
        t0 = time.perf_counter()
        lib.search(asked[0], mode="vector")  # the first vector search reads the matrix
        out["cold_first_vector_query_s"] = round(time.perf_counter() - t0, 2)
        cases: list[tuple[str, dict[str, Any]]] = [
            ("bm25", {"mode": "bm25"}),
            ("vector", {"mode": "vector"}),
            ("hybrid", {"mode": "hybrid"}),
            ("hybrid_label_filter", {"mode": "hybrid", "labels": ["topic-03"]}),
            ("hybrid_path_prefix", {"mode": "hybrid", "path_prefix": "dept-3/"}),
        ]
        for q in asked[:5]:  # warm up every path
            for _, kw in cases:
                lib.search(q, limit=10, **kw)
        for name, kw in cases:
            times = []
            for q in asked:
                t0 = time.perf_counter()
                result = lib.search(q, limit=10, **kw)
                times.append(time.perf_counter() - t0)
                assert len(result) > 0, (name, q)
            out[name] = percentiles(times)
        embed_times = []
        for q in asked:
            t0 = time.perf_counter()
            model.embed([q])
            embed_times.append(time.perf_counter() - t0)
        out["query_embedding_only"] = percentiles(embed_times)

        # Baselines on the same vectors
        matrix = lib._matrix
        assert matrix is not None
        snap = matrix.snapshot(lib._index.generation())
        out["matrix_mb"] = round(snap.matrix.nbytes / 1e6, 1)
        qvecs = model.embed(asked)
        floor = []
        for qv in qvecs:
            t0 = time.perf_counter()
            scores = snap.matrix @ qv
            top = np.argpartition(-scores, 49)[:50]
            top[np.argsort(-scores[top])]
            floor.append(time.perf_counter() - t0)
        out["baseline_bare_matvec_top50"] = percentiles(floor)
        naive = []
        for qv in qvecs[:5]:
            t0 = time.perf_counter()
            ids, _, blobs = lib._index.load_vectors(embedder.name)
            m = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1)
            np.argpartition(-(m @ qv), 49)[:50]
            naive.append(time.perf_counter() - t0)
        out["baseline_decode_blobs_per_query"] = percentiles(naive)
    hybrid = out["hybrid"]["p50_ms"]
    out["ratio_hybrid_p50_to_bare_matvec_p50"] = round(
        hybrid / out["baseline_bare_matvec_top50"]["p50_ms"], 2
    )
    out["ratio_decode_per_query_p50_to_hybrid_p50"] = round(
        out["baseline_decode_blobs_per_query"]["p50_ms"] / hybrid, 1
    )
    out["target_hybrid_p50_under_50ms"] = hybrid < 50
    return out


def embed_rate(args: argparse.Namespace) -> dict[str, Any]:
    """MiniLM throughput on passages like the benchmark's (350-800 characters)."""
    rng = random.Random(args.seed)
    sentences, _ = sentence_pool(hotpot_rows(Path(args.data)))
    passages = []
    for _ in range(args.n):
        parts: list[str] = []
        while sum(len(s) + 1 for s in parts) < rng.randint(350, 800):
            parts.append(rng.choice(sentences))
        passages.append(" ".join(parts))
    model = MiniLMEmbedder()
    model.embed(passages[:4])
    t0 = time.perf_counter()
    model.embed(passages)
    seconds = time.perf_counter() - t0
    rate = args.n / seconds
    return {
        "passages": args.n,
        "seconds": round(seconds, 1),
        "passages_per_second": round(rate, 1),
        "projected_minutes_for_100k": round(100_000 / rate / 60, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("build", "query", "embed-rate", "all"):
        p = sub.add_parser(name)
        p.add_argument("--data", default=str(HOTPOT))
        p.add_argument("--seed", type=int, default=7)
        p.add_argument("--out", help="append the figures as one JSON line to this file")
        if name != "embed-rate":
            p.add_argument("--db", required=True)
            p.add_argument("--vectors", choices=["minilm", "hashing"], default="minilm")
        if name in ("build", "all"):
            p.add_argument("--chunks", type=int, default=100_000)
            p.add_argument("--per-file", type=int, default=10)
        if name in ("query", "all"):
            p.add_argument("--queries", type=int, default=284)
        if name == "embed-rate":
            p.add_argument("--n", type=int, default=300)
    args = parser.parse_args(argv)
    if args.command == "build":
        figures = {"build": build(args)}
    elif args.command == "query":
        figures = {"query": query(args)}
    elif args.command == "embed-rate":
        figures = {"embed_rate": embed_rate(args)}
    else:
        figures = {"build": build(args), "query": query(args)}
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
