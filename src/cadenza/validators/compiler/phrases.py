"""Phrase patterns, numbers, counts and keyword lists: what the rule table is written in.

Phrase patterns
---------------
The rule table writes phrases in a small pattern language that compiles to a regex,
so a row reads like the wording it accepts::

    phrase("{NEG} [to] (use|include|put) [any|a single] commas?")

- words separated by a space match words separated by any whitespace;
- ``(a|b c)`` is a choice, ``[a|b c]`` an optional choice (the space before or after
  it goes with it);
- ``~`` is an optional space or hyphen ("lower~case": lowercase, lower case,
  lower-case);
- ``{NAME}`` is a macro from `MACROS` (``{NUM}``, ``{NEG}``, ``{QUOTE}``, ...);
  ``{NAME@group}`` captures it as a named group;
- anything else is a regular expression (``commas?``, ``p\\.s\\.``);
- a phrase starts and ends at word boundaries: "no commas" is not found in "piano
  commas".

The text a phrase is matched against is lower-case, with quotes and examples replaced
by sentinels (see `text.Text`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .text import ANGLE, QUOTE, SQUARE, STARRED, Span, Text

__all__ = [
    "MACROS",
    "NUM",
    "Count",
    "Phrases",
    "count_and_subject",
    "counts",
    "keyword_list",
    "list_items",
    "number",
    "one_count",
    "phrase",
]


# --------------------------------------------------------------------------------------
# Numbers: digits ("1,000") or words ("three", "twenty-five", "a hundred and fifty").

_ONES = "one|two|three|four|five|six|seven|eight|nine"
_TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_BELOW_100 = f"(?:(?:{_TENS})(?:[\\s-]+(?:{_ONES}))?|{_TEENS}|{_ONES}|zero)"
_BELOW_1000 = f"(?:(?:{_ONES}|a)\\s+hundred(?:\\s+(?:and\\s+)?{_BELOW_100})?|{_BELOW_100})"
_WORD_NUMBER = (
    f"(?:(?:{_BELOW_1000}|a)\\s+thousand(?:\\s+(?:and\\s+)?{_BELOW_1000})?"
    f"|{_BELOW_1000}|a\\s+dozen|dozen|a\\s+single|single)"
)
NUM = f"(?:(?<![\\w.,])\\d{{1,3}}(?:,\\d{{3}})+(?!\\d)|(?<![\\w.,])\\d+|\\b{_WORD_NUMBER}\\b)"
"""A number in digits or words."""

NUMBER_WORDS = {w: i for i, w in enumerate(f"zero|{_ONES}|{_TEENS}".split("|"))} | {
    w: 10 * (i + 2) for i, w in enumerate(_TENS.split("|"))
}


def number(text: str) -> int:
    """The value of a number matched by ``NUM`` (or "once", "twice", "thrice")."""
    s = text.strip().lower()
    if s[0].isdigit():
        return int(s.replace(",", ""))
    if s in ("once", "twice", "thrice"):
        return {"once": 1, "twice": 2, "thrice": 3}[s]
    total = current = 0
    for w in re.findall(r"[a-z]+", s):
        if w in NUMBER_WORDS:
            current += NUMBER_WORDS[w]
        elif w in ("a", "single"):
            current = 1
        elif w == "hundred":
            current = (current or 1) * 100
        elif w == "dozen":
            current = (current or 1) * 12
        elif w == "thousand":
            total += (current or 1) * 1000
            current = 0
    return total + current


# --------------------------------------------------------------------------------------
# Macros the phrase patterns use.

NEG = (
    r"\b(?:do\s+not|don't|does\s+not|doesn't|must\s+not|mustn't|should\s+not|shouldn't"
    r"|cannot|can't|can\s+not|may\s+not|will\s+not|won't|never|not)"
)
"""A negation ("do not", "mustn't", "never", ...)."""

MACROS: dict[str, str] = {
    "NEG": NEG,
    "NUM": NUM,
    "QUOTE": QUOTE,
    "SQUARE": SQUARE,
    "ANGLE": ANGLE,
    "STARRED": STARRED,
    # the answer as a noun phrase: "your response", "the whole answer"
    "RESPONSE": r"(?:your|the)\s+(?:entire\s+|whole\s+|full\s+)?(?:response|answer|reply|output"
    r"|text|essay|story|poem|article|email|letter|message)",
    # determiners before a noun: "any", "a single", "the use of" (glued: "{DETS}commas")
    "DETS": r"(?:(?:any|a\s+single|a|even\s+one|single|the\s+use\s+of|use\s+of|of|the)\s+)*",
}


@functools.cache
def phrase(pattern: str) -> str:
    """The regex source of a phrase pattern (see the module docstring)."""
    body, rest = _sequence(pattern.strip(), 0, "")
    if rest != len(pattern.strip()):
        raise ValueError(f"unbalanced phrase pattern: {pattern!r}")
    # Word boundaries where the match starts or ends with a letter or digit.
    return f"(?:(?=\\w)(?<!\\w)|(?!\\w))(?:{body})(?:(?<=\\w)(?!\\w)|(?<!\\w))"


def _sequence(s: str, i: int, stop: str) -> tuple[str, int]:
    """Parse items separated by spaces up to one of `stop` (or the end)."""
    items: list[tuple[str, bool]] = []
    while i < len(s) and s[i] not in stop:
        if s[i].isspace():
            i += 1
            continue
        item, optional, i = _item(s, i, stop)
        items.append((item, optional))
    out, started = "", False
    for item, optional in items:
        if optional:
            out += f"(?:\\s+{item})?" if started else f"(?:{item}\\s+)?"
        else:
            out += f"\\s+{item}" if started else item
            started = True
    return out, i


def _item(s: str, i: int, stop: str) -> tuple[str, bool, int]:
    """One item (no spaces): atoms glued together; optional if it is one ``[...]``."""
    parts: list[str] = []
    optional_only = True
    while i < len(s) and not s[i].isspace() and s[i] not in stop:
        c = s[i]
        if c in "([":
            close = ")" if c == "(" else "]"
            alts, i = _choices(s, i + 1, close)
            if c == "(" or parts or (i < len(s) and not s[i].isspace() and s[i] not in stop):
                parts.append(f"(?:{alts})" + ("?" if c == "[" else ""))
                optional_only = False
            else:
                parts.append(f"(?:{alts})")
            continue
        optional_only = False
        if c in ")]|":
            raise ValueError(f"unbalanced phrase pattern: {s!r}")
        if c == "{":
            end = s.index("}", i)
            name, _, group = s[i + 1 : end].partition("@")
            regex = MACROS[name]
            parts.append(f"(?P<{group}>{regex})" if group else f"(?:{regex})")
            i = end + 1
        elif c == "~":
            parts.append(r"[\s-]?")
            i += 1
        elif c == "\\":
            parts.append(s[i : i + 2])
            i += 2
        else:
            parts.append(c)
            i += 1
    optional = optional_only and len(parts) == 1
    return "".join(parts), optional, i


def _choices(s: str, i: int, close: str) -> tuple[str, int]:
    alts = []
    while True:
        body, i = _sequence(s, i, "|" + close)
        alts.append(body)
        if i >= len(s):
            raise ValueError(f"unbalanced phrase pattern: {s!r}")
        if s[i] == close:
            return "|".join(alts), i + 1
        i += 1


class Phrases:
    """Several phrase patterns, tried together."""

    def __init__(self, *patterns: str, raw: Iterable[str] = ()) -> None:
        self.patterns = patterns
        sources = [phrase(p) for p in patterns] + list(raw)
        self.regex = re.compile("|".join(f"(?:{s})" for s in sources))

    def spans(self, t: Text | str) -> list[Span]:
        s = t if isinstance(t, str) else t.low
        return [m.span() for m in self.regex.finditer(s) if m.end() > m.start()]

    def __repr__(self) -> str:
        return f"Phrases{self.patterns!r}"


# --------------------------------------------------------------------------------------
# Counts: a number with its unit and relation ("no more than 50 words", "300+ words",
# "5 sentences or fewer", "at least twice").

_NEG_VERB = (
    f"{NEG}(?:\\s+(?:to\\s+)?(?:be\\s+used|be\\s+mentioned|use|write|have|contain|include"
    r"|give|produce|be|go|run|appear|occur|make\s+it))?"
)
# (kind, regex) in the order they are tried; "neg" is a negation this parser cannot read.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("le", f"{NEG}\\s+(?:to\\s+)?(?:exceed(?:ing)?|go\\s+(?:over|beyond|above)|surpass)"),
    ("le", f"{_NEG_VERB}\\s+(?:(?:more|longer|greater)\\s+than|over|above|beyond)"),
    ("ge", f"{_NEG_VERB}\\s+(?:(?:fewer|less|shorter)\\s+than|under|below)"),
    (
        "ge",
        r"at\s+(?:the\s+very\s+)?least|no\s+(?:fewer|less|shorter)\s+than"
        r"|(?:a\s+)?minimum\s+of|at\s+(?:a\s+)?minimum|minimum|min\.?",
    ),
    (
        "le",
        r"at\s+(?:the\s+)?most|no\s+(?:more|longer|greater)\s+than|(?:a\s+)?maximum\s+of"
        r"|at\s+(?:a\s+)?maximum|maximum|max\.?|up\s+to|within|not\s+exceeding"
        f"|limit(?:ed)?(?:\\s+(?:it|yourself|{MACROS['RESPONSE']}))?\\s+to",
    ),
    ("gt", r"(?:more|greater|longer)\s+than|in\s+excess\s+of|over|above|exceeding|exceed"),
    ("lt", r"(?:less|fewer|shorter)\s+than|under|below"),
    ("eq", r"exactly|precisely|just|only|a\s+total\s+of"),
    ("approx", r"about|around|approximately|approx\.?|roughly|nearly|almost|close\s+to|some|~"),
    ("neg", NEG),
)
_SUFFIXES: tuple[tuple[str, str], ...] = (
    (
        "ge",
        r"or\s+(?:more|greater|above|longer|over|higher)|and\s+(?:up|above|over)"
        r"|at\s+(?:the\s+very\s+)?least|at\s+(?:a\s+)?minimum|minimum|min\b\.?",
    ),
    ("approx", r"or\s+so|give\s+or\s+take|more\s+or\s+less|or\s+thereabouts"),
    (
        "le",
        r"or\s+(?:less|fewer|under|below|shorter)|at\s+(?:the\s+)?most|at\s+(?:a\s+)?maximum"
        r"|maximum|max\b\.?|tops|limit",
    ),
)
_PREFIX = "|".join(f"(?P<pre{i}>(?<!\\w)(?:{p}))" for i, (_, p) in enumerate(_PREFIXES))
_SUFFIX = "|".join(f"(?P<post{i}>{p})" for i, (_, p) in enumerate(_SUFFIXES))


@dataclass(frozen=True)
class Count:
    """A number of things and how it is bounded."""

    kind: str
    """One of "ge", "gt", "le", "lt" (a bound), "eq" or "bare" (an exact count), "approx",
    "neg" or "conflict" (not understood)."""
    n: int
    span: Span

    def bound(self, *, least: int = 0) -> tuple[str, int] | None:
        """As IFEval's (relation, threshold), if the count is a bound that at least
        `least` items satisfy ("fewer than 1 sentence" is no sensible bound)."""
        if self.kind == "ge" and self.n >= 1:
            return "at least", self.n
        if self.kind == "gt":
            return "at least", self.n + 1
        if self.kind == "le" and self.n >= least:
            return "less than", self.n + 1
        if self.kind == "lt" and self.n > least:
            return "less than", self.n
        return None

    @property
    def exact(self) -> bool:
        return self.kind in ("eq", "bare")

    @property
    def minimum(self) -> bool:
        """ "at least N" or a bare N, as IFEval phrases its minimum counts."""
        return self.kind in ("ge", "bare") and self.n >= 1


def _kind(kinds: set[str], default: str) -> str:
    return kinds.pop() if len(kinds) == 1 else (default if not kinds else "conflict")


@functools.cache
def _count_re(unit: str, adverbs: bool) -> re.Pattern[str]:
    number = f"(?P<num>{NUM})(?P<plus>\\s*\\+|[\\s-]+plus\\b)?[\\s-]*(?P<unit>{unit})\\b"
    if adverbs:  # "twice" is a number and its unit at once
        number = f"(?:{number}|\\b(?P<adv>once|twice|thrice)\\b)"
    return re.compile(f"(?:(?:{_PREFIX})\\s*)?{number}(?:[\\s,]+(?:{_SUFFIX})(?!\\w))?")


def counts(t: Text, unit: str, *, adverbs: bool = False) -> list[Count]:
    """Every count of `unit` (a regex) in the text ("at least 3 sentences", "twice")."""
    out = []
    for m in _count_re(unit, adverbs).finditer(t.low):
        n = number(m.groupdict().get("adv") or m.group("num"))
        kinds = {_PREFIXES[i][0] for i in range(len(_PREFIXES)) if m.group(f"pre{i}")}
        kinds |= {_SUFFIXES[i][0] for i in range(len(_SUFFIXES)) if m.group(f"post{i}")}
        if m.group("plus"):
            kinds.add("ge")
        out.append(Count(_kind(kinds, "bare"), n, m.span()))
    return out


def one_count(t: Text, unit: str, *, adverbs: bool = False) -> Count | None:
    """The one count of `unit`, or None if there is none or more than one."""
    found = counts(t, unit, adverbs=adverbs)
    return found[0] if len(found) == 1 else None


@functools.cache
def _subject_re(unit: str, subject: str) -> re.Pattern[str]:
    return re.compile(
        f"\\b(?P<subj>{subject})(?:\\s*(?::|of|is|should|must|has\\s+to|needs\\s+to|be|stay"
        f"|remain|kept))*\\s*(?:(?:{_PREFIX})\\s*)?(?P<num>{NUM})(?:\\s+(?:{unit})\\b)?"
        f"(?:[\\s,]+(?:{_SUFFIX})(?!\\w))?"
    )


def count_and_subject(t: Text, unit: str, subject: str) -> Count | None:
    """The one count of `unit`, either "at most 50 words" or subject first: "the word
    count must not exceed 200", "word count: 300 or more". A bare number after a limit
    ("word limit: 200") is a maximum."""
    found = counts(t, unit)
    for m in _subject_re(unit, subject).finditer(t.low):
        if any(c.span[0] <= m.start("num") < c.span[1] for c in found):
            continue
        kinds = {_PREFIXES[i][0] for i in range(len(_PREFIXES)) if m.group(f"pre{i}")}
        kinds |= {_SUFFIXES[i][0] for i in range(len(_SUFFIXES)) if m.group(f"post{i}")}
        default = "le" if "limit" in m.group("subj") else "bare"
        found.append(Count(_kind(kinds, default), number(m.group("num")), m.span()))
    return found[0] if len(found) == 1 else None


# --------------------------------------------------------------------------------------
# Lists of keywords: quoted, or single unquoted words ("the keywords rock and roll").

_LIST_STOP = (
    "and|or|nor|in|at|to|for|within|throughout|your|the|a|an|when|while|if|so|as|but"
    "|because|somewhere|anywhere|each|every|least|most|more|less|than|times|once|twice"
    "|should|must|also|please|response|answer|reply|output|text|any|all|of|with|without"
    "|from|this|that|it|is|are|be|like|such|e|i"
)
ITEM_WORD = f"\\b(?!(?:{_LIST_STOP})\\b)[^\\W\\d_][\\w'-]*(?<!ly)\\b"
"""An unquoted keyword: one word that is not a function word or an adverb."""
SEP = r"(?:\s*,\s*(?:and\s+|or\s+|nor\s+)?|\s+(?:and|or|nor)\s+|\s*[&;/]\s*)"
LIST = f"\\[?\\s*(?:{QUOTE}|{ITEM_WORD})(?:{SEP}(?:{QUOTE}|{ITEM_WORD}))*\\s*\\]?"
"""A list of keywords, quoted or single words: "'a', 'b' and 'c'", "rock and roll"."""
QUOTED_LIST = f"\\[?\\s*{QUOTE}(?:{SEP}{QUOTE})*\\s*\\]?"
"""A list of quoted keywords."""
_LIST_ITEM_RE = re.compile(f"{QUOTE}|{ITEM_WORD}")


def list_items(
    t: Text, span: Span, item: re.Pattern[str] = _LIST_ITEM_RE
) -> tuple[list[str], bool]:
    """The items of a list and whether it is joined by "or"/"nor"."""
    a, b = span
    items = []
    for m in item.finditer(t.low, a, b):
        tok = m.group()
        items.append(t.quote(tok).strip() if tok.startswith("\ue000") else t.original(*m.span()))
    bare = re.sub(QUOTE, " ", t.low[a:b])
    return items, bool(re.search(r"\b(?:or|nor)\b", bare))


def keyword_list(
    t: Text, regexes: Iterable[re.Pattern[str]]
) -> tuple[list[str], bool, list[Span]] | None:
    """The one keyword list that `regexes` find (each with groups ``verb``, ``det`` and
    ``list``): its items, whether they are joined by "or", and the spans it claims."""
    hits: dict[Span, re.Match[str]] = {}
    for regex in regexes:
        for m in regex.finditer(t.low):
            hits.setdefault(m.span("list"), m)
    if len(hits) != 1:
        return None
    m = next(iter(hits.values()))
    items, has_or = list_items(t, m.span("list"))
    if not items or len(items) > 20 or any(not i for i in items):
        return None
    spans = [m.span(g) for g in ("verb", "det", "list") if m.group(g) is not None]
    return items, has_or, spans
