"""How well the requirement compiler reads users' wording: recall and wrong checks.

    .venv/bin/python bench/compiler_recall.py [--split dev|heldout|all] [--show-misses]
        [--paraphrases tests/data/compiler_paraphrases.jsonl]
        [--ifeval tests/data/ifeval_dev_instructions.jsonl]

Two measurements, both deterministic (no model, no network):

1. The paraphrase set (``tests/data/compiler_paraphrases.jsonl``): requirements written
   the way users write them, each with the check it must compile to (an IFEval id and
   its kwargs, a list of such checks for a requirement holding several constraints, or
   ``null`` when only the LLM judge can decide it). Rows are split into ``dev`` (used
   while writing the rules) and ``heldout`` (measured only at the end). Per split it
   prints:
   - recall: compilable rows compiled to exactly the expected check(s);
   - wrong: rows compiled to anything else, including a ``null`` row that compiled;
     a wrong check is worse than the judge, so this must be 0;
   - judge rows kept: ``null`` rows that went to the judge.
2. IFEval's own sentences: each (instruction id, kwargs) of the IFEval dev slice
   (``tests/data/ifeval_dev_instructions.jsonl``, 209 instructions) written as IFEval's
   own plain-language sentence, compiled, and compared with the id and kwargs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PARAPHRASES = ROOT / "tests" / "data" / "compiler_paraphrases.jsonl"
IFEVAL_INSTRUCTIONS = ROOT / "tests" / "data" / "ifeval_dev_instructions.jsonl"
SPLITS = ("dev", "heldout", "all")

Check = tuple[str, str]
"""A check as (validator, its arguments as canonical JSON), so checks compare by value."""


def _key(validator: str, args: dict[str, Any]) -> Check:
    return validator, json.dumps(args, sort_keys=True)


def expected_checks(expect: object) -> list[Check] | None:
    """The checks a row expects, sorted, or None for "the judge decides"."""
    if expect is None:
        return None
    items = expect if isinstance(expect, list) else [expect]
    out = []
    for item in items:
        if not isinstance(item, dict) or set(item) != {"check", "args"}:
            raise ValueError(f"an expected check is {{'check': ..., 'args': {{...}}}}: {item!r}")
        out.append(_key(item["check"], item["args"]))
    return sorted(out)


def compiled_checks(text: str) -> list[Check] | None:
    """What the compiler makes of `text`, in the same form: the parts of a conjunction."""
    from cadenza.validators.compiler import compile_requirement

    check = compile_requirement(text)
    if check is None:
        return None
    parts = getattr(check, "parts", ()) or (check,)
    return sorted(_key(p.validator, p.args) for p in parts)


@dataclass
class Tally:
    rows: int = 0
    compilable: int = 0
    correct: int = 0
    wrong: int = 0
    judge_rows: int = 0
    judge_kept: int = 0
    misses: list[str] = field(default_factory=list)
    wrongs: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.correct / self.compilable if self.compilable else 1.0


def load_paraphrases(path: Path = PARAPHRASES) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for row in rows:
        if row.get("split") not in ("dev", "heldout") or not isinstance(row.get("text"), str):
            raise ValueError(f"a row needs 'text' and 'split' (dev or heldout): {row!r}")
        expected_checks(row.get("expect"))
    return rows


def score(rows: Iterable[dict[str, Any]]) -> Tally:
    t = Tally()
    for row in rows:
        want = expected_checks(row["expect"])
        got = compiled_checks(row["text"])
        t.rows += 1
        if want is None:
            t.judge_rows += 1
            if got is None:
                t.judge_kept += 1
            else:
                t.wrong += 1
                t.wrongs.append(f"{row['text']!r}: expected the judge, got {got}")
            continue
        t.compilable += 1
        if got == want:
            t.correct += 1
        elif got is None:
            t.misses.append(f"{row['text']!r}: expected {want}")
        else:
            t.wrong += 1
            t.wrongs.append(f"{row['text']!r}: expected {want}, got {got}")
    return t


def in_split(rows: Sequence[dict[str, Any]], split: str) -> list[dict[str, Any]]:
    return [r for r in rows if split == "all" or r["split"] == split]


@dataclass
class IFEvalFigure:
    exact: int
    total: int
    wrong: int
    misses: list[str]


def ifeval_sentences(path: Path = IFEVAL_INSTRUCTIONS) -> IFEvalFigure:
    """IFEval's own sentence for each instruction, compiled and compared."""
    from cadenza.evals.ifeval_requirements import describe_instruction
    from cadenza.validators.compiler import compile_requirement

    exact = total = wrong = 0
    misses = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        iid, kwargs = row["instruction_id"], row["kwargs"]
        want = {k: v for k, v in kwargs.items() if v is not None}
        sentence = describe_instruction(iid, kwargs)
        check = compile_requirement(sentence)
        total += 1
        if check is not None and (check.validator, check.args) == (iid, want):
            exact += 1
        elif check is not None:
            wrong += 1
            misses.append(f"WRONG {iid}: {sentence[:90]!r} -> {check.validator} {check.args}")
        else:
            misses.append(f"judge {iid}: {sentence[:90]!r}")
    return IFEvalFigure(exact, total, wrong, misses)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=SPLITS, default=None, help="only this split")
    parser.add_argument("--show-misses", action="store_true", help="list misses and wrongs")
    parser.add_argument("--paraphrases", type=Path, default=PARAPHRASES)
    parser.add_argument("--ifeval", type=Path, default=IFEVAL_INSTRUCTIONS)
    args = parser.parse_args(argv)

    rows = load_paraphrases(args.paraphrases)
    splits = [args.split] if args.split else list(SPLITS)
    print(f"paraphrase set: {args.paraphrases} ({len(rows)} rows)")
    header = f"{'split':<8} {'rows':>5} {'compilable':>10} {'correct':>8} {'recall':>7} "
    print(header + f"{'wrong':>6} {'judge rows kept':>16}")
    tallies = {}
    for split in splits:
        t = tallies[split] = score(in_split(rows, split))
        print(
            f"{split:<8} {t.rows:>5} {t.compilable:>10} {t.correct:>8} {t.recall:>7.1%} "
            f"{t.wrong:>6} {f'{t.judge_kept}/{t.judge_rows}':>16}"
        )
    if args.show_misses:
        for split in splits:
            if split == "all" and len(splits) > 1:
                continue
            t = tallies[split]
            for line in t.wrongs:
                print(f"[{split}] WRONG {line}")
            for line in t.misses:
                print(f"[{split}] miss  {line}")
    if args.ifeval.exists():
        fig = ifeval_sentences(args.ifeval)
        print(
            f"IFEval's own sentences ({args.ifeval.name}): {fig.exact}/{fig.total} compiled "
            f"exactly, {fig.wrong} wrong, {fig.total - fig.exact - fig.wrong} to the judge"
        )
        if args.show_misses:
            for line in fig.misses:
                print(f"  {line}")
    else:
        print(f"IFEval's own sentences: {args.ifeval} not found", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
