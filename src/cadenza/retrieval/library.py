"""`Library`: the document library — add, list, update and delete files; search them.

    from cadenza import Library

    library = Library("sqlite:///cadenza.db")          # or postgresql://...
    report = library.add("handbook.pdf", labels=["hr"], path="policies/2024")
    for passage in library.search("parental leave", labels=["hr"]):
        print(passage.id, passage.file_name, passage.position.page, passage.text[:80])

Files live in the same database as runs. Adding a file reads it (`documents`), cuts it
into passages (`chunking`), embeds them when the ``embeddings`` extra is installed
(`embeddings`) and stores everything in one transaction (`index`). A search runs BM25
(SQLite FTS5 or PostgreSQL full-text search) and cosine similarity over the vectors
(`vectors`, or pgvector), and fuses the two rankings by reciprocal rank.

Every method is blocking; each has an ``a``-prefixed twin (``aadd``, ``asearch``...) that
runs it in a worker thread, for use on an event loop: parsing, embedding and SQLite are
all blocking work, so the thread is where they belong either way.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias
from urllib.parse import urlsplit

from ..errors import DocumentError, DocumentTooLargeError, UsageError
from ..store import Store, default_db_url, open_store
from ..store.sql import SqlStore
from .chunking import DEFAULT_MAX_CHARS, chunk_document
from .documents import parse_document
from .embeddings import Embedder, default_embedder, embeddings_unavailable_reason
from .filters import FileFilter, check_file_id, clean_labels, clean_name, clean_path
from .index import ChunkRow, LibraryIndex
from .passages import (
    AddReport,
    EmptyReason,
    FileRecord,
    LibraryStats,
    Passage,
    SearchMode,
    SearchResult,
    passage_id,
)
from .vectors import VectorMatrix

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["DEFAULT_EMBEDDER", "UNSET", "Library", "LibrarySettings", "Source"]

Source: TypeAlias = "str | os.PathLike[str] | bytes | bytearray | memoryview"
"""A file to add: a path on disk, or the file's bytes (then give it a `name`)."""


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()
"""Not given (so left as it is), as opposed to None (cleared)."""


class _DefaultEmbedder:
    def __repr__(self) -> str:
        return "DEFAULT_EMBEDDER"


DEFAULT_EMBEDDER: Final = _DefaultEmbedder()
"""MiniLM when the ``embeddings`` extra is installed, else none (BM25 only)."""


@dataclass(frozen=True)
class LibrarySettings:
    """The operator's limits and the search's constants."""

    max_file_bytes: int = 20 * 1024 * 1024
    """A bigger file is refused with `DocumentTooLargeError` (the HTTP layer: 413)."""
    max_text_chars: int = 5_000_000
    """A file whose extracted text is longer is refused (e.g. a small but dense PDF)."""
    chunk_chars: int = DEFAULT_MAX_CHARS
    """The longest passage, in characters."""
    candidates: int = 50
    """How many passages each ranking (BM25, vectors) contributes before fusion."""
    rrf_k: int = 60
    """Reciprocal-rank fusion's constant: score = sum over rankings of 1 / (k + rank)."""
    max_limit: int = 200
    """The most passages one search may ask for."""
    bm25_budget: float = 0.1
    """SQLite's BM25 keeps the query's rarest words while the passages they occur in add
    up to at most this share of the library (or `bm25_min_budget`, if more): the cost of
    a query is the number of passages it scores, and a word found in many passages weighs
    little in BM25. 1.0 scores every match (exhaustive, slower at 100k passages)."""
    bm25_min_budget: int = 5000
    max_query_chars: int = 4000


class Library:
    """The document library in the database at `db` (a URL, a `Store`, or the default
    database when None). Thread-safe; one per process and database is plenty."""

    def __init__(
        self,
        db: str | Store | None = None,
        *,
        settings: LibrarySettings | None = None,
        embedder: Embedder | _DefaultEmbedder | None = DEFAULT_EMBEDDER,
    ) -> None:
        self.settings = settings or LibrarySettings()
        if isinstance(db, Store):
            store, self._owns_store = db, False
        else:
            store, self._owns_store = open_store(db or default_db_url()), True
        if not isinstance(store, SqlStore):
            raise UsageError(f"the document library needs a SQL store, not {type(store).__name__}")
        self.store = store
        store.migrate()
        self._index = LibraryIndex(store)
        self._embedder_note: str | None = None
        if isinstance(embedder, _DefaultEmbedder):
            self.embedder = default_embedder()
            if self.embedder is None:
                self._embedder_note = embeddings_unavailable_reason()
        else:
            self.embedder = embedder
            if embedder is None:
                self._embedder_note = "vector search is off (no embedder); searching with BM25 only"
        self._matrix: VectorMatrix | None = None
        if self.embedder is not None and not self._index.pgvector:
            self._matrix = VectorMatrix(
                self.embedder.name, self.embedder.dimensions, self._index.load_vectors
            )

    # -- adding -----------------------------------------------------------------------
    def add(
        self,
        source: Source,
        *,
        name: str | None = None,
        path: str | None = None,
        labels: Sequence[str] | None = None,
        public_url: str | None = None,
        media_type: str | None = None,
        owner: str | None = None,
    ) -> FileRecord:
        """Read, cut, embed and index one file; return its record (with its new UUID).

        `owner`: who adds it (the server passes the id of the request's API key; the
        methods below take the same `owner` to see only that owner's files).
        Raises `DocumentError` (naming the file) when it is unsupported, corrupt, empty or
        over the size limit (`DocumentTooLargeError`); the library is then unchanged."""
        labels_ = clean_labels(labels)
        path_ = clean_path(path)
        url = _clean_url(public_url)
        data, file_name = self._read(source, name)
        return self._add(data, file_name, path_, labels_, url, media_type, owner)

    def add_many(
        self,
        sources: Iterable[Source],
        *,
        path: str | None = None,
        labels: Sequence[str] | None = None,
        owner: str | None = None,
    ) -> AddReport:
        """Add each file; one that cannot be read is reported in ``errors`` and the others
        are added all the same."""
        labels_ = clean_labels(labels)
        path_ = clean_path(path)
        report = AddReport()
        for source in sources:
            try:
                data, file_name = self._read(source, None)
                report.added.append(self._add(data, file_name, path_, labels_, None, None, owner))
            except DocumentError as exc:
                report.errors.append(exc)
        return report

    def _read(self, source: Source, name: str | None) -> tuple[bytes, str]:
        limit = self.settings.max_file_bytes
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            file_name = clean_name(name or "upload")
        elif isinstance(source, str | os.PathLike):
            p = Path(source)
            file_name = clean_name(name or p.name)
            try:
                size = p.stat().st_size
                if not p.is_file():
                    raise DocumentError(f"{p}: not a file", file_name=file_name)
                if size > limit:
                    raise _too_large(file_name, size, limit)
                with p.open("rb") as fh:
                    data = fh.read(limit + 1)
            except FileNotFoundError:
                raise DocumentError(f"{p}: no such file", file_name=file_name) from None
            except PermissionError:
                raise DocumentError(f"{p}: permission denied", file_name=file_name) from None
            except IsADirectoryError:
                raise DocumentError(f"{p}: a directory, not a file", file_name=file_name) from None
        else:
            raise UsageError(f"add a file path or the file's bytes, not {type(source).__name__}")
        if len(data) > limit:
            raise _too_large(file_name, len(data), limit)
        if not data:
            raise DocumentError(f"{file_name}: the file is empty", file_name=file_name)
        return data, file_name

    def _add(
        self,
        data: bytes,
        file_name: str,
        path: str | None,
        labels: tuple[str, ...],
        public_url: str | None,
        media_type: str | None,
        owner: str | None = None,
    ) -> FileRecord:
        doc = parse_document(
            data, file_name, media_type=media_type, max_chars=self.settings.max_text_chars
        )
        chunks = chunk_document(doc, max_chars=self.settings.chunk_chars)
        file_id = str(uuid.uuid4())
        rows = [
            ChunkRow(
                ord=c.index,
                passage_id=passage_id(file_id, c.index),
                title=doc.title,
                headings=c.headings,
                text=c.text,
                start=c.start,
                end=c.end,
                page=c.page,
            )
            for c in chunks
        ]
        vectors = None
        if self.embedder is not None:
            vectors = self.embedder.embed([_embedding_text(r) for r in rows])
        now = time.time()
        record = FileRecord(
            id=file_id,
            name=file_name,
            format=doc.format,
            media_type=doc.media_type,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            title=doc.title,
            chunks=len(rows),
            embedded=len(rows) if vectors is not None else 0,
            created_at=now,
            updated_at=now,
            path=path,
            labels=labels,
            public_url=public_url,
            pages=doc.pages,
            owner=owner,
        )
        model = self.embedder.name if self.embedder is not None else None
        generation, seq, ids = self._index.insert_file(record, rows, vectors, model)
        if self._matrix is not None and vectors is not None:
            self._matrix.appended(generation - 1, generation, ids, seq, vectors)
        return record

    # -- reading and changing files ---------------------------------------------------
    def get(self, file_id: str, *, owner: str | None = None) -> FileRecord | None:
        """The file with this id (added by `owner`, when given), or None."""
        canonical = check_file_id(file_id)
        return None if canonical is None else self._index.get_file(canonical, owner)

    def list(
        self,
        *,
        labels: Sequence[str] | None = None,
        label_mode: str = "OR",
        file_ids: Sequence[str] | None = None,
        path_prefix: str | None = None,
        limit: int = 100,
        offset: int = 0,
        owner: str | None = None,
    ) -> builtins.list[FileRecord]:
        """Files in the order they were added, filtered like `search`."""
        if not 1 <= limit <= 10_000 or offset < 0:
            raise UsageError("limit must be between 1 and 10000 and offset at least 0")
        flt = FileFilter.of(
            labels=labels,
            label_mode=label_mode,
            file_ids=file_ids,
            path_prefix=path_prefix,
            owner=owner,
        )
        return self._index.list_files(flt, limit=limit, offset=offset)

    def update(
        self,
        file_id: str,
        *,
        labels: Sequence[str] | _Unset = UNSET,
        path: str | _Unset | None = UNSET,
        public_url: str | _Unset | None = UNSET,
        owner: str | None = None,
    ) -> FileRecord | None:
        """Replace the file's labels, path or public URL (what is given; None clears a
        path or URL). Returns the updated record, or None when there is no such file (of
        `owner`, when given)."""
        canonical = check_file_id(file_id)
        if canonical is None:
            return None
        new_labels = None if isinstance(labels, _Unset) else clean_labels(labels)
        new_path = None if isinstance(path, _Unset) else (clean_path(path),)
        new_url = None if isinstance(public_url, _Unset) else (_clean_url(public_url),)
        generation = self._index.update_file(
            canonical,
            labels=new_labels,
            path=new_path,
            public_url=new_url,
            now=time.time(),
            owner=owner,
        )
        if generation is None:
            return None
        if self._matrix is not None:
            self._matrix.touched(generation - 1, generation)
        return self._index.get_file(canonical)

    def delete(self, file_id: str, *, owner: str | None = None) -> bool:
        """Delete the file and its passages; False when there was no such file (of
        `owner`, when given)."""
        canonical = check_file_id(file_id)
        if canonical is None:
            return False
        done = self._index.delete_file(canonical, owner)
        if done is None:
            return False
        generation, seq = done
        if self._matrix is not None:
            self._matrix.removed(generation - 1, generation, seq)
        return True

    def passage(self, passage_id: str) -> Passage | None:
        """The passage a short id (as cited) names, or None."""
        if not isinstance(passage_id, str) or len(passage_id) > 32:
            return None
        return self._index.passage_by_id(passage_id.strip().lower())

    def stats(self) -> LibraryStats:
        model = self.embedder.name if self.embedder is not None else None
        files, chunks, embedded = self._index.counts(model)
        notes = [self._embedder_note] if self._embedder_note else []
        if model is not None and embedded < chunks:
            notes.append(_missing_vectors_note(chunks - embedded))
        return LibraryStats(
            files=files,
            chunks=chunks,
            embedded=embedded,
            embedder=model,
            vector_backend="pgvector" if self._index.pgvector else "numpy",
            notes=tuple(notes),
        )

    def embed_missing(self, *, batch: int = 256) -> int:
        """Embed the passages that have no vector from the current embedder (added before
        the ``embeddings`` extra was installed, or by another model). Returns how many."""
        if self.embedder is None:
            raise UsageError(self._embedder_note or "vector search is off")
        done = 0
        while True:
            rows = self._index.chunks_without_vectors(self.embedder.name, batch)
            if not rows:
                break
            texts = [
                _embedding_text_parts(title, headings, text) for _, title, headings, text in rows
            ]
            vectors = self.embedder.embed(texts)
            self._index.write_vectors([r[0] for r in rows], vectors, self.embedder.name)
            done += len(rows)
        if self._matrix is not None:
            self._matrix.invalidate()
        return done

    # -- search -----------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        labels: Sequence[str] | None = None,
        label_mode: str = "OR",
        file_ids: Sequence[str] | None = None,
        path_prefix: str | None = None,
        limit: int = 10,
        threshold: float | None = None,
        mode: SearchMode = "hybrid",
        owner: str | None = None,
    ) -> SearchResult:
        """The passages best matching `query`, best first, among the files that pass the
        filters.

        `mode`: ``hybrid`` (BM25 and vectors, fused by reciprocal rank), ``bm25`` or
        ``vector``; without embeddings it falls back to ``bm25`` and says so in `notes`.
        `threshold`: the least cosine similarity a passage needs (-1..1; vectors only).
        An empty library, filters that match no file, unknown ids and unused labels are
        reported on the result (`reason`, `unknown_file_ids`, `unmatched_labels`)."""
        query = _clean_query(query, self.settings.max_query_chars)
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= self.settings.max_limit
        ):
            raise UsageError(f"limit must be an integer from 1 to {self.settings.max_limit}")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not -1.0 <= threshold <= 1.0
        ):
            raise UsageError("threshold is a cosine similarity: a number from -1 to 1")
        if mode not in ("hybrid", "bm25", "vector"):
            raise UsageError(f"mode must be 'hybrid', 'bm25' or 'vector', got {mode!r}")
        flt = FileFilter.of(
            labels=labels,
            label_mode=label_mode,
            file_ids=file_ids,
            path_prefix=path_prefix,
            owner=owner,
        )
        return self._search(query, flt, limit, threshold, mode)

    def _search(
        self,
        query: str,
        flt: FileFilter,
        limit: int,
        threshold: float | None,
        mode: SearchMode,
    ) -> SearchResult:
        notes: builtins.list[str] = []
        generation = self._index.generation()
        unknown = (
            tuple(self._index.unknown_file_ids(flt.file_ids, flt.owner)) if flt.file_ids else ()
        )
        unmatched = tuple(self._index.unmatched_labels(flt.labels, flt.owner))
        if unknown:
            notes.append(f"{len(unknown)} of the file ids are not in the library")
        if unmatched:
            notes.append(f"no file carries the label(s) {', '.join(map(repr, unmatched))}")
        base = SearchResult(
            query=query,
            passages=(),
            mode=mode,
            unknown_file_ids=unknown,
            unmatched_labels=unmatched,
        )
        total_files = self._index.count_files(flt.scope)
        if total_files == 0:
            notes.append("the library has no files: add some first")
            return replace(base, reason="empty_library", notes=tuple(notes))
        searched = total_files if flt.is_everything else self._index.count_files(flt)
        if searched == 0:
            notes.append("no file passes the filters")
            return replace(base, reason="no_matching_files", notes=tuple(notes))

        use_vectors = mode != "bm25" and self.embedder is not None
        actual: SearchMode = mode if use_vectors or mode == "bm25" else "bm25"
        if mode != "bm25" and self.embedder is None and self._embedder_note:
            notes.append(self._embedder_note)
        if threshold is not None and not use_vectors:
            notes.append("threshold ignored: it applies to vector similarity, which is off")
        k = max(self.settings.candidates, limit)
        bm25: list[tuple[int, float]] = []
        if actual != "vector":
            budget = max(
                self.settings.bm25_min_budget,
                int(self.settings.bm25_budget * self._index.chunk_count()),
            )
            bm25 = self._index.bm25(query, flt, k, budget=budget)
        nearest: builtins.list[tuple[int, float]] = []
        qvec = None
        if use_vectors:
            assert self.embedder is not None
            qvec = self.embedder.embed([query])[0]
            nearest = self._nearest(qvec, flt, k, generation)
            if len(nearest) < k:
                _, chunks, embedded = self._index.counts(self.embedder.name)
                if embedded < chunks:
                    notes.append(_missing_vectors_note(chunks - embedded))

        ranked = self._rank(actual, bm25, nearest)
        similarity = dict(nearest)
        if qvec is not None and actual == "hybrid":
            missing = [cid for cid, _ in ranked if cid not in similarity]
            similarity.update(self._similarities(qvec, missing, generation))
        below = 0
        if threshold is not None and use_vectors:
            kept = []
            for cid, score in ranked:
                sim = similarity.get(cid)
                if sim is not None and sim < threshold:
                    below += 1
                    continue
                kept.append((cid, score))
            ranked = kept
        ranked = ranked[:limit]
        rows = self._index.passages([cid for cid, _ in ranked])
        bm25_rank = {cid: i + 1 for i, (cid, _) in enumerate(bm25)}
        vector_rank = {cid: i + 1 for i, (cid, _) in enumerate(nearest)}
        passages = tuple(
            replace(
                rows[cid],
                score=score,
                similarity=similarity.get(cid),
                bm25_rank=bm25_rank.get(cid),
                vector_rank=vector_rank.get(cid),
            )
            for cid, score in ranked
            if cid in rows
        )
        reason: EmptyReason | None = None
        if not passages:
            reason = "no_match"
            if below:
                notes.append(f"{below} passage(s) fell below the similarity threshold {threshold}")
            else:
                notes.append("no passage matches the query")
        return replace(
            base,
            passages=passages,
            mode=actual,
            reason=reason,
            notes=tuple(notes),
            files_searched=searched,
        )

    def _nearest(
        self, qvec: npt.NDArray[np.float32], flt: FileFilter, k: int, generation: int
    ) -> builtins.list[tuple[int, float]]:
        assert self.embedder is not None
        if self._matrix is None:  # pgvector
            return self._index.pgvector_nearest(qvec, self.embedder.name, flt, k)
        allowed = None if flt.is_everything else (lambda: self._index.file_seqs(flt))
        return self._matrix.nearest(
            qvec, k, generation=generation, filter_key=flt, allowed_seqs=allowed
        )

    def _similarities(
        self, qvec: npt.NDArray[np.float32], chunk_ids: Sequence[int], generation: int
    ) -> dict[int, float]:
        if not chunk_ids:
            return {}
        if self._matrix is not None:
            return self._matrix.similarities(qvec, chunk_ids, generation=generation)
        assert self.embedder is not None
        return self._index.pgvector_similarities(qvec, self.embedder.name, chunk_ids)

    def _rank(
        self,
        mode: SearchMode,
        bm25: builtins.list[tuple[int, float]],
        nearest: builtins.list[tuple[int, float]],
    ) -> builtins.list[tuple[int, float]]:
        if mode == "bm25":
            return bm25
        if mode == "vector":
            return nearest
        return reciprocal_rank_fusion([bm25, nearest], k=self.settings.rrf_k)

    # -- async twins ------------------------------------------------------------------
    async def aadd(self, source: Source, **kwargs: Any) -> FileRecord:
        return await asyncio.to_thread(lambda: self.add(source, **kwargs))

    async def aadd_many(self, sources: Iterable[Source], **kwargs: Any) -> AddReport:
        items = list(sources)
        return await asyncio.to_thread(lambda: self.add_many(items, **kwargs))

    async def aget(self, file_id: str, **kwargs: Any) -> FileRecord | None:
        return await asyncio.to_thread(lambda: self.get(file_id, **kwargs))

    async def alist(self, **kwargs: Any) -> builtins.list[FileRecord]:
        return await asyncio.to_thread(lambda: self.list(**kwargs))

    async def aupdate(self, file_id: str, **kwargs: Any) -> FileRecord | None:
        return await asyncio.to_thread(lambda: self.update(file_id, **kwargs))

    async def adelete(self, file_id: str, **kwargs: Any) -> bool:
        return await asyncio.to_thread(lambda: self.delete(file_id, **kwargs))

    async def asearch(self, query: str, **kwargs: Any) -> SearchResult:
        return await asyncio.to_thread(lambda: self.search(query, **kwargs))

    async def apassage(self, passage_id: str) -> Passage | None:
        return await asyncio.to_thread(self.passage, passage_id)

    # -- lifetime ---------------------------------------------------------------------
    def close(self) -> None:
        """Close the database connections, if this library opened them."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[tuple[int, float]]], *, k: int = 60
) -> list[tuple[int, float]]:
    """Fuse ranked lists of (id, score): each id scores sum(1 / (k + rank)) over the lists
    it is in (Cormack et al., 2009). Ties go to the better best rank, then the lower id."""
    fused: dict[int, float] = {}
    best: dict[int, int] = {}
    for ranking in rankings:
        for rank, (cid, _) in enumerate(ranking, start=1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank)
            best[cid] = min(best.get(cid, rank), rank)
    return sorted(fused.items(), key=lambda item: (-item[1], best[item[0]], item[0]))


def _embedding_text(row: ChunkRow) -> str:
    return _join_context(row.title, row.headings, row.text)


def _embedding_text_parts(title: str, headings_json: str, text: str) -> str:
    import json

    return _join_context(title, tuple(json.loads(headings_json)), text)


def _join_context(title: str, headings: Sequence[str], text: str) -> str:
    """What gets embedded: the passage under its document title and section path, so a
    passage that never names its subject still lands near questions about it."""
    head = " > ".join([title, *[h for h in headings if h != title]])
    return f"{head}\n{text}"


def _missing_vectors_note(n: int) -> str:
    return (
        f"{n} passage(s) have no vector from the current embedder and are found by BM25 "
        "only: call Library.embed_missing() to add them"
    )


def _too_large(name: str, size: int, limit: int) -> DocumentTooLargeError:
    return DocumentTooLargeError(
        f"{name}: {size:,} bytes is over the library's limit of {limit:,} bytes",
        file_name=name,
        size=size,
        limit=limit,
    )


def _clean_query(query: Any, max_chars: int) -> str:
    if not isinstance(query, str):
        raise UsageError(f"the search query must be a string, not {type(query).__name__}")
    text = " ".join(query.split())
    if not text:
        raise UsageError("the search query is empty: ask something")
    if len(text) > max_chars:
        raise UsageError(f"the search query is over {max_chars} characters: shorten it")
    return text


def _clean_url(url: str | None) -> str | None:
    if url is None:
        return None
    if not isinstance(url, str):
        raise UsageError(f"public_url must be a string, not {type(url).__name__}")
    url = url.strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or len(url) > 2048
    ):
        raise UsageError(f"public_url must be an http(s) URL, got {url[:80]!r}")
    return url
