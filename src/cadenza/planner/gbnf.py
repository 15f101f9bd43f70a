"""GBNF building blocks: character sets, literals, and bounded free text.

`CharSet` writes a set of characters as a GBNF class; `gbnf_literal` a string literal;
`text_rule` adds the rules of free text drawn from a set of characters: starting with
one of a narrower set, at most so many words (so that what must follow comes before the
token limit), at least so many words IFEval counts, and none of a list of forbidden
words in any case. `grammar.py` puts these together into the grammar of an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ALNUM",
    "ANY",
    "ASCII",
    "LOWER",
    "SPACE",
    "SPACE_CHARS",
    "UPPER",
    "WORD_CHARS",
    "CharSet",
    "gbnf_literal",
    "text_rule",
]


# -- characters -----------------------------------------------------------------------
@dataclass(frozen=True)
class CharSet:
    """A set of code points as sorted, disjoint, inclusive ranges."""

    ranges: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, chars: str) -> CharSet:
        return cls(tuple(sorted((ord(c), ord(c)) for c in set(chars)))).normal()

    def normal(self) -> CharSet:
        out: list[tuple[int, int]] = []
        for lo, hi in sorted(self.ranges):
            if out and lo <= out[-1][1] + 1:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        return CharSet(tuple(out))

    def minus(self, other: CharSet | str) -> CharSet:
        cut = other if isinstance(other, CharSet) else CharSet.of(other)
        out: list[tuple[int, int]] = []
        for lo, hi in self.ranges:
            pieces = [(lo, hi)]
            for clo, chi in cut.ranges:
                pieces = [
                    part
                    for plo, phi in pieces
                    for part in ((plo, min(phi, clo - 1)), (max(plo, chi + 1), phi))
                    if part[0] <= part[1]
                ]
            out += pieces
        return CharSet(tuple(out))

    def intersect(self, other: CharSet) -> CharSet:
        out = [
            (max(lo, olo), min(hi, ohi))
            for lo, hi in self.ranges
            for olo, ohi in other.ranges
            if max(lo, olo) <= min(hi, ohi)
        ]
        return CharSet(tuple(out)).normal()

    def __contains__(self, char: str) -> bool:
        c = ord(char)
        return any(lo <= c <= hi for lo, hi in self.ranges)

    def gbnf(self) -> str:
        """The set as a GBNF character class, e.g. ``[a-z0-9\\x20]``."""
        parts = []
        for lo, hi in self.ranges:
            if lo == hi:
                parts.append(_class_char(lo))
            elif hi == lo + 1:
                parts.append(_class_char(lo) + _class_char(hi))
            else:
                parts.append(f"{_class_char(lo)}-{_class_char(hi)}")
        return "[" + "".join(parts) + "]"


def _class_char(c: int) -> str:
    if chr(c).isascii() and chr(c).isalnum():
        return chr(c)
    return _escape(c)


def _escape(c: int) -> str:
    if c <= 0xFF:
        return f"\\x{c:02X}"
    if c <= 0xFFFF:
        return f"\\u{c:04X}"
    return f"\\U{c:08X}"


def gbnf_literal(text: str) -> str:
    """`text` as a GBNF string literal (every character outside plain ASCII escaped)."""
    out = []
    for ch in text:
        c = ord(ch)
        if ch == '"' or ch == "\\" or not (0x20 <= c < 0x7F):
            out.append(_escape(c))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


ANY = CharSet(((0x09, 0x0A), (0x20, 0x7E), (0xA0, 0xD7FF), (0xE000, 0x10FFFF)))
"""Free text: every character but the control characters (tab and newline kept)."""
ASCII = CharSet(((0x09, 0x0A), (0x20, 0x7E)))
LOWER = CharSet(((ord("a"), ord("z")),))
UPPER = CharSet(((ord("A"), ord("Z")),))
SPACE = CharSet.of(" \t\n")
ALNUM = CharSet(((ord("0"), ord("9")), (ord("A"), ord("Z")), (ord("a"), ord("z"))))


# -- free text ----------------------------------------------------------------------
WORD_CHARS = 40
"""Bounded free text: at most this many characters in one word (a run of non-space)."""
SPACE_CHARS = 6
"""Bounded free text: at most this many spaces, tabs or newlines in a row."""


def text_rule(
    rules: dict[str, str],
    name: str,
    first: CharSet,
    chars: CharSet,
    words: int | None,
    min_words: int = 0,
    avoid: Sequence[str] = (),
) -> str:
    """Add rule `name`: text starting with a character of `first`, then any of `chars`;
    with `min_words`, at least that many more words holding a letter or a digit (each
    one IFEval ``\\w+`` run at least); with `words`, at most that many more words (runs
    of non-space characters) in all, so that what must follow it comes before the token
    limit. Repetitions go through named rules: llama.cpp refuses an inline group
    repeated a few hundred times, not a rule name repeated up to `MAX_BOUND_WORDS`."""
    if avoid:
        return _text_avoiding(rules, name, first, chars, words, min_words, avoid)
    space, word = chars.intersect(SPACE), chars.minus(SPACE)
    alnum = word.intersect(ALNUM)
    if not min_words and words is None:
        rules[name] = f"{first.gbnf()} {chars.gbnf()}*"
        return name
    # Every run is bounded too: a model past its last word would otherwise go on along
    # it ("earlyearlyearly...") or with newlines, to the token limit.
    sp, wd = f"{space.gbnf()}{{1,{SPACE_CHARS}}}", word.gbnf()
    w0, w1 = f"{wd}{{0,{WORD_CHARS}}}", f"{wd}{{1,{WORD_CHARS}}}"
    parts = [f"{first.gbnf()} {w0}"]
    if min_words and alnum.ranges:
        # Words holding a letter or a digit (what IFEval counts), a few words without one
        # (a dash) between them; the first word counts too: it starts with a letter or a
        # digit, or holds one further on.
        pre = word.minus(ALNUM)
        p0 = f"{pre.gbnf()}{{0,{WORD_CHARS}}} " if pre.ranges else ""
        junk = f"({sp} {pre.gbnf()}{{1,{WORD_CHARS}}}){{0,3}} " if pre.ranges else ""
        rules[f"{name}mw"] = f"{junk}{sp} {p0}{alnum.gbnf()} {w0}"
        starts = []
        if (at := first.intersect(ALNUM)).ranges:
            starts.append(f"{at.gbnf()} {w0}")
        if (at := first.minus(ALNUM)).ranges:
            starts.append(f"{at.gbnf()} {p0}{alnum.gbnf()} {w0}")
        parts = ["(" + " | ".join(starts) + ")"]
        if min_words > 1:
            parts.append(f"{name}mw" + ("" if min_words == 2 else f"{{{min_words - 1}}}"))
    if words is None:
        parts.append(f"{chars.gbnf()}*")
    else:
        extra = max(0, words - min_words)
        if extra:
            rules[f"{name}ww"] = f"{sp} {w1}"
            parts.append(f"{name}ww{{0,{extra}}}")
        parts.append(f"{space.gbnf()}{{0,2}}")  # then what follows, or the end
    rules[name] = " ".join(parts)
    return name


def _text_avoiding(
    rules: dict[str, str],
    name: str,
    first: CharSet,
    chars: CharSet,
    words: int | None,
    min_words: int,
    avoid: Sequence[str],
) -> str:
    """`text_rule` whose words hold none of the `avoid` words as a whole word (IFEval's
    ``\\bword\\b``, any case): every word is written as runs of ASCII letters and
    digits (none of them one of those words, `_avoid_run`) between other characters,
    so no two runs touch. Runs are split more finely than IFEval's ``\\w+`` (at ``_``
    and non-ASCII letters): that only forbids more."""
    space, word = chars.intersect(SPACE), chars.minus(SPACE)
    al, na = word.intersect(ALNUM), word.minus(ALNUM)
    sp = f"{space.gbnf()}{{1,{SPACE_CHARS}}}"
    # text that may start with a space (between two marks) starts with a few, then a word
    lead = (
        f"{first.intersect(SPACE).gbnf()}{{0,{SPACE_CHARS}}} "
        if first.intersect(SPACE).ranges
        else ""
    )
    first = first.minus(SPACE)
    run, frun = _avoid_run(rules, f"{name}ar", al, avoid), None
    if (first_al := first.intersect(al)).ranges:
        frun = _avoid_run(rules, f"{name}far", first_al, avoid, rest=al)
    nas = [f"{na.gbnf()}{{0,{WORD_CHARS}}}", f"{na.gbnf()}{{1,{WORD_CHARS}}}"] if na.ranges else []
    tail = f"({nas[1]} {run}){{0,{RUNS_PER_WORD}}} {nas[0]}" if nas else ""
    # a word holding a run; a word that is all other characters; the first word
    rules[f"{name}aw"] = f"{nas[0] if nas else ''} {run} {tail}".strip()
    rules[f"{name}wd"] = f"{nas[1]} | {name}aw" if nas else f"{name}aw"
    firsts = []
    if frun is not None:
        firsts.append(f"{frun} {tail}".strip())
    if nas and (first_na := first.intersect(na)).ranges:
        firsts.append(f"{first_na.gbnf()} {nas[0]} ({run} {tail})?")
    if not firsts:
        raise ValueError("free text needs a first character")  # the shape never asks this
    first_word = "(" + " | ".join(firsts) + ")"
    if min_words:
        # counted words hold a run; the first one counts when it holds one
        rules[f"{name}mw"] = (f"({sp} {nas[1]}){{0,3}} " if nas else "") + f"{sp} {name}aw"
        counted = [f"{frun} {tail}".strip()] if frun is not None else []
        if nas and (first_na := first.intersect(na)).ranges:
            counted.append(f"{first_na.gbnf()} {nas[0]} {run} {tail}".strip())
        parts = ["(" + " | ".join(counted) + ")"] if counted else [first_word, f"{name}mw"]
        if min_words > 1:
            parts.append(f"{name}mw" + ("" if min_words == 2 else f"{{{min_words - 1}}}"))
    else:
        parts = [first_word]
    if words is None:
        parts.append(f"({sp} {name}wd)* {space.gbnf()}{{0,{SPACE_CHARS}}}")
    else:
        extra = max(0, words - min_words)
        if extra:
            rules[f"{name}ww"] = f"{sp} {name}wd"
            parts.append(f"{name}ww{{0,{extra}}}")
        parts.append(f"{space.gbnf()}{{0,2}}")
    rules[name] = lead + " ".join(parts)
    return name


def _avoid_run(
    rules: dict[str, str],
    name: str,
    start: CharSet,
    avoid: Sequence[str],
    *,
    rest: CharSet | None = None,
) -> str:
    """Rule `name`: a run of letters and digits (its first from `start`, the others from
    `rest`, default `start`; at most `WORD_CHARS`) that is none of the `avoid` words in
    any case. One rule per node of the words' trie: at each, the run may stop (unless
    the letters so far are a forbidden word), take a character no forbidden word takes
    there (then anything), or follow a forbidden word one more letter."""
    rest = rest or start
    any_tail = f"{rest.gbnf()}{{0,{WORD_CHARS - 1}}}"
    nodes: dict[str, str] = {}

    def node(prefix: str, allowed: CharSet) -> str:
        if prefix in nodes:
            return nodes[prefix]
        rule = f"{name}{len(nodes)}" if prefix else name
        nodes[prefix] = rule
        nexts = sorted(
            {w[len(prefix)] for w in avoid if w.startswith(prefix) and len(w) > len(prefix)}
        )
        alts = []
        if prefix and prefix not in avoid:
            alts.append("")  # the run may end here: it is no forbidden word
        steps = CharSet.of("".join(c + c.upper() for c in nexts))
        if (other := allowed.minus(steps)).ranges:
            alts.append(f"{other.gbnf()} {any_tail}")
        for c in nexts:
            if (edge := allowed.intersect(CharSet.of(c + c.upper()))).ranges:
                alts.append(f"{edge.gbnf()} {node(prefix + c, rest)}")
        rules[rule] = " | ".join(alts) if alts else '""'
        return rule

    return node("", start)


RUNS_PER_WORD = 6
"""At most this many runs of letters and digits in one word of text that avoids words
(``well-being`` is two, ``e.g.`` two)."""
