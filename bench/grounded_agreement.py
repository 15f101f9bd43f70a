"""How often the `grounded` check agrees with a labelled reference.

The labelled sample is built from HotpotQA rows (no model): for each question, its
supporting paragraph A and a distractor D of the same question (same topic, written to
look relevant: the hard negatives):

- supported: the first sentence of A, citing A ("<sentence> [P1]");
- supported (short): the gold answer phrase, when A contains it, citing A;
- unsupported: the same sentence of A citing D;
- unsupported (short): the gold answer citing D, when D does not contain it.

The labels come from where the sentence was taken, not from the check. Prints agreement
(accuracy), precision and recall of "supported", per case type, and the bootstrap spread.

    .venv/bin/python bench/grounded_agreement.py --data ../shared/benchmarks/hotpotqa/dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from cadenza.evals.hotpotqa_data import load_rows, normalize_answer
from cadenza.sources.checks import grounded
from cadenza.validators.base import CheckContext


def _first_sentence(text: str) -> str:
    m = re.search(r"(?<=[a-z0-9)\"'])[.!?](?=\s+[A-Z]|$)", text)
    return (text[: m.end()] if m else text).strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows, _ = load_rows(args.data)
    rng = random.Random(args.seed)
    cases: list[tuple[str, str, str, str, bool]] = []  # kind, question, answer, passage, label
    for row in rows:
        sup = row.supporting
        dis = [p for p in row.paragraphs if not p.is_supporting]
        if not sup or not dis:
            continue
        a = sup[0]
        d = rng.choice(dis)
        sentence = _first_sentence(a.text)
        cases.append(("sentence", row.question, f"{sentence} [P1]", f"{a.title}\n{a.text}", True))
        cases.append(("sentence", row.question, f"{sentence} [P1]", f"{d.title}\n{d.text}", False))
        gold = row.answers[0]
        if normalize_answer(gold) in ("yes", "no"):
            continue
        holder = next((p for p in sup if normalize_answer(gold) in normalize_answer(p.text)), None)
        if holder is not None:
            cases.append(
                ("short", row.question, f"{gold} [P1]", f"{holder.title}\n{holder.text}", True)
            )
        if normalize_answer(gold) not in normalize_answer(f"{d.title} {d.text}"):
            cases.append(("short", row.question, f"{gold} [P1]", f"{d.title}\n{d.text}", False))
    verdicts = []
    for kind, question, answer, passage, label in cases:
        ctx = CheckContext(question, "grounded", "grounded", sources={"P1": passage})
        v = grounded(answer, ctx)
        verdicts.append((kind, label, v.score >= 1.0))

    def stats(items: list[tuple[str, bool, bool]]) -> dict[str, float]:
        n = len(items)
        agree = sum(lab == pred for _, lab, pred in items)
        tp = sum(lab and pred for _, lab, pred in items)
        said = sum(pred for _, _, pred in items)
        pos = sum(lab for _, lab, _ in items)
        return {
            "n": n,
            "agreement": agree / n,
            "precision_supported": tp / said if said else 0.0,
            "recall_supported": tp / pos if pos else 0.0,
        }

    boot = []
    for _ in range(1000):
        sample = [rng.choice(verdicts) for _ in verdicts]
        boot.append(sum(lab == pred for _, lab, pred in sample) / len(sample))
    boot.sort()
    report = {
        "all": stats(verdicts),
        "sentence": stats([v for v in verdicts if v[0] == "sentence"]),
        "short": stats([v for v in verdicts if v[0] == "short"]),
        "agreement_95": [boot[25], boot[974]],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
