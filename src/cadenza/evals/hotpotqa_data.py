"""HotpotQA rows, the pooled library built from their paragraphs, and the official scores.

Rows are those of ``../shared/benchmarks/hotpotqa/dev.jsonl``: ``{"id", "question",
"answers": [...], "paragraphs": [{"title", "text", "is_supporting"}]}``. The corpus pools
the paragraphs of every row (each distinct title and text once) into one document
library: one Markdown file per paragraph, its title as heading and its text below, so a
passage is a paragraph and the passage's file names the paragraph.

Answers are scored with HotpotQA's own normalisation (lowercase, no punctuation, no
articles, single spaces): exact match and token F1, each the best over the gold answers;
``yes``, ``no`` and ``noanswer`` score F1 only when they match exactly, as in the
official script.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..retrieval import Library
from .runs import load_jsonl

__all__ = [
    "Corpus",
    "HotpotRow",
    "Paragraph",
    "build_corpus",
    "exact_match",
    "f1_score",
    "load_rows",
    "normalize_answer",
]


@dataclass(frozen=True)
class Paragraph:
    title: str
    text: str
    is_supporting: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.title, " ".join(self.text.split()))


@dataclass(frozen=True)
class HotpotRow:
    id: str
    question: str
    answers: tuple[str, ...]
    paragraphs: tuple[Paragraph, ...]

    @property
    def supporting(self) -> list[Paragraph]:
        return [p for p in self.paragraphs if p.is_supporting]


def load_rows(path: Path, *, limit: int | None = None) -> tuple[list[HotpotRow], list[str]]:
    """The rows of a HotpotQA JSONL file; a malformed row is skipped with a message
    naming its line."""
    rows, skipped = load_jsonl(path, lambda data, _: _parse(data))
    if limit is not None:
        rows = rows[:limit]
    return rows, skipped


def _parse(data: Any) -> HotpotRow:
    if not isinstance(data, dict):
        raise ValueError("a row must be a JSON object")
    missing = [k for k in ("id", "question", "answers", "paragraphs") if k not in data]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    question = data["question"]
    answers = data["answers"]
    if not isinstance(question, str) or not question.strip():
        raise ValueError("question must be a non-empty string")
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) for a in answers):
        raise ValueError("answers must be a non-empty list of strings")
    paragraphs = []
    for p in data["paragraphs"]:
        if not isinstance(p, dict) or not isinstance(p.get("title"), str):
            raise ValueError("each paragraph needs a title, a text and is_supporting")
        if not isinstance(p.get("text"), str) or not p["text"].strip():
            raise ValueError(f"paragraph {p['title']!r} has no text")
        paragraphs.append(Paragraph(p["title"], p["text"], bool(p.get("is_supporting"))))
    if sum(p.is_supporting for p in paragraphs) < 1:
        raise ValueError("no supporting paragraph")
    return HotpotRow(str(data["id"]), question.strip(), tuple(answers), tuple(paragraphs))


# -- the pooled library -------------------------------------------------------------------
@dataclass
class Corpus:
    """The library holding every row's paragraphs, and which file each paragraph is."""

    library: Library
    files: dict[tuple[str, str], str]
    """(title, text) -> file id."""

    def supporting_files(self, row: HotpotRow) -> set[str]:
        return {self.files[p.key] for p in row.supporting if p.key in self.files}


def _file_name(title: str, n: int) -> str:
    safe = "".join(ch if ch.isalnum() or ch in " -_.,()'" else "_" for ch in title).strip()
    return f"{n:05d} {safe[:120] or 'paragraph'}.md"


def build_corpus(
    rows: Sequence[HotpotRow],
    library: Library,
    mapping_path: Path,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> Corpus:
    """Pool the rows' paragraphs into `library` (once: `mapping_path` remembers which file
    each paragraph became, so a resumed evaluation reuses the library)."""
    files: dict[tuple[str, str], str] = {}
    if mapping_path.exists():
        try:
            saved = json.loads(mapping_path.read_text(encoding="utf-8"))
            files = {(t, x): fid for t, x, fid in saved}
        except (ValueError, TypeError):
            files = {}
        present = {f.id for f in _all_files(library)}
        files = {k: v for k, v in files.items() if v in present}
    wanted = list(dict.fromkeys(p.key for row in rows for p in row.paragraphs))
    todo = [k for k in wanted if k not in files]
    for i, (title, text) in enumerate(todo, 1):
        body = f"# {title}\n\n{text}\n"
        record = library.add(body.encode("utf-8"), name=_file_name(title, len(files)))
        files[(title, text)] = record.id
        if i % 50 == 0 or i == len(todo):
            _save(mapping_path, files)
        if on_progress:
            on_progress(i, len(todo))
    if not todo:
        _save(mapping_path, files)
    return Corpus(library, files)


def _all_files(library: Library) -> list[Any]:
    out: list[Any] = []
    while True:
        page = library.list(limit=10_000, offset=len(out))
        out.extend(page)
        if len(page) < 10_000:
            return out


def _save(path: Path, files: dict[tuple[str, str], str]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # two evaluations may share a library
    tmp.write_text(json.dumps([[t, x, f] for (t, x), f in files.items()]), encoding="utf-8")
    tmp.replace(path)


# -- official scoring ----------------------------------------------------------------------
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """HotpotQA's normalisation: lowercase, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(a) for a in answers))


def f1_score(prediction: str, answers: Sequence[str]) -> float:
    return max((_f1(prediction, a) for a in answers), default=0.0)


def _f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    special = ("yes", "no", "noanswer")
    if (pred in special or ref in special) and pred != ref:
        return 0.0
    p, g = pred.split(), ref.split()
    common = Counter(p) & Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)
