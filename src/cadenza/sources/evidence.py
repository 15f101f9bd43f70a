"""What a run has retrieved: every passage found, by which search, and those shown.

Passages from the document library and from the web are kept side by side as `Found`
(one per distinct passage, with the best score any search gave it and every query that
found it). The ones chosen for the model become `Source`s with a short id, ``P1``,
``P2``, ... in the order shown; ids never change once given, so a citation means the
same passage for every answer of the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from ..result import DataSources, FileSource, WebSource
from .citations import cited_labels, label

if TYPE_CHECKING:
    from ..retrieval.passages import Passage

__all__ = ["Evidence", "Found", "Source", "SourceKind"]

SourceKind = Literal["file", "web"]


@dataclass(frozen=True)
class Found:
    """A passage a search found."""

    kind: SourceKind
    key: str
    """The library's passage id, or the web passage's id: what makes it this passage."""
    text: str
    title: str
    score: float
    query: str
    """The first query that found it."""
    rank: int
    """Its rank (from 1) in that query's results."""
    file_id: str | None = None
    file_name: str | None = None
    url: str | None = None
    node_id: str | None = None
    """Its ``passage`` trace node."""

    @classmethod
    def in_files(cls, passages: Iterable[Passage], query: str) -> list[Found]:
        """The passages a file search of `query` returned, ranked in their order."""
        return [
            cls(
                kind="file",
                key=p.id,
                text=p.text,
                title=p.title,
                score=p.score,
                query=query,
                rank=i + 1,
                file_id=p.file_id,
                file_name=p.file_name,
            )
            for i, p in enumerate(passages)
        ]


@dataclass(frozen=True)
class Source:
    """A passage shown to the model, under its short id."""

    label: str
    found: Found

    @property
    def prompt_text(self) -> str:
        """How the model sees it: ``[P1] Title: text`` (the title once)."""
        text = " ".join(self.found.text.split())
        title = self.found.title.strip()
        if title and not text.lower().startswith(title.lower()):
            return f"[{self.label}] {title}: {text}"
        return f"[{self.label}] {text}"

    @property
    def check_text(self) -> str:
        """What validators compare an answer with: the title and the text."""
        return f"{self.found.title}\n{self.found.text}"


@dataclass
class Evidence:
    """Everything the run's searches found, and the passages shown to the model."""

    found: dict[tuple[SourceKind, str], Found] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)
    """Every query asked, in order."""
    shown: list[Source] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    empty_library: bool = False
    unknown_file_ids: list[str] = field(default_factory=list)
    unmatched_labels: list[str] = field(default_factory=list)
    failed_searches: int = 0

    def add(self, passage: Found) -> bool:
        """Keep a passage a search found; False if an earlier search found it already
        (its best score is kept)."""
        key = (passage.kind, passage.key)
        before = self.found.get(key)
        if before is None:
            self.found[key] = passage
            return True
        if passage.score > before.score and passage.query == before.query:
            self.found[key] = replace(before, score=passage.score)
        return False

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def show(self, passages: Iterable[Found]) -> list[Source]:
        """Give these passages short ids (after those already shown) and show them."""
        have = {(s.found.kind, s.found.key) for s in self.shown}
        added = []
        for p in passages:
            if (p.kind, p.key) in have:
                continue
            have.add((p.kind, p.key))
            source = Source(label(len(self.shown) + 1), p)
            self.shown.append(source)
            added.append(source)
        return added

    def texts(self) -> dict[str, str]:
        """Short id -> title and text, for validators (`CheckContext.sources`)."""
        return {s.label: s.check_text for s in self.shown}

    def data_sources(self, answer: str = "") -> DataSources:
        """The result's view of it: the passages shown (cited ones marked) and notes."""
        cited = set(cited_labels(answer))
        files: list[FileSource] = []
        web: list[WebSource] = []
        for order, s in enumerate(self.shown, 1):
            f = s.found
            if f.kind == "file":
                files.append(
                    FileSource(
                        id=s.label,
                        text=f.text,
                        file_id=f.file_id or "",
                        file_name=f.file_name or "",
                        score=f.score,
                        order=order,
                        title=f.title,
                        passage_id=f.key,
                        query=f.query,
                        cited=s.label in cited,
                    )
                )
            else:
                web.append(
                    WebSource(
                        id=s.label,
                        text=f.text,
                        url=f.url or "",
                        score=f.score,
                        order=order,
                        title=f.title,
                        query=f.query,
                        cited=s.label in cited,
                    )
                )
        return DataSources(
            file_search=files,
            web_search=web,
            notes=list(self.notes),
            empty_library=self.empty_library,
            unknown_file_ids=list(self.unknown_file_ids),
            unmatched_labels=list(self.unmatched_labels),
            failed_searches=self.failed_searches,
        )
