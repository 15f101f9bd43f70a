"""Exact requirements as one GBNF grammar, for a model to be held to while it decodes.

    g = requirements_grammar([
        ExactRequirement("r1", "punctuation:no_comma", {}),
        ExactRequirement("r2", "startend:end_checker", {"end_phrase": "Any questions?"}),
    ])
    g.grammar       # GBNF (llama.cpp's grammar format) that only lets through such answers
    g.enforced      # ("r1", "r2")
    g.not_enforced  # {requirement name: why the grammar does not hold it}

A grammar describes an answer as one *shape*: an optional opening quote, the repeated
request, a title line, the *content* (free text, bullet points, paragraphs divided by
``***``, a JSON object, or one of IFEval's fixed answers), a postscript, the end phrase,
and the closing quote, in that order, every free character drawn from one *alphabet*
(no commas; only lowercase or only capital ASCII letters). `RULES` is the table: one
entry per validator name says what its requirement changes in the shape. Requirements
are applied in the order given (mandatory first is the caller's choice); one that
contradicts what the grammar already holds (a JSON answer that must also end with a
phrase, an end phrase with a comma when commas are forbidden) is left out, with the
reason, and cadenza's validation decides it as always.

Every text the grammar accepts passes the checks it enforces (tests/test_grammar.py
holds the proof by example, with the real checkers), with one exception a grammar cannot
help: IFEval's case checks also want langdetect to call the text English (or not know).
The grammar is narrower than the checks on purpose: a case rule keeps to ASCII, free text
starts with a letter, a JSON answer is an object, bullet points are the whole answer.

Each grammar can always end: every loop may stop. Free text that something must follow
(an end phrase, a closing quote, the next paragraph) holds at most `max_words` words, so a
small model that would ramble on (and never write the end phrase) is made to write it
before its token limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..errors import CadenzaError
from ..validators.ifeval import ALIASES, parse_kwargs
from ..validators.ifeval.checks import CONSTRAINED_RESPONSE_OPTIONS
from ..validators.json_checks import JSON_OBJECT

__all__ = [
    "RULES",
    "CharSet",
    "ExactRequirement",
    "RequirementGrammar",
    "gbnf_literal",
    "requirements_grammar",
]

Case = Literal["lower", "upper"]


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


# -- the shape of an answer -----------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """What every answer the grammar accepts looks like (see the module docstring)."""

    no_comma: bool = False
    case: Case | None = None
    quotes: bool = False
    repeat: str | None = None
    title: bool = False
    content: str = "text"
    """``text``, ``bullets``, ``paragraphs``, ``json`` or ``choice``."""
    count: int = 0
    """How many bullets or paragraphs."""
    json_keys: tuple[str, ...] = ()
    postscript: str | None = None
    end: str | None = None
    max_words: int | None = None
    """At most this many words of free text before a part that must follow it (an end
    phrase, a closing quote, the next paragraph), so that a model that does not write
    that part is made to before its token limit; None: no bound."""

    # -- the alphabet ---------------------------------------------------------------------
    @property
    def chars(self) -> CharSet:
        """The characters free text may use."""
        base = ANY if self.case is None else ASCII.minus(UPPER if self.case == "lower" else LOWER)
        return base.minus(",") if self.no_comma else base

    @property
    def letters(self) -> CharSet:
        """The characters free text may start with: a letter in the case asked for (so
        that the answer has one: ``islower()`` needs a cased character), else any but
        a space."""
        if self.case == "lower":
            return LOWER
        if self.case == "upper":
            return UPPER
        return self.chars.minus(SPACE)

    def cased(self, text: str) -> str:
        if self.case == "lower":
            return text.lower()
        if self.case == "upper":
            return text.upper()
        return text

    def fixed_text_problem(self, text: str, what: str) -> str | None:
        """Why `text` (as the case rule writes it) cannot appear in the answer, if it cannot."""
        bad = sorted({c for c in self.cased(text) if c not in self.chars})
        if not bad:
            return None
        shown = ", ".join(repr(c) for c in bad[:3])
        return f"{what} holds {shown}, which the other requirements forbid"

    # -- consistency ----------------------------------------------------------------------
    def problem(self) -> str | None:
        """What in this shape contradicts itself, or None."""
        for text, what in (
            (self.repeat, "the request to repeat"),
            (self.end, "the end phrase"),
            (self.postscript, "the postscript marker"),
        ):
            if text is not None and (why := self.fixed_text_problem(text, what)):
                return why
        if self.content == "json":
            if self.quotes or self.repeat or self.title or self.postscript or self.end:
                return "a JSON answer can hold nothing around the JSON"
            if self.no_comma and len(self.json_keys) > 1:
                return "a JSON object with several keys needs commas"
            for key in self.json_keys:
                if why := self.fixed_text_problem(key, "a required JSON key"):
                    return why
                if self.case and self.cased(key) != key:
                    return f"the JSON key {key!r} does not follow the case rule"
        if self.content == "choice" and self.case is not None:
            return "the fixed answers ('My answer is yes.') mix capitals and lowercase"
        if self.repeat and self.quotes:
            return "an answer that starts by repeating the request cannot start with a quote"
        if self.case and self.content == "json" and self.json_keys:
            first = self.json_keys[0]
            if not any(c in self.letters for c in first):
                return f"the JSON key {first!r} has no letter to satisfy the case rule"
        if self.content in ("bullets", "paragraphs"):
            fixed = ((self.repeat, True), (self.postscript, True), (self.end, False))
            for text, starts_line in fixed:
                if text is not None and _breaks_layout(text, self.content, starts_line):
                    return f"{text[:30]!r} would change the count of {self.content}"
        return None


def _breaks_layout(text: str, content: str, starts_line: bool) -> bool:
    """Whether `text` would add a bullet point or a paragraph divider."""
    if content == "paragraphs":
        return "*" in text
    lines = text.split("\n")
    return any(ln.lstrip().startswith(("*", "-")) for ln in (lines if starts_line else lines[1:]))


# -- the table: validator name -> what its requirement does to the shape ----------------
Rule = Callable[[Shape, Mapping[str, Any]], Shape]


def _no_comma(shape: Shape, p: Mapping[str, Any]) -> Shape:
    return replace(shape, no_comma=True)


def _case(case: Case) -> Rule:
    def rule(shape: Shape, p: Mapping[str, Any]) -> Shape:
        if shape.case not in (None, case):
            raise _Conflict("an answer cannot be all lowercase and all capitals")
        return replace(shape, case=case)

    return rule


def _content(content: str, count_arg: str | None = None) -> Rule:
    def rule(shape: Shape, p: Mapping[str, Any]) -> Shape:
        count = int(p[count_arg]) if count_arg else 0
        if shape.content != "text" and (shape.content, shape.count) != (content, count):
            raise _Conflict(f"the answer is already {shape.content}, it cannot be {content} too")
        if count_arg and count < 1:
            raise _Conflict(f"a grammar needs at least one of the {content}")
        return replace(shape, content=content, count=count)

    return rule


def _json_object(shape: Shape, p: Mapping[str, Any]) -> Shape:
    shape = _content("json")(shape, p)
    keys = tuple(k for k in p.get("keys", ()) if k not in shape.json_keys)
    return replace(shape, json_keys=shape.json_keys + keys)


def _quotes(shape: Shape, p: Mapping[str, Any]) -> Shape:
    return replace(shape, quotes=True)


def _once(name: Literal["end", "postscript", "repeat"], arg: str) -> Rule:
    def rule(shape: Shape, p: Mapping[str, Any]) -> Shape:
        value = str(p[arg]).strip()
        have = getattr(shape, name)
        if have is not None and have != value:
            raise _Conflict(f"the answer already has another {name}")
        changes: dict[str, Any] = {name: value}
        return replace(shape, **changes)

    return rule


def _title(shape: Shape, p: Mapping[str, Any]) -> Shape:
    return replace(shape, title=True)


RULES: Mapping[str, Rule] = {
    "punctuation:no_comma": _no_comma,
    "change_case:english_lowercase": _case("lower"),
    "change_case:english_capital": _case("upper"),
    "startend:quotation": _quotes,
    "startend:end_checker": _once("end", "end_phrase"),
    "detectable_format:json_format": _content("json"),
    JSON_OBJECT: _json_object,
    "detectable_format:number_bullet_lists": _content("bullets", "num_bullets"),
    "length_constraints:number_paragraphs": _content("paragraphs", "num_paragraphs"),
    "detectable_format:constrained_response": _content("choice"),
    "detectable_format:title": _title,
    "detectable_content:postscript": _once("postscript", "postscript_marker"),
    "combination:repeat_prompt": _once("repeat", "prompt_to_repeat"),
}
"""Validator name -> how its requirement shapes the answer. Aliases (``no_commas``,
``lowercase``, ...) are looked up under their IFEval id."""


class _Conflict(Exception):
    pass


# -- requirements in, grammar out -----------------------------------------------------
@dataclass(frozen=True)
class ExactRequirement:
    """A requirement with a code check: its name, its validator's name and arguments."""

    name: str
    validator: str
    args: Mapping[str, Any] = field(default_factory=dict)
    instruction: str = ""
    """The user's input (what ``combination:repeat_prompt`` repeats when not told)."""


@dataclass(frozen=True)
class RequirementGrammar:
    grammar: str
    """GBNF; its start rule is ``root``."""
    enforced: tuple[str, ...]
    """The requirements every answer the grammar accepts meets (by name)."""
    not_enforced: Mapping[str, str]
    """Requirement name -> why the grammar does not hold it."""
    shape: Shape


def _params(req: ExactRequirement) -> tuple[str, Mapping[str, Any]]:
    iid = ALIASES.get(req.validator, req.validator)
    args = {k: v for k, v in req.args.items() if k != "loose"}
    if iid == JSON_OBJECT:
        keys = args.get("keys", [])
        if set(args) - {"keys"} or not isinstance(keys, list):
            raise _Conflict("its arguments are not the ones json:object takes")
        return iid, {"keys": [str(k) for k in keys]}
    return iid, parse_kwargs(iid, args, prompt=req.instruction)


def requirements_grammar(
    requirements: Sequence[ExactRequirement], *, max_words: int | None = None
) -> RequirementGrammar | None:
    """One grammar holding every requirement it can (see the module docstring); None when
    it can hold none of them. `max_words` bounds free text that something must follow
    (`Shape.max_words`), raised to let through an "at least N words" requirement."""
    shape = Shape(max_words=_words_wanted(requirements, max_words))
    enforced: list[str] = []
    skipped: dict[str, str] = {}
    for req in requirements:
        iid = ALIASES.get(req.validator, req.validator)
        rule = RULES.get(iid)
        if rule is None:
            skipped[req.name] = f"no grammar for {req.validator!r}"
            continue
        try:
            iid, params = _params(req)
            trial = rule(shape, params)
        except _Conflict as exc:
            skipped[req.name] = str(exc)
            continue
        except CadenzaError as exc:  # arguments its check would refuse too
            skipped[req.name] = str(exc)
            continue
        problem = trial.problem()
        if problem is not None:
            skipped[req.name] = problem
            continue
        shape = trial
        enforced.append(req.name)
    if not enforced:
        return None
    return RequirementGrammar(render(shape), tuple(enforced), skipped, shape)


MAX_BOUND_WORDS = 600
"""The largest word bound written: llama.cpp refuses a grammar whose repetitions expand
past its limit (``{0,820}`` of a word is refused, ``{0,600}`` is taken). Where more
words are wanted, free text is left unbounded."""


def _words_wanted(requirements: Sequence[ExactRequirement], cap: int | None) -> int | None:
    if cap is None:
        return None
    cap = min(cap, MAX_BOUND_WORDS)
    for req in requirements:
        if ALIASES.get(req.validator, req.validator) != "length_constraints:number_words":
            continue
        try:
            p = parse_kwargs(
                "length_constraints:number_words",
                {k: v for k, v in req.args.items() if k != "loose"},
            )
        except CadenzaError:
            continue
        if p["relation"] == "at least":
            cap = max(cap, int(p["num_words"]) + 20)
    return cap if cap <= MAX_BOUND_WORDS else None


# -- rendering ----------------------------------------------------------------------------
def render(shape: Shape) -> str:
    """The GBNF of `shape`."""
    rules: dict[str, str] = {}
    chars, line = shape.chars, shape.chars.minus("\n")
    parts: list[str] = []
    if shape.quotes:
        parts.append(gbnf_literal('"' + ("\n" if shape.content == "bullets" else "")))
    if shape.repeat is not None:
        parts.append(gbnf_literal(shape.cased(shape.repeat) + "\n"))
    if shape.title:
        title = chars.minus("\n<>")
        _text(rules, "titletext", shape.letters.intersect(title), title, TITLE_WORDS)
        rules["title"] = '"<<" titletext ">>" "\\n"'
        parts.append("title")
    # Something must follow the last free text: it cannot run on to the token limit.
    closes = shape.quotes or shape.end is not None
    parts.append(_content_rules(shape, rules, bounded=closes or shape.postscript is not None))
    if shape.postscript is not None:
        marker = gbnf_literal(shape.cased(shape.postscript) + " ")
        words = min(POSTSCRIPT_WORDS, shape.max_words) if closes and shape.max_words else None
        _text(rules, "pstext", shape.letters.intersect(line), line, words)
        parts.append(f'"\\n\\n" {marker} pstext')
    if shape.end is not None:
        parts.append(gbnf_literal(shape.cased(shape.end)))
    if shape.quotes:
        parts.append(gbnf_literal('"'))
    elif shape.end is None and (shape.postscript is not None or shape.content == "bullets"):
        # The answer ends with a line that cannot hold a newline: a model that wants to
        # write one may, and then must stop (else it goes on along that line).
        parts.append('"\\n"?')
    head = "root ::= " + " ".join(p for p in parts if p)
    body = [f"{name} ::= {rhs}" for name, rhs in rules.items() if _used(name, head, rules)]
    return "\n".join([head, *body]) + "\n"


TITLE_WORDS = 12
"""At most this many words (after the first) in a title: it must be closed by ``>>``."""
POSTSCRIPT_WORDS = 30
"""At most this many words in a postscript that the end phrase or a quote must follow."""


def _text(
    rules: dict[str, str], name: str, first: CharSet, chars: CharSet, words: int | None
) -> str:
    """Add rule `name`: text starting with a character of `first`, then any of `chars`;
    with `words`, at most that many more words (runs of non-space characters), so that
    what must follow it comes before the token limit."""
    if words is None:
        rules[name] = f"{first.gbnf()} {chars.gbnf()}*"
    else:
        space, word = chars.intersect(SPACE).gbnf(), chars.minus(SPACE).gbnf()
        rules[name] = f"{first.gbnf()} {word}* ({space}+ {word}+){{0,{words}}} {space}*"
    return name


def _content_rules(shape: Shape, rules: dict[str, str], *, bounded: bool) -> str:
    """The content's rules; `bounded`: something must follow it."""
    cap = shape.max_words
    if shape.content == "json":
        _json_rules(shape, rules)
        return "json"
    if shape.content == "choice":
        return "(" + " | ".join(gbnf_literal(o) for o in CONSTRAINED_RESPONSE_OPTIONS) + ")"
    n = max(1, shape.count)
    each = max(MIN_PART_WORDS, cap // n) if cap else None
    if shape.content == "bullets":
        line = shape.chars.minus("\n")
        first = shape.letters.intersect(line)
        _text(rules, "item", first, line, each)
        _text(rules, "lastitem", first, line, each if bounded else None)
        return '"* " item "\\n" ' * (n - 1) + '"* " lastitem'
    if shape.content == "paragraphs":
        para = shape.chars.minus("*")
        first = shape.letters.intersect(para)
        _text(rules, "para", first, para, each)
        _text(rules, "lastpara", first, para, each if bounded else None)
        return 'para "\\n***\\n" ' * (n - 1) + "lastpara"
    return _text(rules, "text", shape.letters, shape.chars, cap if bounded else None)


MIN_PART_WORDS = 8
"""The fewest words a bounded bullet point or paragraph may hold."""


def _json_rules(shape: Shape, rules: dict[str, str]) -> None:
    """An object (non-empty under a case rule: ``{}`` has no cased character), the
    required keys first; no commas means one member per object or array."""
    comma = not shape.no_comma
    strchar = shape.chars.minus('"\\\n\t')
    escapes = '"\\\\" ["\\\\/]' if shape.case else '"\\\\" ["\\\\/bfnrt]'
    rules["string"] = f'"\\"" ({strchar.gbnf()} | {escapes})* "\\""'
    rules["key"] = f'"\\"" {shape.letters.intersect(strchar).gbnf()} {strchar.gbnf()}* "\\""'
    rules["member"] = 'key ws ":" ws value ws'
    fixed = [f'{gbnf_literal(json.dumps(k))} ws ":" ws value ws' for k in shape.json_keys]
    more = ' ("," ws member)*' if comma else ""
    if fixed:
        rules["json"] = '"{" ws ' + ' "," ws '.join(fixed) + more + ' "}"'
    elif shape.case is not None:
        rules["json"] = f'"{{" ws member{more} "}}"'
    else:
        rules["json"] = f'"{{" ws (member{more})? "}}"'
    rules["object"] = f'"{{" ws (member{more})? "}}"'
    items = ' ("," ws value ws)*' if comma else ""
    rules["array"] = f'"[" ws (value ws{items})? "]"'
    literals = "" if shape.case == "upper" else ' | "true" | "false" | "null"'
    rules["value"] = f"object | array | string | number{literals}"
    exponent = " ([eE] [-+]? [0-9]{1,3})?" if shape.case is None else ""
    rules["number"] = f'"-"? ("0" | [1-9] [0-9]{{0,15}}) ("." [0-9]{{1,15}})?{exponent}'
    rules["ws"] = '| " " | "\\n" [ \\t]{0,20}'


def _used(name: str, head: str, rules: Mapping[str, str]) -> bool:
    """Whether rule `name` is reachable from the root (unused rules are left out)."""
    seen: set[str] = set()
    todo = [head]
    while todo:
        text = todo.pop()
        for other, rhs in rules.items():
            if other not in seen and _mentions(text, other):
                seen.add(other)
                todo.append(rhs)
    return name in seen


def _mentions(text: str, name: str) -> bool:
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"|\[(?:[^\]\\]|\\.)*\]', " ", text)
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", unquoted) is not None
