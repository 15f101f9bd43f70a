"""The two built-in requirements of an answer from retrieved passages, as code checks.

- ``cites_sources`` (exact): the answer cites at least one passage, and every passage it
  cites (``[P1]``) is one the run retrieved. Its repair drops citations of passages that
  do not exist, and cites, for a sentence with none, the retrieved passage that holds
  most of its words (when one holds enough of them).
- ``grounded`` (a heuristic, measured in docs/retrieval.md): each sentence's content is
  supported by a passage it cites. A sentence is supported when at least ``min_support``
  (default 0.75) of its content words that the question does not already hold occur in
  the passages it cites (a sentence without citations of its own is read against every
  passage the answer cites). Words are compared lowercased, numbers without their
  thousands separators, a plural ``s`` and a possessive ``'s`` set aside; function words
  do not count. Its repair keeps only the supported sentences, when at least one is.

Both read the passages from `CheckContext.sources`. With nothing retrieved there is
nothing to cite or to be grounded in: both pass and say so (the run's result reports why
nothing was retrieved).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..validators.base import CheckContext, Verdict, register_validator
from .citations import (
    CitedSentence,
    cited_labels,
    cited_sentences,
    label_number,
    strip_citations,
)

__all__ = [
    "DEFAULT_MIN_SUPPORT",
    "STOPWORDS",
    "cites_sources",
    "content_words",
    "grounded",
    "sentence_support",
    "short_answer_check",
]

DEFAULT_MIN_SUPPORT = 0.75

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "answer",
        "question",
        "passage",
        "passages",
        "according",
        "based",
        "following",
        "given",
        "text",
        "yes",
        "one",
    ]
)

_WORD = re.compile(r"\d[\d,.]*\d|[^\W_]+")


def _norm(word: str) -> str:
    w = word.lower()
    if w[0].isdigit():
        return w.replace(",", "")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return w


def content_words(text: str) -> list[str]:
    """The words of `text` that carry content, normalised (see the module docstring)."""
    out = []
    for m in _WORD.finditer(text.replace("’", "'")):
        w = _norm(m.group(0))
        if w and w not in STOPWORDS and (len(w) > 1 or w.isdigit()):
            out.append(w)
    return out


def sentence_support(
    sentence: str, passages: Sequence[str], question: str
) -> tuple[float, list[str]]:
    """(share of the sentence's new content words found in `passages`, the words not
    found). New: not already in the question. 1.0 when it has no new content word."""
    asked = set(content_words(question))
    new = [w for w in dict.fromkeys(content_words(strip_citations(sentence))) if w not in asked]
    if not new:
        return 1.0, []
    known: set[str] = set()
    for p in passages:
        known.update(content_words(p))
    missing = [w for w in new if w not in known]
    return 1.0 - len(missing) / len(new), missing


def _sources(ctx: CheckContext | None) -> Mapping[str, str]:
    return ctx.sources if ctx is not None else {}


def _span(labels: Sequence[str]) -> str:
    nums = sorted(n for n in (label_number(x) for x in labels) if n is not None)
    if not nums:
        return "none"
    if nums == list(range(nums[0], nums[-1] + 1)) and len(nums) > 2:
        return f"P{nums[0]}-P{nums[-1]}"
    return ", ".join(f"P{n}" for n in nums)


def cites_sources(text: str, ctx: CheckContext) -> Verdict:
    """Every citation names a retrieved passage, and there is at least one."""
    sources = _sources(ctx)
    if not sources:
        return Verdict(1.0, "no passage was retrieved, so there is nothing to cite")
    cited = cited_labels(text)
    if not cited:
        return Verdict(
            0.0,
            f"the answer cites no passage: cite the passages it uses, like [P1] "
            f"(retrieved: {_span(list(sources))})",
        )
    unknown = [c for c in cited if c not in sources]
    if unknown:
        return Verdict(
            (len(cited) - len(unknown)) / len(cited),
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not among the "
            f"retrieved passages ({_span(list(sources))}): cite only those",
        )
    return Verdict(1.0, f"cites {', '.join(cited)}, all retrieved passages")


def _min_support(ctx: CheckContext | None) -> float:
    value: Any = (ctx.args if ctx is not None else {}).get("min_support", DEFAULT_MIN_SUPPORT)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"min_support must be a number from 0 to 1, got {value!r}")
    return float(value)


def _judge_sentences(
    text: str, ctx: CheckContext
) -> tuple[list[tuple[CitedSentence, float, list[str]]], Mapping[str, str]]:
    sources = _sources(ctx)
    sentences = [s for s in cited_sentences(text) if s.text]
    everywhere = tuple(dict.fromkeys(lab for s in cited_sentences(text) for lab in s.labels))
    out = []
    for s in sentences:
        labels = s.labels or everywhere
        passages = [sources[lab] for lab in labels if lab in sources]
        if not passages:
            new = sentence_support(s.text, [], ctx.instruction)
            out.append((s, new[0], new[1]))
            continue
        share, missing = sentence_support(s.text, passages, ctx.instruction)
        out.append((s, share, missing))
    return out, sources


def grounded(text: str, ctx: CheckContext) -> Verdict:
    """The share of sentences whose content the passages they cite support."""
    if not _sources(ctx):
        return Verdict(1.0, "no passage was retrieved, so there is nothing to ground in")
    need = _min_support(ctx)
    judged, _ = _judge_sentences(text, ctx)
    if not judged:
        return Verdict(0.0, "the answer is empty")
    bad = [(s, missing) for s, share, missing in judged if share < need]
    if not bad:
        return Verdict(
            1.0, f"each of the {len(judged)} sentence(s) is supported by a cited passage"
        )
    s, missing = bad[0]
    quoted = s.text if len(s.text) <= 80 else s.text[:77] + "..."
    where = f"the passages it cites ({', '.join(s.labels)})" if s.labels else "the cited passages"
    words = ", ".join(repr(w) for w in missing[:5])
    return Verdict(
        (len(judged) - len(bad)) / len(judged),
        f"{len(bad)} of {len(judged)} sentence(s) unsupported: '{quoted}' says {words}, "
        f"which {where} do not; keep to what the passages say",
    )


def _repair_grounded(text: str, ctx: CheckContext) -> str | None:
    """Keep only the supported sentences (with their citations), in order."""
    if not _sources(ctx):
        return None
    need = _min_support(ctx)
    judged, _ = _judge_sentences(text, ctx)
    kept = [s for s, share, _ in judged if share >= need]
    if not kept or len(kept) == len(judged):
        return None
    return " ".join(_with_citations(s) for s in kept)


def _with_citations(s: CitedSentence) -> str:
    if not s.labels:
        return s.text
    marks = "".join(f"[{lab}]" for lab in s.labels)
    if s.text[-1:] in ".!?":
        return f"{s.text[:-1]} {marks}{s.text[-1]}"
    return f"{s.text} {marks}"


def _repair_citations(text: str, ctx: CheckContext) -> str | None:
    """Drop citations of passages that do not exist; cite, for each sentence without a
    citation, the passage holding most of its new words (if it holds enough of them)."""
    sources = _sources(ctx)
    if not sources:
        return None
    need = _min_support(ctx)
    out = []
    changed = False
    for s in cited_sentences(text):
        labels = tuple(lab for lab in s.labels if lab in sources)
        changed = changed or labels != s.labels
        if not labels and s.text:
            best, best_share = None, 0.0
            for lab, passage in sources.items():
                share, _ = sentence_support(s.text, [passage], ctx.instruction)
                if share > best_share:
                    best, best_share = lab, share
            if best is not None and best_share >= need:
                labels, changed = (best,), True
        if s.text:
            out.append(_with_citations(CitedSentence(s.text, labels)))
    if not changed or not out:
        return None
    return " ".join(out)


DEFAULT_MAX_WORDS = 8


def _max_words(ctx: CheckContext | None) -> int:
    value: Any = (ctx.args if ctx is not None else {}).get("max_words", DEFAULT_MAX_WORDS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_words must be a whole number of at least 1, got {value!r}")
    return value


def short_answer_check(text: str, ctx: CheckContext) -> Verdict:
    """The answer is a short phrase: at most ``max_words`` words (default 8) once its
    citations are set aside, alone (no "The answer is:", no echo of "Question:", one
    line: 0.5 otherwise), and an answer: yes or no to a yes-or-no question (0.5
    otherwise), else at least one content word the question does not hold ("[Question]",
    "What's that?" score 0.3) unless it is one of the two options of an "A or B"
    question. Scores ``max_words / words`` above the bound, so that a
    shorter rewrite ranks higher."""
    limit = _max_words(ctx)
    words = len(strip_citations(text).split())
    if words == 0:
        return Verdict(0.0, "the answer is empty")
    from .prompts import has_lead

    if has_lead(text):
        return Verdict(
            0.5,
            "not the phrase alone (it starts with 'The answer is' or 'Question:', or runs over "
            "several lines): give only the short phrase and the id of its passage",
        )
    from .prompts import is_polar_question

    body = strip_citations(text).strip().lower()
    if is_polar_question(ctx.instruction):
        if body.split()[0].strip(".,!") not in ("yes", "no"):
            return Verdict(0.5, "a yes-or-no question: answer yes or no, then the passage id")
    elif not set(content_words(body)) - set(content_words(ctx.instruction)) and not _is_option(
        body, ctx.instruction
    ):
        return Verdict(
            0.3,
            "it names nothing the question does not already say: give the answer itself, "
            "copied from a passage",
        )
    if words <= limit:
        return Verdict(1.0, f"{words} word(s), at most {limit}")
    return Verdict(
        limit / words,
        f"{words} words: answer with a short phrase of at most {limit} words copied from "
        "the passages, then the id of its passage in brackets",
    )


def _is_option(answer: str, question: str) -> bool:
    """Whether the answer is one of the two options an "A or B" question offers (which
    the question does hold, and rightly so)."""
    from .hops import name_words
    from .spans import question_options

    said = name_words(answer)
    return bool(said) and any(name_words(o) == said for o in question_options(question))


def _repair_short(text: str, ctx: CheckContext) -> str | None:
    """Cut the short answer out of a long one (`prompts.short_answer`): "The company
    that ... is headquartered in Mumbai [P2]" -> "Mumbai [P2]"."""
    from .prompts import short_answer

    return short_answer(text, ctx.instruction, max_words=_max_words(ctx))


register_validator(
    "cites_sources",
    cites_sources,
    description="The answer cites the retrieved passages it uses, like [P1], and only those.",
    repair=_repair_citations,
    builtin=True,
)
register_validator(
    "grounded",
    grounded,
    description="Each sentence of the answer is supported by a passage it cites.",
    repair=_repair_grounded,
    builtin=True,
)
register_validator(
    "short_answer",
    short_answer_check,
    description="The answer is a short phrase (at most max_words words, default 8) with "
    "its citation.",
    repair=_repair_short,
    builtin=True,
)
