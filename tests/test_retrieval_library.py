"""The document library on SQLite: files in and out, filters, search, faults."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cadenza.errors import DocumentError, DocumentTooLargeError, UsageError
from cadenza.retrieval import (
    FileSearch,
    HashingEmbedder,
    Library,
    LibrarySettings,
    MiniLMEmbedder,
    passage_id,
    reciprocal_rank_fusion,
)
from retrieval_files import HTML, MARKDOWN, docx_bytes, pdf_bytes


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lib.db'}"


@pytest.fixture
def library(db: str) -> Iterator[Library]:
    with Library(db, embedder=HashingEmbedder()) as lib:
        yield lib


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def add_zoo(library: Library) -> dict[str, str]:
    """Four small files with labels and paths; returns name -> id."""
    ids = {}
    for name, text, labels, path in [
        (
            "heron.txt",
            "The grey heron eats fish in shallow rivers.",
            ["birds", "water"],
            "zoo/birds",
        ),
        ("owl.txt", "The tawny owl hunts mice at night in the woods.", ["birds"], "zoo/birds"),
        (
            "otter.txt",
            "Otters swim in rivers and eat fish and crabs.",
            ["mammals", "water"],
            "zoo/m",
        ),
        ("fox.txt", "The red fox hunts mice and rabbits at dusk.", ["mammals"], "wild"),
    ]:
        ids[name] = library.add(text.encode(), name=name, labels=labels, path=path).id
    return ids


def names(result: object) -> list[str]:
    return [p.file_name for p in result]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- files


def test_add_get_update_delete(library: Library, tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(MARKDOWN)
    record = library.add(
        path,
        labels=["nature", "nature", " guide "],
        path="books/2024",
        public_url="https://example.org/guide",
    )
    assert uuid.UUID(record.id).version == 4
    assert (record.name, record.format, record.title) == ("guide.md", "markdown", "Field Guide")
    assert record.labels == ("nature", "guide") and record.chunks == record.embedded > 0
    assert library.get(record.id) == record
    assert library.get(record.id.upper()) == record  # ids are UUIDs, any case
    assert library.get("not-a-uuid") is None and library.get(str(uuid.uuid4())) is None

    updated = library.update(record.id, labels=["field"], path=None)
    assert updated is not None and updated.labels == ("field",) and updated.path is None
    assert updated.public_url == "https://example.org/guide"  # not given: left as it was
    assert updated.updated_at >= record.updated_at
    assert library.update(str(uuid.uuid4()), labels=["x"]) is None

    hit = library.search("heronries colonies")
    assert hit[0].file_id == record.id and hit[0].labels == ("field",)
    assert library.delete(record.id) is True
    assert library.delete(record.id) is False
    assert library.get(record.id) is None
    assert library.search("heronries colonies").reason == "empty_library"


def test_every_format_is_indexed_with_positions(library: Library) -> None:
    library.add(MARKDOWN.encode(), name="guide.md")
    library.add(HTML.encode(), name="tides.html")
    library.add(pdf_bytes(["Dredging finished in March.", "Mooring revenue rose."]), name="r.pdf")
    library.add(docx_bytes(), name="handbook.docx")
    pdf_hit = library.search("mooring revenue", limit=1)[0]
    assert (pdf_hit.file_name, pdf_hit.position.page) == ("r.pdf", 2)
    html_hit = library.search("neap tides quarter moons", limit=1)[0]
    assert html_hit.file_name == "tides.html" and html_hit.position.headings[-1] == "Neap tides"
    docx_hit = library.search("parental leave", limit=1)[0]
    assert docx_hit.title == "Onboarding handbook" and docx_hit.position.headings == ("Benefits",)
    md_hit = library.search("heronries", limit=1)[0]
    assert md_hit.position.headings == ("Field Guide", "Herons", "Nesting")
    assert MARKDOWN[md_hit.position.start : md_hit.position.end] == md_hit.text
    assert md_hit.id == passage_id(md_hit.file_id, md_hit.position.chunk)
    assert library.passage(md_hit.id) is not None and library.passage(md_hit.id).text == md_hit.text  # type: ignore[union-attr]


def test_batch_add_keeps_the_good_files(library: Library, tmp_path: Path) -> None:
    good1 = tmp_path / "a.txt"
    good1.write_text("Apples grow in orchards.")
    bad = tmp_path / "b.pdf"
    bad.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 100)
    good2 = tmp_path / "c.md"
    good2.write_text("# Pears\n\nPears ripen after picking.")
    report = library.add_many([good1, bad, good2, tmp_path / "missing.txt"], labels=["fruit"])
    assert [r.name for r in report.added] == ["a.txt", "c.md"]
    assert [e.file_name for e in report.errors] == ["b.pdf", "missing.txt"]
    assert "b.pdf" in str(report.errors[0]) and "no such file" in str(report.errors[1])
    assert not report.ok
    assert {r.name for r in library.list()} == {"a.txt", "c.md"}
    assert (
        names(library.search("pears ripen"))
        == ["c.md", "a.txt"][: len(library.search("pears ripen"))]
    )


def test_size_limit(db: str, tmp_path: Path) -> None:
    settings = LibrarySettings(max_file_bytes=1000)
    with Library(db, settings=settings, embedder=None) as lib:
        big = tmp_path / "big.txt"
        big.write_text("x " * 1000)
        with pytest.raises(DocumentTooLargeError) as info:
            lib.add(big)
        assert (
            info.value.limit == 1000
            and info.value.size == 2000
            and info.value.file_name == "big.txt"
        )
        with pytest.raises(DocumentTooLargeError):
            lib.add(b"y" * 1001, name="big.bin")
        assert lib.list() == []


def test_bad_arguments_are_usage_errors(library: Library) -> None:
    with pytest.raises(UsageError, match="empty"):
        library.search("   ")
    with pytest.raises(UsageError, match="limit"):
        library.search("x", limit=0)
    with pytest.raises(UsageError, match="threshold"):
        library.search("x", threshold=2)
    with pytest.raises(UsageError, match="label_mode"):
        library.search("x", labels=["a"], label_mode="XOR")
    with pytest.raises(UsageError, match="list of strings"):
        library.add(b"x", name="x.txt", labels="oops")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="control"):
        library.add(b"x", name="x.txt", labels=["bad\x00label"])
    with pytest.raises(UsageError, match="public_url"):
        library.add(b"x", name="x.txt", public_url="javascript:alert(1)")
    with pytest.raises(DocumentError, match="empty"):
        library.add(b"", name="e.txt")
    assert library.list() == []


# --------------------------------------------------------------------------- filters


def test_label_filters_and_or(library: Library) -> None:
    add_zoo(library)
    either = library.search("fish mice", labels=["water", "birds"], limit=10)
    assert set(names(either)) == {"heron.txt", "owl.txt", "otter.txt"}
    both = library.search("fish mice", labels=["water", "birds"], label_mode="AND", limit=10)
    assert names(both) == ["heron.txt"]
    assert {r.name for r in library.list(labels=["water", "birds"], label_mode="and")} == {
        "heron.txt"
    }


def test_file_id_and_path_prefix_filters(library: Library) -> None:
    ids = add_zoo(library)
    only = library.search("hunts mice", file_ids=[ids["fox.txt"]], limit=10)
    assert names(only) == ["fox.txt"] and only.files_searched == 1
    birds = library.search("hunts mice fish", path_prefix="zoo/", limit=10)
    assert set(names(birds)) == {"heron.txt", "owl.txt", "otter.txt"}
    assert [r.name for r in library.list(path_prefix="zoo/birds")] == ["heron.txt", "owl.txt"]
    combined = library.search("fish", path_prefix="zoo", labels=["mammals"], limit=10)
    assert names(combined) == ["otter.txt"]


def test_unknown_ids_and_labels_are_reported_not_raised(library: Library) -> None:
    ids = add_zoo(library)
    ghost = str(uuid.uuid4())
    result = library.search(
        "fish", file_ids=[ids["heron.txt"], ghost, "nonsense"], labels=["birds", "fish-eaters"]
    )
    assert names(result) == ["heron.txt"]
    assert result.unknown_file_ids == (ghost, "nonsense")
    assert result.unmatched_labels == ("fish-eaters",)
    assert any("not in the library" in n for n in result.notes)
    nothing = library.search("fish", labels=["reptiles"])
    assert nothing.reason == "no_matching_files" and len(nothing) == 0
    assert nothing.unmatched_labels == ("reptiles",) and nothing.files_searched == 0


def test_empty_library_says_so(library: Library) -> None:
    result = library.search("anything at all")
    assert result.reason == "empty_library" and result.empty_library and list(result) == []
    assert "no files" in " ".join(result.notes)


def test_no_match_says_so(db: str) -> None:
    with Library(db, embedder=None) as lib:
        lib.add(b"Apples grow in orchards.", name="a.txt")
        result = lib.search("zebra")
        assert result.reason == "no_match" and result.mode == "bm25"


# --------------------------------------------------------------------------- ranking


def test_without_embeddings_search_is_bm25_and_says_so(db: str) -> None:
    with Library(db, embedder=None) as lib:
        add_zoo(lib)
        result = lib.search("otters crabs", threshold=0.5)
        assert result.mode == "bm25" and names(result)[0] == "otter.txt"
        assert any("BM25 only" in n for n in result.notes)
        assert any("threshold ignored" in n for n in result.notes)
        assert result[0].similarity is None and result[0].bm25_rank == 1


def test_hybrid_finds_what_bm25_misses(db: str, minilm: MiniLMEmbedder) -> None:
    with Library(db, embedder=minilm) as lib:
        lib.add(b"The automobile would not start on cold winter mornings.", name="note1.txt")
        lib.add(b"Stock prices fell sharply after the quarterly earnings report.", name="note2.txt")
        lib.add(b"Tomatoes need full sun and regular watering to ripen.", name="note3.txt")
        query = "my car engine fails in freezing weather"
        assert (
            lib.search(query, mode="bm25").reason == "no_match"
        )  # no word in common (titles included)
        vector = lib.search(query, mode="vector", limit=1)
        hybrid = lib.search(query, limit=3)
        assert names(vector) == ["note1.txt"] and names(hybrid)[0] == "note1.txt"
        assert hybrid[0].vector_rank == 1 and hybrid[0].bm25_rank is None
        assert hybrid.mode == "hybrid" and hybrid[0].similarity is not None


def test_hybrid_fuses_both_rankings(db: str, minilm: MiniLMEmbedder) -> None:
    with Library(db, embedder=minilm) as lib:
        lib.add(
            b"Kiss and Tell is a 1945 comedy film starring Shirley Temple as Corliss Archer.",
            name="film.txt",
        )
        lib.add(
            b"Shirley Temple later served as United States ambassador to Ghana.", name="temple.txt"
        )
        lib.add(b"Meet Corliss Archer was a radio sitcom.", name="radio.txt")
        lib.add(b"The Ghana national football team plays in Accra.", name="ghana.txt")
        result = lib.search("Which actress played Corliss Archer in Kiss and Tell?", limit=4)
        assert names(result)[0] == "film.txt"
        fused = [(p.bm25_rank, p.vector_rank) for p in result]
        assert all(b is not None or v is not None for b, v in fused)
        assert [p.score for p in result] == sorted((p.score for p in result), reverse=True)


def test_threshold_drops_dissimilar_passages(db: str, minilm: MiniLMEmbedder) -> None:
    with Library(db, embedder=minilm) as lib:
        lib.add(b"The automobile would not start on cold winter mornings.", name="car.txt")
        lib.add(b"Tomatoes need full sun and regular watering to ripen.", name="garden.txt")
        loose = lib.search("car trouble in winter", limit=5)
        assert set(names(loose)) == {"car.txt", "garden.txt"}  # vectors rank every passage
        strict = lib.search("car trouble in winter", limit=5, threshold=0.3)
        assert names(strict) == ["car.txt"] and strict[0].similarity is not None
        assert strict[0].similarity >= 0.3
        none = lib.search("car trouble in winter", threshold=0.99)
        assert none.reason == "no_match" and any("threshold" in n for n in none.notes)


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion([[(1, 9.0), (2, 8.0), (3, 7.0)], [(3, 0.9), (1, 0.8)]], k=60)
    assert [cid for cid, _ in fused] == [1, 3, 2]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)


# --------------------------------------------------------------------------- vectors


def test_vector_matrix_is_cached_and_patched_by_own_writes(library: Library) -> None:
    add_zoo(library)
    library.search("fish")
    matrix = library._matrix
    assert matrix is not None and matrix.loads == 1
    library.search("mice")
    rec = library.add(b"Seals eat fish on the rocks.", name="seal.txt", labels=["water"])
    library.search("fish", labels=["water"])
    library.update(rec.id, labels=["coast"])
    assert names(library.search("seals", labels=["coast"])) == ["seal.txt"]
    library.delete(rec.id)
    assert "seal.txt" not in names(library.search("seals rocks", limit=10))
    assert matrix.loads == 1  # own writes patch the matrix; nothing was read again


def test_another_process_writing_is_noticed(db: str) -> None:
    with (
        Library(db, embedder=HashingEmbedder()) as one,
        Library(db, embedder=HashingEmbedder()) as two,
    ):
        one.add(b"Badgers dig setts in the woods.", name="badger.txt")
        assert names(two.search("badgers setts")) == ["badger.txt"]
        one.add(b"Beavers build dams on rivers.", name="beaver.txt")
        assert names(two.search("beavers dams", mode="vector", limit=1)) == ["beaver.txt"]
        assert two._matrix is not None and two._matrix.loads == 2


def test_embed_missing_after_installing_embeddings(db: str) -> None:
    with Library(db, embedder=None) as plain:
        plain.add(b"Hedgehogs roll into a ball when scared.", name="hog.txt")
        assert plain.stats().embedded == 0
    with Library(db, embedder=HashingEmbedder()) as lib:
        before = lib.search("hedgehogs", mode="vector")
        assert before.reason == "no_match" and any("embed_missing" in n for n in before.notes)
        assert lib.embed_missing() == 1
        assert names(lib.search("hedgehogs ball", mode="vector")) == ["hog.txt"]
        stats = lib.stats()
        assert (stats.files, stats.chunks, stats.embedded, stats.vector_backend) == (
            1,
            1,
            1,
            "numpy",
        )


def test_deleting_a_file_removes_it_from_full_text(library: Library) -> None:
    ids = add_zoo(library)
    library.delete(ids["otter.txt"])
    assert "otter.txt" not in names(library.search("otters crabs", mode="bm25", limit=10))
    rows = library.store._rows(  # type: ignore[attr-defined]
        "SELECT COUNT(*) FROM library_chunks_fts WHERE library_chunks_fts MATCH 'crabs'"
    )
    assert rows[0][0] == 0
    kept = library.store._rows("SELECT value FROM library_state WHERE name = 'chunks'")  # type: ignore[attr-defined]
    count = library.store._rows("SELECT COUNT(*) FROM library_chunks")  # type: ignore[attr-defined]
    assert kept[0][0] == count[0][0] == 3


@pytest.mark.parametrize(
    "query",
    [
        "NOT OR AND NEAR",
        '"unbalanced quote',
        "col:umn * ^ ( )",
        "東京タワー 🗼",
        "x" * 500,
        "_ _ __",
    ],
)
def test_hostile_queries_are_just_words(library: Library, query: str) -> None:
    add_zoo(library)
    result = library.search(query, mode="bm25")
    assert result.reason in (None, "no_match")


def test_common_words_do_not_drown_the_query(library: Library) -> None:
    for i in range(40):
        library.add(
            f"The report of the year {i} is in the archive of the town.".encode(), name=f"r{i}.txt"
        )
    library.add(b"The lighthouse of the island was built in 1850.", name="light.txt")
    result = library.search("the lighthouse of the island", mode="bm25", limit=3)
    assert names(result)[0] == "light.txt"
    # words sharing a stem (report, reports, reporting) are one term
    assert library.search("reports reporting report lighthouses", mode="bm25")[0]


# --------------------------------------------------------------------------- async, tools


def test_async_twins(library: Library) -> None:
    async def main() -> None:
        rec = await library.aadd(b"Puffins nest on cliffs.", name="puffin.txt", labels=["birds"])
        assert (await library.aget(rec.id)) == rec
        found = await library.asearch("puffins cliffs", labels=["birds"])
        assert names(found) == ["puffin.txt"]
        report = await library.aadd_many([b"no name bytes"])
        assert len(report.added) == 1
        assert len(await library.alist()) == 2
        assert (await library.aupdate(rec.id, path="coast")) is not None
        assert await library.adelete(rec.id)

    asyncio.run(main())


def test_file_search_tool_carries_the_options(library: Library) -> None:
    add_zoo(library)
    tool = FileSearch(labels=("birds",), label_mode="OR", limit=1)
    assert names(tool.search(library, "fish")) == ["heron.txt"]
    with pytest.raises(UsageError):
        FileSearch(label_mode="MAYBE")  # type: ignore[arg-type]


def test_the_docs_example_runs() -> None:
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "retrieval.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/retrieval.md", "exec"), {})


def test_concurrent_adds_and_searches(library: Library) -> None:
    async def main() -> None:
        adds = [
            library.aadd(f"Animal {i} lives by river {i}.".encode(), name=f"a{i}.txt")
            for i in range(12)
        ]
        searches = [library.asearch(f"river {i}") for i in range(12)]
        done = await asyncio.gather(*adds, *searches)
        assert len({r.id for r in done[:12]}) == 12  # type: ignore[union-attr]

    asyncio.run(main())
    assert len(library.list()) == 12
    assert library.search("animal 7 river 7", mode="bm25")[0].file_name == "a7.txt"


def test_bm25_budget_keeps_the_rarest_words(db: str) -> None:
    texts = [f"Harbour report {i}." for i in range(10)]
    texts += [f"Quay notice {i}." for i in range(20)] + ["The lighthouse keeper."]
    with Library(db, embedder=None) as lib:
        for i, text in enumerate(texts):
            lib.add(text.encode(), name=f"f{i}.txt")
        wide = lib.search("lighthouse harbour", mode="bm25", limit=50)
        assert names(wide)[0] == "f30.txt" and len(wide) == 11  # every match scored
    tight = LibrarySettings(bm25_budget=0.0, bm25_min_budget=1)
    with Library(db, embedder=None, settings=tight) as lib:
        # "harbour" is in 10 passages, "lighthouse" in 1: within a budget of 1 passage,
        # only the rarest word is matched
        assert names(lib.search("lighthouse harbour", mode="bm25", limit=50)) == ["f30.txt"]
