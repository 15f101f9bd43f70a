"""Reading files into text: plain text, Markdown, HTML, PDF and DOCX.

`parse_document(data, name)` returns a `ParsedDocument`: the file's text as one string,
its title, and its `Block`s — paragraphs, list items, tables — each a span of that string
with the headings it sits under and, for a PDF, its page. The chunker packs blocks into
passages, so every passage knows where in the file it came from.

Plain text and Markdown are read as they are (their offsets are offsets into the file's
decoded text). HTML goes through trafilatura, which keeps the page's main text and drops
navigation, footers and ads; PDF through pypdf, one page at a time; DOCX through
python-docx, headings by their paragraph style. The three need the ``files`` extra:
``pip install 'cadenza[files]'``.

Every file is hostile until read: sizes are checked before parsing (and a DOCX's unpacked
size before it is unpacked), undecodable or corrupt files raise `DocumentError` naming
the file, and control characters are dropped from the text.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

from ..errors import DocumentError, MissingExtraError

__all__ = [
    "FORMATS",
    "Block",
    "DocumentFormat",
    "ParsedDocument",
    "detect_format",
    "parse_document",
]

DocumentFormat = Literal["text", "markdown", "html", "pdf", "docx"]

FORMATS: dict[DocumentFormat, str] = {
    "text": "text/plain",
    "markdown": "text/markdown",
    "html": "text/html",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
"""Each format the library reads, with its media type."""

_EXTENSIONS: dict[str, DocumentFormat] = {
    ".txt": "text",
    ".text": "text",
    ".csv": "text",
    ".tsv": "text",
    ".log": "text",
    ".json": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".mkd": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
_MEDIA_TYPES: dict[str, DocumentFormat] = {
    "text/plain": "text",
    "text/csv": "text",
    "application/json": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    FORMATS["docx"]: "docx",
}
_UNSUPPORTED_HINTS = {
    ".doc": "save it as .docx",
    ".rtf": "save it as .docx or plain text",
    ".odt": "save it as .docx",
    ".pptx": "export it as PDF",
    ".xlsx": "export it as CSV",
    ".epub": "convert it to HTML or plain text",
}

MAX_DOCX_UNPACKED_BYTES = 200 * 1024 * 1024
"""A DOCX is a zip; one that unpacks to more than this is refused (a zip bomb)."""


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph-like span ``text[start:end]`` of a document."""

    start: int
    end: int
    headings: tuple[str, ...] = ()
    """The titles of the sections it sits in, outermost first."""
    page: int | None = None
    """1-based page number (PDF only)."""


@dataclass
class ParsedDocument:
    name: str
    format: DocumentFormat
    title: str
    text: str
    blocks: list[Block] = field(default_factory=list)
    pages: int | None = None

    @property
    def media_type(self) -> str:
        return FORMATS[self.format]


def detect_format(data: bytes, name: str, media_type: str | None = None) -> DocumentFormat:
    """The format of `data`, from its content where that is certain (PDF, zip, NUL bytes),
    then its media type, then its file name's extension."""
    head = data[:1024].lstrip()
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "docx"  # the DOCX reader says so if the zip is something else
    declared: DocumentFormat | None = None
    if media_type:
        declared = _MEDIA_TYPES.get(media_type.split(";", 1)[0].strip().lower())
    suffix = PurePath(name).suffix.lower()
    by_name = _EXTENSIONS.get(suffix)
    fmt = declared or by_name
    if fmt in ("pdf", "docx"):
        kind = "a PDF" if fmt == "pdf" else "a DOCX"
        raise DocumentError(
            f"{name}: not {kind} file (its content does not start like one)", file_name=name
        )
    if fmt is None:
        lowered = head[:512].lower()
        if lowered.startswith((b"<!doctype html", b"<html")) or b"<body" in lowered:
            fmt = "html"
        elif suffix in _UNSUPPORTED_HINTS:
            raise DocumentError(
                f"{name}: {suffix} files are not supported; {_UNSUPPORTED_HINTS[suffix]} "
                f"(supported: {_supported()})",
                file_name=name,
            )
        elif suffix and _looks_binary(data):
            raise DocumentError(
                f"{name}: unsupported file type {suffix!r} (supported: {_supported()})",
                file_name=name,
            )
        else:
            fmt = "text"
    if fmt in ("text", "markdown") and _looks_binary(data):
        raise DocumentError(
            f"{name}: looks like a binary file, not text (supported: {_supported()})",
            file_name=name,
        )
    return fmt


def parse_document(
    data: bytes,
    name: str,
    *,
    media_type: str | None = None,
    max_chars: int = 5_000_000,
) -> ParsedDocument:
    """Read `data` (the bytes of the file called `name`) into text and blocks.

    Raises `DocumentError` naming the file when it is unsupported, corrupt or holds no
    text, and `MissingExtraError` when its format needs the ``files`` extra."""
    fmt = detect_format(data, name, media_type)
    if fmt == "text":
        doc = _parse_text(_decode(data, name), name)
    elif fmt == "markdown":
        doc = _parse_markdown(_decode(data, name), name, fmt="markdown")
    elif fmt == "html":
        doc = _parse_html(_decode(data, name), name)
    elif fmt == "pdf":
        doc = _parse_pdf(data, name)
    else:
        doc = _parse_docx(data, name)
    if len(doc.text) > max_chars:
        raise DocumentError(
            f"{name}: its text is {len(doc.text):,} characters, over the limit of "
            f"{max_chars:,}; split it into smaller files",
            file_name=name,
        )
    if not doc.text.strip() or not doc.blocks:
        hint = " (a scanned PDF needs OCR first)" if fmt == "pdf" else ""
        raise DocumentError(f"{name}: no text found in this {fmt} file{hint}", file_name=name)
    return doc


# --------------------------------------------------------------------------- helpers


def _supported() -> str:
    return ".txt, .md, .html, .pdf, .docx"


def _looks_binary(data: bytes) -> bool:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text is full of NUL bytes
        return False
    return b"\x00" in data[:8192]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u2028\u2029\ufeff]")


def _clean(text: str) -> str:
    """Line endings to ``\\n``; control characters (NUL, escapes, BOMs) dropped."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _clean(data.decode("utf-16"))
        except UnicodeDecodeError:
            pass
    try:
        return _clean(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        raise DocumentError(
            f"{name}: not UTF-8 text; save it as UTF-8, or install 'cadenza[files]' "
            "to have its encoding detected",
            file_name=name,
        ) from None
    best = from_bytes(data[:1_000_000]).best()
    if best is None or best.encoding is None:
        raise DocumentError(
            f"{name}: cannot tell this file's text encoding; save it as UTF-8",
            file_name=name,
        )
    return _clean(data.decode(best.encoding, errors="replace"))


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def _paragraph_blocks(
    text: str, start: int, end: int, *, headings: tuple[str, ...] = (), page: int | None = None
) -> Iterable[Block]:
    """The blank-line-separated paragraphs of ``text[start:end]``, trimmed of whitespace."""
    pos = start
    for m in _PARAGRAPH_BREAK.finditer(text, start, end):
        yield from _trimmed(text, pos, m.start(), headings, page)
        pos = m.end()
    yield from _trimmed(text, pos, end, headings, page)


def _trimmed(
    text: str, start: int, end: int, headings: tuple[str, ...], page: int | None
) -> Iterable[Block]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        yield Block(start, end, headings, page)


def _first_line(text: str, limit: int = 200) -> str:
    for line in text.splitlines():
        line = line.strip(" \t#*-=")
        if line:
            return line[:limit]
    return ""


def _title_or(name: str, *candidates: str | None) -> str:
    for c in candidates:
        if c and c.strip():
            return " ".join(c.split())[:300]
    return PurePath(name).stem or name


def _need(module: str, fmt: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"reading {fmt} files needs the '{module.split('.')[0]}' package: "
            "pip install 'cadenza[files]'"
        ) from None


# --------------------------------------------------------------------------- formats


def _parse_text(text: str, name: str) -> ParsedDocument:
    blocks = list(_paragraph_blocks(text, 0, len(text)))
    return ParsedDocument(name, "text", _title_or(name), text, blocks)


def _parse_markdown(
    text: str, name: str, *, fmt: DocumentFormat, title: str | None = None
) -> ParsedDocument:
    """Headings from markdown-it's block tokens; every other top-level block (paragraph,
    list, table, code, quote) is a block under the headings above it."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(text)
    line_starts = [0]
    for m in re.finditer("\n", text):
        line_starts.append(m.end())
    line_starts.append(len(text) + 1)

    def span(lines: list[int]) -> tuple[int, int]:
        a, b = lines
        return line_starts[min(a, len(line_starts) - 1)], min(
            line_starts[min(b, len(line_starts) - 1)], len(text)
        )

    stack: list[tuple[int, str]] = []
    blocks: list[Block] = []
    first_h1: str | None = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.level != 0 or tok.map is None or tok.type.endswith("_close"):
            i += 1
            continue
        if tok.type == "heading_open":
            level = int(tok.tag[1:])
            inline = tokens[i + 1] if i + 1 < len(tokens) else None
            words = ""
            if inline is not None and inline.children is not None:
                words = "".join(
                    c.content for c in inline.children if c.type in ("text", "code_inline")
                )
            words = " ".join(words.split())[:200]
            while stack and stack[-1][0] >= level:
                stack.pop()
            if words:
                stack.append((level, words))
                if level == 1 and first_h1 is None:
                    first_h1 = words
            i += 1
            continue
        start, end = span(tok.map)
        headings = tuple(h for _, h in stack)
        blocks.extend(_paragraph_blocks(text, start, end, headings=headings))
        i += 1
    doc_title = _title_or(name, title, first_h1)
    return ParsedDocument(name, fmt, doc_title, text, blocks)


def _parse_html(html: str, name: str) -> ParsedDocument:
    trafilatura = _need("trafilatura", "HTML")
    try:
        main = trafilatura.extract(
            html,
            output_format="markdown",
            include_formatting=True,
            include_comments=False,
            include_links=False,
            include_images=False,
            include_tables=True,
        )
        meta = trafilatura.extract_metadata(html)
    except Exception as exc:  # lxml and trafilatura raise many kinds on broken markup
        raise DocumentError(f"{name}: cannot read this HTML: {exc}", file_name=name) from None
    title = getattr(meta, "title", None) if meta is not None else None
    if not main or not main.strip():
        # No main text found (a short page, a list of links): keep the page's whole text.
        main = trafilatura.html2txt(html) or ""
    doc = _parse_markdown(_clean(main), name, fmt="html", title=title)
    return doc


def _parse_pdf(data: bytes, name: str) -> ParsedDocument:
    pypdf = _need("pypdf", "PDF")
    from pypdf.errors import PyPdfError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name}: the PDF is password-protected", file_name=name)
        pages: list[str] = []
        for page in reader.pages:
            pages.append(_clean(page.extract_text() or ""))
        meta = reader.metadata
        meta_title = meta.title if meta is not None else None
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise DocumentError(
            f"{name}: cannot read this PDF (corrupt or unsupported): {exc}", file_name=name
        ) from None
    except Exception as exc:  # pypdf raises a few bare kinds on malformed streams
        raise DocumentError(f"{name}: cannot read this PDF: {exc}", file_name=name) from None
    parts: list[str] = []
    blocks: list[Block] = []
    offset = 0
    for number, page_text in enumerate(pages, start=1):
        if parts:
            parts.append("\n\n")
            offset += 2
        parts.append(page_text)
        blocks.extend(
            Block(b.start + offset, b.end + offset, b.headings, number)
            for b in _paragraph_blocks(page_text, 0, len(page_text))
        )
        offset += len(page_text)
    text = "".join(parts)
    title = _title_or(name, str(meta_title) if meta_title else None, _first_line(text))
    return ParsedDocument(name, "pdf", title, text, blocks, pages=len(pages))


def _parse_docx(data: bytes, name: str) -> ParsedDocument:
    docx = _need("docx", "DOCX")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            unpacked = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile:
        raise DocumentError(
            f"{name}: not a DOCX file (a broken zip archive)", file_name=name
        ) from None
    if "word/document.xml" not in names:
        raise DocumentError(
            f"{name}: a zip archive but not a DOCX file (no word/document.xml)", file_name=name
        )
    if unpacked > MAX_DOCX_UNPACKED_BYTES:
        raise DocumentError(
            f"{name}: unpacks to {unpacked:,} bytes, over the limit of {MAX_DOCX_UNPACKED_BYTES:,}",
            file_name=name,
        )
    try:
        document = docx.Document(io.BytesIO(data))
        items = list(_docx_items(document))
        core_title = document.core_properties.title
    except Exception as exc:  # python-docx and lxml raise many kinds on broken parts
        raise DocumentError(
            f"{name}: cannot read this DOCX (corrupt?): {exc}", file_name=name
        ) from None
    parts: list[str] = []
    blocks: list[Block] = []
    stack: list[tuple[int, str]] = []
    offset = 0
    title_para: str | None = None
    for level, item_text in items:
        item_text = _clean(item_text).strip()
        if not item_text:
            continue
        if level is not None:  # a heading: level 0 is the document's Title style
            if level == 0:
                title_para = title_para or item_text
                continue
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, " ".join(item_text.split())[:200]))
            continue
        if parts:
            parts.append("\n\n")
            offset += 2
        parts.append(item_text)
        blocks.append(Block(offset, offset + len(item_text), tuple(h for _, h in stack)))
        offset += len(item_text)
    text = "".join(parts)
    first_heading = stack[0][1] if stack else None
    title = _title_or(name, core_title, title_para, first_heading)
    return ParsedDocument(name, "docx", title, text, blocks)


_HEADING_STYLE = re.compile(r"^heading (\d)$", re.IGNORECASE)


def _docx_items(document: Any) -> Iterable[tuple[int | None, str]]:
    """(heading level or None, text) for each paragraph and table, in body order."""
    from docx.table import Table

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = []
            for row in item.rows:
                cells = [" ".join(cell.text.split()) for cell in row.cells]
                rows.append(" | ".join(cells))
            yield None, "\n".join(rows)
            continue
        style = (item.style.name if item.style is not None else "") or ""
        if style.lower() == "title":
            yield 0, item.text
            continue
        m = _HEADING_STYLE.match(style)
        yield (int(m.group(1)) if m else None), item.text
