"""Short answers taken from the passages: candidate spans found in code.

A short factual question over retrieved passages ("Who ...?", "When ...?", "How many
...?", "Are both ...?", "Which is older, A or B?") has its answer *in* the passages (or,
for a yes-or-no question, is yes or no). So instead of letting a small model write a
phrase -- which it does at length, and rarely word for word -- the candidates are cut
out of the passages in code, and the model only chooses among them (`sources.choose`).
Each candidate carries the passage it came from, so its citation is exact.

- `answer_type`: what the question asks for, from its words: ``yes_no``, ``choice``
  (the two options it names, "A or B"), ``date``, ``number``, ``name`` or ``any``;
- `question_options`: the options of a ``choice`` question;
- `candidate_spans`: the spans of the shown passages that could answer, of that type,
  ranked by how much of the question the sentence around each one holds.

No model and no data to download: names are runs of capitalised words and quoted titles
(`hops.entities`), dates and numbers are read with regular expressions.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from .checks import STOPWORDS, content_words
from .evidence import Source
from .hops import NOT_A_NAME_START as _NOT_A_NAME_START
from .hops import entities, name_words
from .prompts import is_polar_question

__all__ = [
    "AnswerType",
    "Span",
    "answer_type",
    "asks_short_answer",
    "candidate_spans",
    "question_options",
]

AnswerType = Literal["yes_no", "choice", "date", "number", "name", "category", "any"]

_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(
    rf"\b(?:(?:{_MONTHS})\s+\d{{1,2}},?\s+\d{{3,4}}"
    rf"|\d{{1,2}}\s+(?:{_MONTHS})\s+\d{{3,4}}"
    rf"|(?:{_MONTHS})\s+\d{{3,4}}"
    r"|\d{1,2}(?:st|nd|rd|th)\s+century"
    r"|(?:1[0-9]{3}|20[0-9]{2})s?)\b"
)
_NUMBER = re.compile(
    r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w,])"
    r"|(?<![\w.,])\d+(?:\.\d+)?(?:\s+(?:million|billion|thousand|hundred))?(?![\w,])"
)
_DATE_ASK = re.compile(
    r"^\s*(?:when\b|(?:in|during|on|by)?\s*(?:what|which)\s+(?:year|month|date|day|decade|"
    r"century|timeframe|time\s+period|period|season)\b)"
    r"|\b(?:what|which)\s+(?:year|month|date|decade|century|timeframe)\b",
    re.IGNORECASE,
)
_NUMBER_ASK = re.compile(
    r"\bhow\s+(?:many|much|long|old|tall|high|far|big|large|wide|deep)\b"
    r"|\b(?:what|which)\s+(?:is\s+the\s+)?(?:number|population|capacity|age|amount|"
    r"length|height|area|size|percentage|rank)\b",
    re.IGNORECASE,
)
_CATEGORY_ASK = re.compile(
    r"\b(?:what|which)\s+(?:(?:type|kind|sort|genre|form|style|field)s?\s+of\b|"
    r"(?:profession|occupation|job|sport|genre|instrument|career)s?\b)",
    re.IGNORECASE,
)
# "Eric Ambler was an English author of thrillers": what a thing is, said in its passage
_DEFINITION = re.compile(
    r"\b(?:is|was|are|were)\s+(?:an?|the|one\s+of\s+the)\s+([^,.;:()]{1,80})", re.IGNORECASE
)
_PHRASE_END = re.compile(
    r"\s(?:by|in|of|from|for|with|who|that|which|and|or|to|at|on|based|directed|written|"
    r"released|created|known|best|born|founded|published|produced)\b.*$"
)
_NAME_ASK = re.compile(r"^\s*(?:who|whom|whose|where)\b|\b(?:who|whom|whose)\b", re.IGNORECASE)
_WH = re.compile(r"\b(?:which|what)\b", re.IGNORECASE)
_OR = re.compile(r"\s+or\s+", re.IGNORECASE)
_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:an|ian|ish|ese|ic|i|ch)$")
_ASKS_DEMONYM = re.compile(r"\b(?:nationality|language|ethnic|citizenship|origin)\b", re.I)
_POSSESSIVE = re.compile(r"['’]s?$")


@dataclass(frozen=True)
class Span:
    """A candidate answer cut out of a shown passage."""

    text: str
    labels: tuple[str, ...]
    """The passages it cites: the one it comes from (whose sentence around it scored
    best); for yes or no, the passages about the things the question names."""
    score: float
    """How much of the question the sentence around it holds (0..1), plus small bonuses."""
    kind: str
    """``name``, ``date``, ``number``, ``title``, ``option`` or ``yes_no``."""


def question_options(question: str) -> list[str]:
    """The two options a question offers ("Who was born first, Erika Jayne or Marco Da
    Silva" -> both names), or [] when it offers none. The option after the last " or "
    and the one before it are the names (or quoted titles) that touch the "or"."""
    q = " ".join(question.split()).rstrip(" ?.")
    parts = list(_OR.finditer(q))
    if not parts:
        return []
    m = parts[-1]
    left, right = q[: m.start()], q[m.end() :]
    # what follows the last comma (or colon) before "or", and what follows "or" up to
    # the next comma; else the names that touch the "or"
    before = re.split(r"[,:]\s", left)[-1].strip() if re.search(r"[,:]\s", left) else ""
    after = right.split(", ", 1)[0].strip()
    if not before or len(before.split()) > 6:
        before = _last_name(left)
    if len(after.split()) > 6 or not after:
        after = _first_name(right)
    before, after = before.strip(" ,\"'“”"), after.strip(" ,\"'“”")
    if not before or not after or before.lower() == after.lower():
        return []
    return [before, after]


def _first_name(text: str) -> str:
    text = text.strip().lstrip("\"'“ ")
    starts = [n for n in entities(text) if text.startswith(n)]
    return max(starts, key=len) if starts else ""


def _last_name(text: str) -> str:
    text = text.strip().rstrip("\"'” ")
    ends = [n for n in entities(text) if text.endswith(n)]
    return max(ends, key=len) if ends else ""


def answer_type(question: str) -> AnswerType:
    """What the question asks for (see the module docstring)."""
    if question_options(question) and not is_polar_question(question):
        return "choice"
    if is_polar_question(question):
        return "yes_no"
    if _CATEGORY_ASK.search(question):
        return "category"
    if _NUMBER_ASK.search(question):
        return "number"
    if _DATE_ASK.search(question):
        return "date"
    if _NAME_ASK.search(question) or _WH.search(question):
        return "name"
    return "any"


_LONG_FORM = re.compile(
    r"\bwhy\b|\bhow\b(?!\s+(?:many|much|long|old|tall|high|far|big|large|wide|deep)\b)"
    r"|^\s*(?:please\s+)?(?:explain|describe|summari[sz]e|compare|discuss|list|write|tell|"
    r"give|outline|analy[sz]e|draft|translate)\b",
    re.IGNORECASE,
)


def asks_short_answer(question: str) -> bool:
    """Whether `question` is a short factual question (a name, a date, a number, yes or
    no, one of two options), answered by a phrase the passages hold: one sentence of at
    most 60 words, no "why" or "how" (but "how many"), no "explain", "describe",
    "summarise"... Long-form questions are answered in free text."""
    q = " ".join(question.split())
    if not q or len(q.split()) > 60 or _LONG_FORM.search(q):
        return False
    if len(_sentences(q.rstrip(" ?.!"))) > 1:
        return False
    return answer_type(q) != "any" or q.endswith("?")


_SENTENCE = re.compile(r"(?<=[^\s.][^\s.][.!?])\s+(?=[A-Z\"“(])")


def _sentences(text: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for m in _SENTENCE.finditer(text):
        out.append((start, text[start : m.start()]))
        start = m.end()
    out.append((start, text[start:]))
    return out


def _kinds_for(kind: AnswerType) -> tuple[str, ...]:
    return {
        "date": ("date",),
        "number": ("number",),
        "name": ("name", "title"),
        "any": ("name", "title", "date", "number"),
    }.get(kind, ())


def _spans_in(sentence: str) -> list[tuple[str, str]]:
    """(text, kind) of every candidate in one sentence."""
    out: list[tuple[str, str]] = []
    dates = [m.group(0) for m in _DATE.finditer(sentence)]
    out += [(d, "date") for d in dates]
    masked = _DATE.sub(" ", sentence)
    out += [(m.group(0), "number") for m in _NUMBER.finditer(masked)]
    for found in entities(sentence):
        for name in _parts(found):
            if not any(ch.isalpha() for ch in name) or _DATE.search(name):
                continue  # a date is a date (found above), not a name
            # "an American film director": a word that names a people, used as an adjective
            adjective = _DEMONYM.match(name) and re.search(
                rf"\b{re.escape(name)}\s+[a-z]", sentence
            )
            if " " not in name and sentence.startswith(name) and not adjective:
                continue  # a sentence's first word ("Additional", "Established")
            out.append((name, "demonym" if adjective else "name"))
    return out


def _parts(name: str) -> list[str]:
    """A name as a candidate, cleaned, and the names a list of them holds: "Frank
    Sinatra and Nancy Sinatra" -> both; "In MLB" -> "MLB"; "Titans." -> "Titans"."""
    name = _POSSESSIVE.sub("", name).strip(" ,")
    words = name.split()
    while words and words[0] in _NOT_A_NAME_START:
        words = words[1:]  # "Before Oklahoma", "In MLB", "No Belgian"
    name = " ".join(words)
    if name.endswith(".") and len(words[-1]) > 4 and "." not in words[-1][:-1]:
        name = name[:-1]  # a sentence's full stop, not an abbreviation's
    if not name or (len(words) == 1 and name.endswith(".")):
        return []  # "St.", "Mr."
    pieces = [p.strip() for p in re.split(r",\s+|\s+and\s+|\s+&\s+", name) if p.strip()]
    if len(pieces) > 1 and all(p[:1].isupper() for p in pieces):
        return [*pieces, name] if len(pieces) == 2 and len(words) <= 4 else pieces
    return [name]


def candidate_spans(
    question: str,
    sources: Sequence[Source],
    *,
    kind: AnswerType | None = None,
    bridges: Collection[str] = (),
    limit: int = 8,
) -> list[Span]:
    """The spans of `sources` that could answer `question`, best first, at most `limit`.

    `bridges`: labels of passages reached by a multi-hop lookup (the answer to a bridge
    question is usually in such a passage: a small bonus). A yes-or-no question gets
    ``yes`` and ``no`` (citing the passages about the things it names), a ``choice``
    question its two options (each citing the passage about it); the other types get the
    names, dates or numbers of the passages, each scored by the share of the question's
    content words that the sentence around it holds (its own words aside), with bonuses
    for a bridge passage and for a better-ranked passage."""
    kind = kind or answer_type(question)
    if not sources:
        return []
    if kind == "yes_no":
        cite = _about(question, sources)
        return [Span(w, cite, 0.5, "yes_no") for w in ("yes", "no")]
    if kind == "choice":
        return _options(question, sources)
    if kind == "category":
        return _categories(question, sources, limit)
    asked = set(content_words(question))
    asked_names = " " + " ".join(name_words(question)) + " "
    if not asked:
        asked = set(content_words(" ".join(name_words(question))))
    wanted = _kinds_for(kind)
    latin = any("a" <= ch.lower() <= "z" for ch in question)
    if _ASKS_DEMONYM.search(question):
        wanted = (*wanted, "demonym")
    best: dict[str, Span] = {}
    n = len(sources)
    for rank, source in enumerate(sources):
        text = " ".join(source.found.text.split())
        title = re.sub(r"\s*\([^)]*\)\s*$", "", source.found.title).strip()
        passage_words = set(content_words(f"{source.found.title} {text}"))
        found: list[tuple[str, str, str]] = []
        for _, sentence in _sentences(text):
            found += [(t, k, sentence) for t, k in _spans_in(sentence)]
        if title:
            found.append((title, "title", f"{source.found.title} {text[:200]}"))
        bonus = (0.1 if source.label in bridges else 0.0) + 0.05 * (n - rank) / n
        for span, span_kind, sentence in found:
            if span_kind not in wanted:
                continue
            own = set(content_words(span))
            letters = [ch for ch in span if ch.isalpha()]
            if latin and letters and not any("a" <= ch.lower() <= "z" for ch in letters):
                continue  # another script than the question's: a gloss, not the answer
            if not own or own <= asked:
                continue  # the question already says it
            key = " ".join(name_words(span))
            if not key or f" {key} " in asked_names:
                continue
            around = set(content_words(sentence)) - own
            score = len(asked & around) / len(asked) if asked else 0.0
            score += 0.25 * len(asked & (passage_words - own)) / len(asked) if asked else 0.0
            score += bonus
            if kind == "name" and span_kind == "name" and len(span.split()) >= 2:
                score += 0.05
            prev = best.get(key)
            if prev is None or score > prev.score:
                best[key] = Span(span.strip(" ,"), (source.label,), score, span_kind)
    if bridges:
        best = {k: _with_lead(v, sources, bridges) for k, v in best.items()}
    ranked = sorted(best.values(), key=lambda s: (-s.score, -min(len(s.text.split()), 5), s.text))
    kept: list[Span] = []
    for cand in ranked:
        words = set(name_words(cand.text))
        if any(words <= set(name_words(k.text)) for k in kept):
            continue  # a part of a better (or as good and longer) one: "Pérez", "Sergio Pérez"
        kept.append(cand)
    return kept[:limit]


def _categories(question: str, sources: Sequence[Source], limit: int) -> list[Span]:
    """The kinds of thing the passages say their subjects are ("an American author" ->
    ``author``; "a 2007 documentary film" -> ``documentary film`` and ``film``): the
    lowercase words ending each definition. A kind several passages share ranks first
    ("What profession do A and B share?"); ties go to the better-ranked passage."""
    asked = set(content_words(question))
    seen: dict[str, list[str]] = {}
    for source in sources:
        for m in _DEFINITION.finditer(" ".join(source.found.text.split())):
            phrase = _PHRASE_END.sub("", m.group(1)).strip()
            words = phrase.split()
            tail: list[str] = []
            for w in reversed(words):
                if not w[:1].islower() or not w.replace("-", "").isalpha():
                    break
                tail.insert(0, w)
            while tail and tail[0] in STOPWORDS:
                tail = tail[1:]  # "the history" -> "history"
            for size in (2, 1):
                if len(tail) >= size:
                    cand = " ".join(tail[-size:])
                    if set(content_words(cand)) - asked:
                        seen.setdefault(cand, [])
                        if source.label not in seen[cand]:
                            seen[cand].append(source.label)
    n = len(sources)
    rank = {s.label: i for i, s in enumerate(sources)}
    spans = [
        Span(
            cand,
            tuple(labels[:2]),
            len(labels) / n + 0.05 * (n - rank[labels[0]]) / n + 0.01 * len(cand.split()),
            "category",
        )
        for cand, labels in seen.items()
    ]
    return sorted(spans, key=lambda s: (-s.score, s.text))[:limit]


def _with_lead(span: Span, sources: Sequence[Source], bridges: Collection[str]) -> Span:
    """A span from a bridge passage also cites the passage that led to it: the best
    shown passage (not a bridge) that names the bridge passage's title."""
    label = span.labels[0]
    if label not in bridges:
        return span
    target = next(s for s in sources if s.label == label)
    key = " ".join(name_words(target.found.title))
    for s in sources:
        if s.label == label or s.label in bridges or not key:
            continue
        if f" {key} " in " " + " ".join(name_words(s.found.text)) + " ":
            return Span(span.text, (label, s.label), span.score, span.kind)
    return span


def _about(question: str, sources: Sequence[Source]) -> tuple[str, ...]:
    """The labels of the passages about the things the question names (titled with a
    name it mentions; at most two), or the best passage's."""
    asked = " " + " ".join(name_words(question)) + " "
    labels = []
    for s in sources:
        key = " ".join(name_words(s.found.title))
        if key and f" {key} " in asked:
            labels.append(s.label)
    return tuple(labels[:2]) if labels else (sources[0].label,)


def _options(question: str, sources: Sequence[Source]) -> list[Span]:
    """Each option cites the passage about it, then the other option's: the answer to a
    comparison rests on both."""
    options = question_options(question)
    labels = [_passage_about(option, sources) for option in options]
    out = []
    for i, option in enumerate(options):
        cites = tuple(dict.fromkeys([labels[i], *labels]))
        out.append(Span(option, cites, 0.5, "option"))
    return out


def _passage_about(name: str, sources: Sequence[Source]) -> str:
    """The passage titled `name` (or whose title holds it), else the first that
    mentions it, else the best one."""
    key = " ".join(name_words(name))
    for s in sources:
        title = " ".join(name_words(s.found.title))
        if key and title and (key == title or f" {key} " in f" {title} "):
            return s.label
    for s in sources:
        if key and f" {key} " in " " + " ".join(name_words(s.found.text)) + " ":
            return s.label
    return sources[0].label
