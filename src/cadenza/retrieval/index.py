"""The library's tables, read and written through the store's own connections.

One class for both databases; where they differ (full-text search, the pgvector column,
``RETURNING``), it asks `dialect`. Statements use ``?`` placeholders, translated by the
store. Every write bumps ``library_state.generation`` in its transaction, so any process
can tell that what it cached (the vector matrix, filter masks) is out of date.

Tables (migrations m010-m013): ``library_files`` (one row a file; ``seq`` its integer key,
``id`` its UUID), ``library_labels`` (file, label), ``library_chunks`` (passages, with
their place in the file), ``library_embeddings`` (one float32 vector a passage, tagged
with the model that made it), and the full-text index: FTS5 ``library_chunks_fts`` in
SQLite, the ``tsv`` column and its GIN index in PostgreSQL.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..store.sql import SqlStore
from .filters import FileFilter, check_file_id
from .passages import FileRecord, Passage, Position

__all__ = ["ChunkRow", "LibraryIndex", "query_terms", "words"]

_FILE_COLUMNS = (
    "f.seq, f.id, f.name, f.path, f.format, f.media_type, f.size_bytes, f.sha256, f.title, "
    "f.public_url, f.labels, f.pages, f.chunks, f.created_at, f.updated_at, f.owner"
)

MAX_QUERY_TERMS = 64
_TERM = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Every lowercase word (run of letters and digits) of `text`, repeats kept."""
    return _TERM.findall(text.lower())


def query_terms(query: str) -> list[str]:
    """The distinct lowercase words of `query` (letters and digits), at most 64, each at
    most 64 characters: safe to put in an FTS5 or tsquery expression as they are."""
    seen: dict[str, None] = {}
    for word in _TERM.findall(query.lower()):
        if len(word) <= 64:
            seen.setdefault(word, None)
        if len(seen) >= MAX_QUERY_TERMS:
            break
    return list(seen)


@dataclass(frozen=True, slots=True)
class ChunkRow:
    ord: int
    passage_id: str
    title: str
    headings: tuple[str, ...]
    text: str
    start: int
    end: int
    page: int | None


class LibraryIndex:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.dialect = store.dialect
        self._pgvector: bool | None = None
        self._df_lock = threading.Lock()
        self._df_cache: dict[str, int] = {}
        self._df_generation = -1

    # -- plumbing ---------------------------------------------------------------------
    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.store._rows(sql, params)

    def _bump(self, conn: Any, chunks: int = 0) -> int:
        """Count a write (and `chunks` passages added, or removed when negative)."""
        conn.execute(
            self.store._sql("UPDATE library_state SET value = value + 1 WHERE name = 'generation'")
        )
        if chunks:
            conn.execute(
                self.store._sql("UPDATE library_state SET value = value + ? WHERE name = 'chunks'"),
                (chunks,),
            )
        row = conn.execute(
            self.store._sql("SELECT value FROM library_state WHERE name = 'generation'")
        ).fetchone()
        return int(row[0])

    def chunk_count(self) -> int:
        """How many passages the library holds (kept by every write, not counted)."""
        rows = self._rows("SELECT value FROM library_state WHERE name = 'chunks'")
        return int(rows[0][0]) if rows else 0

    def generation(self) -> int:
        rows = self._rows("SELECT value FROM library_state WHERE name = 'generation'")
        return int(rows[0][0]) if rows else 0

    @property
    def pgvector(self) -> bool:
        """True when the embeddings table has pgvector's ``embedding`` column."""
        if self._pgvector is None:
            if self.dialect != "postgresql":
                self._pgvector = False
            else:
                rows = self._rows(
                    "SELECT 1 FROM information_schema.columns WHERE table_name = "
                    "'library_embeddings' AND column_name = 'embedding' "
                    "AND table_schema = current_schema()"
                )
                self._pgvector = bool(rows)
        return self._pgvector

    # -- writes -----------------------------------------------------------------------
    def insert_file(
        self,
        record: FileRecord,
        chunks: Sequence[ChunkRow],
        vectors: Any | None,
        model: str | None,
    ) -> tuple[int, int, list[int]]:
        """Store a file, its labels, chunks and (when given) vectors in one transaction.
        Returns (new generation, the file's seq, its chunks' ids in order)."""
        sql = self.store._sql
        with self.store._connection() as conn, self.store._transaction(conn):
            cur = conn.execute(
                sql(
                    "INSERT INTO library_files (id, name, path, format, media_type, size_bytes, "
                    "sha256, title, public_url, labels, pages, chunks, created_at, updated_at, "
                    "owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq"
                ),
                (
                    record.id,
                    record.name,
                    record.path,
                    record.format,
                    record.media_type,
                    record.size_bytes,
                    record.sha256,
                    record.title,
                    record.public_url,
                    json.dumps(list(record.labels)),
                    record.pages,
                    record.chunks,
                    record.created_at,
                    record.updated_at,
                    record.owner,
                ),
            )
            seq = int(cur.fetchone()[0])
            self._write_labels(conn, seq, record.labels)
            conn.cursor().executemany(
                sql(
                    "INSERT INTO library_chunks (file_seq, ord, passage_id, title, headings, "
                    "text, start_char, end_char, page) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                [
                    (
                        seq,
                        c.ord,
                        c.passage_id,
                        c.title,
                        json.dumps(list(c.headings), ensure_ascii=False),
                        c.text,
                        c.start,
                        c.end,
                        c.page,
                    )
                    for c in chunks
                ],
            )
            ids = [
                int(r[0])
                for r in conn.execute(
                    sql("SELECT id FROM library_chunks WHERE file_seq = ? ORDER BY ord"), (seq,)
                ).fetchall()
            ]
            if vectors is not None and model is not None:
                self._write_vectors(conn, ids, vectors, model)
            generation = self._bump(conn, len(ids))
        return generation, seq, ids

    def _write_labels(self, conn: Any, seq: int, labels: Sequence[str]) -> None:
        if labels:
            conn.cursor().executemany(
                self.store._sql("INSERT INTO library_labels (file_seq, label) VALUES (?, ?)"),
                [(seq, label) for label in labels],
            )

    def _write_vectors(self, conn: Any, ids: Sequence[int], vectors: Any, model: str) -> None:
        import numpy as np

        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.pgvector:
            rows = [
                (cid, model, matrix[i].tobytes(), _vector_literal(matrix[i]))
                for i, cid in enumerate(ids)
            ]
            conn.cursor().executemany(
                self.store._sql(
                    "INSERT INTO library_embeddings (chunk_id, model, vector, embedding) "
                    "VALUES (?, ?, ?, ?::vector) ON CONFLICT (chunk_id) DO UPDATE SET "
                    "model = excluded.model, vector = excluded.vector, "
                    "embedding = excluded.embedding"
                ),
                rows,
            )
            return
        conn.cursor().executemany(
            self.store._sql(
                "INSERT INTO library_embeddings (chunk_id, model, vector) VALUES (?, ?, ?) "
                "ON CONFLICT (chunk_id) DO UPDATE SET model = excluded.model, "
                "vector = excluded.vector"
            ),
            [(cid, model, matrix[i].tobytes()) for i, cid in enumerate(ids)],
        )

    def write_vectors(self, ids: Sequence[int], vectors: Any, model: str) -> int:
        with self.store._connection() as conn, self.store._transaction(conn):
            self._write_vectors(conn, ids, vectors, model)
            return self._bump(conn)

    def update_file(
        self,
        file_id: str,
        *,
        labels: tuple[str, ...] | None,
        path: tuple[str | None] | None,
        public_url: tuple[str | None] | None,
        now: float,
        owner: str | None = None,
    ) -> int | None:
        """Change what is given (a 1-tuple holds the new path or URL, which may be None).
        Returns the new generation, or None when there is no such file (of `owner`, when
        given)."""
        sql = self.store._sql
        with self.store._connection() as conn, self.store._transaction(conn):
            row = self._file_seq(conn, file_id, owner)
            if row is None:
                return None
            seq = int(row[0])
            sets = ["updated_at = ?"]
            params: list[Any] = [now]
            if labels is not None:
                sets.append("labels = ?")
                params.append(json.dumps(list(labels)))
                conn.execute(sql("DELETE FROM library_labels WHERE file_seq = ?"), (seq,))
                self._write_labels(conn, seq, labels)
            if path is not None:
                sets.append("path = ?")
                params.append(path[0])
            if public_url is not None:
                sets.append("public_url = ?")
                params.append(public_url[0])
            conn.execute(
                sql(f"UPDATE library_files SET {', '.join(sets)} WHERE seq = ?"), (*params, seq)
            )
            return self._bump(conn)

    def delete_file(self, file_id: str, owner: str | None = None) -> tuple[int, int] | None:
        """Delete a file and everything of it (a file of `owner`, when given). Returns (new
        generation, its seq) or None."""
        sql = self.store._sql
        with self.store._connection() as conn, self.store._transaction(conn):
            row = self._file_seq(conn, file_id, owner)
            if row is None:
                return None
            seq = int(row[0])
            # Children first, explicitly: cheaper than cascades, and FTS triggers see them.
            conn.execute(
                sql(
                    "DELETE FROM library_embeddings WHERE chunk_id IN "
                    "(SELECT id FROM library_chunks WHERE file_seq = ?)"
                ),
                (seq,),
            )
            cur = conn.execute(sql("DELETE FROM library_chunks WHERE file_seq = ?"), (seq,))
            removed = int(cur.rowcount or 0)
            conn.execute(sql("DELETE FROM library_labels WHERE file_seq = ?"), (seq,))
            conn.execute(sql("DELETE FROM library_files WHERE seq = ?"), (seq,))
            return self._bump(conn, -removed), seq

    def _file_seq(self, conn: Any, file_id: str, owner: str | None) -> Any:
        if owner is None:
            return conn.execute(
                self.store._sql("SELECT seq FROM library_files WHERE id = ?"), (file_id,)
            ).fetchone()
        return conn.execute(
            self.store._sql("SELECT seq FROM library_files WHERE id = ? AND owner = ?"),
            (file_id, owner),
        ).fetchone()

    # -- files ------------------------------------------------------------------------
    def get_file(self, file_id: str, owner: str | None = None) -> FileRecord | None:
        if owner is None:
            rows = self._file_rows("f.id = ?", [file_id], limit=1, offset=0)
        else:
            rows = self._file_rows("f.id = ? AND f.owner = ?", [file_id, owner], limit=1, offset=0)
        return rows[0] if rows else None

    def list_files(self, flt: FileFilter, *, limit: int, offset: int) -> list[FileRecord]:
        where, params = flt.sql("f")
        return self._file_rows(where, params, limit=limit, offset=offset)

    def _file_rows(
        self, where: str, params: Sequence[Any], *, limit: int, offset: int
    ) -> list[FileRecord]:
        embedded = (
            "(SELECT COUNT(*) FROM library_embeddings e JOIN library_chunks c "
            "ON c.id = e.chunk_id WHERE c.file_seq = f.seq)"
        )
        rows = self._rows(
            f"SELECT {_FILE_COLUMNS}, {embedded} FROM library_files f WHERE {where} "
            "ORDER BY f.seq LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [_file_record(row) for row in rows]

    def file_seqs(self, flt: FileFilter) -> list[int]:
        where, params = flt.sql("f")
        return [
            int(r[0])
            for r in self._rows(f"SELECT f.seq FROM library_files f WHERE {where}", params)
        ]

    def count_files(self, flt: FileFilter | None = None) -> int:
        where, params = (flt or FileFilter()).sql("f")
        return int(self._rows(f"SELECT COUNT(*) FROM library_files f WHERE {where}", params)[0][0])

    def counts(self, model: str | None) -> tuple[int, int, int]:
        """(files, chunks, chunks with a vector from `model`)."""
        files = int(self._rows("SELECT COUNT(*) FROM library_files")[0][0])
        chunks = int(self._rows("SELECT COUNT(*) FROM library_chunks")[0][0])
        embedded = 0
        if model is not None:
            filled = " AND embedding IS NOT NULL" if self.pgvector else ""
            embedded = int(
                self._rows(
                    f"SELECT COUNT(*) FROM library_embeddings WHERE model = ?{filled}", [model]
                )[0][0]
            )
        return files, chunks, embedded

    def unknown_file_ids(self, ids: Sequence[str], owner: str | None = None) -> list[str]:
        """The ids that name no file (of `owner`, when given: another owner's file is as
        unknown as one that does not exist)."""
        canonical = {i: check_file_id(i) for i in ids}
        valid = [c for c in canonical.values() if c is not None]
        found: set[str] = set()
        if valid:
            marks = ", ".join("?" for _ in valid)
            mine = "" if owner is None else " AND owner = ?"
            found = {
                r[0]
                for r in self._rows(
                    f"SELECT id FROM library_files WHERE id IN ({marks}){mine}",
                    [*valid, *([] if owner is None else [owner])],
                )
            }
        return [i for i, c in canonical.items() if c is None or c not in found]

    def unmatched_labels(self, labels: Sequence[str], owner: str | None = None) -> list[str]:
        """The labels no file (of `owner`, when given) carries."""
        if not labels:
            return []
        marks = ", ".join("?" for _ in labels)
        if owner is None:
            sql = f"SELECT DISTINCT label FROM library_labels WHERE label IN ({marks})"
            params: list[Any] = list(labels)
        else:
            sql = (
                "SELECT DISTINCT l.label FROM library_labels l JOIN library_files f "
                f"ON f.seq = l.file_seq WHERE l.label IN ({marks}) AND f.owner = ?"
            )
            params = [*labels, owner]
        found = {r[0] for r in self._rows(sql, params)}
        return [label for label in labels if label not in found]

    # -- chunks -----------------------------------------------------------------------
    def chunks_without_vectors(self, model: str, limit: int) -> list[tuple[int, str, str, str]]:
        """(chunk id, title, headings JSON, text) of chunks with no vector from `model`."""
        # with pgvector, a row whose vector column is empty (pgvector enabled after the
        # fact) counts as missing too
        filled = " AND e.embedding IS NOT NULL" if self.pgvector else ""
        return [
            (int(r[0]), r[1], r[2], r[3])
            for r in self._rows(
                "SELECT c.id, c.title, c.headings, c.text FROM library_chunks c "
                "WHERE NOT EXISTS (SELECT 1 FROM library_embeddings e "
                f"WHERE e.chunk_id = c.id AND e.model = ?{filled}) ORDER BY c.id LIMIT ?",
                [model, limit],
            )
        ]

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, Passage]:
        """Passages for chunk ids (score 0; the caller sets scores)."""
        if not chunk_ids:
            return {}
        marks = ", ".join("?" for _ in chunk_ids)
        rows = self._rows(
            "SELECT c.id, c.passage_id, c.ord, c.title, c.headings, c.text, c.start_char, "
            "c.end_char, c.page, f.id, f.name, f.path, f.labels, f.public_url "
            "FROM library_chunks c JOIN library_files f ON f.seq = c.file_seq "
            f"WHERE c.id IN ({marks})",
            list(chunk_ids),
        )
        return {int(r[0]): _passage(r) for r in rows}

    def passage_by_id(self, pid: str) -> Passage | None:
        rows = self._rows(
            "SELECT c.id, c.passage_id, c.ord, c.title, c.headings, c.text, c.start_char, "
            "c.end_char, c.page, f.id, f.name, f.path, f.labels, f.public_url "
            "FROM library_chunks c JOIN library_files f ON f.seq = c.file_seq "
            "WHERE c.passage_id = ? ORDER BY c.id LIMIT 1",
            [pid],
        )
        return _passage(rows[0]) if rows else None

    # -- vectors ----------------------------------------------------------------------
    def load_vectors(self, model: str) -> tuple[list[int], list[int], list[bytes]]:
        """Every vector of `model`: (chunk ids, their files' seqs, float32 bytes)."""
        rows = self._rows(
            "SELECT e.chunk_id, c.file_seq, e.vector FROM library_embeddings e "
            "JOIN library_chunks c ON c.id = e.chunk_id WHERE e.model = ? ORDER BY e.chunk_id",
            [model],
        )
        return [int(r[0]) for r in rows], [int(r[1]) for r in rows], [bytes(r[2]) for r in rows]

    def pgvector_nearest(
        self, query: Any, model: str, flt: FileFilter, k: int
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) of the `k` nearest, computed by pgvector."""
        where, params = flt.sql("f")
        rows = self._rows(
            "SELECT e.chunk_id, 1 - (e.embedding <=> ?::vector) AS sim "
            "FROM library_embeddings e JOIN library_chunks c ON c.id = e.chunk_id "
            "JOIN library_files f ON f.seq = c.file_seq "
            f"WHERE e.model = ? AND {where} ORDER BY e.embedding <=> ?::vector LIMIT ?",
            [_vector_literal(query), model, *params, _vector_literal(query), k],
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def pgvector_similarities(
        self, query: Any, model: str, chunk_ids: Sequence[int]
    ) -> dict[int, float]:
        marks = ", ".join("?" for _ in chunk_ids)
        rows = self._rows(
            "SELECT chunk_id, 1 - (embedding <=> ?::vector) FROM library_embeddings "
            f"WHERE model = ? AND chunk_id IN ({marks})",
            [_vector_literal(query), model, *chunk_ids],
        )
        return {int(r[0]): float(r[1]) for r in rows}

    # -- full text --------------------------------------------------------------------
    def bm25(
        self, query: str, flt: FileFilter, k: int, *, budget: int | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, score, higher is better) of the `k` best full-text matches.

        `budget` (SQLite): the query keeps its rarest words, rarest first, while the
        passages they occur in add up to at most this many (always the rarest one)."""
        terms = query_terms(query)
        if not terms:
            return []
        if self.dialect == "sqlite":
            return self._bm25_sqlite(self._selective_terms(terms, budget), flt, k)
        return self._rank_postgres(terms, flt, k)

    def _bm25_sqlite(self, terms: list[str], flt: FileFilter, k: int) -> list[tuple[int, float]]:
        match = " OR ".join(f'"{t}"' for t in terms)
        if flt.is_everything:
            rows = self._rows(
                "SELECT rowid, rank FROM library_chunks_fts WHERE library_chunks_fts MATCH ? "
                "ORDER BY rank LIMIT ?",
                [match, k],
            )
        else:
            where, params = flt.sql("f")
            rows = self._rows(
                "SELECT library_chunks_fts.rowid, library_chunks_fts.rank "
                "FROM library_chunks_fts "
                "JOIN library_chunks c ON c.id = library_chunks_fts.rowid "
                "JOIN library_files f ON f.seq = c.file_seq "
                f"WHERE library_chunks_fts MATCH ? AND {where} "
                "ORDER BY library_chunks_fts.rank LIMIT ?",
                [match, *params, k],
            )
        return [(int(r[0]), -float(r[1])) for r in rows]

    def _selective_terms(self, terms: list[str], budget: int | None) -> list[str]:
        """The words worth matching. FTS5 scores every passage a query matches, so the cost
        of a query is the number of passages its words occur in. Words in more than half
        the passages (``the``, ``of``) are dropped: their BM25 weight is nil. Then, within
        `budget`, the rarest words are kept first: a word found in many passages weighs
        little in BM25 (idf) and costs the most. The words are run through FTS5's own
        tokenizer (porter) first, so they match the index's terms."""
        with self.store._connection() as conn:
            return self._selective_terms_on(conn, terms, budget)

    def _selective_terms_on(self, conn: Any, terms: list[str], budget: int | None) -> list[str]:
        conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.library_query_terms USING fts5("
            "q, tokenize='porter unicode61 remove_diacritics 2')"
        )
        conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.library_query_vocab "
            "USING fts5vocab(temp, library_query_terms, 'instance')"
        )
        stems = self._stems(conn, terms)
        row = conn.execute("SELECT value FROM library_state WHERE name = 'chunks'").fetchone()
        total = int(row[0]) if row else 0
        if not stems or total < 20:
            return terms
        df = self._document_frequencies(conn, sorted(set(stems.values())))

        def count(term: str) -> int:
            return int(df.get(stems.get(term, term), 0))

        informative = [t for t in terms if count(t) * 2 <= total] or terms
        if budget is None:
            return informative
        kept: list[str] = []
        seen_stems: set[str] = set()
        postings = 0
        for term in sorted(informative, key=count):
            stem = stems.get(term, term)
            if stem in seen_stems:
                kept.append(term)
                continue
            if kept and postings + count(term) > budget:
                break
            kept.append(term)
            seen_stems.add(stem)
            postings += count(term)
        return kept

    def _document_frequencies(self, conn: Any, stems: list[str]) -> dict[str, int]:
        """How many passages each (stemmed) term occurs in. FTS5 counts them by reading
        the term's whole list of passages, which for a common word at 100k passages costs
        milliseconds; the counts are cached until the library changes."""
        generation = self.generation()
        with self._df_lock:
            if self._df_generation != generation:
                self._df_cache.clear()
                self._df_generation = generation
            missing = [s for s in stems if s not in self._df_cache]
        if missing:
            marks = ", ".join("?" for _ in missing)
            found = dict(
                conn.execute(
                    f"SELECT term, doc FROM library_chunks_vocab WHERE term IN ({marks})", missing
                ).fetchall()
            )
            with self._df_lock:
                if self._df_generation == generation:
                    if len(self._df_cache) > 200_000:
                        self._df_cache.clear()
                    for stem in missing:
                        self._df_cache[stem] = int(found.get(stem, 0))
            return {s: int(found[s]) if s in found else self._df_cache.get(s, 0) for s in stems}
        with self._df_lock:
            return {s: self._df_cache.get(s, 0) for s in stems}

    @staticmethod
    def _stems(conn: Any, terms: list[str]) -> dict[str, str]:
        """Each term as FTS5's tokenizer indexes it: all terms in one row, read back in
        order; one row per term when the tokenizer splits some term differently."""
        conn.execute("DELETE FROM temp.library_query_terms")
        conn.execute(
            "INSERT INTO temp.library_query_terms (rowid, q) VALUES (1, ?)", (" ".join(terms),)
        )
        rows = conn.execute("SELECT term FROM temp.library_query_vocab ORDER BY offset").fetchall()
        conn.execute("DELETE FROM temp.library_query_terms")
        if len(rows) == len(terms):
            return {t: r[0] for t, r in zip(terms, rows, strict=True)}
        stems: dict[str, str] = {}
        for term in terms:
            conn.execute("INSERT INTO temp.library_query_terms (rowid, q) VALUES (1, ?)", (term,))
            row = conn.execute("SELECT term FROM temp.library_query_vocab LIMIT 1").fetchone()
            conn.execute("DELETE FROM temp.library_query_terms")
            if row is not None:
                stems[term] = row[0]
        return stems

    def _rank_postgres(self, terms: list[str], flt: FileFilter, k: int) -> list[tuple[int, float]]:
        where, params = flt.sql("f")
        tsquery = " | ".join(terms)
        join = "" if flt.is_everything else "JOIN library_files f ON f.seq = c.file_seq "
        cond = "" if flt.is_everything else f"AND {where} "
        rows = self._rows(
            "SELECT c.id, ts_rank(c.tsv, q) AS score FROM library_chunks c "
            f"{join}CROSS JOIN to_tsquery('english', ?) q "
            f"WHERE c.tsv @@ q {cond}ORDER BY score DESC, c.id LIMIT ?",
            [tsquery, *([] if flt.is_everything else params), k],
        )
        return [(int(r[0]), float(r[1])) for r in rows]


def _vector_literal(vector: Any) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def _file_record(row: Sequence[Any]) -> FileRecord:
    (
        _seq,
        id_,
        name,
        path,
        fmt,
        media_type,
        size_bytes,
        sha256,
        title,
        public_url,
        labels,
        pages,
        chunks,
        created_at,
        updated_at,
        owner,
        embedded,
    ) = row
    return FileRecord(
        id=id_,
        name=name,
        format=fmt,
        media_type=media_type,
        size_bytes=int(size_bytes),
        sha256=sha256,
        title=title,
        chunks=int(chunks),
        embedded=int(embedded),
        created_at=float(created_at),
        updated_at=float(updated_at),
        path=path,
        labels=tuple(json.loads(labels)),
        public_url=public_url,
        pages=None if pages is None else int(pages),
        owner=owner,
    )


def _passage(row: Sequence[Any]) -> Passage:
    (
        _cid,
        pid,
        ord_,
        title,
        headings,
        text,
        start,
        end,
        page,
        file_id,
        file_name,
        path,
        labels,
        public_url,
    ) = row
    return Passage(
        id=pid,
        text=text,
        file_id=file_id,
        file_name=file_name,
        title=title,
        position=Position(
            chunk=int(ord_),
            start=int(start),
            end=int(end),
            headings=tuple(json.loads(headings)),
            page=None if page is None else int(page),
        ),
        score=0.0,
        path=path,
        labels=tuple(json.loads(labels)),
        public_url=public_url,
    )
