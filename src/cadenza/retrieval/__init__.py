"""The document library: files in, passages out.

documents.py   reading text, Markdown, HTML, PDF and DOCX into text and blocks
chunking.py    blocks into passages that keep their headings, offsets and page
embeddings.py  MiniLM on onnxruntime (the ``embeddings`` extra); a hashing test double
filters.py     labels (AND/OR), file ids, path prefix; checks on what callers give
index.py       the library's tables in the run store (SQLite FTS5 / PostgreSQL)
vectors.py     the cached vector matrix and in-process cosine search
passages.py    FileRecord, Passage, SearchResult: what the library hands back
library.py     `Library`: add, list, get, update, delete, search
tools.py       `FileSearch`: a search's options as one value, for runs to carry
"""

from .embeddings import Embedder, HashingEmbedder, MiniLMEmbedder, default_embedder
from .filters import FileFilter
from .library import DEFAULT_EMBEDDER, UNSET, Library, LibrarySettings, reciprocal_rank_fusion
from .passages import (
    AddReport,
    FileRecord,
    LabelMode,
    LibraryStats,
    Passage,
    Position,
    SearchMode,
    SearchResult,
    passage_id,
)
from .tools import FileSearch

__all__ = [
    "DEFAULT_EMBEDDER",
    "UNSET",
    "AddReport",
    "Embedder",
    "FileFilter",
    "FileRecord",
    "FileSearch",
    "HashingEmbedder",
    "LabelMode",
    "Library",
    "LibrarySettings",
    "LibraryStats",
    "MiniLMEmbedder",
    "Passage",
    "Position",
    "SearchMode",
    "SearchResult",
    "default_embedder",
    "passage_id",
    "reciprocal_rank_fusion",
]
