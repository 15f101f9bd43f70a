"""Reading a requirement: quotes and examples set aside, and the residue guard.

A `Text` is a requirement prepared for the rules: quoted text ("...", '...', “...”,
‘...’, «...», `...`) and examples ([address], <<title>>, *highlighted*) are replaced by
sentinels that keep their exact text aside, so their words can neither trigger a rule
nor go unexplained; the rest is lower-cased.

The residue guard (`explains`): a rule's match stands only if every word it did not
claim is harmless filler (`FILLER`) or in the rule's own vocabulary. Negations, scopes,
hedges and further constraints are never filler.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ANGLE",
    "CLOSE",
    "FILLER",
    "OPEN",
    "QUOTE",
    "SQUARE",
    "STARRED",
    "CompiledCheck",
    "Match",
    "Span",
    "Text",
    "explains",
    "words",
]

MAX_CHARS = 2_000
"""Longer requirements are not compiled (the judge reads them)."""

OPEN, CLOSE = "\ue000", "\ue001"
"""Private-use characters around a set-aside piece: ``\\ue000q3\\ue001`` is quote 3."""

QUOTE = f"{OPEN}q\\d+{CLOSE}"  # a quoted text
SQUARE = f"{OPEN}b\\d+{CLOSE}"  # an example in square brackets: [address]
ANGLE = f"{OPEN}a\\d+{CLOSE}"  # an example in double angular brackets: <<title>>
STARRED = f"{OPEN}h\\d+{CLOSE}"  # an example between asterisks: *highlighted*

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
    ("b", re.compile(f"\\[([^\\[\\]\\n{OPEN}{CLOSE}]{{0,80}})\\]")),
    ("h", re.compile(r"(?<![*\w])\*{1,2}([^\s*][^*\n]{0,60}?)(?<!\s)\*{1,2}(?![*\w])")),
)

Span = tuple[int, int]


@dataclass(frozen=True)
class CompiledCheck:
    """A deterministic check that says the same as a plain-language requirement."""

    validator: str
    """A registered validator, e.g. ``"punctuation:no_comma"`` (an IFEval instruction id),
    ``"json:object"``, or ``"all_of"`` for a requirement that holds several constraints."""
    args: dict[str, Any]
    """The validator's arguments, e.g. ``{"relation": "at least", "num_words": 300}``."""
    rule: str
    """Which row of the rule table matched (for the trace and for debugging)."""
    parts: tuple[CompiledCheck, ...] = ()
    """For ``all_of``: the checks that must all pass, in the order the text gives them."""


class Text:
    """A requirement prepared for the rules.

    `low` is what the rules match (lower case, quotes and examples replaced by
    sentinels); `work` has the same positions and the original case, for the text a
    check must keep (keywords, phrases, section markers). `quotes` and `examples` hold
    the set-aside pieces; a slice of a `Text` shares them.
    """

    low: str
    work: str
    quotes: list[str]
    examples: list[str]

    def __init__(self, description: str) -> None:
        s = description.replace("\u00a0", " ").replace("\u2013", "-").replace("\u2014", " - ")
        s = re.sub(r"(?<=\w)’(?=\w)", "'", s)
        s = re.sub(r"\b(?:do\s+not|don't|never)\s+forget\s+to\b", "remember to", s, flags=re.I)
        self.quotes = []
        self.examples = []
        s = _QUOTE_RE.sub(self._set_aside_quote, s)
        for kind, regex in _EXAMPLE_RES:
            s = regex.sub(functools.partial(self._set_aside_example, kind), s)
        low = s.lower()
        self.low = low
        self.work = s if len(low) == len(s) else low

    def _set_aside_quote(self, m: re.Match[str]) -> str:
        content = next(g for g in m.groups() if g is not None)
        self.quotes.append(content)
        return f"{OPEN}q{len(self.quotes) - 1}{CLOSE}"

    def _set_aside_example(self, kind: str, m: re.Match[str]) -> str:
        self.examples.append(m.group(1))
        return f"{OPEN}{kind}{len(self.examples) - 1}{CLOSE}"

    def slice(self, start: int, end: int) -> Text:
        """The part of this text between `start` and `end` (sentinels intact)."""
        part = object.__new__(Text)
        part.low, part.work = self.low[start:end], self.work[start:end]
        part.quotes, part.examples = self.quotes, self.examples
        return part

    def quote(self, sentinel: str) -> str:
        """The exact text of a quote, from its sentinel."""
        return self.quotes[int(sentinel[2:-1])]

    def example(self, sentinel: str) -> str:
        """The exact text of an example, from its sentinel."""
        return self.examples[int(sentinel[2:-1])]

    def original(self, start: int, end: int) -> str:
        """The text between two positions, in its original case."""
        return self.work[start:end]


# --------------------------------------------------------------------------------------
# The residue guard.


def words(s: str) -> frozenset[str]:
    """A vocabulary written as a string of words."""
    return frozenset(s.split())


FILLER = words(
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
    type typed
    in with of for as by to on throughout
    important importantly required requirement mandatory strictly note rule constraint instruction
    """
)
"""Words that never change what a requirement asks. No negation, scope, hedge or count."""

_FILLER_PHRASES_RE = re.compile(
    r"\bat\s+all\b|\bwhatsoever\b|\bin\s+total\b|\b(?:with\s+)?no\s+exceptions?\b"
    r"|\b(?:i|we)(?:'d|\s+would)\s+(?:like|love)\b|\bthe\s+whole\s+thing\b"
)
"""Filler that is more than one word: "at all", "I'd like", "the whole thing"."""

TOKEN_RE = re.compile(f"{OPEN}[a-z]\\d+{CLOSE}|[^\\W_]+(?:['-][^\\W_]+)*")


@dataclass(frozen=True)
class Match:
    """What a rule found: its check and the text it accounts for."""

    check: CompiledCheck
    spans: tuple[Span, ...]
    vocab: frozenset[str] = frozenset()
    """Words this rule may leave anywhere in the text (beyond the shared filler)."""


def explains(t: Text, m: Match) -> bool:
    """Whether `m` accounts for the whole requirement: nothing but filler is left over."""
    chars = list(t.low)
    for a, b in m.spans:
        chars[a:b] = " " * (b - a)
    rest = _FILLER_PHRASES_RE.sub(" ", "".join(chars))
    allowed = FILLER | m.vocab
    return all(tok in allowed for tok in TOKEN_RE.findall(rest))
