"""What the document library hands back: files, passages and search results."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

from ..errors import DocumentError

__all__ = [
    "AddReport",
    "EmptyReason",
    "FileRecord",
    "LabelMode",
    "LibraryStats",
    "Passage",
    "Position",
    "SearchMode",
    "SearchResult",
    "passage_id",
]

LabelMode = Literal["AND", "OR"]
"""``OR``: a file with any of the labels; ``AND``: a file with all of them."""

SearchMode = Literal["hybrid", "bm25", "vector"]

EmptyReason = Literal["empty_library", "no_matching_files", "no_match"]


def passage_id(file_id: str, chunk: int) -> str:
    """A short id for chunk `chunk` of file `file_id`: the same every time, 8 characters of
    lowercase base32, easy for a model to copy into a citation."""
    digest = hashlib.blake2b(f"{file_id}#{chunk}".encode(), digest_size=5).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    n = int.from_bytes(digest, "big")
    return "".join(alphabet[(n >> (5 * i)) & 31] for i in reversed(range(8)))


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file in the library, as the library keeps it."""

    id: str
    """A UUID, assigned when the file is added."""
    name: str
    """The file's name, e.g. ``report.pdf``."""
    format: str
    """``text``, ``markdown``, ``html``, ``pdf`` or ``docx``."""
    media_type: str
    size_bytes: int
    sha256: str
    title: str
    """From the document itself (its title, first heading) or else its name."""
    chunks: int
    """How many passages it was cut into."""
    embedded: int
    """How many of those have a vector (0 without the ``embeddings`` extra)."""
    created_at: float
    updated_at: float
    path: str | None = None
    """A folder-like path the owner gave it, e.g. ``reports/2024``; filter with a prefix."""
    labels: tuple[str, ...] = ()
    public_url: str | None = None
    pages: int | None = None
    status: str = "PROCESSED"
    """AI21's status word: a file is indexed when `add` returns, so always PROCESSED."""
    owner: str | None = None
    """The id of the API key the file was added with (on a server with keys), else None."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where a passage sits in its file."""

    chunk: int
    """Its place among the file's passages, from 0."""
    start: int
    """Character offsets into the file's text (as extracted, for HTML, PDF and DOCX)."""
    end: int
    headings: tuple[str, ...] = ()
    """The section titles it sits under, outermost first."""
    page: int | None = None
    """1-based page number, for PDF."""


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved passage of a file."""

    id: str
    """Short and stable (see `passage_id`): cite it, look it up with `Library.passage`."""
    text: str
    file_id: str
    file_name: str
    title: str
    position: Position
    score: float
    """Higher is better. Hybrid: the reciprocal-rank-fusion score; bm25: the BM25 score;
    vector: the cosine similarity."""
    similarity: float | None = None
    """Cosine similarity to the query, when vectors were used."""
    bm25_rank: int | None = None
    """1-based rank in the BM25 list, when the passage was in it."""
    vector_rank: int | None = None
    path: str | None = None
    labels: tuple[str, ...] = ()
    public_url: str | None = None
    kind: Literal["file"] = "file"


@dataclass(frozen=True)
class SearchResult(Sequence[Passage]):
    """The passages found, best first, and what the search could and could not do.

    Iterate, index and ``len()`` it like the list of passages. An empty result says why in
    `reason`; filters that match nothing are reported, never raised."""

    query: str
    passages: tuple[Passage, ...]
    mode: SearchMode
    """What actually ran: ``hybrid`` falls back to ``bm25`` without embeddings."""
    reason: EmptyReason | None = None
    """Why nothing was found: the library is empty, no file passes the filters, or no
    passage matches the query (or passes the threshold)."""
    notes: tuple[str, ...] = ()
    """Anything the caller should know: vector search off and why, a threshold ignored,
    files without vectors."""
    unknown_file_ids: tuple[str, ...] = ()
    """Requested file ids that are not in the library."""
    unmatched_labels: tuple[str, ...] = ()
    """Requested labels that no file carries."""
    files_searched: int = 0
    """How many files passed the filters."""

    @property
    def empty_library(self) -> bool:
        return self.reason == "empty_library"

    @overload
    def __getitem__(self, index: int) -> Passage: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Passage]: ...
    def __getitem__(self, index: int | slice) -> Passage | Sequence[Passage]:
        return self.passages[index]

    def __len__(self) -> int:
        return len(self.passages)

    def __iter__(self) -> Iterator[Passage]:
        return iter(self.passages)


@dataclass
class AddReport:
    """What a batch add did: the files indexed and, per file that could not be, its error."""

    added: list[FileRecord] = field(default_factory=list)
    errors: list[DocumentError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class LibraryStats:
    files: int
    chunks: int
    embedded: int
    """Chunks with a vector from the current embedder."""
    embedder: str | None
    """The current embedder's name, None when vector search is off."""
    vector_backend: str
    """``numpy`` (vectors in the database, cosine in this process) or ``pgvector``."""
    notes: tuple[str, ...] = ()
