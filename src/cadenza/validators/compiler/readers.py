"""Argument readers: how a row of the rule table gets its check's arguments.

A reader takes the prepared `Text` and returns `Found` (the check's arguments and the
spans of text it accounts for) or None when the text does not give what the check needs.
Three generic readers cover counted checks (`Bound`, `Exactly`, `AtLeast`); the others
read one kind of argument each (a quoted phrase, a keyword list, a language, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .phrases import (
    LIST,
    NEG,
    NUM,
    NUMBER_WORDS,
    QUOTED_LIST,
    SEP,
    Phrases,
    count_and_subject,
    keyword_list,
    list_items,
    number,
    one_count,
)
from .text import ANGLE, OPEN, QUOTE, SQUARE, STARRED, Span, Text

__all__ = [
    "CAPS_WORDS",
    "JSON_OBJECT",
    "LANGUAGES",
    "NOTHING_AFTER",
    "NO_OTHER_LANGUAGE",
    "TIMES",
    "AtLeast",
    "Bound",
    "Exactly",
    "Found",
    "Reader",
    "bullets",
    "capital_words",
    "end_phrase",
    "example_lists",
    "highlights",
    "is_example",
    "json_keys",
    "keyword_count",
    "keywords_forbidden",
    "keywords_included",
    "language",
    "letter_count",
    "paragraph_first_word",
    "placeholders",
    "postscript_marker",
    "sections",
    "title_brackets",
    "wrapped_in_quotes",
    "yes_no_maybe",
]


@dataclass(frozen=True)
class Found:
    """A reader's result: the check's arguments and the text they account for."""

    args: dict[str, Any]
    spans: list[Span] = field(default_factory=list)


Reader = Callable[[Text], Found | None]


def _spans(regex: re.Pattern[str] | str, s: str) -> list[Span]:
    return [m.span() for m in re.finditer(regex, s)]


def is_example(t: Text, start: int) -> bool:
    """Whether the set-aside piece at `start` is introduced as an example ("such as")."""
    return bool(
        re.search(
            r"(?:\be\.?\s?g\.?|\bi\.?\s?e\.?|\bfor\s+(?:example|instance)|\bsuch\s+as|\blike"
            r"|\bexample(?:\s+of\s+(?:a|an)\s+\w+)?(?:\s+is)?)[\s,:(]*$",
            t.low[max(0, start - 40) : start],
        )
    )


def example_lists(t: Text, sentinel: str) -> list[Span]:
    """Runs of examples introduced as examples: "like [date] and [place]"."""
    run = re.compile(
        f"{sentinel}(?:(?:\\s*,\\s*(?:and\\s+|or\\s+)?|\\s+(?:and|or)\\s+){sentinel})*"
    )
    return [m.span() for m in run.finditer(t.low) if is_example(t, m.start())]


# --------------------------------------------------------------------------------------
# Counted checks.


@dataclass(frozen=True)
class Bound:
    """A count IFEval checks as "at least N" or "less than N".

    "at most 50" becomes less than 51 and "more than 299" at least 300; an exact or
    approximate count cannot be expressed. `subject` also reads the subject-first form
    ("the word count must not exceed 200").
    """

    unit: str
    relation: str
    """The name of the check's relation argument (e.g. ``"relation"``)."""
    threshold: str
    """The name of the check's number argument (e.g. ``"num_words"``)."""
    subject: str | None = None
    least: int = 0
    """The smallest count an answer has (1 for words and sentences: "fewer than 1
    sentence" is no sensible bound)."""
    one_is_exact: bool = False
    """Read an exact 1 as "less than 2" (an answer of one sentence is not empty)."""
    adverbs: bool = False
    """Also read "once", "twice", "thrice" as counts (of times)."""

    def __call__(self, t: Text) -> Found | None:
        if self.subject:
            count = count_and_subject(t, self.unit, self.subject)
        else:
            count = one_count(t, self.unit, adverbs=self.adverbs)
        if count is None:
            return None
        if self.one_is_exact and count.exact and count.n == 1:
            bound: tuple[str, int] | None = ("less than", 2)
        else:
            bound = count.bound(least=self.least)
        if bound is None:
            return None
        return Found({self.relation: bound[0], self.threshold: bound[1]}, [count.span])


@dataclass(frozen=True)
class Exactly:
    """A count IFEval checks exactly (bullet points, paragraphs): "exactly 3" or "3"."""

    unit: str
    arg: str

    def __call__(self, t: Text) -> Found | None:
        count = one_count(t, self.unit)
        if count is None or not count.exact or count.n < 1:
            return None
        return Found({self.arg: count.n}, [count.span])


@dataclass(frozen=True)
class AtLeast:
    """A count IFEval checks as a minimum (placeholders, highlights, sections): "at least
    N" or a bare N, as IFEval phrases them."""

    unit: str
    arg: str

    def __call__(self, t: Text) -> Found | None:
        count = one_count(t, self.unit)
        if count is None or not count.minimum:
            return None
        return Found({self.arg: count.n}, [count.span])


# --------------------------------------------------------------------------------------
# Words in all capitals: "at least 3 words in all caps", "all-caps words: fewer than 4".

CAPS_ADJ = (
    r"(?:all[\s-]*caps|all[\s-]+capitals?|all[\s-]+capital(?:\s+letters?)?|all[\s-]+upper[\s-]?case"
    r"|(?:fully|entirely|completely)[\s-]+(?:capitalized|upper[\s-]?case)|upper[\s-]?case)"
)
CAPS_TAIL = (
    r"(?:with|in|(?:written|typed|set)\s+(?:entirely\s+|fully\s+|completely\s+)?in|using"
    r"|that\s+are(?:\s+in)?|that\s+use|(?:by\s+)?(?:writing|putting|typing|setting)\s+them\s+in)"
    r"\s+(?:all\s+)?(?:capital\s+letters|capitals|caps|upper[\s-]?case(?:\s+letters)?)"
)
CAPS_WORDS = f"{CAPS_ADJ}\\s+words?|words?\\s+{CAPS_TAIL}"
_CAPS_WORDS_RE = re.compile(f"\\b(?:{CAPS_WORDS})\\b")
TIMES = r"times|occurrences?|instances?|mentions?|uses"


def capital_words(t: Text) -> Found | None:
    """A count of words in all capitals, or such words and a number of times."""
    count = one_count(t, CAPS_WORDS)
    spans: list[Span] = []
    if count is None:
        phrases = _spans(_CAPS_WORDS_RE, t.low)
        count = one_count(t, TIMES, adverbs=True)
        if not phrases or count is None:
            return None
        spans = phrases
    bound = count.bound()
    if bound is None:
        return None
    args = {"capital_relation": bound[0], "capital_frequency": bound[1]}
    return Found(args, [*spans, count.span])


# --------------------------------------------------------------------------------------
# The phrase to end with.

_END_VERB = (
    r"\b(?:end|ends|ending|finish|finishes|finishing|conclude|concludes|concluding|close"
    r"|closes|closing|wrap\s+up|sign(?:s|ing)?\s+off)\b"
)
_PHRASE_NOUN = (
    r"(?:(?:the|this|that)\s+)?(?:(?:exact|following|specific|precise|same)\s+)*"
    r"(?:phrase|sentence|words?|line|question|statement|text)"
)
_END_QUOTED_RE = re.compile(
    f"(?P<verb>{_END_VERB})(?:\\s+[\\w']+){{0,4}}?\\s+(?P<with>(?:with|by\\s+(?:saying|writing))"
    f"(?:\\s+{_PHRASE_NOUN})?\\s*:?)\\s*(?P<phrase>{QUOTE})"
)
_END_BARE_RE = re.compile(  # unquoted, only when it ends in "?" or "!"
    f"(?P<verb>{_END_VERB})(?:\\s+[\\w']+){{0,4}}?\\s+(?P<with>with\\s+{_PHRASE_NOUN}\\s*:?)\\s+"
    f"(?P<raw>[^\\n{OPEN}]{{1,100}}?[?!])(?=\\s*(?:[.\\n]|$))"
)
_LAST_WORDS_RE = re.compile(
    r"\b(?P<verb>(?:last|final|closing|ending)\s+(?:words?|sentence|line|phrase)\s+"
    f"(?:(?:should|must|has\\s+to|needs\\s+to)\\s+)?(?:be|read|say)\\s*:?)\\s*(?P<phrase>{QUOTE})"
)
NOTHING_AFTER = Phrases(
    raw=[
        r"\b(?:no|nothing)\s+(?:other\s+|more\s+|else\s+|further\s+)?(?:words?|text|characters?"
        r"|content)?\s*(?:else\s+)?(?:should|may|must|can|shall|is\s+allowed\s+to)?\s*(?:follow"
        r"|come\s+after|be\s+added\s+after|appear\s+after|after)(?:\s+(?:it|this|that|the)"
        r"(?:\s+(?:phrase|sentence))?)?"
    ]
)


def end_phrase(t: Text) -> Found | None:
    """The one phrase to end with: quoted, or unquoted when it ends in "?" or "!"."""
    hits: list[tuple[str, list[Span]]] = []
    for regex in (_END_QUOTED_RE, _LAST_WORDS_RE):
        for m in regex.finditer(t.low):
            names = [g for g in ("verb", "with", "phrase") if g in regex.groupindex]
            hits.append((t.quote(m.group("phrase")), [m.span(g) for g in names]))
    for m in _END_BARE_RE.finditer(t.low):
        hits.append((t.original(*m.span("raw")), [m.span("verb"), m.span("with"), m.span("raw")]))
    if len(hits) != 1 or not hits[0][0].strip():
        return None
    phrase, spans = hits[0]
    return Found({"end_phrase": phrase.strip()}, spans)


# --------------------------------------------------------------------------------------
# Wrapped in double quotes.

_DOUBLE_QUOTES_RE = re.compile(r"\b(?:double\s+)?(?:quotation\s+marks?|quote\s+marks?|quotes)\b")
_WRAP_RE = re.compile(
    r"\b(?:wrap(?:ped|ping)?|enclos(?:e|ed|ing)|surround(?:ed|ing)?|encas(?:e|ed)|put|place[sd]?"
    r"|inside|within|between|around|quote|(?:start|begin)\s+and\s+end)\b"
)


def wrapped_in_quotes(t: Text) -> Found | None:
    """One mention of (double) quotes, and a verb that wraps or "in quotes"."""
    quotes = _spans(_DOUBLE_QUOTES_RE, t.low)
    wraps = _spans(_WRAP_RE, t.low)
    in_quotes = [s for s in quotes if re.search(r"\bin\s+(?:a\s+pair\s+of\s+)?$", t.low[: s[0]])]
    if len(quotes) != 1 or not (wraps or in_quotes):
        return None
    return Found({}, quotes + wraps)


# --------------------------------------------------------------------------------------
# A JSON object with keys.

_KEY_NOUN = r"(?:keys?|fields?|properties|property|attributes?)"
_KEY_ITEM = (
    r"\b(?!(?:and|or|nor|the|a|an|with|whose|where|that|which|each|both|only|as|in|of|for|to"
    r"|is|are|be|must|should|plus|also|set|please|then|its?|their|value|values)\b)"
    r"[^\W\d][\w-]*\b"
)
_KEY_LIST = f"(?:{QUOTE}|{_KEY_ITEM})(?:{SEP}(?:{QUOTE}|{_KEY_ITEM}))*"
_HAVING = (
    r"(?:with|containing|contains|that\s+(?:has|have|contains?|includes?)|having|including"
    r"|includes?)"
)
_KEYS_RES = (
    # "with the keys name and age", "containing the fields 'title' and 'year'", "keys: a, b"
    re.compile(
        f"(?P<intro>(?:{_HAVING}\\s+)?(?:the\\s+|a\\s+|an\\s+)?(?:following\\s+)?{_KEY_NOUN}"
        r"(?:\s+(?:named|called))?\s*:?)\s*"
        f"(?P<list>{_KEY_LIST})"
    ),
    # "with a 'summary' key", "with 'name' and 'age' fields"
    re.compile(
        f"(?P<intro>{_HAVING}\\s+(?:the\\s+|a\\s+|an\\s+)?)(?P<list>{QUOTED_LIST})"
        f"\\s+(?P<noun>{_KEY_NOUN})\\b"
    ),
)
_KEY_ITEM_RE = re.compile(f"{QUOTE}|{_KEY_ITEM}")
_ONLY_KEYS_RE = re.compile(
    f"\\bonly\\s+(?:the\\s+|these\\s+)?(?:{QUOTE}\\s+)?{_KEY_NOUN}|{_KEY_NOUN}\\s+only\\b"
    r"|\bno\s+other\s+(?:keys|fields|properties)|\bexactly\s+(?:the\s+)?(?:keys|fields)"
)
JSON_OBJECT = Phrases(
    "[a|an|one] [single] json (object|dictionary|dict)",
    "[a|an|one] [single] (object|dictionary) in json [format]",
)


def json_keys(t: Text) -> Found | None:
    """An object's required keys: "with the keys 'a' and 'b'" (none if no list is given;
    then the text must ask for a JSON object)."""
    if _ONLY_KEYS_RE.search(t.low):  # an exact set of keys is more than the check says
        return None
    hits: dict[Span, re.Match[str]] = {}
    for regex in _KEYS_RES:
        for m in regex.finditer(t.low):
            hits.setdefault(m.span("list"), m)
    if len(hits) > 1:
        return None
    if not hits:
        found = JSON_OBJECT.spans(t)
        return Found({"keys": []}, found) if found else None
    m = next(iter(hits.values()))
    keys, has_or = list_items(t, m.span("list"), _KEY_ITEM_RE)
    if has_or or not keys or len(keys) > 50 or any(not k for k in keys):
        return None
    spans = [m.span(g) for g in ("intro", "list", "noun") if g in m.re.groupindex and m.group(g)]
    return Found({"keys": list(dict.fromkeys(keys))}, spans + JSON_OBJECT.spans(t))


# --------------------------------------------------------------------------------------
# Structure: bullet lists, placeholders, highlights, sections, paragraphs.

BULLET_UNIT = (
    r"(?:markdown\s+)?(?:bullet(?:ed)?[\s-]*points?|bullets|bullet(?:ed)?\s+(?:list\s+)?items)"
)
_BULLET_LIST_RES = (
    # "a bulleted list of 5 items"
    re.compile(
        r"\bbullet(?:ed)?\s+list\s+(?:of|with|containing)\s+(?:exactly\s+)?"
        f"(?P<num>{NUM})\\s+(?:items|points|entries|bullets)\\b"
    ),
    # "five points as markdown bullets"
    re.compile(
        f"(?:\\bexactly\\s+)?(?P<num>{NUM})\\s+(?:points|items|entries|things|ideas|reasons)"
        r"\s+(?:as|in)\s+(?:a\s+)?(?:markdown\s+)?(?:bullet(?:ed)?\s+(?:points|list)|bullets)\b"
    ),
)


def bullets(t: Text) -> Found | None:
    """Exactly N bullet points: "3 bullet points", "a bulleted list of 5 items"."""
    count = one_count(t, BULLET_UNIT)
    lists = {m.span(): m for r in _BULLET_LIST_RES for m in r.finditer(t.low)}
    if count is not None and not lists:
        if not count.exact:
            return None
        n, span = count.n, count.span
    elif len(lists) == 1 and (count is None or _inside(count.span, next(iter(lists)))):
        m = next(iter(lists.values()))
        n, span = number(m.group("num")), m.span()
    else:
        return None
    if n < 1:
        return None
    example_lines = _spans(r"(?m)^[ \t]*[*-][ \t]+.*$", t.low)
    more = _spans(BULLET_UNIT, t.low)
    return Found({"num_bullets": n}, [span, *example_lines, *more])


def _inside(inner: Span, outer: Span) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


_SQUARE_BRACKETS = Phrases("square brackets?")
_GENERIC_EXAMPLE = re.compile(r"\s*(?:\.{2,}|…|_+|x+|text|title|your\s+title|the\s+title)?\s*")


def placeholders(t: Text) -> Found | None:
    """At least N placeholders in square brackets ("such as [address]")."""
    count = one_count(t, r"placeholders?")
    if count is None or not count.minimum:
        return None
    square = _SQUARE_BRACKETS.spans(t)
    examples = example_lists(t, SQUARE)
    if square:
        examples += _spans(SQUARE, t.low)
    if not (square or examples):
        return None
    more = _spans(r"\bplaceholders?\b", t.low)
    return Found({"num_placeholders": count.n}, [count.span, *square, *examples, *more])


HIGHLIGHT_UNIT = (
    r"(?:highlighted\s+|key\s+|important\s+)?(?:sections?|parts?|phrases?|passages?|portions?"
    r"|segments?|points?|words?|sentences?|spans?)"
)


def highlights(t: Text) -> Found | None:
    """At least N *highlighted* sections ("highlight at least 3 sections")."""
    if not re.search(r"\bhighlight", t.low):
        return None
    count = one_count(t, HIGHLIGHT_UNIT)
    if count is None or not count.minimum:
        return None
    return Found({"num_highlights": count.n}, [count.span, *example_lists(t, STARRED)])


_MARKER_WORD = r"(?!(?:the|a|an|at|least|most|than|about|only|exactly|just|over|under)\b)[a-z]+"
_SPLITTER_RE = re.compile(
    r"\b(?:with|using|as|by|labell?ed|marked|titled|named|like|called|headed|heading)\s+"
    r"(?:the\s+(?:word|label|heading|header|prefix|marker|text)\s+)?"
    f"(?P<sp>{_MARKER_WORD})\\s+(?:x|n|#|\\d+)\\b|:\\s*(?P<sp2>{_MARKER_WORD})\\s+(?:x|n|#|\\d+)\\b"
)


def sections(t: Text) -> Found | None:
    """At least N sections marked "SECTION X" (the marker is kept as written)."""
    count = one_count(t, r"sections?|parts?")
    if count is None or not count.minimum:
        return None
    markers: set[str] = set()
    spans: list[Span] = [count.span]
    for m in _SPLITTER_RE.finditer(t.low):
        g = "sp" if m.group("sp") else "sp2"
        markers.add(t.original(*m.span(g)))
        spans.append(m.span())
    for m in re.finditer(QUOTE, t.low):
        q = re.fullmatch(r"\s*([A-Za-z]+)\s*(?:X|N|#|\d+)\s*", t.quote(m.group()))
        if q:
            markers.add(q.group(1))
            spans.append(m.span())
    if len(markers) != 1:
        return None
    marker = markers.pop()
    one = f"\\b{re.escape(marker.lower())}\\s+(?:x|n|#|\\d+)\\b"  # "part 1, part 2 and part 3"
    spans += _spans(f"{one}(?:(?:\\s*,\\s*(?:and\\s+)?|\\s+and\\s+){one})*", t.low)
    spans += _spans(SQUARE, t.low)
    return Found({"section_spliter": marker, "num_sections": count.n}, spans)


_ORDINAL_WORDS = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
_ORDINALS = {w: i + 1 for i, w in enumerate(_ORDINAL_WORDS.split("|"))}
_NTH_FIRST_WORD_RE = re.compile(
    r"\b(?:the\s+)?(?:paragraph\s+(?:number\s+|no\.?\s*|#)?(?P<n>\d+|"
    + "|".join(NUMBER_WORDS)
    + r")|(?P<ord>"
    + "|".join(_ORDINALS)
    + r"|\d+(?:st|nd|rd|th))\s+(?:paragraph|one))\s+(?:(?:must|should|has\s+to|needs\s+to)\s+)?"
    r"(?:start|begin)s?\s+with\s+(?:the\s+)?"
    f"(?:(?:word\\s+)?(?P<q>{QUOTE})|word\\s+(?P<w>[^\\W\\d_][\\w'-]*))"
)
_BLANK_LINE_RE = re.compile(
    r"\b(?:two|2)\s+(?:new\s*lines?|line\s+breaks?)|\bdouble\s+(?:new\s*lines?|line\s+breaks?)"
    r"|\b(?:a\s+)?(?:blank|empty)\s+lines?|\\n\\n"
)


def paragraph_first_word(t: Text) -> Found | None:
    """N paragraphs split by blank lines, the n-th starting with a given word."""
    firsts = list(_NTH_FIRST_WORD_RE.finditer(t.low))
    blank = _spans(_BLANK_LINE_RE, t.low)
    blank += [
        m.span() for m in re.finditer(QUOTE, t.low) if t.quote(m.group()) in ("\\n\\n", "\n\n")
    ]
    count = one_count(t, r"paragraphs?")
    if len(firsts) != 1 or not blank or count is None or not count.exact:
        return None
    m = firsts[0]
    if m.group("ord"):
        o = m.group("ord")
        nth = _ORDINALS[o] if o in _ORDINALS else int(re.sub(r"\D", "", o))
    else:
        nth = number(m.group("n"))
    word = t.quote(m.group("q")) if m.group("q") else m.group("w")
    word = word.strip().lower()
    if not re.fullmatch(r"[^\W\d_][\w'-]*", word) or not 1 <= nth <= count.n:
        return None
    args = {"num_paragraphs": count.n, "nth_paragraph": nth, "first_word": word}
    return Found(args, [count.span, m.span(), *blank])


# --------------------------------------------------------------------------------------
# Fixed forms: yes/no/maybe, title, postscript.

_YES_NO_MAYBE = frozenset({"My answer is yes.", "My answer is no.", "My answer is maybe."})


def yes_no_maybe(t: Text) -> Found | None:
    """The three quoted options "My answer is yes.", "... no.", "... maybe."."""
    quotes = list(re.finditer(QUOTE, t.low))
    if {t.quote(m.group()).strip() for m in quotes} != _YES_NO_MAYBE:
        return None
    return Found({}, [m.span() for m in quotes])


_DOUBLE_ANGLE = Phrases("double angul?ar brackets?", "double angle brackets?")
_FORMAT_IN = re.compile(
    r"(?:\b(?:in|inside|within|between|(?:wrapped|enclosed|formatted|written)\s+(?:in|as))\s*$)"
)


def title_brackets(t: Text) -> Found | None:
    """Double angular brackets: named, or an example ("like <<title>>", "in << >>")."""
    brackets = _DOUBLE_ANGLE.spans(t)
    examples = []
    for m in re.finditer(ANGLE, t.low):
        generic = _GENERIC_EXAMPLE.fullmatch(t.example(m.group()).lower())
        before = t.low[max(0, m.start() - 30) : m.start()]
        if brackets or is_example(t, m.start()) or (generic and _FORMAT_IN.search(before)):
            examples.append(m.span())
    if not (brackets or examples):
        return None
    return Found({}, brackets + examples)


_POSTSCRIPT_MARK_RE = re.compile(r"\bp\.\s?(?:p\.\s?)?s\b\.?")


def postscript_marker(t: Text) -> Found | None:
    """The one postscript marker named: P.S. or P.P.S (quoted or not)."""
    marks: set[str] = set()
    spans: list[Span] = []
    for m in _POSTSCRIPT_MARK_RE.finditer(t.low):
        marks.add("P.P.S" if "p." in m.group()[2:] else "P.S.")
        spans.append(m.span())
    for m in re.finditer(QUOTE, t.low):
        q = t.quote(m.group()).strip().lower()
        if re.fullmatch(r"p\.\s?(?:p\.\s?)?s\.?:?", q):
            marks.add("P.P.S" if "p." in q[2:] else "P.S.")
            spans.append(m.span())
    if len(marks) != 1:
        return None
    return Found({"postscript_marker": marks.pop()}, spans)


# --------------------------------------------------------------------------------------
# Keywords and letters.

_INCLUDE_VERB = (
    r"\b(?:include|including|use|using|mention|mentioning|contain|containing|incorporate"
    r"|incorporating|feature|featuring|insert|add|have|work)"
)
_WORDS_NOUN = r"(?:key\s*words?|words?|terms?|phrases?)"
# A determiner that makes an unquoted list safe to read: "the words", "keywords", ...
_NAMED_WORDS = (
    r"(?:(?:all|both|each|any)\s+(?:of\s+)?)?(?:the\s+|these\s+|those\s+|this\s+)?(?:following\s+)?"
    r"(?:key\s*words?|(?:the|following|these|those|this)\s+(?:words?|terms?|phrases?)|terms?)"
)
_INCLUDE_RES = (
    re.compile(f"(?P<verb>{_INCLUDE_VERB})\\s+(?P<det>{_NAMED_WORDS}\\s*:?)\\s*(?P<list>{LIST})"),
    re.compile(
        f"(?P<verb>{_INCLUDE_VERB})\\s+(?P<det>(?:the\\s+)?{_WORDS_NOUN}\\s*:?)?\\s*"
        f"(?P<list>{QUOTED_LIST})"
    ),
    re.compile(
        f"(?P<det>\\b(?:the\\s+)?{_WORDS_NOUN})\\s+(?P<list>{LIST})\\s+(?P<verb>(?:should|must"
        r"|needs?\s+to|has\s+to|have\s+to)\s+(?:appear|be\s+(?:included|used|mentioned|present)))"
    ),
)
_FORBID_VERB = (
    f"(?:{NEG}\\s+(?:to\\s+)?(?:use|say|mention|include|write|utilize|type|contain)"
    r"|\bavoid(?:\s+(?:using|saying|mentioning|writing))?"
    r"|\brefrain\s+from\s+(?:using|saying|mentioning|writing|the\s+use\s+of)"
    r"|\bwithout\s+(?:using|saying|mentioning|writing)|\bexclude|\bexcluding|\bomit)"
)
_FORBID_RES = (
    re.compile(f"(?P<verb>{_FORBID_VERB})\\s+(?P<det>{_NAMED_WORDS}\\s*:?)\\s*(?P<list>{LIST})"),
    re.compile(
        f"(?P<verb>{_FORBID_VERB})\\s+(?P<det>(?:any\\s+(?:of\\s+)?)?(?:the\\s+)?"
        f"{_WORDS_NOUN}\\s*:?)?\\s*(?P<list>{QUOTED_LIST})"
    ),
    re.compile(
        f"(?P<det>\\b(?:the\\s+)?{_WORDS_NOUN})\\s+(?P<list>{LIST})\\s+(?P<verb>(?:must|should"
        r"|may|can|shall)\s*(?:not|never)\s+(?:appear|be\s+(?:used|included|mentioned|present))"
        r"|(?:are|is)\s+(?:forbidden|banned|prohibited|not\s+allowed|off[\s-]limits))"
    ),
)


def keywords_included(t: Text) -> Found | None:
    """Keywords that must appear: "include the keywords X and Y" (not "X or Y")."""
    found = keyword_list(t, _INCLUDE_RES)
    if found is None or found[1]:  # "include X or Y" is a choice, not a list
        return None
    items, _, spans = found
    return Found({"keywords": items}, spans)


def keywords_forbidden(t: Text) -> Found | None:
    """Words that must not appear: "do not use the words A, B", "avoid 'very'"."""
    found = keyword_list(t, _FORBID_RES)
    if found is None:
        return None
    items, _, spans = found
    return Found({"forbidden_words": items}, spans)


_KEYWORD_RE = re.compile(  # an unquoted phrase has no clear end, an unquoted word has
    f"\\b(?:the\\s+)?(?:(?:key\\s*word|word|term|phrase)\\s+(?P<q>{QUOTE})"
    f"|(?:key\\s*word|word|term)\\s+(?P<w>[^\\W\\d_][\\w'-]*))|(?<!\\bletter\\s)(?P<bare>{QUOTE})"
)


def keyword_count(t: Text) -> Found | None:
    """One keyword and how often it appears: "use 'banana' at least 3 times"."""
    refs = list(_KEYWORD_RE.finditer(t.low))
    count = one_count(t, TIMES, adverbs=True)
    if len(refs) != 1 or count is None:
        return None
    m = refs[0]
    if m.group("w"):
        keyword = t.original(*m.span("w"))
    else:
        keyword = t.quote(m.group("q") or m.group("bare")).strip()
    bound = count.bound()
    if bound is None or not keyword:
        return None
    return Found(
        {"keyword": keyword, "relation": bound[0], "frequency": bound[1]}, [m.span(), count.span]
    )


_LETTER_RE = re.compile(f"\\bletter\\s+(?:(?P<q>{QUOTE})|(?P<c>[a-z])\\b(?![.'-]\\w))")
_NO_LETTER_RE = re.compile(
    f"(?:{NEG}\\s+(?:to\\s+)?(?:use|include|write|type)|\\bavoid(?:\\s+using)?"
    r"|\bwithout(?:\s+using)?)\s+(?:the\s+|any\s+)?(?=letter\b)"
    f"|(?<=\\bletter\\s)(?:{QUOTE}|[a-z])\\s+(?:must|should|may|can)\\s*(?:not|never)\\s+"
    r"(?:appear|be\s+used|occur)"
)


def letter_count(t: Text) -> Found | None:
    """One letter and how often it appears; "do not use the letter e" is none."""
    letters: set[str] = set()
    spans: list[Span] = []
    for m in _LETTER_RE.finditer(t.low):
        c = t.quote(m.group("q")).strip().lower() if m.group("q") else m.group("c")
        if not re.fullmatch(r"[a-z]", c):
            return None
        letters.add(c)
        spans.append(m.span())
    if len(letters) != 1:
        return None
    count = one_count(t, TIMES, adverbs=True)
    if count is not None:
        bound = count.bound()
        spans.append(count.span)
    else:
        absent = _spans(_NO_LETTER_RE, t.low)
        bound = ("less than", 1) if absent else None
        spans += absent
    if bound is None:
        return None
    args = {"letter": letters.pop(), "let_relation": bound[0], "let_frequency": bound[1]}
    return Found(args, spans)


# --------------------------------------------------------------------------------------
# Language.

# Languages that langdetect (IFEval's detector) reports by a plain ISO 639-1 code.
# Chinese is left out: langdetect reports "zh-cn" or "zh-tw", never "zh".
LANGUAGES = {
    "english": "en", "spanish": "es", "portuguese": "pt", "arabic": "ar", "hindi": "hi",
    "french": "fr", "russian": "ru", "german": "de", "japanese": "ja", "italian": "it",
    "bengali": "bn", "bangla": "bn", "ukrainian": "uk", "thai": "th", "urdu": "ur",
    "tamil": "ta", "telugu": "te", "bulgarian": "bg", "korean": "ko", "polish": "pl",
    "hebrew": "he", "persian": "fa", "farsi": "fa", "vietnamese": "vi", "nepali": "ne",
    "swahili": "sw", "kannada": "kn", "marathi": "mr", "gujarati": "gu", "punjabi": "pa",
    "malayalam": "ml", "finnish": "fi", "dutch": "nl", "swedish": "sv", "danish": "da",
    "norwegian": "no", "greek": "el", "turkish": "tr", "czech": "cs", "romanian": "ro",
    "hungarian": "hu", "indonesian": "id", "croatian": "hr", "catalan": "ca", "slovak": "sk",
    "slovenian": "sl", "estonian": "et", "latvian": "lv", "lithuanian": "lt",
    "macedonian": "mk", "albanian": "sq", "afrikaans": "af", "welsh": "cy", "somali": "so",
    "tagalog": "tl", "filipino": "tl",
}  # fmt: skip
_LANGUAGE_NAME = "|".join(sorted(LANGUAGES, key=len, reverse=True))
_LANGUAGE_RE = re.compile(
    f"(?P<pre>\\b(?:in|into|using)\\s+(?:the\\s+)?)?\\b(?P<lang>{_LANGUAGE_NAME})\\b"
    r"(?P<post>(?:\s+language)?(?:\s+only)?)"
)
NO_OTHER_LANGUAGE = Phrases(
    raw=[
        r"\b(?:and\s+)?(?:no|not\s+(?:in\s+)?any)\s+other\s+languages?(?:\s+(?:is|are)\s+"
        r"(?:allowed|permitted|accepted))?"
    ]
)


def language(t: Text) -> Found | None:
    """One language, named as the response's: "in French", "German only"."""
    found = list(_LANGUAGE_RE.finditer(t.low))
    codes = {LANGUAGES[m.group("lang")] for m in found}
    if len(codes) != 1 or not all(m.group("pre") or m.group("post") for m in found):
        return None
    return Found({"language": codes.pop()}, [m.span() for m in found])
