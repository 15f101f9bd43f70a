"""`cadenza eval ifeval`: rows, arms, resume, report, scoring of existing responses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cadenza.errors import InvalidTaskError
from cadenza.evals.ifeval import (
    EvalConfig,
    load_rows,
    requirements_for,
    run_ifeval,
    score_responses,
)
from cadenza.evals.ifeval_requirements import describe_instruction
from cadenza.evals.plot import plot_accuracy_vs_tokens
from in_process_cli import run_cli

ROWS = [
    {
        "key": 1,
        "prompt": "Write a poem. Do not use any commas.",
        "instruction_id_list": ["punctuation:no_comma"],
        "kwargs": [{}],
    },
    {
        "key": 2,
        "prompt": "Say hi in lowercase, at least 3 words.",
        "instruction_id_list": ["change_case:english_lowercase", "length_constraints:number_words"],
        "kwargs": [{}, {"relation": "at least", "num_words": 3, "keyword": None}],
    },
]


def write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_bad_rows_are_skipped_with_a_message_naming_them(tmp_path: Path) -> None:
    data = write(
        tmp_path / "d.jsonl",
        [
            ROWS[0],
            "not json",
            {"key": 3, "prompt": "x", "instruction_id_list": ["no:such_id"], "kwargs": [{}]},
            {
                "key": 4,
                "prompt": "x",
                "instruction_id_list": ["length_constraints:number_words"],
                "kwargs": [{}],
            },
            {"key": 5, "prompt": "x"},
            ROWS[1],
        ],
    )
    rows, skipped = load_rows(data)
    assert [r.key for r in rows] == ["1", "2"]
    assert len(skipped) == 4
    assert "line 2" in skipped[0]
    assert "no:such_id" in skipped[1]
    assert "missing argument" in skipped[2] and "line 4" in skipped[2]
    assert "missing field" in skipped[3]


def test_plain_language_requirements_are_ifevals_sentences() -> None:
    assert describe_instruction("punctuation:no_comma", {}) == (
        "In your entire response, refrain from the use of any commas."
    )
    assert (
        describe_instruction(
            "length_constraints:number_words", {"relation": "at least", "num_words": 300}
        )
        == "Answer with at least 300 words."
    )
    with pytest.raises(InvalidTaskError, match="num_words"):
        describe_instruction("length_constraints:number_words", {"relation": "at least"})


def test_code_mode_uses_checks_judge_mode_only_sentences(tmp_path: Path) -> None:
    rows, _ = load_rows(write(tmp_path / "d.jsonl", ROWS))
    code = requirements_for(rows[1], "code")
    assert [r.validator for r in code] == [
        "change_case:english_lowercase",
        "length_constraints:number_words",
    ]
    assert code[1].validator_args == {"relation": "at least", "num_words": 3}
    judge = requirements_for(rows[1], "judge")
    assert all(r.validator is None for r in judge)
    assert judge[1].description == "Answer with at least 3 words."


async def test_run_report_and_resume(tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", ROWS)
    cfg = EvalConfig(
        data=data, out=tmp_path / "out", model="fake:eval", samples=2, budget={"max_calls": 4}
    )
    progress: list[tuple[int, int]] = []
    report = await run_ifeval(cfg, on_progress=lambda d, t: progress.append((d, t)))
    assert set(report["arms"]) == {"baseline", "cadenza", "cadenza_no_repair", "oracle"}
    for m in report["arms"].values():
        assert 0 <= m["prompt_strict"] <= m["prompt_loose"] <= 1
        assert m["n"] == 2 and m["calls_per_prompt"] >= 1
    assert report["arms"]["baseline"]["calls_per_prompt"] == 1
    assert report["arms"]["oracle"]["calls_per_prompt"] == 2
    assert progress[-1] == (8, 8)
    # The fake always answers "scripted answer": no comma (prompt 1 passes), lowercase but
    # 2 words where 3 are needed (prompt 2 fails one of its two instructions).
    for m in report["arms"].values():
        assert m["prompt_strict"] == 0.5 and m["instruction_strict"] == 2 / 3
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["n_prompts"] == 2 and saved["mode"] == "code"
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 8
    # resume: nothing is redone
    progress.clear()
    await run_ifeval(cfg, on_progress=lambda d, t: progress.append((d, t)))
    assert progress == [(8, 8)]
    assert len((tmp_path / "out" / "results.jsonl").read_text().splitlines()) == 8
    png = plot_accuracy_vs_tokens(report, tmp_path / "out" / "plot.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_score_existing_responses(tmp_path: Path) -> None:
    rows, _ = load_rows(write(tmp_path / "d.jsonl", ROWS))
    verdicts = score_responses(
        rows,
        [
            {"key": 1, "response": "no commas here"},
            {"key": 1, "response": "a, b"},
            {"key": 2, "response": "Hello there friend"},
        ],
    )
    assert [v["key"] for v in verdicts] == [1, 1, 2]
    assert verdicts[0]["instructions"] == [
        {"id": "punctuation:no_comma", "strict": True, "loose": True}
    ]
    assert verdicts[1]["instructions"][0]["strict"] is False
    assert [i["strict"] for i in verdicts[2]["instructions"]] == [False, True]
    with pytest.raises(InvalidTaskError, match="key '9'"):
        score_responses(rows, [{"key": 9, "response": "x"}])


def test_cli_eval_ifeval_passes_its_options_to_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(tmp_path / "d.jsonl", ROWS)
    out = tmp_path / "out"
    common = ["eval", "ifeval", "--data", str(data), "--out", str(out), "--no-priors"]
    code, stdout, err = run_cli(
        monkeypatch, capsys, *common, "--model", "fake:eval", "--budget", '{"max_calls": 4}',
        "--limit", "1", "--samples", "2", "--arms", "baseline, oracle",
    )  # fmt: skip
    assert code == 0, err
    assert "IFEval: 1 prompts, fake:eval" in stdout
    assert (out / "accuracy_vs_tokens.png").exists()
    report = json.loads((out / "report.json").read_text())
    assert set(report["arms"]) == {"baseline", "oracle"}
    assert report["budget"] == {"max_calls": 4} and report["n_prompts"] == 1
    assert report["arms"]["oracle"]["calls_per_prompt"] == 2
    code, _, err = run_cli(monkeypatch, capsys, *common, "--arms", "baseline,bogus")
    assert code == 2 and "bogus" in err
    code, _, err = run_cli(monkeypatch, capsys, *common, "--budget", "{not json")
    assert code == 2 and "--budget: not a JSON object" in err
