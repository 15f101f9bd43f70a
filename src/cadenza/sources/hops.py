"""Multi-hop retrieval without a model: the next queries come from what was found.

A question like "What government position was held by the woman who portrayed Corliss
Archer in the film Kiss and Tell?" names the first passage to find (the film) but not the
second: the film's passage names the actress, and her own passage holds the answer. So
after the first search, the names in the best passages that the question does not
mention (``Shirley Temple``) become queries of their own, and a passage whose title is
that name is the *bridge*'s target.

`entities` reads names as runs of capitalised words (with the small words names hold:
"of", "de", "van"...; and "County, Kansas"-style commas), plus quoted titles. No model and
no data to download; on the HotpotQA dev pool it raised the share of questions with both
supporting paragraphs among six shown from 0.78 (the question's own top six) to 0.86
(docs/retrieval.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["NOT_A_NAME_START", "entities", "name_words", "names_match", "new_entities"]

_CONNECTORS = frozenset(
    [
        "of",
        "de",
        "the",
        "and",
        "von",
        "van",
        "da",
        "del",
        "della",
        "di",
        "la",
        "le",
        "du",
        "des",
        "for",
        "al",
        "bin",
        "el",
        "y",
    ]
)
NOT_A_NAME_START = frozenset(
    [
        "The",
        "A",
        "An",
        "In",
        "On",
        "At",
        "By",
        "For",
        "From",
        "After",
        "Before",
        "During",
        "When",
        "While",
        "With",
        "Also",
        "However",
        "There",
        "Their",
        "Some",
        "Many",
        "Most",
        "But",
        "And",
        "Since",
        "Although",
        "Which",
        "Who",
        "What",
        "Where",
        "Why",
        "How",
        "He",
        "She",
        "It",
        "They",
        "His",
        "Her",
        "Its",
        "This",
        "That",
        "These",
        "Those",
        "As",
        "If",
        "Then",
        "Both",
        "Each",
        "Other",
        "Such",
        "Other",
        "Following",
        "According",
        "Today",
        "Currently",
        "Born",
        "Its",
    ]
)
_TOKEN = re.compile(r"[\w'’.\-&]+|,|\S")
_QUOTED = re.compile(r"[\"“]([^\"“”]{2,80})[\"”]")
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.)+|[A-Z][a-z]{0,2}\.")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        # a word ending a sentence: the full stop is its own token (but "U.S." and
        # "Dr." keep theirs)
        if len(tok) > 1 and tok.endswith(".") and not _ABBREVIATION.fullmatch(tok):
            out += [tok[:-1], "."]
        else:
            out.append(tok)
    return out


def entities(text: str, *, limit: int = 40) -> list[str]:
    """Names in `text`, in order of first appearance: quoted titles and runs of
    capitalised words (a sentence's first word only when a capitalised word follows)."""
    found: dict[str, None] = {}
    for m in _QUOTED.finditer(text):
        found.setdefault(m.group(1).strip(), None)
    run: list[str] = []

    def flush() -> None:
        while run and (run[-1].lower() in _CONNECTORS or run[-1] == ","):
            run.pop()
        if run:
            name = " ".join(run).replace(" ,", ",").strip(" ,")
            if name:
                found.setdefault(name, None)
        run.clear()

    toks = _tokens(text)
    for i, tok in enumerate(toks):
        first = tok[:1]
        if first.isupper() or (first.isdigit() and run):
            if not run and tok in NOT_A_NAME_START:
                nxt = toks[i + 1] if i + 1 < len(toks) else ""
                if not nxt[:1].isupper():
                    continue
                if tok in ("The", "A", "An"):
                    continue  # "The Family Man": the title's words after "The" still make it
            run.append(tok)
        elif run and (tok.lower() in _CONNECTORS or tok == ","):
            run.append(tok)
        else:
            flush()
        if len(found) >= limit:
            break
    flush()
    return list(found)[:limit]


def name_words(text: str) -> list[str]:
    """The lowercase words of a name, without a trailing "(...)" qualifier: ``Alien
    (film)`` -> ``['alien']``."""
    return re.findall(r"[^\W_]+", re.sub(r"\([^)]*\)\s*$", "", text).lower())


def names_match(name: str, title: str) -> bool:
    """Whether a passage titled `title` is about `name`: the words of one hold all the
    words of the other (``Nixon`` and ``Richard Nixon``; ``Alien`` and ``Alien (film)``)."""
    a, b = set(name_words(name)), set(name_words(title))
    return bool(a) and bool(b) and (a <= b or b <= a)


def _contained(name: str, text_words: str) -> bool:
    words = " ".join(name_words(name))
    return bool(words) and f" {words} " in f" {text_words} "


def new_entities(
    question: str, passages: Iterable[tuple[str, str]], *, limit: int = 12
) -> list[str]:
    """Names in the passages (title, text) that could lead further: not already in the
    question, not the passage's own title, each once, in order."""
    asked = " ".join(name_words(question))
    out: dict[str, None] = {}
    for title, text in passages:
        for name in entities(text):
            key = " ".join(name_words(name))
            if not key or key.isdigit() or _contained(name, asked) or names_match(name, title):
                continue
            if any(" ".join(name_words(n)) == key for n in out):
                continue
            out.setdefault(name, None)
            if len(out) >= limit:
                return list(out)
    return list(out)


def question_entities(question: str) -> list[str]:
    """The names a question mentions (its quoted titles first)."""
    return entities(question)


def interleave(lists: Sequence[Sequence[str]]) -> list[str]:
    """Round-robin over lists, each item once."""
    out: dict[str, None] = {}
    for i in range(max((len(x) for x in lists), default=0)):
        for x in lists:
            if i < len(x):
                out.setdefault(x[i], None)
    return list(out)
