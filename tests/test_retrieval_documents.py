"""Reading each format into text and blocks; corrupt and unsupported files; chunking."""

from __future__ import annotations

import io
import sys
import zipfile

import pytest

from cadenza.errors import DocumentError, MissingExtraError
from cadenza.retrieval.chunking import chunk_document
from cadenza.retrieval.documents import detect_format, parse_document
from retrieval_files import HTML, MARKDOWN, docx_bytes, pdf_bytes, zip_bytes


def test_plain_text_paragraphs_and_offsets() -> None:
    data = b"First paragraph\nstill first.\n\n  Second one.  \n\n\n\nThird.\n"
    doc = parse_document(data, "notes.txt")
    assert doc.format == "text" and doc.title == "notes"
    assert [doc.text[b.start : b.end] for b in doc.blocks] == [
        "First paragraph\nstill first.",
        "Second one.",
        "Third.",
    ]


def test_text_encodings_and_control_characters() -> None:
    assert parse_document("café olé".encode("utf-16"), "a.txt").text == "café olé"
    assert parse_document("\ufeffbom first".encode(), "b.txt").text == "bom first"
    latin = "Ça coûte très cher à Zürich, même l'été. " * 5
    # not UTF-8: the encoding is guessed (charset-normalizer); a guess, so the shared letters
    decoded = parse_document(latin.encode("latin-1"), "c.txt").text
    assert "Zürich" in decoded and "été" in decoded and "\ufffd" not in decoded
    dirty = parse_document(b"a\x1b[31mred\x07 text\r\nnext", "d.txt").text
    assert dirty == "a[31mred text\nnext"


def test_markdown_heading_paths_and_offsets() -> None:
    doc = parse_document(MARKDOWN.encode(), "guide.md")
    assert doc.format == "markdown" and doc.title == "Field Guide"
    by_text = {doc.text[b.start : b.end]: b.headings for b in doc.blocks}
    assert by_text["An introduction to the birds of the valley."] == ("Field Guide",)
    nesting = "Herons nest in colonies called heronries, high in the trees."
    assert by_text[nesting] == ("Field Guide", "Herons", "Nesting")
    owl = "The tawny owl hunts at night and calls with a long hoot."
    assert by_text[owl] == ("Field Guide", "Owls")  # a sibling section resets the path
    # offsets are offsets into the file's own text
    for block in doc.blocks:
        assert MARKDOWN[block.start : block.end] == doc.text[block.start : block.end]


def test_html_keeps_the_main_text_and_its_headings() -> None:
    doc = parse_document(HTML.encode(), "tides.html")
    assert doc.format == "html" and doc.title == "Tide tables explained"
    assert "Spring tides happen near the new and full moon" in doc.text
    assert "Log in" not in doc.text and "Cookie settings" not in doc.text
    spring = next(b for b in doc.blocks if "Spring tides happen" in doc.text[b.start : b.end])
    assert spring.headings[-1] == "Spring tides"


def test_html_detected_by_content_without_extension() -> None:
    assert detect_format(HTML.encode(), "upload") == "html"


def test_pdf_pages_title_and_offsets() -> None:
    data = pdf_bytes(
        ["The harbour dredging finished in March.", "Revenue from moorings rose by ten percent."]
    )
    doc = parse_document(data, "report.pdf")
    assert doc.format == "pdf" and doc.pages == 2 and doc.title == "Annual Report"
    pages = {b.page: doc.text[b.start : b.end] for b in doc.blocks}
    assert "dredging" in pages[1] and "moorings" in pages[2]


def test_docx_headings_title_and_tables() -> None:
    doc = parse_document(docx_bytes(), "handbook.docx")
    assert doc.format == "docx" and doc.title == "Onboarding handbook"
    blocks = {doc.text[b.start : b.end]: b.headings for b in doc.blocks}
    assert blocks["IT creates your email account before you arrive."] == ("First week", "Accounts")
    assert blocks["Parental leave is sixteen weeks at full pay."] == ("Benefits",)
    assert blocks["Plan | Dental\nCost | Free"] == ("Benefits",)


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (b"%PDF-1.4\n" + bytes(range(256)) * 20, "broken.pdf", "cannot read this PDF"),
        (b"PK\x03\x04 not really a zip", "broken.docx", "broken zip"),
        (zip_bytes({"hello.txt": b"hi"}), "other.docx", "no word/document.xml"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "picture.png", "unsupported file type '.png'"),
        (b"binary\x00\x01\x02 junk", "junk.txt", "binary file"),
        (b"{\\rtf1 hello}", "letter.rtf", "save it as .docx"),
        (b"just text", "fake.pdf", "not a PDF"),
        (b"   \n\n  \t ", "blank.txt", "no text found"),
    ],
)
def test_bad_files_raise_document_errors_naming_the_file(data: bytes, name: str, says: str) -> None:
    with pytest.raises(DocumentError) as info:
        parse_document(data, name)
    assert info.value.file_name == name
    assert name in str(info.value) and says in str(info.value)


def test_a_zip_bomb_is_refused_before_unpacking() -> None:
    bomb = zip_bytes({"word/document.xml": b"0" * (1024 * 1024)})
    import cadenza.retrieval.documents as documents

    limit = documents.MAX_DOCX_UNPACKED_BYTES
    documents.MAX_DOCX_UNPACKED_BYTES = 1000
    try:
        with pytest.raises(DocumentError, match="unpacks to"):
            parse_document(bomb, "bomb.docx")
    finally:
        documents.MAX_DOCX_UNPACKED_BYTES = limit
    assert zipfile.is_zipfile(io.BytesIO(bomb))


def test_text_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(DocumentError, match="over the limit"):
        parse_document(b"word " * 1000, "long.txt", max_chars=100)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    data = pdf_bytes(["x"])
    monkeypatch.setitem(sys.modules, "pypdf", None)  # import pypdf now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'cadenza\[files\]'"):
        parse_document(data, "r.pdf")


# --------------------------------------------------------------------------- chunking


def test_chunks_keep_sections_apart_and_offsets_exact() -> None:
    doc = parse_document(MARKDOWN.encode(), "guide.md")
    chunks = chunk_document(doc, max_chars=400)
    assert [c.headings for c in chunks] == [
        ("Field Guide",),
        ("Field Guide", "Herons"),
        ("Field Guide", "Herons", "Nesting"),
        ("Field Guide", "Owls"),
    ]
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
    assert [c.index for c in chunks] == [0, 1, 2, 3]


def test_a_long_paragraph_is_cut_at_sentence_ends() -> None:
    sentences = [f"Sentence number {i} talks about topic {i} at some length." for i in range(40)]
    doc = parse_document(" ".join(sentences).encode(), "long.txt")
    chunks = chunk_document(doc, max_chars=200)
    assert len(chunks) > 5
    for c in chunks:
        assert len(c.text) <= 200
        assert c.text.endswith(".") and c.text.startswith("Sentence number")
        assert doc.text[c.start : c.end] == c.text
    assert " ".join(c.text for c in chunks) == doc.text


def test_an_endless_sentence_is_cut_at_spaces() -> None:
    doc = parse_document(("word " * 500).encode(), "run-on.txt")
    chunks = chunk_document(doc, max_chars=100)
    assert all(len(c.text) <= 100 for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks) == "word" * 500


def test_pdf_chunks_stay_on_their_page() -> None:
    doc = parse_document(pdf_bytes(["Alpha page text.", "Beta page text."]), "two.pdf")
    chunks = chunk_document(doc)
    assert [(c.page, c.text) for c in chunks] == [(1, "Alpha page text."), (2, "Beta page text.")]
