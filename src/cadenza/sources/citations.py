"""Citations in an answer: which passages it cites, sentence by sentence.

The model sees each retrieved passage under a short id (``[P1]``, ``[P2]``, ...) and is
asked to cite the ones it used the same way. Small models are loose about the form, so
this reads ``[P1]``, ``[P1][P3]``, ``[P1, P3]``, ``[P1 and P3]``, ``(P2)`` and ``[2]``
(square brackets around bare numbers) as citations; anything else is text.

    cited_labels("Chief of Protocol [P2]. She was born in 1928 [P1, P2].")
    # ['P2', 'P1']
    strip_citations("Chief of Protocol [P2].")   # 'Chief of Protocol.'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CitedSentence",
    "cited_labels",
    "cited_sentences",
    "label",
    "label_number",
    "strip_citations",
]

_ID = r"P\s?\d{1,3}"
_JOIN = r"\s*(?:,|;|&|and)?\s*"
# [P1], [P1, P2], [P1 and P3], (P2); also [2] and [2, 3] (bare numbers, square only)
_GROUP = re.compile(
    rf"\[\s*{_ID}(?:{_JOIN}{_ID})*\s*\]"
    rf"|\(\s*{_ID}(?:{_JOIN}{_ID})*\s*\)"
    r"|\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\]",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d{1,3}")
# A sentence ends at . ! ? (with closing quotes or brackets) before a space and what can
# start a sentence; the citations right after the end belong to the sentence before.
_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+|$)")
# A full stop after these ends a word, not a sentence: "Rostker v. Goldberg", "Dr. No",
# "C. W. Grafton", "U.S. Army", "Mt. Carmel".
_ABBREVIATED = (
    "mr mrs ms dr st mt jr sr vs v no nos co inc ltd corp etc eg ie ft gen gov sen rep "
    "prof rev capt col lt sgt maj cmdr adm hon pres fig vol ed eds approx ca cf al jan feb "
    "mar apr jun jul aug sep sept oct nov dec"
)
_ABBREVIATIONS = frozenset(_ABBREVIATED.split())
_WORD_BEFORE = re.compile(r"([\w.]+)\.$")


def _ends_sentence(masked: str, end: int, stop: str) -> bool:
    """Whether the stop that ends at `end` ends a sentence: not the full stop of an
    abbreviation or an initial, and not followed by a lowercase word."""
    rest = masked[end:].lstrip()
    if rest[:1].islower():
        return False
    if not stop.startswith(".") or stop.startswith(".."):
        return True
    m = _WORD_BEFORE.search(masked[: end - len(stop) + 1])
    if m is None:
        return True
    word = m.group(1).lower()
    return not (len(word) == 1 or word.replace(".", "") in _ABBREVIATIONS or "." in word)


def label(n: int) -> str:
    """The short id of the n-th passage shown (from 1): ``P1``."""
    return f"P{n}"


def label_number(text: str) -> int | None:
    """The number in a short id (``P7`` -> 7), None if it is not one."""
    m = re.fullmatch(r"\s*P?\s?(\d{1,3})\s*", text, re.IGNORECASE)
    return int(m.group(1)) if m else None


def _labels_in(group: str) -> list[str]:
    return [label(int(n)) for n in _NUMBER.findall(group)]


def cited_labels(text: str) -> list[str]:
    """Every passage id the text cites, in order of first citation."""
    out: dict[str, None] = {}
    for m in _GROUP.finditer(text):
        for lab in _labels_in(m.group(0)):
            out.setdefault(lab, None)
    return list(out)


def strip_citations(text: str) -> str:
    """The text without its citations (and without the spaces they leave)."""
    bare = _GROUP.sub("", text)
    bare = re.sub(r"[ \t]+([.,;:!?])", r"\1", bare)
    return re.sub(r"[ \t]{2,}", " ", bare).strip()


@dataclass(frozen=True)
class CitedSentence:
    text: str
    """The sentence without its citations."""
    labels: tuple[str, ...]
    """The passages it cites (its own citations, including those right after its end)."""


def cited_sentences(text: str) -> list[CitedSentence]:
    """The text cut into sentences, each with the citations it carries.

    A citation placed just after a sentence's full stop ("... in 1889. [P2] The ...")
    belongs to that sentence. Lines are sentences of their own (a list, a short answer)."""
    out: list[CitedSentence] = []
    for line in text.splitlines():
        out.extend(_line_sentences(line))
    return [s for s in out if s.text or s.labels]


def _line_sentences(line: str) -> list[CitedSentence]:
    groups = list(_GROUP.finditer(line))
    # Ends of sentences, found with the citations blanked out (so "[P1]." ends one).
    masked = list(line)
    for g in groups:
        masked[g.start() : g.end()] = "\x00" * (g.end() - g.start())
    text = "".join(masked)
    cuts = [m.end() for m in _END.finditer(text) if _ends_sentence(text, m.end(), m.group(0))]
    bounds = list(zip([0, *cuts], [*cuts, len(line)], strict=True))
    pieces: list[tuple[str, list[str]]] = []
    for start, end in bounds:
        labels: list[str] = []
        body_start = start
        for g in groups:
            if not start <= g.start() < end:
                continue
            ids = _labels_in(g.group(0))
            if pieces and not line[body_start : g.start()].strip():
                pieces[-1][1].extend(ids)  # cited right after the sentence before ended
                body_start = g.end()
            else:
                labels.extend(ids)
        pieces.append((line[start:end], labels))
    out: list[CitedSentence] = []
    for chunk, labels in pieces:
        bare = strip_citations(chunk)
        if not bare and out:
            prev = out[-1]
            out[-1] = CitedSentence(prev.text, tuple(dict.fromkeys([*prev.labels, *labels])))
        elif bare or labels:
            out.append(CitedSentence(bare, tuple(dict.fromkeys(labels))))
    return out
