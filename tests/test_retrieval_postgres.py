"""The document library on PostgreSQL, for real: throwaway clusters on loopback.

Two servers: Debian's PostgreSQL (no pgvector here: vectors as bytea, cosine in this
process) and the one the `pgserver` package ships, which has the pgvector extension
(vectors found in the database). Each is skipped, with the reason, when its binaries are
missing.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cadenza.retrieval import HashingEmbedder, Library, MiniLMEmbedder
from cadenza.store.migrations import MIGRATIONS
from pg_cluster import as_postgres_user, bin_dir, fresh_database, throwaway_cluster
from retrieval_files import MARKDOWN, pdf_bytes

psycopg = pytest.importorskip("psycopg", reason="pip install 'cadenza[postgres]'")


@contextlib.contextmanager
def _cluster(binaries: Path) -> Iterator[str]:
    with throwaway_cluster(binaries, prefix="cadenza-pg-lib-") as cluster:
        yield cluster.url


def _fresh_db(cluster: str) -> str:
    return fresh_database(cluster, prefix="lib_")


@pytest.fixture(scope="module")
def debian_cluster() -> Iterator[str]:
    with _cluster(bin_dir()) as url:
        yield url


@pytest.fixture(scope="module")
def pgvector_cluster() -> Iterator[str]:
    pgserver = pytest.importorskip("pgserver", reason="the pgserver package ships pgvector")
    binaries = Path(pgserver.__file__).parent / "pginstall" / "bin"
    if not (binaries / "initdb").exists():
        pytest.skip("pgserver has no PostgreSQL binaries for this platform")
    copy = None
    if as_postgres_user():
        # The server runs as `postgres`, which cannot reach a checkout under a private
        # folder (`mktemp -d` makes it 0700): it runs a copy of the binaries it can read.
        # The binaries find their libraries at ../../../pgserver.libs (their RPATH).
        copy = Path(tempfile.mkdtemp(prefix="cadenza-pginstall-"))
        copy.chmod(0o755)
        site = binaries.parents[2]
        shutil.copytree(binaries.parent, copy / "pgserver" / "pginstall", symlinks=True)
        if (site / "pgserver.libs").is_dir():
            shutil.copytree(site / "pgserver.libs", copy / "pgserver.libs", symlinks=True)
        binaries = copy / "pgserver" / "pginstall" / "bin"
    try:
        with _cluster(binaries) as url:
            yield url
    finally:
        if copy is not None:
            shutil.rmtree(copy, ignore_errors=True)


@pytest.fixture(params=["bytea", "pgvector"])
def pg_url(request: pytest.FixtureRequest) -> str:
    cluster = request.getfixturevalue(
        "debian_cluster" if request.param == "bytea" else "pgvector_cluster"
    )
    return _fresh_db(cluster)


def names(result: object) -> list[str]:
    return [p.file_name for p in result]  # type: ignore[attr-defined]


def test_migrations_and_backend(pg_url: str, request: pytest.FixtureRequest) -> None:
    with Library(pg_url, embedder=HashingEmbedder()) as lib:
        assert lib.store.applied_migrations() == [m.name for m in MIGRATIONS]
        backend = lib.stats().vector_backend
        expected = "pgvector" if "pgvector" in request.node.callspec.id else "numpy"
        assert backend == expected


def test_library_on_postgres(pg_url: str) -> None:
    with Library(pg_url, embedder=HashingEmbedder()) as lib:
        assert lib.search("anything").reason == "empty_library"
        heron = lib.add(MARKDOWN.encode(), name="guide.md", labels=["birds", "book"], path="a/b")
        lib.add(
            b"Otters swim in rivers and eat fish and crabs.", name="otter.txt", labels=["mammals"]
        )
        lib.add(pdf_bytes(["Harbour dredging.", "Mooring revenue rose."]), name="r.pdf", path="a/c")

        hit = lib.search("heronries colonies", limit=1)[0]
        assert hit.file_id == heron.id and hit.position.headings[-1] == "Nesting"
        assert MARKDOWN[hit.position.start : hit.position.end] == hit.text
        assert lib.search("mooring revenue", limit=1)[0].position.page == 2

        assert names(lib.search("fish", labels=["birds", "mammals"], label_mode="AND")) == []
        both = lib.search("fish", labels=["birds", "mammals"], label_mode="OR", limit=10)
        assert set(names(both)) == {"guide.md", "otter.txt"}
        assert set(names(lib.search("harbour heron", path_prefix="a/", limit=10))) <= {
            "guide.md",
            "r.pdf",
        }
        ghost = str(uuid.uuid4())
        reported = lib.search("fish", file_ids=[ghost], labels=["nope"])
        assert reported.reason == "no_matching_files"
        assert reported.unknown_file_ids == (ghost,) and reported.unmatched_labels == ("nope",)

        assert lib.search("the of and", mode="bm25").reason == "no_match"  # stop words only
        assert lib.search('NOT | & ! :* "x', mode="bm25").reason == "no_match"
        bm25 = lib.search("otters crabs", mode="bm25")
        assert names(bm25)[0] == "otter.txt" and bm25[0].score > 0
        vector = lib.search("otters crabs rivers", mode="vector", limit=1)
        assert names(vector) == ["otter.txt"] and vector[0].similarity is not None

        updated = lib.update(heron.id, labels=["field"], path=None)
        assert updated is not None and updated.labels == ("field",) and updated.path is None
        assert names(lib.search("heron", labels=["field"], limit=1)) == ["guide.md"]
        assert lib.delete(heron.id) and not lib.delete(heron.id)
        assert "guide.md" not in names(lib.search("heronries herons owls", limit=10))
        assert lib.passage(hit.id) is None


def test_hybrid_on_postgres_with_minilm(pg_url: str) -> None:
    with Library(pg_url, embedder=MiniLMEmbedder()) as lib:
        lib.add(b"The automobile would not start on cold winter mornings.", name="n1.txt")
        lib.add(b"Tomatoes need full sun and regular watering to ripen.", name="n2.txt")
        query = "my car engine fails in freezing weather"
        assert lib.search(query, mode="bm25").reason == "no_match"
        hybrid = lib.search(query, limit=2, threshold=0.3)
        assert names(hybrid) == ["n1.txt"] and hybrid[0].similarity is not None


def test_pgvector_switched_on_after_the_fact(pgvector_cluster: str) -> None:
    url = _fresh_db(pgvector_cluster)
    with (
        Library(url, embedder=HashingEmbedder()) as lib,
        lib.store._connection() as conn,  # type: ignore[attr-defined]
    ):
        conn.execute("ALTER TABLE library_embeddings DROP COLUMN embedding")
    with Library(url, embedder=HashingEmbedder()) as before:
        assert before.stats().vector_backend == "numpy"
        before.add(b"Otters swim in rivers and eat crabs.", name="otter.txt")
        with before.store._connection() as conn:  # type: ignore[attr-defined]
            conn.execute("ALTER TABLE library_embeddings ADD COLUMN embedding vector")
    with Library(url, embedder=HashingEmbedder()) as after:
        stats = after.stats()
        assert stats.vector_backend == "pgvector" and stats.embedded == 0
        assert after.embed_missing() == 1 and after.stats().embedded == 1
        assert names(after.search("otters crabs", mode="vector")) == ["otter.txt"]
