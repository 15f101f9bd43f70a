"""`cadenza eval hotpotqa`: the pooled library, the arms, the scores, resume and report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cadenza.cli import main
from cadenza.errors import InvalidTaskError
from cadenza.evals.hotpotqa import HotpotConfig, run_hotpotqa
from cadenza.evals.hotpotqa_data import exact_match, f1_score
from cadenza.evals.plot import plot_f1_vs_tokens
from cadenza.models.base import ModelRequest
from cadenza.models.registry import register_provider
from cadenza.retrieval import HashingEmbedder, Library
from cadenza.testing import ScriptedModel


def _para(title: str, text: str, supporting: bool = False) -> dict[str, Any]:
    return {"title": title, "text": text, "is_supporting": supporting}


ROWS: list[dict[str, Any]] = [
    {
        "id": "q1",
        "question": "Which river flows through the capital of Zedland?",
        "answers": ["the Ombra"],
        "paragraphs": [
            _para("Zedland", "Zedland is a country whose capital is Quorra.", True),
            _para("Quorra", "Quorra is a city on the river Ombra.", True),
            _para("Yemmet", "Yemmet is a village known for its cheese."),
        ],
    },
    {
        "id": "q2",
        "question": "Who founded the company that makes the Fizzbot toaster?",
        "answers": ["Ada Brell"],
        "paragraphs": [
            _para("Fizzbot", "The Fizzbot toaster is made by Crumbworks.", True),
            _para("Crumbworks", "Crumbworks was founded by Ada Brell in 1931.", True),
            _para("Toast", "Toast is bread browned by heat."),
        ],
    },
]


def _answer(request: ModelRequest) -> str:
    """With passages: the phrase after the question's key word, citing its passage;
    without: a guess."""
    prompt = request.messages[-1].content
    passages = dict(re.findall(r"\[(P\d+)\] ([^\n]+)", prompt))
    pattern = r"river (\w+)" if "Question: Which river" in prompt else r"founded by (\w+ \w+)"
    for label, text in passages.items():
        m = re.search(pattern, text)
        if m:
            return f"{m.group(1)} [{label}]"
    return "I think it is Paris."


register_provider(
    "hotfake", lambda name, model: ScriptedModel(name=name, default=_answer), forms=()
)


def _data(tmp_path: Path) -> Path:
    path = tmp_path / "dev.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    return path


def test_official_scores() -> None:
    assert exact_match("The Ombra.", ["the Ombra"]) == 1.0
    assert f1_score("river Ombra", ["the Ombra"]) == pytest.approx(2 / 3)
    assert f1_score("no", ["yes"]) == 0.0 and exact_match("Yes", ["yes"]) == 1.0


async def test_closed_book_and_naive_rag_are_scored_and_resumed(tmp_path: Path) -> None:
    cfg = HotpotConfig(
        data=_data(tmp_path),
        out=tmp_path / "out",
        model="hotfake:x",
        arms=("closed_book", "naive_rag"),
    )
    with Library(f"sqlite:///{tmp_path / 'lib.db'}", embedder=HashingEmbedder()) as lib:
        report = await run_hotpotqa(cfg, library=lib)
        assert len(lib.list()) == 6  # every paragraph of every row, once
    closed, naive = report["arms"]["closed_book"], report["arms"]["naive_rag"]
    assert report["n_questions"] == 2 and report["model"] == "hotfake:x"
    assert closed["em"] == 0.0 and closed["supporting_recall"] == 0.0
    assert closed["citation_precision"] is None and closed["calls_per_question"] == 1
    # BM25 top 5 (of the paragraphs sharing a word with the question): both supporting
    # ones are shown; the cited one supports the answer
    assert naive["supporting_recall"] == 1.0 and 2 <= naive["shown_per_question"] <= 5
    assert naive["em"] == 1.0 and naive["f1"] == 1.0
    assert naive["citation_precision"] == 1.0 and naive["tokens_per_question"] > 0
    lines = (cfg.out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4
    saved = json.loads((cfg.out / "report.json").read_text())
    assert set(saved["arms"]["naive_rag"]) >= {
        "em",
        "f1",
        "supporting_recall",
        "citation_precision",
        "tokens_per_question",
        "calls_per_question",
        "seconds_per_question",
    }
    # resumed: nothing is run again, the library is reused
    with Library(f"sqlite:///{tmp_path / 'lib.db'}", embedder=HashingEmbedder()) as lib:
        again = await run_hotpotqa(cfg, library=lib)
        assert len(lib.list()) == 6
    assert len((cfg.out / "results.jsonl").read_text().splitlines()) == 4
    assert again["arms"] == report["arms"]
    plot = plot_f1_vs_tokens(report, tmp_path / "plot.png")
    assert plot.stat().st_size > 1000


async def test_bad_arms_and_empty_data_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidTaskError, match="unknown arm"):
        await run_hotpotqa(HotpotConfig(data=_data(tmp_path), out=tmp_path, arms=("oracle",)))
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"id": 1}\n')
    with pytest.raises(InvalidTaskError, match="no usable"):
        await run_hotpotqa(HotpotConfig(data=empty, out=tmp_path, model="hotfake:x"))


def test_the_cli_prints_the_table_and_writes_the_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("cadenza.retrieval.library.default_embedder", lambda: HashingEmbedder())
    out = tmp_path / "out"
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(
        "sys.argv",
        [
            "cadenza",
            "eval",
            "hotpotqa",
            "--data",
            str(_data(tmp_path)),
            "--model",
            "hotfake:x",
            "--arms",
            "closed_book,naive_rag",
            "--limit",
            "1",
            "--out",
            str(out),
        ],
    )
    main()
    printed = capsys.readouterr().out
    assert "naive_rag" in printed and "HotpotQA: 1 questions" in printed
    assert (out / "f1_vs_tokens.png").exists()
    assert json.loads((out / "report.json").read_text())["n_questions"] == 1


async def test_the_cadenza_arm_retrieves_through_the_planner(tmp_path: Path) -> None:
    cfg = HotpotConfig(
        data=_data(tmp_path),
        out=tmp_path / "out",
        model="hotfake:x",
        arms=("cadenza",),
        budget={"max_calls": 4},
    )
    with Library(f"sqlite:///{tmp_path / 'lib.db'}", embedder=HashingEmbedder()) as lib:
        report = await run_hotpotqa(cfg, library=lib)
    arm = report["arms"]["cadenza"]
    assert arm["em"] == 1.0 and arm["supporting_recall"] == 1.0
    assert arm["citation_precision"] == 1.0 and 1 <= arm["calls_per_question"] <= 4
    assert 2 <= arm["shown_per_question"] <= 6
    rows = [json.loads(line) for line in (cfg.out / "results.jsonl").read_text().splitlines()]
    assert all(r["finish_reason"] == "all_requirements_met" for r in rows)
