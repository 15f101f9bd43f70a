"""The compiler on users' wording: recall and wrong checks on the paraphrase set, and
IFEval's own sentences (both measured by bench/compiler_recall.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "compiler_recall", ROOT / "bench" / "compiler_recall.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _bench()
ROWS = bench.load_paraphrases()

# Every check the compiler can attach; repeat_prompt is left out (no rule reads it).
COMPILABLE = {
    "punctuation:no_comma",
    "change_case:english_lowercase",
    "change_case:english_capital",
    "change_case:capital_word_frequency",
    "startend:end_checker",
    "startend:quotation",
    "detectable_format:json_format",
    "json:object",
    "keywords:existence",
    "keywords:forbidden_words",
    "keywords:frequency",
    "keywords:letter_frequency",
    "length_constraints:number_words",
    "length_constraints:number_sentences",
    "length_constraints:number_paragraphs",
    "length_constraints:nth_paragraph_first_word",
    "detectable_format:number_bullet_lists",
    "detectable_content:number_placeholders",
    "detectable_format:number_highlighted_sections",
    "detectable_format:multiple_sections",
    "detectable_format:title",
    "detectable_content:postscript",
    "language:response_language",
    "combination:two_responses",
    "detectable_format:constrained_response",
}


def test_the_set_is_large_covers_every_check_and_holds_out_a_part() -> None:
    assert len(ROWS) >= 150
    texts = [r["text"] for r in ROWS]
    assert len(texts) == len(set(texts))
    per_check: Counter[str] = Counter()
    for row in ROWS:
        for validator, _ in bench.expected_checks(row["expect"]) or []:
            per_check[validator] += 1
    assert set(per_check) == COMPILABLE
    assert min(per_check.values()) >= 2, per_check
    to_judge = [r for r in ROWS if r["expect"] is None]
    several = [r for r in ROWS if isinstance(r["expect"], list)]
    assert len(to_judge) >= 50 and len(several) >= 15
    held_out = [r for r in ROWS if r["split"] == "heldout"]
    assert 0.25 <= len(held_out) / len(ROWS) <= 0.35
    assert any(r["expect"] is None for r in held_out)


@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_recall_is_at_least_90_percent_with_no_wrong_check(split: str) -> None:
    tally = bench.score(bench.in_split(ROWS, split))
    assert tally.wrong == 0, "\n".join(tally.wrongs)
    assert tally.judge_kept == tally.judge_rows
    assert tally.recall >= 0.90, "\n".join(tally.misses)


def test_ifeval_own_sentences_compile_exactly() -> None:
    figure = bench.ifeval_sentences()
    assert figure.total == 209
    assert figure.wrong == 0, "\n".join(figure.misses)
    assert figure.exact >= 197, "\n".join(figure.misses)


def test_ifeval_instructions_match_the_shared_dev_slice() -> None:
    shared = [
        p / "shared" / "benchmarks" / "ifeval" / "dev.jsonl" for p in (ROOT.parent, ROOT.parents[1])
    ]
    found = next((p for p in shared if p.exists()), None)
    if found is None:
        pytest.skip("shared IFEval dev slice not present")
    rows = [json.loads(line) for line in found.read_text().splitlines() if line.strip()]
    expected = [
        {"key": r["key"], "instruction_id": iid, "kwargs": kw}
        for r in rows
        for iid, kw in zip(r["instruction_id_list"], r["kwargs"], strict=True)
    ]
    mine = [json.loads(line) for line in bench.IFEVAL_INSTRUCTIONS.read_text().splitlines()]
    assert mine == expected


def test_a_wrong_check_is_counted_as_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    # The scorer itself: a row expecting the judge that compiles, and a row compiled to
    # other arguments, are wrong; a row left to the judge is a miss.
    rows = [
        {"text": "Do not use any commas", "expect": None, "split": "dev"},
        {
            "text": "Write at least 300 words",
            "expect": {
                "check": "length_constraints:number_words",
                "args": {"relation": "at least", "num_words": 30},
            },
            "split": "dev",
        },
        {
            "text": "Be concise",
            "expect": {"check": "punctuation:no_comma", "args": {}},
            "split": "dev",
        },
    ]
    tally = bench.score(rows)
    assert (tally.wrong, tally.correct, len(tally.misses)) == (2, 0, 1)
    assert tally.recall == 0.0


def test_bench_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main([]) == 0
    out = capsys.readouterr().out
    for label in ("dev", "heldout", "all", "IFEval's own sentences"):
        assert label in out


def test_every_compiled_check_runs_on_its_validator() -> None:
    # The arguments the compiler produces are ones the registered validator accepts.
    from cadenza.validators import ifeval  # noqa: F401  (registers the IFEval checks)
    from cadenza.validators.base import CheckContext, Verdict, get_validator
    from cadenza.validators.compiler import compile_requirement

    ran = 0
    for row in ROWS:
        check = compile_requirement(row["text"])
        if check is None:
            continue
        v = get_validator(check.validator)
        ctx = CheckContext("Say something.", "r", row["text"], check.args)
        for text in ("Some answer, in a few words.", '{"capital": "Paris"}'):
            out = v.fn(text, ctx) if v.wants_context else v.fn(text)
            assert isinstance(out, Verdict)
        ran += 1
    assert ran >= 150
