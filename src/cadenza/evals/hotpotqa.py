"""`cadenza eval hotpotqa`: multi-hop questions answered from a document library.

The paragraphs of every question in the data file are pooled into one library
(`hotpotqa_data.build_corpus`), and each question is asked against the whole library.
Arms:

- ``closed_book``: one greedy call with the question alone (no retrieval);
- ``naive_rag``: BM25 top 5 over the question, shown as ``[P1]``...``[P5]``, one greedy
  call with the same short-answer prompt a cadenza run uses;
- ``cadenza``: a cadenza run with a `FileSearch` tool: the planner's retrieval actions
  (the question's search, multi-hop follow-ups), the extractive answer (the model chooses
  among candidate spans of the passages under a grammar, `sources.choose`) when the model
  enforces grammars, free-form answers citing the passages when that fails, checked by
  the built-in ``cites_sources``, ``grounded`` and ``short_answer`` requirements, within
  the budget.

Scores: exact match and F1 with HotpotQA's normalisation (citations removed from the
answer first), the share of questions whose supporting paragraphs were all among the
passages the arm showed the model, citation precision (cited passages that are
supporting ones, over every citation of the arm), tokens, calls and seconds per question.

Progress is kept in ``DIR/results.jsonl`` (one line per question and arm), so an
interrupted evaluation resumes; ``DIR/config.json`` keeps a resumed run from mixing
settings; the library is ``DIR/library.db`` unless one is given.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine import BudgetExhausted, CallFailed
from ..errors import InvalidTaskError
from ..models.base import Message, Model
from ..models.registry import resolve_model
from ..planner import SearchSettings
from ..retrieval import FileSearch, Library
from ..runner import RunOptions, arun_task
from ..sources.citations import cited_labels, strip_citations
from ..sources.evidence import Evidence, Found, Source
from ..sources.prompts import answer_messages
from ..sources.tools import ToolSet
from ..task import Budget, make_task
from .hotpotqa_data import Corpus, HotpotRow, build_corpus, exact_match, f1_score, load_rows
from .resume import Progress
from .runs import (
    by_arm,
    check_arms,
    direct_calls,
    record_settings,
    run_arms,
    skipped_fields,
    write_report,
)

__all__ = [
    "ARMS",
    "NAIVE_TOP_K",
    "HotpotConfig",
    "HotpotOutcome",
    "run_hotpotqa",
    "summarize",
]

ARMS = ("closed_book", "naive_rag", "cadenza")
NAIVE_TOP_K = 5
CLOSED_BOOK_PROMPT = "Question: {question}\nAnswer with a short phrase."


@dataclass
class HotpotOutcome:
    id: str
    arm: str
    question: str
    answer: str
    """The arm's answer as returned (citations included)."""
    em: float
    f1: float
    shown: int
    """Passages shown to the model."""
    supporting_shown: bool
    """Every supporting paragraph was among them."""
    cited: int
    """Distinct passages the answer cites (among those shown)."""
    cited_supporting: int
    """Of those, supporting paragraphs."""
    tokens: int
    calls: int
    seconds: float
    finish_reason: str = ""
    problem: str = ""
    gold: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HotpotConfig:
    data: Path
    out: Path
    model: str = "local:smollm2"
    budget: str | dict[str, Any] = "low"
    limit: int | None = None
    arms: tuple[str, ...] = ARMS
    library: Path | None = None
    """The pooled library's database (default ``out/library.db``); reused when present."""
    max_output_tokens: int = 64
    """Output cap of every call of every arm (answers are short phrases)."""


# -- scoring ---------------------------------------------------------------------------------
def _outcome(
    row: HotpotRow,
    arm: str,
    corpus: Corpus,
    answer: str,
    shown_files: Sequence[str],
    cited_files: Sequence[str],
    *,
    tokens: int,
    calls: int,
    seconds: float,
    finish_reason: str,
    problem: str = "",
) -> HotpotOutcome:
    plain = strip_citations(answer).strip()
    supporting = corpus.supporting_files(row)
    cited = list(dict.fromkeys(cited_files))
    return HotpotOutcome(
        id=row.id,
        arm=arm,
        question=row.question,
        answer=answer,
        em=exact_match(plain, row.answers),
        f1=f1_score(plain, row.answers),
        shown=len(shown_files),
        supporting_shown=bool(supporting) and supporting <= set(shown_files),
        cited=len(cited),
        cited_supporting=sum(1 for f in cited if f in supporting),
        tokens=tokens,
        calls=calls,
        seconds=seconds,
        finish_reason=finish_reason,
        problem=problem,
        gold=list(row.answers),
    )


# -- the arms --------------------------------------------------------------------------------
def _cited(text: str, files_by_label: Mapping[str, str]) -> list[str]:
    """The files of the passages `text` cites, among those shown under these labels."""
    return [files_by_label[lab] for lab in cited_labels(text) if lab in files_by_label]


async def _one_call(
    row: HotpotRow,
    arm: str,
    corpus: Corpus,
    model: Model,
    cfg: HotpotConfig,
    messages: tuple[Message, ...],
    shown: Sequence[Source],
    started: float,
) -> HotpotOutcome:
    """``closed_book`` and ``naive_rag``: one greedy call, the passages `shown` in its prompt."""
    ledger, calls = direct_calls(1)
    try:
        response, _ = await calls.call(
            kind="generate",
            parent=None,
            model=model,
            messages=messages,
            max_tokens=cfg.max_output_tokens,
            temperature=0.0,
        )
        text, finish, problem = response.text.strip(), response.finish_reason, ""
    except (BudgetExhausted, CallFailed) as exc:
        text, finish, problem = "", "error", str(exc)
    by_label = {s.label: s.found.file_id or "" for s in shown}
    return _outcome(
        row,
        arm,
        corpus,
        text,
        [s.found.file_id or "" for s in shown],
        _cited(text, by_label),
        tokens=ledger.usage.total_tokens,
        calls=ledger.usage.calls,
        seconds=time.monotonic() - started,
        finish_reason=finish,
        problem=problem,
    )


async def _closed_book(
    row: HotpotRow, corpus: Corpus, model: Model, cfg: HotpotConfig
) -> HotpotOutcome:
    started = time.monotonic()
    prompt = CLOSED_BOOK_PROMPT.format(question=row.question)
    messages = (Message("user", prompt),)
    return await _one_call(row, "closed_book", corpus, model, cfg, messages, [], started)


async def _naive_rag(
    row: HotpotRow, corpus: Corpus, model: Model, cfg: HotpotConfig
) -> HotpotOutcome:
    started = time.monotonic()
    found = await corpus.library.asearch(row.question, limit=NAIVE_TOP_K, mode="bm25")
    shown = Evidence().show(Found.in_files(found.passages, row.question))
    messages = answer_messages(row.question, shown, style="short")
    return await _one_call(row, "naive_rag", corpus, model, cfg, messages, shown, started)


async def _cadenza(
    row: HotpotRow, corpus: Corpus, model: Model, cfg: HotpotConfig
) -> HotpotOutcome:
    started = time.monotonic()
    task = make_task(row.question, budget=cfg.budget, models=[model.name])
    options = RunOptions(search=SearchSettings(max_output_tokens=cfg.max_output_tokens))
    tools = await ToolSet.open([FileSearch()], library=corpus.library)
    try:
        result = await arun_task(task, models=[model], options=options, tools=tools)
    finally:
        await tools.aclose()
    sources = result.data_sources.file_search if result.data_sources else []
    rr = result.requirements_result
    return _outcome(
        row,
        "cadenza",
        corpus,
        result.result,
        [s.file_id for s in sources],
        _cited(result.result, {s.id: s.file_id for s in sources}),
        tokens=result.usage.total_tokens,
        calls=result.usage.calls,
        seconds=time.monotonic() - started,
        finish_reason=rr.finish_reason,
        problem="" if rr.finish_reason != "error" else rr.finish_message,
    )


_RUNNERS = {"closed_book": _closed_book, "naive_rag": _naive_rag, "cadenza": _cadenza}


# -- the whole evaluation ----------------------------------------------------------------------
async def run_hotpotqa(
    cfg: HotpotConfig,
    *,
    on_progress: Progress | None = None,
    on_corpus: Progress | None = None,
    library: Library | None = None,
) -> dict[str, Any]:
    """Build (or reuse) the pooled library, run every arm on every question (resuming
    from ``out/results.jsonl``); write ``report.json`` and return it. `library`: use
    this one (the caller closes it) instead of ``cfg.library``."""
    check_arms(cfg.arms, ARMS)
    Budget.coerce(cfg.budget)
    all_rows, skipped = load_rows(cfg.data)
    if not all_rows:
        raise InvalidTaskError(f"{cfg.data} has no usable HotpotQA rows")
    rows = all_rows[: cfg.limit] if cfg.limit is not None else all_rows
    model = resolve_model(cfg.model)
    cfg.out.mkdir(parents=True, exist_ok=True)
    record_settings(cfg)
    db = cfg.library or cfg.out / "library.db"
    owned = library is None
    if library is None:
        library = Library(f"sqlite:///{db}")
    try:
        # The corpus pools every row of the file, whatever --limit asks.
        corpus = build_corpus(
            all_rows, library, db.with_suffix(".files.json"), on_progress=on_corpus
        )
        outcomes = await run_arms(
            rows,
            cfg.arms,
            lambda row, arm: _RUNNERS[arm](row, corpus, model, cfg),
            cfg.out,
            item_key=lambda row: row.id,
            outcome_key=lambda o: o.id,
            parse=lambda d: HotpotOutcome(**d),
            on_progress=on_progress,
        )
    finally:
        if owned:
            library.close()
    return write_report(cfg.out, summarize(outcomes, cfg, len(rows), skipped))


def summarize(
    outcomes: Iterable[HotpotOutcome],
    cfg: HotpotConfig,
    n_questions: int,
    skipped: Sequence[str] = (),
) -> dict[str, Any]:
    """The report: per arm, means over its questions (shares in 0..1). Citation
    precision is None for an arm that cited nothing."""
    arms: dict[str, dict[str, Any]] = {}
    for arm, rows in by_arm(outcomes, cfg.arms).items():
        n = len(rows)
        cited = sum(o.cited for o in rows)
        arms[arm] = {
            "em": sum(o.em for o in rows) / n,
            "f1": sum(o.f1 for o in rows) / n,
            "supporting_recall": sum(o.supporting_shown for o in rows) / n,
            "citation_precision": (
                sum(o.cited_supporting for o in rows) / cited if cited else None
            ),
            "cited_per_question": cited / n,
            "shown_per_question": sum(o.shown for o in rows) / n,
            "tokens_per_question": sum(o.tokens for o in rows) / n,
            "calls_per_question": sum(o.calls for o in rows) / n,
            "seconds_per_question": sum(o.seconds for o in rows) / n,
            "errors": sum(1 for o in rows if o.finish_reason == "error"),
            "n": n,
        }
    return {
        "n_questions": n_questions,
        "model": cfg.model,
        "budget": cfg.budget,
        "max_output_tokens": cfg.max_output_tokens,
        "arms": arms,
        **skipped_fields(skipped),
    }
