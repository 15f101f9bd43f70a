"""The requirement compiler: a plain-language requirement in, an exact code check out.

``compile_requirement("Do not use any commas")`` gives
``CompiledCheck("punctuation:no_comma", {}, rule="no_commas")``. When the meaning is
not clear-cut it gives ``None`` and the requirement stays with the LLM judge. The
checks are the IFEval instruction ids, with IFEval's keyword arguments.

How a requirement is read
-------------------------
1. Quoted text ("...", '...', “...”, ‘...’, «...», `...`) and examples such as
   ``[address]``, ``<<title>>`` and ``*highlighted*`` are set aside with their exact
   text, so their words can neither trigger a rule nor go unexplained.
2. Each rule looks for its own structure (a regex, the number parser, the quote
   table) and *claims* the words it accounts for.
3. The residue guard: a rule's match stands only if every word it did not claim is
   harmless filler ("your", "response", "must", "please", ...). Negations, scopes,
   hedges and further constraints are never filler, so "do not avoid commas",
   "lowercase the first word", "no commas unless needed" and "no commas and be
   concise" all go to the judge.
4. Exactly one check must stand. Two different ones mean the requirement is
   ambiguous or holds two constraints, and the answer is ``None``; a requirement is
   not split into parts.

Counts follow IFEval, which knows only "at least N" and "less than N": "at most 50
words" becomes less than 51 and "more than 299" at least 300. An exact count ("exactly
50 words", "just 50 words", "50 words") or an approximate one ("about 50 words") cannot
be expressed and goes to the judge. Checks that are exact in IFEval (bullet points,
paragraphs) take bare and exact counts; checks that count a minimum (placeholders,
highlighted sections, sections) take "at least N" and a bare N, as IFEval phrases them.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..task import Requirement
from .base import registered_validators

__all__ = ["CompiledCheck", "compile_requirement", "compile_requirements"]


@dataclass(frozen=True)
class CompiledCheck:
    """A deterministic check that says the same as a plain-language requirement."""

    validator: str
    """An IFEval instruction id, e.g. ``"punctuation:no_comma"``."""
    args: dict[str, Any]
    """IFEval's keyword arguments for that instruction, e.g. ``{"num_words": 300, ...}``."""
    rule: str
    """Which compiler rule matched (for the trace and for debugging)."""


def compile_requirement(description: str) -> CompiledCheck | None:
    """The code check that `description` asks for, or ``None`` if that is not clear."""
    if not description.strip() or len(description) > _MAX_CHARS:
        return None
    text = _Text(description)
    found: list[CompiledCheck] = []
    for rule in _RULES:
        match = rule(text)
        if match is not None and _explains(text, match):
            found.append(match.check)
    if not found:
        return None
    first = found[0]
    if any((c.validator, c.args) != (first.validator, first.args) for c in found[1:]):
        return None
    return first


def compile_requirements(reqs: list[Requirement], *, enabled: bool = True) -> list[Requirement]:
    """Attach a code check to each requirement that has none and compiles with confidence.

    Compiled requirements are copies; the input list and its requirements are not
    changed. A requirement that already names a validator, or carries
    ``validator_args`` of its own, is left as it is, and so is one whose check is not
    registered (the judge then decides it). With ``enabled=False`` nothing is compiled.
    """
    if not enabled:
        return list(reqs)
    _load_builtin_checks()
    known = registered_validators()
    out: list[Requirement] = []
    for req in reqs:
        check = None
        if req.validator is None and not req.validator_args:
            check = compile_requirement(req.description)
        if check is None or check.validator not in known:
            out.append(req)
            continue
        out.append(
            req.model_copy(
                update={"validator": check.validator, "validator_args": dict(check.args)}
            )
        )
    return out


def _load_builtin_checks() -> None:
    """Register the IFEval checks if their package is installed alongside this one."""
    name = f"{__package__}.ifeval"
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise


# --------------------------------------------------------------------------------------
# Reading the text: quotes and examples set aside, then lower-cased for matching.

_MAX_CHARS = 2_000
_OPEN, _CLOSE = "\ue000", "\ue001"
"""Private-use characters around a set-aside piece: ``\\ue000q3\\ue001`` is quote 3."""

_Q = f"{_OPEN}q\\d+{_CLOSE}"  # a quoted text
_SQUARE = f"{_OPEN}b\\d+{_CLOSE}"  # an example in square brackets: [address]
_ANGLE = f"{_OPEN}a\\d+{_CLOSE}"  # an example in double angular brackets: <<title>>
_STARRED = f"{_OPEN}h\\d+{_CLOSE}"  # an example between asterisks: *highlighted*

_QUOTE_RE = re.compile(
    r'"(?P<c1>[^"\n]{1,300})"'
    r"|“(?P<c2>[^”\n]{1,300})”"
    r"|‘(?P<c3>[^’\n]{1,300})’"
    r"|«(?P<c4>[^»\n]{1,300})»"
    r"|(?<!`)`(?P<c5>[^`\n]{1,300})`(?!`)"
    r"|(?<![\w'])'(?P<c6>[^\s'](?:[^\n]{0,298}?[^\s])??)'(?!\w)"
)
_EXAMPLE_RES = (
    ("a", re.compile(r"<<([^<>\n]{0,80})>>")),
    ("b", re.compile(f"\\[([^\\[\\]\\n{_OPEN}{_CLOSE}]{{0,80}})\\]")),
    ("h", re.compile(r"(?<![*\w])\*{1,2}([^\s*][^*\n]{0,60}?)(?<!\s)\*{1,2}(?![*\w])")),
)


class _Text:
    """A requirement prepared for the rules.

    `low` is what the rules match (lower case, quotes and examples replaced by
    sentinels); `work` has the same positions and the original case, for the text a
    check must keep (keywords, phrases, section markers).
    """

    def __init__(self, description: str) -> None:
        s = description.replace("\u00a0", " ").replace("\u2013", "-").replace("\u2014", " - ")
        s = re.sub(r"(?<=\w)’(?=\w)", "'", s)
        s = re.sub(r"\b(?:do\s+not|don't|never)\s+forget\s+to\b", "remember to", s, flags=re.I)
        self.quotes: list[str] = []
        self.examples: list[str] = []
        s = _QUOTE_RE.sub(self._set_aside_quote, s)
        for kind, regex in _EXAMPLE_RES:
            s = regex.sub(functools.partial(self._set_aside_example, kind), s)
        low = s.lower()
        self.low = low
        self.work = s if len(low) == len(s) else low

    def _set_aside_quote(self, m: re.Match[str]) -> str:
        content = next(g for g in m.groups() if g is not None)
        self.quotes.append(content)
        return f"{_OPEN}q{len(self.quotes) - 1}{_CLOSE}"

    def _set_aside_example(self, kind: str, m: re.Match[str]) -> str:
        self.examples.append(m.group(1))
        return f"{_OPEN}{kind}{len(self.examples) - 1}{_CLOSE}"

    def quote(self, sentinel: str) -> str:
        """The exact text of a quote, from its sentinel."""
        return self.quotes[int(sentinel[2:-1])]

    def original(self, start: int, end: int) -> str:
        return self.work[start:end]


# --------------------------------------------------------------------------------------
# The residue guard.

Span = tuple[int, int]


@dataclass(frozen=True)
class _Match:
    check: CompiledCheck
    spans: tuple[Span, ...]
    vocab: frozenset[str] = frozenset()
    """Words this rule may leave anywhere in the text (beyond the shared filler)."""


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


_FILLER = _words(
    """
    a an the this that it its it's your you i me my we our there
    please kindly also want
    must should shall will would need needs to have has be is are been being can could
    contain contains containing
    make sure ensure remember always
    answer response reply output text message content writing everything
    essay story poem article post email letter
    entire entirely whole full fully complete completely overall total all
    write written respond give provide produce generate return compose create keep use using
    in with of for as by to on throughout
    important importantly required requirement mandatory strictly note rule constraint instruction
    """
)
"""Words that never change what a requirement asks. No negation, scope, hedge or count."""

_FILLER_PHRASES_RE = re.compile(
    r"\bat\s+all\b|\bwhatsoever\b|\bin\s+total\b|\b(?:with\s+)?no\s+exceptions?\b"
)
_TOKEN_RE = re.compile(f"{_OPEN}[a-z]\\d+{_CLOSE}|[^\\W_]+(?:['-][^\\W_]+)*")

_EXAMPLE_WORDS = _words("e g i eg ie for example instance such as like")


def _explains(t: _Text, m: _Match) -> bool:
    """Whether `m` accounts for the whole requirement: nothing but filler is left over."""
    chars = list(t.low)
    for a, b in m.spans:
        chars[a:b] = " " * (b - a)
    rest = _FILLER_PHRASES_RE.sub(" ", "".join(chars))
    allowed = _FILLER | m.vocab
    return all(tok in allowed for tok in _TOKEN_RE.findall(rest))


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
_NUM = f"(?:(?<![\\w.,])\\d{{1,3}}(?:,\\d{{3}})+(?!\\d)|(?<![\\w.,])\\d+|\\b{_WORD_NUMBER}\\b)"

_NUMBER_WORDS = {w: i for i, w in enumerate(f"zero|{_ONES}|{_TEENS}".split("|"))} | {
    w: 10 * (i + 2) for i, w in enumerate(_TENS.split("|"))
}


def _number(text: str) -> int:
    """The value of a number matched by ``_NUM`` (or "once", "twice", "thrice")."""
    s = text.strip().lower()
    if s[0].isdigit():
        return int(s.replace(",", ""))
    if s in ("once", "twice", "thrice"):
        return {"once": 1, "twice": 2, "thrice": 3}[s]
    total = current = 0
    for w in re.findall(r"[a-z]+", s):
        if w in _NUMBER_WORDS:
            current += _NUMBER_WORDS[w]
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
# Counts: a number with its unit and relation ("no more than 50 words", "300+ words",
# "5 sentences or fewer", "at least twice").

_NEG = (
    r"\b(?:do\s+not|don't|does\s+not|doesn't|must\s+not|mustn't|should\s+not|shouldn't"
    r"|cannot|can't|can\s+not|may\s+not|will\s+not|won't|never|not)"
)
_NEG_VERB = (
    f"{_NEG}(?:\\s+(?:to\\s+)?(?:be\\s+used|be\\s+mentioned|use|write|have|contain|include"
    r"|give|produce|be|go|run|appear|occur|make\s+it))?"
)
_RESPONSE_NP = (
    r"(?:your|the)\s+(?:entire\s+|whole\s+)?"
    r"(?:response|answer|reply|output|text|essay|story|poem|article|email|letter|message)"
)
# (kind, regex) in the order they are tried; "neg" is a negation this parser cannot read.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("le", f"{_NEG}\\s+(?:to\\s+)?(?:exceed(?:ing)?|go\\s+(?:over|beyond|above)|surpass)"),
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
        f"|limit(?:ed)?(?:\\s+(?:it|yourself|{_RESPONSE_NP}))?\\s+to",
    ),
    ("gt", r"(?:more|greater|longer)\s+than|in\s+excess\s+of|over|above|exceeding|exceed"),
    ("lt", r"(?:less|fewer|shorter)\s+than|under|below"),
    ("eq", r"exactly|precisely|just|only|a\s+total\s+of"),
    ("approx", r"about|around|approximately|approx\.?|roughly|nearly|almost|close\s+to|some|~"),
    ("neg", _NEG),
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
class _Count:
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


@functools.cache
def _count_re(unit: str, adverbs: bool) -> re.Pattern[str]:
    number = f"(?P<num>{_NUM})(?P<plus>\\s*\\+|[\\s-]+plus\\b)?[\\s-]*(?P<unit>{unit})\\b"
    if adverbs:  # "twice" is a number and its unit at once
        number = f"(?:{number}|\\b(?P<adv>once|twice|thrice)\\b)"
    return re.compile(f"(?:(?:{_PREFIX})\\s*)?{number}(?:[\\s,]+(?:{_SUFFIX})(?!\\w))?")


def _counts(t: _Text, unit: str, *, adverbs: bool = False) -> list[_Count]:
    """Every count of `unit` in the text ("at least 3 sentences", "twice", ...)."""
    out = []
    for m in _count_re(unit, adverbs).finditer(t.low):
        n = _number(m.groupdict().get("adv") or m.group("num"))
        kinds = {_PREFIXES[i][0] for i in range(len(_PREFIXES)) if m.group(f"pre{i}")}
        kinds |= {_SUFFIXES[i][0] for i in range(len(_SUFFIXES)) if m.group(f"post{i}")}
        if m.group("plus"):
            kinds.add("ge")
        kind = kinds.pop() if len(kinds) == 1 else ("bare" if not kinds else "conflict")
        out.append(_Count(kind, n, m.span()))
    return out


def _one_count(t: _Text, unit: str, *, adverbs: bool = False) -> _Count | None:
    found = _counts(t, unit, adverbs=adverbs)
    return found[0] if len(found) == 1 else None


def _count_and_subject(t: _Text, unit: str, subject: str) -> _Count | None:
    """The one count of `unit`, either "at most 50 words" or subject first: "the word
    count must not exceed 200". A bare number after a limit ("word limit: 200") is a
    maximum."""
    found = _counts(t, unit)
    regex = re.compile(
        f"\\b(?P<subj>{subject})(?:\\s*(?::|of|is|should|must|has\\s+to|needs\\s+to|be|stay"
        f"|remain|kept))*\\s*(?:(?:{_PREFIX})\\s*)?(?P<num>{_NUM})(?:\\s+(?:{unit})\\b)?"
    )
    for m in regex.finditer(t.low):
        if any(c.span[0] <= m.start("num") < c.span[1] for c in found):
            continue
        kinds = {_PREFIXES[i][0] for i in range(len(_PREFIXES)) if m.group(f"pre{i}")}
        kind = kinds.pop() if kinds else ("le" if "limit" in m.group("subj") else "bare")
        found.append(_Count(kind, _number(m.group("num")), m.span()))
    return found[0] if len(found) == 1 else None


# --------------------------------------------------------------------------------------
# Lists of keywords: quoted, or single unquoted words ("the keywords rock and roll").

_LIST_STOP = (
    "and|or|nor|in|at|to|for|within|throughout|your|the|a|an|when|while|if|so|as|but"
    "|because|somewhere|anywhere|each|every|least|most|more|less|than|times|once|twice"
    "|should|must|also|please|response|answer|reply|output|text|any|all|of|with|without"
    "|from|this|that|it|is|are|be|like|such|e|i"
)
_ITEM_WORD = f"\\b(?!(?:{_LIST_STOP})\\b)[^\\W\\d_][\\w'-]*(?<!ly)\\b"
_SEP = r"(?:\s*,\s*(?:and\s+|or\s+|nor\s+)?|\s+(?:and|or|nor)\s+|\s*[&;/]\s*)"
_LIST = f"\\[?\\s*(?:{_Q}|{_ITEM_WORD})(?:{_SEP}(?:{_Q}|{_ITEM_WORD}))*\\s*\\]?"
_QUOTED_LIST = f"\\[?\\s*{_Q}(?:{_SEP}{_Q})*\\s*\\]?"
_LIST_ITEM_RE = re.compile(f"{_Q}|{_ITEM_WORD}")
_WORDS_NOUN = r"(?:key\s*words?|words?|terms?|phrases?)"
# A determiner that makes an unquoted list safe to read: "the words", "keywords", ...
_NAMED_WORDS = (
    r"(?:(?:all|both|each|any)\s+(?:of\s+)?)?(?:the\s+)?(?:following\s+)?"
    r"(?:key\s*words?|(?:the|following)\s+(?:words?|terms?|phrases?)|terms?)"
)


def _list_items(t: _Text, span: Span) -> tuple[list[str], bool]:
    """The items of a list and whether it is joined by "or"/"nor"."""
    a, b = span
    items = []
    for m in _LIST_ITEM_RE.finditer(t.low, a, b):
        tok = m.group()
        items.append(t.quote(tok).strip() if tok.startswith(_OPEN) else t.original(*m.span()))
    bare = re.sub(_Q, " ", t.low[a:b])
    return items, bool(re.search(r"\b(?:or|nor)\b", bare))


# --------------------------------------------------------------------------------------
# The rules. Each returns what it matched and the words it claims, or None.

_Rule = Callable[[_Text], _Match | None]
_RULES: list[_Rule] = []


def _rule(fn: _Rule) -> _Rule:
    _RULES.append(fn)
    return fn


def _found(
    validator: str,
    args: dict[str, Any],
    rule: str,
    spans: Iterable[Span],
    vocab: frozenset[str] = frozenset(),
) -> _Match:
    return _Match(CompiledCheck(validator, args, rule), tuple(spans), vocab)


def _spans(regex: re.Pattern[str], s: str) -> list[Span]:
    return [m.span() for m in regex.finditer(s)]


def _is_example(t: _Text, start: int) -> bool:
    """Whether the set-aside piece at `start` is introduced as an example ("such as")."""
    return bool(
        re.search(
            r"(?:\be\.?\s?g\.?|\bi\.?\s?e\.?|\bfor\s+(?:example|instance)|\bsuch\s+as|\blike"
            r"|\bexample(?:\s+of\s+(?:a|an)\s+\w+)?(?:\s+is)?)[\s,:(]*$",
            t.low[max(0, start - 40) : start],
        )
    )


# -- punctuation ------------------------------------------------------------------------

_NO_COMMA_RE = re.compile(
    f"(?:{_NEG}(?:\\s+(?:to\\s+)?(?:use|include|put|add|write|have|contain|type|insert))?"
    r"|\bno|\bzero|\bwithout(?:\s+using)?|\bavoid(?:\s+using)?|\bomit|\bfree\s+(?:of|from)"
    r"|\brefrain\s+from(?:\s+using|\s+(?:the\s+)?use\s+of)?)"
    r"(?:\s+(?:any|a\s+single|a|even\s+one|single|the\s+use\s+of|use\s+of|of))*\s+commas?\b"
    r"|\bcommas?\s+(?:are|is)\s+(?:not\s+(?:allowed|permitted)|forbidden|prohibited|banned)"
    r"|\bcomma[\s-]free\b"
)


@_rule
def _no_commas(t: _Text) -> _Match | None:
    """Reads "Do not use any commas", "no commas", "avoid commas", "refrain from commas"."""
    spans = _spans(_NO_COMMA_RE, t.low)
    if not spans:
        return None
    return _found("punctuation:no_comma", {}, "no_commas", spans, _words("anywhere"))


# -- letter case ------------------------------------------------------------------------

_CASE_ONLY = r"(?:\b(?:only|exclusively|entirely|solely|strictly)\s+)?(?:\bin\s+)?(?:\ball[\s-]+)?"
_ENGLISH_RE = re.compile(r"(?:\band\s+)?\b(?:in\s+)?english(?:\s+language)?\b(?:\s*,?\s*and\b)?")
_LOWERCASE_RE = re.compile(
    _CASE_ONLY + r"\blower[\s-]?case(?:d)?\b(?:\s+(?:letters?|characters?|text|only|format))*"
)
_NO_CAPITALS_RE = re.compile(
    f"(?:\\bno|\\bwithout(?:\\s+(?:using|any))?|{_NEG}\\s+(?:to\\s+)?(?:use|include|contain"
    r"|have)(?:\s+any)?|\bavoid(?:\s+using)?(?:\s+any)?)\s+(?:capital|capitalized|upper[\s-]?case)"
    r"\s+(?:letters?|characters?)(?:\s+(?:are|is)\s+(?:allowed|permitted|used))?"
)
_UPPERCASE_RE = re.compile(
    _CASE_ONLY + r"(?:\bcapital\s+letters?|\bcapitalized\s+letters|\bcapitals\b|\bcaps\b"
    r"|\bupper[\s-]?case(?:d)?\b(?:\s+(?:letters?|characters?))?|\bblock\s+(?:capitals|letters))"
    r"(?:\s+only)?"
)


@_rule
def _all_lowercase(t: _Text) -> _Match | None:
    """Reads "Your whole reply must be lowercase", "use only lowercase letters"."""
    spans = _spans(_LOWERCASE_RE, t.low) + _spans(_NO_CAPITALS_RE, t.low)
    if not spans:
        return None
    spans += _spans(_ENGLISH_RE, t.low)
    return _found("change_case:english_lowercase", {}, "all_lowercase", spans)


@_rule
def _all_capitals(t: _Text) -> _Match | None:
    """Reads "All in capital letters", "respond in ALL CAPS", "uppercase only".

    A bare "use capital letters" may mean proper capitalisation, so the phrase needs a
    word that makes it global: all, only, entirely, in, block.
    """
    spans = [
        m.span()
        for m in _UPPERCASE_RE.finditer(t.low)
        if re.search(r"\b(?:all|only|exclusively|entirely|solely|strictly|in|block)\b", m.group())
    ]
    if not spans:
        return None
    spans += _spans(_ENGLISH_RE, t.low)
    return _found("change_case:english_capital", {}, "all_capitals", spans)


_CAPS_ADJ = (
    r"(?:all[\s-]*caps|all[\s-]+capitals?|all[\s-]+capital(?:\s+letters?)?|all[\s-]+upper[\s-]?case"
    r"|(?:fully|entirely|completely)[\s-]+(?:capitalized|upper[\s-]?case)|upper[\s-]?case)"
)
_CAPS_TAIL = (
    r"(?:with|in|written\s+in|using|typed\s+in|that\s+are(?:\s+in)?|that\s+use)\s+(?:all\s+)?"
    r"(?:capital\s+letters|capitals|caps|upper[\s-]?case(?:\s+letters)?)"
)
_CAPS_WORDS_RE = re.compile(f"\\b(?:{_CAPS_ADJ}\\s+words?|words?\\s+{_CAPS_TAIL})\\b")
_TIMES = r"times|occurrences?|instances?|mentions?|uses"
_FREQUENCY_VOCAB = _words(
    "appear appears appearing occur occurs show up be used mentioned repeated include mention "
    "repeat say contain feature"
)


@_rule
def _capital_word_count(t: _Text) -> _Match | None:
    """Reads "Use at least 3 words in all caps", "all-caps words: fewer than 4 times"."""
    count = _one_count(t, f"{_CAPS_ADJ}\\s+words?|words?\\s+{_CAPS_TAIL}")
    spans: list[Span] = []
    if count is None:
        phrases = _spans(_CAPS_WORDS_RE, t.low)
        count = _one_count(t, _TIMES, adverbs=True)
        if not phrases or count is None:
            return None
        spans = phrases
    bound = count.bound()
    if bound is None:
        return None
    args = {"capital_relation": bound[0], "capital_frequency": bound[1]}
    return _found(
        "change_case:capital_word_frequency",
        args,
        "capital_word_count",
        [*spans, count.span],
        _FREQUENCY_VOCAB,
    )


# -- start and end ----------------------------------------------------------------------

_END_VERB = (
    r"\b(?:end|ends|ending|finish|finishes|finishing|conclude|concludes|concluding|close"
    r"|closes|closing|wrap\s+up)\b"
)
_PHRASE_NOUN = (
    r"(?:(?:the|this|that)\s+)?(?:(?:exact|following|specific|precise|same)\s+)*"
    r"(?:phrase|sentence|words?|line|question|statement|text)"
)
_END_QUOTED_RE = re.compile(
    f"(?P<verb>{_END_VERB})(?:\\s+[\\w']+){{0,4}}?\\s+(?P<with>(?:with|by\\s+(?:saying|writing))"
    f"(?:\\s+{_PHRASE_NOUN})?\\s*:?)\\s*(?P<phrase>{_Q})"
)
_END_BARE_RE = re.compile(  # unquoted, only when it ends in "?" or "!"
    f"(?P<verb>{_END_VERB})(?:\\s+[\\w']+){{0,4}}?\\s+(?P<with>with\\s+{_PHRASE_NOUN}\\s*:?)\\s+"
    f"(?P<raw>[^\\n{_OPEN}]{{1,100}}?[?!])(?=\\s*(?:[.\\n]|$))"
)
_LAST_WORDS_RE = re.compile(
    r"\b(?P<verb>(?:last|final|closing|ending)\s+(?:words?|sentence|line|phrase)\s+"
    f"(?:(?:should|must|has\\s+to|needs\\s+to)\\s+)?(?:be|read|say)\\s*:?)\\s*(?P<phrase>{_Q})"
)
_NOTHING_AFTER_RE = re.compile(
    r"\b(?:no|nothing)\s+(?:other\s+|more\s+|else\s+|further\s+)?(?:words?|text|characters?"
    r"|content)?\s*(?:else\s+)?(?:should|may|must|can|shall|is\s+allowed\s+to)?\s*(?:follow"
    r"|come\s+after|be\s+added\s+after|appear\s+after|after)(?:\s+(?:it|this|that|the)"
    r"(?:\s+(?:phrase|sentence))?)?"
)


@_rule
def _ends_with_phrase(t: _Text) -> _Match | None:
    """Reads "End with the phrase 'Any questions?'", "finish your response with \"...\""."""
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
    spans += _spans(_NOTHING_AFTER_RE, t.low)
    return _found("startend:end_checker", {"end_phrase": phrase.strip()}, "ends_with_phrase", spans)


_DOUBLE_QUOTES_RE = re.compile(r"\b(?:double\s+)?(?:quotation\s+marks?|quote\s+marks?|quotes)\b")
_WRAP_RE = re.compile(
    r"\b(?:wrap(?:ped|ping)?|enclos(?:e|ed|ing)|surround(?:ed|ing)?|encas(?:e|ed)|put|place[sd]?"
    r"|inside|within|between|around)\b"
)


@_rule
def _wrapped_in_double_quotes(t: _Text) -> _Match | None:
    """Reads "Wrap your entire response in double quotation marks"."""
    quotes = _spans(_DOUBLE_QUOTES_RE, t.low)
    wraps = _spans(_WRAP_RE, t.low)
    in_quotes = [s for s in quotes if re.search(r"\bin\s+(?:a\s+pair\s+of\s+)?$", t.low[: s[0]])]
    if len(quotes) != 1 or not (wraps or in_quotes):
        return None
    return _found(
        "startend:quotation", {}, "wrapped_in_double_quotes", quotes + wraps, _words("pair")
    )


# -- formats ----------------------------------------------------------------------------

_JSON_VOCAB = _words(
    "wrap wrapped format formatted formatting valid object array only markdown ticks "
    "backticks code block fence fenced such as can structured parseable parsable pure raw "
    "proper properly well-formed enclose enclosed encode encoded document"
)


@_rule
def _json_output(t: _Text) -> _Match | None:
    """Reads "Wrap the entire output in JSON", "format your answer as valid JSON"."""
    spans = _spans(re.compile(r"\bjson\b"), t.low)
    if not spans:
        return None
    return _found("detectable_format:json_format", {}, "json_output", spans, _JSON_VOCAB)


_TITLE_VOCAB = (
    _words(
        "title titled contain contains include includes add give has with wrapped wrap enclosed "
        "enclose inside within surrounded between put placed place double angular angle brackets "
        "bracket markers"
    )
    | _EXAMPLE_WORDS
)


_DOUBLE_ANGLE_RE = re.compile(r"\bdouble\s+angul?ar\s+brackets?\b|\bdouble\s+angle\s+brackets?\b")


@_rule
def _title_in_angle_brackets(t: _Text) -> _Match | None:
    """Reads "A title wrapped in double angular brackets, like <<title>>"."""
    titles = _spans(re.compile(r"\btitle\b"), t.low)
    brackets = _spans(_DOUBLE_ANGLE_RE, t.low)
    examples = [s for s in _spans(re.compile(_ANGLE), t.low) if _is_example(t, s[0]) or brackets]
    if not titles or not (brackets or examples):
        return None
    return _found(
        "detectable_format:title",
        {},
        "title_in_angle_brackets",
        titles + brackets + examples,
        _TITLE_VOCAB,
    )


_BULLET_UNIT = (
    r"(?:markdown\s+)?(?:bullet(?:ed)?[\s-]*points?|bullets|bullet(?:ed)?\s+(?:list\s+)?items)"
)
_BULLET_LIST_RE = re.compile(
    r"\bbullet(?:ed)?\s+list\s+(?:of|with|containing)\s+(?:exactly\s+)?"
    f"(?P<num>{_NUM})\\s+(?:items|points|entries|bullets)\\b"
)
_BULLET_VOCAB = (
    _words(
        "bullet bullets point points bulleted list markdown contain include have format items item "
        "this is"
    )
    | _EXAMPLE_WORDS
)


@_rule
def _bullet_count(t: _Text) -> _Match | None:
    """Reads "Exactly 3 bullet points", "four markdown bullets", "a bulleted list of 5 items"."""
    count = _one_count(t, _BULLET_UNIT)
    lists = list(_BULLET_LIST_RE.finditer(t.low))
    if count is not None and not lists:
        if not count.exact:
            return None
        n, span = count.n, count.span
    elif count is None and len(lists) == 1:
        n, span = _number(lists[0].group("num")), lists[0].span()
    else:
        return None
    if n < 1:
        return None
    example_lines = _spans(re.compile(r"(?m)^[ \t]*[*-][ \t]+.*$"), t.low)
    more = _spans(re.compile(_BULLET_UNIT), t.low)
    return _found(
        "detectable_format:number_bullet_lists",
        {"num_bullets": n},
        "bullet_count",
        [span, *example_lines, *more],
        _BULLET_VOCAB,
    )


_PLACEHOLDER_VOCAB = (
    _words(
        "placeholder placeholders contain include have add insert represented denoted marked shown "
        "indicated inside within enclosed wrapped square brackets bracket an is"
    )
    | _EXAMPLE_WORDS
)


@_rule
def _placeholder_count(t: _Text) -> _Match | None:
    """Reads "At least 2 placeholders in square brackets, like [address]"."""
    count = _one_count(t, r"placeholders?")
    if count is None:
        return None
    square = _spans(re.compile(r"\bsquare\s+brackets?\b"), t.low)
    examples = [s for s in _spans(re.compile(_SQUARE), t.low) if _is_example(t, s[0]) or square]
    if not (square or examples) or not (count.kind in ("ge", "bare") and count.n >= 1):
        return None
    more = _spans(re.compile(r"\bplaceholders?\b"), t.low)
    return _found(
        "detectable_content:number_placeholders",
        {"num_placeholders": count.n},
        "placeholder_count",
        [count.span, *square, *examples, *more],
        _PLACEHOLDER_VOCAB,
    )


_HIGHLIGHT_UNIT = (
    r"(?:highlighted\s+|key\s+|important\s+)?(?:sections?|parts?|phrases?|passages?|portions?"
    r"|segments?|points?|words?|sentences?|spans?)"
)
_HIGHLIGHT_VOCAB = (
    _words(
        "highlight highlighted highlighting highlights markdown asterisks asterisk bold italic "
        "italics text format formatting include"
    )
    | _EXAMPLE_WORDS
)


@_rule
def _highlight_count(t: _Text) -> _Match | None:
    """Reads "Highlight at least 3 sections with markdown, i.e. *highlighted section*"."""
    if not re.search(r"\bhighlight", t.low):
        return None
    count = _one_count(t, _HIGHLIGHT_UNIT)
    if count is None or count.kind not in ("ge", "bare") or count.n < 1:
        return None
    examples = [s for s in _spans(re.compile(_STARRED), t.low) if _is_example(t, s[0])]
    return _found(
        "detectable_format:number_highlighted_sections",
        {"num_highlights": count.n},
        "highlight_count",
        [count.span, *examples],
        _HIGHLIGHT_VOCAB,
    )


_MARKER_WORD = r"(?!(?:the|a|an|at|least|most|than|about|only|exactly|just|over|under)\b)[a-z]+"
_SPLITTER_RE = re.compile(
    r"\b(?:with|using|as|by|labell?ed|titled|named|like|called|headed|heading)\s+"
    r"(?:the\s+(?:word|label|heading|header|prefix|marker|text)\s+)?"
    f"(?P<sp>{_MARKER_WORD})\\s+(?:x|n|#|\\d+)\\b|:\\s*(?P<sp2>{_MARKER_WORD})\\s+(?:x|n|#|\\d+)\\b"
)
_SECTIONS_VOCAB = (
    _words(
        "section sections part parts contain include divide divided split into organize organized "
        "structure structured mark marked beginning begin start starting starts begins each every "
        "label labeled labelled x n number numbered heading headings header headers prefix etc "
        "followed where is its index and"
    )
    | _EXAMPLE_WORDS
)


@_rule
def _numbered_sections(t: _Text) -> _Match | None:
    """Reads "4 sections, each starting with SECTION X" (the marker is kept as written)."""
    if re.search(r"\bhighlight", t.low):
        return None
    count = _one_count(t, r"sections?|parts?")
    if count is None or count.kind not in ("ge", "bare") or count.n < 1:
        return None
    markers: set[str] = set()
    spans: list[Span] = [count.span]
    for m in _SPLITTER_RE.finditer(t.low):
        g = "sp" if m.group("sp") else "sp2"
        markers.add(t.original(*m.span(g)))
        spans.append(m.span())
    for m in re.finditer(_Q, t.low):
        q = re.fullmatch(r"\s*([A-Za-z]+)\s*(?:X|N|#|\d+)\s*", t.quote(m.group()))
        if q:
            markers.add(q.group(1))
            spans.append(m.span())
    if len(markers) != 1:
        return None
    marker = markers.pop()
    spans += _spans(re.compile(f"\\b{re.escape(marker.lower())}\\s+(?:x|n|#|\\d+)\\b"), t.low)
    spans += _spans(re.compile(_SQUARE), t.low)
    return _found(
        "detectable_format:multiple_sections",
        {"section_spliter": marker, "num_sections": count.n},
        "numbered_sections",
        spans,
        _SECTIONS_VOCAB,
    )


_DIVIDER_RE = re.compile(r"(?<!\*)\*\*\*(?!\*)")
_PARAGRAPH_VOCAB = _words(
    "paragraph paragraphs separated separate separating divided divide split delimited "
    "markdown divider dividers separator separators between each other are horizontal rule "
    "rules symbol symbols from contain include"
)


@_rule
def _paragraphs_with_dividers(t: _Text) -> _Match | None:
    """Reads "4 paragraphs separated by ***" (IFEval splits paragraphs at *** only)."""
    if not _DIVIDER_RE.search(t.low):
        return None
    count = _one_count(t, r"paragraphs?")
    if count is None or not count.exact or count.n < 1:
        return None
    return _found(
        "length_constraints:number_paragraphs",
        {"num_paragraphs": count.n},
        "paragraphs_with_dividers",
        [count.span],
        _PARAGRAPH_VOCAB,
    )


_ORDINAL_WORDS = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
_ORDINALS = {w: i + 1 for i, w in enumerate(_ORDINAL_WORDS.split("|"))}
_NTH_FIRST_WORD_RE = re.compile(
    r"\b(?:the\s+)?(?:paragraph\s+(?:number\s+|no\.?\s*|#)?(?P<n>\d+|"
    + "|".join(_NUMBER_WORDS)
    + r")|(?P<ord>"
    + "|".join(_ORDINALS)
    + r"|\d+(?:st|nd|rd|th))\s+paragraph)\s+(?:(?:must|should|has\s+to|needs\s+to)\s+)?"
    r"(?:start|begin)s?\s+with\s+(?:the\s+)?"
    f"(?:(?:word\\s+)?(?P<q>{_Q})|word\\s+(?P<w>[^\\W\\d_][\\w'-]*))"
)
_BLANK_LINE_RE = re.compile(
    r"\b(?:two|2)\s+(?:new\s*lines?|line\s+breaks?)|\bdouble\s+(?:new\s*lines?|line\s+breaks?)"
    r"|\b(?:a\s+)?(?:blank|empty)\s+lines?|\\n\\n"
)
_FIRST_WORD_VOCAB = _words(
    "paragraph paragraphs and only separated separate by from each other if it was were python "
    "markdown"
)


@_rule
def _paragraph_first_word(t: _Text) -> _Match | None:
    """Reads "2 paragraphs split by a blank line; paragraph 2 must start with 'However'"."""
    firsts = list(_NTH_FIRST_WORD_RE.finditer(t.low))
    blank = _spans(_BLANK_LINE_RE, t.low)
    blank += [m.span() for m in re.finditer(_Q, t.low) if t.quote(m.group()) in ("\\n\\n", "\n\n")]
    count = _one_count(t, r"paragraphs?")
    if len(firsts) != 1 or not blank or count is None or not count.exact:
        return None
    m = firsts[0]
    if m.group("ord"):
        o = m.group("ord")
        nth = _ORDINALS[o] if o in _ORDINALS else int(re.sub(r"\D", "", o))
    else:
        nth = _number(m.group("n"))
    word = t.quote(m.group("q")) if m.group("q") else m.group("w")
    word = word.strip().lower()
    if not re.fullmatch(r"[^\W\d_][\w'-]*", word) or not 1 <= nth <= count.n:
        return None
    return _found(
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": count.n, "nth_paragraph": nth, "first_word": word},
        "paragraph_first_word",
        [count.span, m.span(), *blank],
        _FIRST_WORD_VOCAB,
    )


_TWO_RESPONSES_RE = re.compile(
    r"\b(?:two|2)\s+(?:different\s+|distinct\s+|separate\s+)?(?:responses|answers|replies|versions)\b"
)
_SIX_STARS_RE = re.compile(r"(?<!\*)\*{6}(?!\*)|\b(?:six|6)\s+asterisks?(?:\s+symbols?)?")
_TWO_RESPONSES_VOCAB = _words(
    "responses response answers and only separated separate by each other from asterisk "
    "asterisks symbol symbols them between"
)


@_rule
def _two_responses(t: _Text) -> _Match | None:
    """Reads "Give two different responses separated by ******"."""
    two = _spans(_TWO_RESPONSES_RE, t.low)
    stars = _spans(_SIX_STARS_RE, t.low)
    if not two or not stars:
        return None
    return _found(
        "combination:two_responses", {}, "two_responses", two + stars, _TWO_RESPONSES_VOCAB
    )


_YES_NO_MAYBE = frozenset({"My answer is yes.", "My answer is no.", "My answer is maybe."})


@_rule
def _yes_no_maybe(t: _Text) -> _Match | None:
    """Reads "Answer with one of ('My answer is yes.', 'My answer is no.', ...maybe.')"."""
    quotes = list(re.finditer(_Q, t.low))
    if {t.quote(m.group()).strip() for m in quotes} != _YES_NO_MAYBE:
        return None
    return _found(
        "detectable_format:constrained_response",
        {},
        "yes_no_maybe",
        [m.span() for m in quotes],
        _words("answer respond reply one following options option choose from"),
    )


# -- content ----------------------------------------------------------------------------

_POSTSCRIPT_MARK_RE = re.compile(r"\bp\.\s?(?:p\.\s?)?s\b\.?")
_POSTSCRIPT_VOCAB = _words(
    "add adding include including append write postscript postscripts post-script post script "
    "start starting starts started begin beginning begins with at end explicitly marked "
    "labeled labelled finish conclude close section note after main body followed"
)


@_rule
def _postscript(t: _Text) -> _Match | None:
    """Reads "Add a postscript starting with P.S.", "end with a P.P.S"."""
    marks: set[str] = set()
    spans: list[Span] = []
    for m in _POSTSCRIPT_MARK_RE.finditer(t.low):
        marks.add("P.P.S" if "p." in m.group()[2:] else "P.S.")
        spans.append(m.span())
    for m in re.finditer(_Q, t.low):
        q = t.quote(m.group()).strip().lower()
        if re.fullmatch(r"p\.\s?(?:p\.\s?)?s\.?:?", q):
            marks.add("P.P.S" if "p." in q[2:] else "P.S.")
            spans.append(m.span())
    if len(marks) != 1:
        return None
    return _found(
        "detectable_content:postscript",
        {"postscript_marker": marks.pop()},
        "postscript",
        spans,
        _POSTSCRIPT_VOCAB,
    )


_INCLUDE_VERB = (
    r"\b(?:include|including|use|using|mention|mentioning|contain|containing|incorporate"
    r"|incorporating|feature|featuring|insert|add|have)"
)
_INCLUDE_RES = (
    re.compile(f"(?P<verb>{_INCLUDE_VERB})\\s+(?P<det>{_NAMED_WORDS}\\s*:?)\\s*(?P<list>{_LIST})"),
    re.compile(
        f"(?P<verb>{_INCLUDE_VERB})\\s+(?P<det>(?:the\\s+)?{_WORDS_NOUN}\\s*:?)?\\s*"
        f"(?P<list>{_QUOTED_LIST})"
    ),
    re.compile(
        f"(?P<det>\\b(?:the\\s+)?{_WORDS_NOUN})\\s+(?P<list>{_LIST})\\s+(?P<verb>(?:should|must"
        r"|needs?\s+to|has\s+to|have\s+to)\s+(?:appear|be\s+(?:included|used|mentioned|present)))"
    ),
)
_FORBID_VERB = (
    f"(?:{_NEG}\\s+(?:to\\s+)?(?:use|say|mention|include|write|utilize|type|contain)"
    r"|\bavoid(?:\s+(?:using|saying|mentioning|writing))?"
    r"|\brefrain\s+from\s+(?:using|saying|mentioning|writing|the\s+use\s+of)"
    r"|\bwithout\s+(?:using|saying|mentioning|writing)|\bexclude|\bexcluding|\bomit)"
)
_FORBID_RES = (
    re.compile(f"(?P<verb>{_FORBID_VERB})\\s+(?P<det>{_NAMED_WORDS}\\s*:?)\\s*(?P<list>{_LIST})"),
    re.compile(
        f"(?P<verb>{_FORBID_VERB})\\s+(?P<det>(?:any\\s+(?:of\\s+)?)?(?:the\\s+)?"
        f"{_WORDS_NOUN}\\s*:?)?\\s*(?P<list>{_QUOTED_LIST})"
    ),
    re.compile(
        f"(?P<det>\\b(?:the\\s+)?{_WORDS_NOUN})\\s+(?P<list>{_LIST})\\s+(?P<verb>(?:must|should"
        r"|may|can|shall)\s*(?:not|never)\s+(?:appear|be\s+(?:used|included|mentioned|present))"
        r"|(?:are|is)\s+(?:forbidden|banned|prohibited|not\s+allowed|off[\s-]limits))"
    ),
)


def _keyword_list(
    t: _Text, regexes: Iterable[re.Pattern[str]]
) -> tuple[list[str], bool, list[Span]] | None:
    """The one keyword list that `regexes` find: its items, whether they are joined by
    "or", and the spans it claims."""
    hits: dict[Span, re.Match[str]] = {}
    for regex in regexes:
        for m in regex.finditer(t.low):
            hits.setdefault(m.span("list"), m)
    if len(hits) != 1:
        return None
    m = next(iter(hits.values()))
    items, has_or = _list_items(t, m.span("list"))
    if not items or len(items) > 20 or any(not i for i in items):
        return None
    spans = [m.span(g) for g in ("verb", "det", "list") if m.group(g) is not None]
    return items, has_or, spans


@_rule
def _keywords_included(t: _Text) -> _Match | None:
    """Reads "Include the keywords X and Y", "mention 'Paris' and 'Rome'"."""
    found = _keyword_list(t, _INCLUDE_RES)
    if found is None or found[1]:  # "include X or Y" is a choice, not a list
        return None
    items, _, spans = found
    return _found(
        "keywords:existence", {"keywords": items}, "keywords_included", spans, _words("somewhere")
    )


@_rule
def _keywords_forbidden(t: _Text) -> _Match | None:
    """Reads "Do not mention the words A, B", "avoid the word 'very'", "never say 'sorry'"."""
    found = _keyword_list(t, _FORBID_RES)
    if found is None:
        return None
    items, _, spans = found
    return _found(
        "keywords:forbidden_words",
        {"forbidden_words": items},
        "keywords_forbidden",
        spans,
        _words("anywhere"),
    )


_KEYWORD_RE = re.compile(  # an unquoted phrase has no clear end, an unquoted word has
    f"\\b(?:the\\s+)?(?:(?:key\\s*word|word|term|phrase)\\s+(?P<q>{_Q})"
    f"|(?:key\\s*word|word|term)\\s+(?P<w>{_ITEM_WORD}))|(?<!\\bletter\\s)(?P<bare>{_Q})"
)


@_rule
def _keyword_count(t: _Text) -> _Match | None:
    """Reads "Use the word 'banana' at least 3 times", "the word X: less than 2 times"."""
    refs = list(_KEYWORD_RE.finditer(t.low))
    count = _one_count(t, _TIMES, adverbs=True)
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
    return _found(
        "keywords:frequency",
        {"keyword": keyword, "relation": bound[0], "frequency": bound[1]},
        "keyword_count",
        [m.span(), count.span],
        _FREQUENCY_VOCAB,
    )


_LETTER_RE = re.compile(f"\\bletter\\s+(?:(?P<q>{_Q})|(?P<c>[a-z])\\b(?![.'-]\\w))")
_NO_LETTER_RE = re.compile(
    f"(?:{_NEG}\\s+(?:to\\s+)?(?:use|include|write|type)|\\bavoid(?:\\s+using)?"
    r"|\bwithout(?:\s+using)?)\s+(?:the\s+|any\s+)?(?=letter\b)"
    f"|(?<=\\bletter\\s)(?:{_Q}|[a-z])\\s+(?:must|should|may|can)\\s*(?:not|never)\\s+"
    r"(?:appear|be\s+used|occur)"
)


@_rule
def _letter_count(t: _Text) -> _Match | None:
    """Reads "The letter q should appear at least 5 times"; "do not use the letter e" (none)."""
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
    count = _one_count(t, _TIMES, adverbs=True)
    if count is not None:
        bound = count.bound()
        spans.append(count.span)
    else:
        absent = _spans(_NO_LETTER_RE, t.low)
        bound = ("less than", 1) if absent else None
        spans += absent
    if bound is None:
        return None
    return _found(
        "keywords:letter_frequency",
        {"letter": letters.pop(), "let_relation": bound[0], "let_frequency": bound[1]},
        "letter_count",
        spans,
        _FREQUENCY_VOCAB,
    )


# -- length -----------------------------------------------------------------------------


_LENGTH_VOCAB = _words("long length stay within")


@_rule
def _word_count(t: _Text) -> _Match | None:
    """Reads "At least 300 words", "50 words or less", "word count must not exceed 200"."""
    count = _count_and_subject(
        t, r"words?", r"(?:total\s+)?word\s+count|number\s+of\s+words|word\s+limit"
    )
    if count is None:
        return None
    bound = count.bound(least=1)
    if bound is None:
        return None
    return _found(
        "length_constraints:number_words",
        {"relation": bound[0], "num_words": bound[1]},
        "word_count",
        [count.span],
        _LENGTH_VOCAB,
    )


@_rule
def _sentence_count(t: _Text) -> _Match | None:
    """Reads "In fewer than 5 sentences", "at least 3 sentences", "in a single sentence"."""
    count = _count_and_subject(
        t, r"sentences?", r"(?:total\s+)?sentence\s+count|number\s+of\s+sentences"
    )
    if count is None:
        return None
    # An answer of at most one sentence that is not empty is exactly one sentence.
    bound = ("less than", 2) if count.exact and count.n == 1 else count.bound(least=1)
    if bound is None:
        return None
    return _found(
        "length_constraints:number_sentences",
        {"relation": bound[0], "num_sentences": bound[1]},
        "sentence_count",
        [count.span],
        _LENGTH_VOCAB,
    )


# -- language ---------------------------------------------------------------------------

# Languages that langdetect (IFEval's detector) reports by a plain ISO 639-1 code.
# Chinese is left out: langdetect reports "zh-cn" or "zh-tw", never "zh".
_LANGUAGES = {
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
_LANGUAGE_NAME = "|".join(sorted(_LANGUAGES, key=len, reverse=True))
_LANGUAGE_RE = re.compile(
    f"(?P<pre>\\b(?:in|into|using)\\s+(?:the\\s+)?)?\\b(?P<lang>{_LANGUAGE_NAME})\\b"
    r"(?P<post>(?:\s+language)?(?:\s+only)?)"
)
_NO_OTHER_LANGUAGE_RE = re.compile(
    r"\b(?:and\s+)?(?:no|not\s+(?:in\s+)?any)\s+other\s+languages?(?:\s+(?:is|are)\s+"
    r"(?:allowed|permitted|accepted))?"
)


_LANGUAGE_VOCAB = _words("only language exclusively solely purely speak")


@_rule
def _response_language(t: _Text) -> _Match | None:
    """Reads "Respond in French", "your answer must be in German", "Hindi only"."""
    found = list(_LANGUAGE_RE.finditer(t.low))
    codes = {_LANGUAGES[m.group("lang")] for m in found}
    if len(codes) != 1 or not all(m.group("pre") or m.group("post") for m in found):
        return None
    spans = [m.span() for m in found] + _spans(_NO_OTHER_LANGUAGE_RE, t.low)
    return _found(
        "language:response_language",
        {"language": codes.pop()},
        "response_language",
        spans,
        _LANGUAGE_VOCAB,
    )
