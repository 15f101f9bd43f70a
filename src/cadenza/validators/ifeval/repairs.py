"""Deterministic repairs: safe, mechanical fixes of a response for some instructions.

A repair keeps the model's words (lowercasing, removing commas, regrouping paragraphs,
appending the required end phrase, ...) and is offered only when the strict check
passes on the fixed text. No pattern here is built from an argument.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from .args import Params
from .checks import literal, literal_word
from .spec import parse_kwargs, resolve_id, run_check
from .tokenizers import WORD_RE, count_words, sentence_spans, split_sentences

__all__ = ["REPAIRABLE", "repair"]


def _drop_commas(text: str, p: Params) -> str:
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    text = re.sub(r",(?=\s|$)", "", text)  # "a, b" -> "a b"
    return text.replace(",", " ")  # "a,b" -> "a b"


def _quote_wrap(text: str, p: Params) -> str:
    value = text.strip()
    if len(value) > 1 and value[0] == '"' and value[-1] == '"':
        return value
    if len(value) > 1 and value[0] == '"':
        return value + '"'
    if len(value) > 1 and value[-1] == '"':
        return '"' + value
    return '"' + value + '"'


def _cut_words(text: str, p: Params) -> str | None:
    """Fewer than N words: keep the whole sentences that fit, else cut at a word."""
    if p["relation"] != "less than":
        return None
    limit: int = p["num_words"]
    if count_words(text) < limit:
        return text
    if limit < 2:
        return None
    keep = 0
    for _, stop in sentence_spans(text):
        if count_words(text[:stop]) >= limit:
            break
        keep = stop
    if keep:
        return text[:keep].rstrip()
    words = list(WORD_RE.finditer(text))
    return text[: words[limit - 2].end()].rstrip() + "."


def _cut_sentences(text: str, p: Params) -> str | None:
    """Fewer than N sentences: keep the first N - 1."""
    if p["relation"] != "less than":
        return None
    limit: int = p["num_sentences"]
    spans = sentence_spans(text)
    if len(spans) < limit:
        return text
    if limit < 2:
        return None
    return text[: spans[limit - 2][1]].rstrip()


def _blocks(text: str, n: int) -> list[str] | None:
    """At least `n` pieces of `text`, in order: its paragraphs, or if too few its
    sentences; None if it has fewer than `n` sentences."""
    units = [u.strip() for u in re.split(r"\s?\*\*\*\s?|\n\s*\n", text) if u.strip()]
    if len(units) < n:
        units = [s.strip() for s in split_sentences("\n".join(units)) if s.strip()]
    return units if len(units) >= n else None


def _regroup(units: list[str], n: int, joiner: str) -> list[str]:
    """`units` in `n` consecutive runs of about equal count, each joined by `joiner`."""
    size, extra = divmod(len(units), n)
    groups: list[str] = []
    start = 0
    for index in range(n):
        stop = start + size + (1 if index < extra else 0)
        groups.append(joiner.join(units[start:stop]))
        start = stop
    return groups


def _regroup_paragraphs(text: str, p: Params) -> str | None:
    """Exactly N paragraphs divided by ***: regroup the existing paragraphs (or, when
    there are too few, the sentences) into N runs of about equal length, in order."""
    n: int = p["num_paragraphs"]
    units = _blocks(text, n)
    return None if units is None else "\n\n***\n\n".join(_regroup(units, n, "\n\n"))


_ITEM_RE = re.compile(r"^\s*(?:[*\-\u2022]|\d+[.)])\s+(.*\S)\s*$")


def _bullets(text: str, p: Params) -> str | None:
    """Exactly N bullet points: the list's items (numbered ones too) regrouped into N
    '* ' lines in place of the list; without a list long enough, the sentences are."""
    n: int = p["num_bullets"]
    lines = text.splitlines()
    items = [(i, m.group(1)) for i, line in enumerate(lines) if (m := _ITEM_RE.match(line))]
    if len(items) >= n:
        bullets = [f"* {g}" for g in _regroup([t for _, t in items], n, " ")]
        first, at = items[0][0], {i for i, _ in items}
        out = [line for i, line in enumerate(lines) if i not in at or i == first]
        out[out.index(lines[first])] = "\n".join(bullets)
    else:
        kept = [x for x in lines if not re.fullmatch(r"\s*[-*_]{3,}\s*", x)]  # rules
        plain = "\n".join(m.group(1) if (m := _ITEM_RE.match(x)) else x for x in kept)
        sentences = [s.strip() for s in split_sentences(plain) if s.strip()]
        if len(sentences) < n:
            return None
        out = [f"* {g}" for g in _regroup(sentences, n, " ")]
    # Other lines starting with '-' or '* ' would count as bullets too: unmark them.
    body = "\n".join(out)
    return re.sub(r"^(\s*)-+(?=\s*$)", r"\1", body, flags=re.MULTILINE)


def _sections(text: str, p: Params) -> str | None:
    """At least N sections marked 'SPLITTER X': regroup paragraphs (or sentences)."""
    n: int = p["num_sections"]
    units = _blocks(text, n)
    if units is None:
        return None
    splitter: str = p["section_spliter"]
    groups = _regroup(units, n, "\n\n")
    return "\n\n".join(f"{splitter} {i}\n{g}" for i, g in enumerate(groups, 1))


_HEADING_RE = re.compile(
    r"^\s*(?:#{1,6}\s*(?P<h>.+?)|\*\*(?P<b>[^*\n]+)\*\*:?|(?P<t>title:\s*.+?))\s*$",
    re.IGNORECASE,
)


def _title_from_heading(text: str, p: Params) -> str | None:
    """A title in <<double angular brackets>>: only when the first line already is a
    heading (markdown '#', a bold line, or 'Title: ...'), which becomes the title."""
    lines = text.strip().splitlines()
    if len(lines) < 2:
        return None
    m = _HEADING_RE.match(lines[0])
    if m is None:
        return None
    title = (m.group("h") or m.group("b") or m.group("t") or "").strip()
    title = re.sub(r"^title:\s*", "", title, flags=re.IGNORECASE).strip("*# ")
    if not title or len(title.split()) > 15:
        return None
    return "\n".join([f"<<{title}>>", *lines[1:]])


def _append_end_phrase(text: str, p: Params) -> str:
    phrase = p["end_phrase"].strip()
    body = text.rstrip()
    stem = phrase.rstrip("?.!").lower()
    if stem and body.lower().endswith(stem):  # the phrase without its final mark
        body = body[: -len(stem)].rstrip()
    return f"{body}\n\n{phrase}" if body else phrase


def _prepend_request(text: str, p: Params) -> str:
    wanted = p["prompt_to_repeat"].strip()
    return f"{wanted}\n\n{text.lstrip()}"


def _keep_sentences(text: str, keep: Callable[[str], bool]) -> str:
    """`text` without the sentences `keep` refuses, the layout between the others kept."""
    spans = sentence_spans(text)
    out = []
    for index, (start, stop) in enumerate(spans):
        if keep(text[start:stop]):
            end = spans[index + 1][0] if index + 1 < len(spans) else len(text)
            out.append(text[start:end])
    return "".join(out).strip()


MIN_KEPT_SHARE = 0.5
"""A repair that drops sentences keeps at least this share of the answer's words."""


def _drop_forbidden(text: str, p: Params) -> str | None:
    """None of the forbidden words: drop the sentences that hold one, when at least
    half of the answer's words remain."""
    patterns = [literal_word(w) for w in p["forbidden_words"]]
    kept = _keep_sentences(text, lambda s: not any(pat.search(s) for pat in patterns))
    if count_words(kept) < MIN_KEPT_SHARE * count_words(text):
        return None
    return kept


def _cut_while(text: str, fits: Callable[[str], bool]) -> str | None:
    """The first whole sentences of `text` while `fits` holds, or None if not even one."""
    keep = 0
    for _, stop in sentence_spans(text):
        if not fits(text[:stop]):
            break
        keep = stop
    return text[:keep].rstrip() if keep else None


def _cut_letters(text: str, p: Params) -> str | None:
    """A letter fewer than N times: keep the first whole sentences that stay under N."""
    if p["let_relation"] != "less than":
        return None
    letter, limit = p["letter"], p["let_frequency"]
    return _cut_while(text, lambda t: t.lower().count(letter) < limit)


def _cut_keyword(text: str, p: Params) -> str | None:
    """A keyword fewer than N times: keep the first whole sentences that stay under N."""
    if p["relation"] != "less than":
        return None
    pattern, limit = literal(p["keyword"]), p["frequency"]
    return _cut_while(text, lambda t: len(pattern.findall(t)) < limit)


def _split_in_two(text: str, p: Params) -> str | None:
    """Two responses divided by ******: the answer's paragraphs (or its numbered items,
    or its sentences) regrouped into two runs, in order."""
    body = text.replace("******", "\n\n").strip()
    units = [u.strip() for u in re.split(r"\n\s*\n", body) if u.strip()]
    if len(units) < 2:
        units = [u.strip() for u in re.split(r"\n(?=\s*\d+[.)]\s)", body) if u.strip()]
    if len(units) < 2:
        units = [s.strip() for s in split_sentences(body) if s.strip()]
    if len(units) < 2:
        return None
    return "\n******\n".join(_regroup(units, 2, "\n\n"))


_MARKABLE_RE = re.compile(
    r"^(?P<lead>\s*(?:#{1,6}\s*|section\s+\d+[.:]?\s*|\d+[.)]\s*)?)(?P<text>[^*\n]*[^*\s:])"
    r"(?P<tail>:?\s*)$",
    re.IGNORECASE,
)


def _highlight_headings(text: str, p: Params) -> str | None:
    """At least N highlighted sections: the answer's own headings (short lines: '# ...',
    'Section 1 ...', '1. ...', a line ending with ':') become *highlights*; if there are
    too few, the first lines of its paragraphs too. Nothing is added but the stars."""
    n: int = p["num_highlights"]
    have = run_check("detectable_format:number_highlighted_sections", text, p)
    if have.passed:
        return text
    lines = text.split("\n")
    starts = {
        i for i, line in enumerate(lines) if line.strip() and (i == 0 or not lines[i - 1].strip())
    }

    def markable(i: int, heading: bool) -> bool:
        line = lines[i]
        m = _MARKABLE_RE.match(line)
        if "*" in line or line.lstrip().startswith(_NOT_MARKED) or m is None:
            return False
        words = len(line.split())
        if not heading:
            return i in starts and words <= PARAGRAPH_START_WORDS
        marked = bool(m.group("lead").strip()) or ":" in m.group("tail")
        return words <= HEADING_WORDS and (marked or not line.rstrip().endswith((".", "!", "?")))

    chosen = [i for i in range(len(lines)) if markable(i, heading=True)]
    if len(chosen) < n:
        chosen += [i for i in sorted(starts) if i not in chosen and markable(i, heading=False)]
    if not chosen:
        return None
    for i in chosen:
        m = _MARKABLE_RE.match(lines[i])
        assert m is not None
        lines[i] = f"{m.group('lead')}*{m.group('text')}*{m.group('tail')}"
    return "\n".join(lines)


_NOT_MARKED = ("-", "\u2022", ">", "|", "<<", "`")
"""Lines that are list items, quotes, tables, titles or code keep their form."""
HEADING_WORDS = 8
"""A line of at most this many words may be a heading."""
PARAGRAPH_START_WORDS = 40
"""A paragraph's first line is highlighted whole only up to this many words."""


def _wrap_json(text: str, p: Params) -> str:
    return json.dumps({"response": text.strip()}, ensure_ascii=False, indent=2)


_REPAIRS: dict[str, Callable[[str, Params], str | None]] = {
    "punctuation:no_comma": _drop_commas,
    "change_case:english_lowercase": lambda text, p: text.lower(),
    "change_case:english_capital": lambda text, p: text.upper(),
    "startend:quotation": _quote_wrap,
    "length_constraints:number_words": _cut_words,
    "length_constraints:number_sentences": _cut_sentences,
    "length_constraints:number_paragraphs": _regroup_paragraphs,
    "startend:end_checker": _append_end_phrase,
    "combination:repeat_prompt": _prepend_request,
    "detectable_format:json_format": _wrap_json,
    "detectable_format:number_bullet_lists": _bullets,
    "detectable_format:multiple_sections": _sections,
    "detectable_format:title": _title_from_heading,
    "keywords:forbidden_words": _drop_forbidden,
    "keywords:letter_frequency": _cut_letters,
    "keywords:frequency": _cut_keyword,
    "combination:two_responses": _split_in_two,
    "detectable_format:number_highlighted_sections": _highlight_headings,
}

REPAIRABLE: frozenset[str] = frozenset(_REPAIRS)


def repair(
    instruction_id: str,
    response: str,
    kwargs: Mapping[str, Any] | None = None,
    *,
    prompt: str = "",
) -> str | None:
    """A deterministic fix of `response` for the instruction, or None where none is safe.

    The fixes are mechanical and keep the model's words: lowercase (english_lowercase),
    uppercase (english_capital), remove commas (no_comma: ``1,000`` -> ``1000``,
    ``a, b`` -> ``a b``), wrap in double quotes (quotation), keep the first whole
    sentences under a "less than" limit of words or sentences (number_words,
    number_sentences), regroup paragraphs or sentences into N divided by ``***``
    (number_paragraphs), append the required end phrase (end_checker), put the request
    first (repeat_prompt; `prompt` stands in for ``prompt_to_repeat``), wrap the text
    as a JSON string (json_format), drop the sentences holding a forbidden word when
    half the words remain (forbidden_words), keep the first whole sentences under a
    "less than" count of a letter or a keyword (letter_frequency, frequency), regroup
    the paragraphs into two responses divided by ``******`` (two_responses), put
    ``*stars*`` around the answer's own headings or paragraph openings
    (number_highlighted_sections). A fix is returned only if the strict check then
    passes; "at least" limits and content (keywords, placeholders, ...) are left to the
    model: no repair writes a word the model did not.
    """
    iid = resolve_id(instruction_id)
    fix = _REPAIRS.get(iid)
    if fix is None:
        return None
    params = parse_kwargs(iid, kwargs, prompt=prompt)
    if not response.strip():
        return None
    fixed = fix(response, params)
    if fixed is None or not fixed.strip() or not run_check(iid, fixed, params).passed:
        return None
    return fixed
