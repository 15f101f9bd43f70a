"""Exact requirements as one GBNF grammar, for a model to be held to while it decodes.

    g = requirements_grammar([
        ExactRequirement("r1", "punctuation:no_comma", {}),
        ExactRequirement("r2", "startend:end_checker", {"end_phrase": "Any questions?"}),
    ])
    g.grammar       # GBNF (llama.cpp's grammar format) that only lets through such answers
    g.enforced      # ("r1", "r2")
    g.not_enforced  # {requirement name: why the grammar does not hold it}

A grammar describes an answer as one *shape*: an optional opening quote, the repeated
request, a title line, the *content* (free text with its ``*highlights*``,
``[placeholders]`` and keywords, bullet points, paragraphs divided by ``***``, paragraphs
divided by blank lines with given first words, two responses divided by ``******``, a
JSON object, or one of IFEval's fixed answers), a postscript, the end phrase, and the
closing quote, in that order, every free character drawn from one *alphabet* (no commas;
only lowercase or only capital ASCII letters), with at least so many words, and no
forbidden word (`gbnf.text_rule` writes the free text). `RULES` is the table: one
entry per validator name says what its requirement changes in the shape. Requirements
are applied in the order given (mandatory first is the caller's choice); one that
contradicts what the grammar already holds (a JSON answer that must also end with a
phrase, an end phrase with a comma when commas are forbidden) is left out, with the
reason, and cadenza's validation decides it as always.

Every text the grammar accepts passes the checks it enforces (tests/test_grammar.py
holds the proof by example, with the real checkers), with two exceptions a grammar cannot
help: IFEval's case checks also want langdetect to call the text English (or not know),
and its two responses must differ.
The grammar is narrower than the checks on purpose: a case rule keeps to ASCII, free text
starts with a letter, a JSON answer is an object, bullet points are the whole answer.

Each grammar can always end: every loop may stop. Free text holds at most `max_words`
words, so a small model that would ramble on (and never write the end phrase, the closing
quote, the next paragraph) is made to write it before its token limit, and an answer with
nothing after its text ends there rather than spend its call's tokens to the limit.
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
from .gbnf import (
    ANY,
    ASCII,
    LOWER,
    SPACE,
    UPPER,
    WORD_CHARS,
    CharSet,
    gbnf_literal,
    text_rule,
)

__all__ = [
    "RULES",
    "CharSet",
    "ExactRequirement",
    "RequirementGrammar",
    "gbnf_literal",
    "most_words",
    "requirements_grammar",
]

Case = Literal["lower", "upper"]


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
    """``text``, ``bullets``, ``paragraphs`` (divided by ``***``), ``blocks`` (paragraphs
    divided by a blank line), ``two`` (two answers divided by ``******``), ``json`` or
    ``choice``."""
    count: int = 0
    """How many bullets, paragraphs or blocks."""
    json_keys: tuple[str, ...] = ()
    postscript: str | None = None
    end: str | None = None
    max_words: int | None = None
    """At most this many words of free text before a part that must follow it (an end
    phrase, a closing quote, the next paragraph), so that a model that does not write
    that part is made to before its token limit; None: no bound."""
    min_words: int = 0
    """At least this many words (IFEval's ``\\w+`` runs) in the content's free text."""
    highlights: int = 0
    """At least this many ``*highlighted*`` spans in the free text."""
    placeholders: int = 0
    """At least this many ``[placeholders]`` in the free text."""
    keywords: tuple[str, ...] = ()
    """Words or phrases the free text holds, one mark each (a keyword wanted twice is
    there twice)."""
    avoid: tuple[str, ...] = ()
    """Words (lowercase letters and digits) no free text may hold as a whole word, in any
    case: free text is written as runs of letters and digits none of which is one."""
    first_words: tuple[tuple[int, str], ...] = ()
    """``blocks`` content: (paragraph number from 1, the word it starts with)."""

    # -- the alphabet ---------------------------------------------------------------------
    @property
    def chars(self) -> CharSet:
        """The characters free text may use."""
        base = ANY if self.case is None else ASCII.minus(UPPER if self.case == "lower" else LOWER)
        banned = "," if self.no_comma else ""
        if self.highlights or self.content in ("paragraphs", "two"):
            banned += "*"  # the only stars are the grammar's own marks and dividers
        if self.placeholders:
            banned += "[]"
        return base.minus(banned) if banned else base

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
            return self._avoid_problem(self.cased(text), what)
        shown = ", ".join(repr(c) for c in bad[:3])
        return f"{what} holds {shown}, which the other requirements forbid"

    def _avoid_problem(self, text: str, what: str) -> str | None:
        """Why fixed `text` next to free text could hold a forbidden word, if it could:
        it holds one, or it starts (ends) with letters that end (start) one."""
        if not self.avoid:
            return None
        runs = re.findall(r"[A-Za-z0-9]+", text)
        lead = runs[0].lower() if runs and text[:1].isalnum() else ""
        tail = runs[-1].lower() if runs and text[-1:].isalnum() else ""
        for word in self.avoid:
            if word in (r.lower() for r in runs):
                return f"{what} holds the forbidden word {word!r}"
            if text.isalnum() and text.lower() in word:
                return f"{what} could join the free text into the forbidden word {word!r}"
            if (lead and lead != word and word.endswith(lead)) or (
                tail and tail != word and word.startswith(tail)
            ):
                return f"{what} could join the free text into the forbidden word {word!r}"
        return None

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
        if self.avoid and self.content in ("json", "choice"):
            return f"a {self.content} answer is not written as free text without words"
        for index, word in self.first_words:
            if why := self.fixed_text_problem(word, f"the first word of paragraph {index}"):
                return why
        if self.min_words and self.content in ("json", "choice"):
            return f"a {self.content} answer cannot be held to a number of words"
        for keyword in dict.fromkeys(self.keywords):
            if why := self.fixed_text_problem(keyword, f"the keyword {keyword[:20]!r}"):
                return why
        if (self.highlights or self.placeholders or self.keywords) and self.content != "text":
            return f"marks in {self.content} are not written by this grammar"
        if self.content == "blocks":
            if self.title or self.postscript is not None:
                return "a title or a postscript would change the count of paragraphs"
            for text in (self.repeat, self.end):
                if text is not None and "\n" in text:
                    return f"{text[:30]!r} would change the count of paragraphs"
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


def _number_words(shape: Shape, p: Mapping[str, Any]) -> Shape:
    if p["relation"] != "at least":
        raise _Conflict("a grammar holds only a least number of words")
    if int(p["num_words"]) > MAX_MIN_WORDS:
        raise _Conflict(f"more than {MAX_MIN_WORDS} words is past what a grammar is given")
    return replace(shape, min_words=max(shape.min_words, int(p["num_words"])))


def _at_least(field_name: Literal["highlights", "placeholders"], arg: str) -> Rule:
    def rule(shape: Shape, p: Mapping[str, Any]) -> Shape:
        n = int(p[arg])
        if n > MAX_MARKS:
            raise _Conflict(f"more than {MAX_MARKS} marks is past what a grammar is given")
        changes: dict[str, Any] = {field_name: max(getattr(shape, field_name), n)}
        return replace(shape, **changes)

    return rule


def _existence(shape: Shape, p: Mapping[str, Any]) -> Shape:
    return _with_keywords(shape, [str(k) for k in p["keywords"]])


def _frequency(shape: Shape, p: Mapping[str, Any]) -> Shape:
    if p["relation"] != "at least":
        raise _Conflict("a grammar holds only a least number of a keyword")
    return _with_keywords(shape, [str(p["keyword"])] * int(p["frequency"]))


def _with_keywords(shape: Shape, wanted: list[str]) -> Shape:
    """`shape` with enough marks for each keyword to appear as often as in `wanted`."""
    added = list(shape.keywords)
    for keyword in dict.fromkeys(wanted):
        if not keyword.strip() or "\n" in keyword:
            raise _Conflict(f"the keyword {keyword[:20]!r} is not text a grammar writes")
        added += [keyword] * max(0, wanted.count(keyword) - shape.keywords.count(keyword))
    if len(added) > MAX_MARKS:
        raise _Conflict(f"more than {MAX_MARKS} keywords is past what a grammar is given")
    return replace(shape, keywords=tuple(added))


def _forbidden(shape: Shape, p: Mapping[str, Any]) -> Shape:
    words = [str(w).lower() for w in p["forbidden_words"]]
    for word in words:
        if not re.fullmatch(r"[a-z0-9]+", word):
            raise _Conflict(f"the forbidden word {word[:20]!r} is not letters and digits only")
        if len(word) > WORD_CHARS:
            raise _Conflict(f"the forbidden word {word[:20]!r} is longer than a grammar word")
    return replace(shape, avoid=tuple(dict.fromkeys((*shape.avoid, *words))))


def _nth_first_word(shape: Shape, p: Mapping[str, Any]) -> Shape:
    word, n, nth = str(p["first_word"]), int(p["num_paragraphs"]), int(p["nth_paragraph"])
    if not re.fullmatch(r"[a-z0-9][a-z0-9'_-]*", word) or "'" in word:
        raise _Conflict(f"the first word {word!r} is not a plain word a grammar can write")
    shape = _content("blocks", "num_paragraphs")(shape, {"num_paragraphs": n})
    known = dict(shape.first_words)
    if known.get(nth, word) != word:
        raise _Conflict(f"paragraph {nth} already starts with another word")
    return replace(shape, first_words=tuple(sorted({**known, nth: word}.items())))


def _two_responses(shape: Shape, p: Mapping[str, Any]) -> Shape:
    return _content("two")(shape, p)


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
    "length_constraints:number_words": _number_words,
    "detectable_format:number_highlighted_sections": _at_least("highlights", "num_highlights"),
    "detectable_content:number_placeholders": _at_least("placeholders", "num_placeholders"),
    "length_constraints:nth_paragraph_first_word": _nth_first_word,
    "combination:two_responses": _two_responses,
    "keywords:existence": _existence,
    "keywords:frequency": _frequency,
    "keywords:forbidden_words": _forbidden,
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
    requirements: Sequence[ExactRequirement],
    *,
    max_words: int | None = None,
    most_words: int | None = None,
) -> RequirementGrammar | None:
    """One grammar holding every requirement it can (see the module docstring); None when
    it can hold none of them. `max_words` bounds free text that something must follow
    (`Shape.max_words`), raised to let through an "at least N words" requirement;
    `most_words`: the most words one answer can be made to hold (the budget's share), a
    larger "at least N words" is left out."""
    checked = _affordable_words(requirements, most_words)
    skipped: dict[str, str] = {r.name: why for r, why in checked if why}
    kept = [r for r, why in checked if not why]
    shape = Shape(max_words=_words_wanted(kept, max_words))
    enforced: list[str] = []
    for req in kept:
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


MAX_BOUND_WORDS = 1900
"""The largest word bound written: llama.cpp refuses a repetition past 2,000 rules (an
inline group of three rules repeated 820 times is refused; a rule name repeated 1,900
times is taken). Where more words are wanted, free text is left unbounded."""


def _affordable_words(
    requirements: Sequence[ExactRequirement], most: int | None
) -> list[tuple[ExactRequirement, str]]:
    """Each requirement, with why it is left out when it asks for more words than `most`."""
    out: list[tuple[ExactRequirement, str]] = []
    for req in requirements:
        why = ""
        if most is not None and (n := _least_words(req)) is not None and n > most:
            why = f"{n} words are more than one call within the budget can write"
        out.append((req, why))
    return out


def _least_words(req: ExactRequirement) -> int | None:
    """N of an "at least N words" requirement, else None."""
    if ALIASES.get(req.validator, req.validator) != "length_constraints:number_words":
        return None
    try:
        p = parse_kwargs(
            "length_constraints:number_words",
            {k: v for k, v in req.args.items() if k != "loose"},
        )
    except CadenzaError:
        return None
    return int(p["num_words"]) if p["relation"] == "at least" else None


def _words_wanted(requirements: Sequence[ExactRequirement], cap: int | None) -> int | None:
    if cap is None:
        return None
    cap = min(cap, MAX_BOUND_WORDS)
    for req in requirements:
        if (n := _least_words(req)) is not None:
            cap = max(cap, n + 20)
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
        text_rule(
            rules,
            "titletext",
            shape.letters.intersect(title),
            title,
            TITLE_WORDS,
            avoid=shape.avoid,
        )
        rules["title"] = '"<<" titletext ">>" "\\n"'
        parts.append("title")
    # Free text is bounded: what must follow it (an end phrase, a quote, a postscript) comes
    # before the token limit, and an answer with nothing after it ends there instead of
    # spending the budget on a run to the limit.
    parts.append(_content_rules(shape, rules))
    if shape.postscript is not None:
        marker = gbnf_literal(shape.cased(shape.postscript) + " ")
        words = min(POSTSCRIPT_WORDS, shape.max_words) if shape.max_words else None
        text_rule(rules, "pstext", shape.letters.intersect(line), line, words, avoid=shape.avoid)
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
"""At most this many words in a postscript."""


def _share(total: int, n: int) -> int:
    """Each of `n` parts' share of `total` words, rounded up."""
    return -(-total // max(1, n))


def most_words(shape: Shape) -> int | None:
    """The most words (runs of non-space characters) an answer of `shape` can hold, or
    None when its free text is unbounded (or it is JSON or a fixed answer)."""
    cap = shape.max_words
    if cap is None or shape.content in ("json", "choice"):
        return None
    fixed = sum(len(t.split()) for t in (shape.repeat, shape.end) if t)
    fixed += (TITLE_WORDS + 1) * shape.title
    fixed += (POSTSCRIPT_WORDS + 2) * (shape.postscript is not None)
    n = 2 if shape.content == "two" else max(1, shape.count)
    if shape.content != "text":
        each = max(MIN_PART_WORDS, cap // n, _share(shape.min_words, n) + MIN_PART_WORDS)
        return fixed + n * (each + 1)
    marks = shape.highlights + shape.placeholders + len(shape.keywords)
    if not marks:
        return fixed + cap + 1
    runs = marks + 1
    each = max(MARKED_RUN_WORDS, cap // runs, _share(shape.min_words, runs) + MIN_PART_WORDS)
    fixed += shape.highlights * (MARK_WORDS + 1) + shape.placeholders * (PLACEHOLDER_WORDS + 1)
    fixed += sum(len(k.split()) for k in shape.keywords)
    return fixed + runs * (each + 1)


def _content_rules(shape: Shape, rules: dict[str, str]) -> str:
    """The content's rules."""
    cap = shape.max_words
    if shape.content == "json":
        _json_rules(shape, rules)
        return "json"
    if shape.content == "choice":
        return "(" + " | ".join(gbnf_literal(o) for o in CONSTRAINED_RESPONSE_OPTIONS) + ")"
    n = max(1, shape.count)
    each = max(MIN_PART_WORDS, cap // n) if cap else None
    least = _share(shape.min_words, n)
    if each is not None:
        each = max(each, least + MIN_PART_WORDS)
    if shape.content == "bullets":
        line = shape.chars.minus("\n")
        first = shape.letters.intersect(line)
        text_rule(rules, "item", first, line, each, least, avoid=shape.avoid)
        text_rule(rules, "lastitem", first, line, each, least, avoid=shape.avoid)
        return '"* " item "\\n" ' * (n - 1) + '"* " lastitem'
    if shape.content == "paragraphs":
        para = shape.chars
        first = shape.letters.intersect(para)
        text_rule(rules, "para", first, para, each, least, avoid=shape.avoid)
        text_rule(rules, "lastpara", first, para, each, least, avoid=shape.avoid)
        return 'para "\\n***\\n" ' * (n - 1) + "lastpara"
    if shape.content == "blocks":
        return _blocks_rules(shape, rules, n, each, least)
    if shape.content == "two":
        least = _share(shape.min_words, 2)
        each = max(MIN_PART_WORDS, cap // 2, least + MIN_PART_WORDS) if cap else None
        text_rule(rules, "reply", shape.letters, shape.chars, each, least, avoid=shape.avoid)
        text_rule(rules, "lastreply", shape.letters, shape.chars, each, least, avoid=shape.avoid)
        return 'reply "\\n******\\n" lastreply'
    marks = ["hl"] * shape.highlights + ["ph"] * shape.placeholders
    for keyword in shape.keywords:
        name = f"kw{list(dict.fromkeys(shape.keywords)).index(keyword)}"
        rules[name] = gbnf_literal(shape.cased(keyword))
        marks.append(name)
    if not marks:
        return text_rule(
            rules, "text", shape.letters, shape.chars, cap, shape.min_words, avoid=shape.avoid
        )
    return _marked_text(shape, rules, marks)


def _marked_text(shape: Shape, rules: dict[str, str], marks: list[str]) -> str:
    """Free text with `marks` (``*highlights*``, ``[placeholders]``, then keywords) in
    it: runs of text (without a star when there are highlights, a bracket when there are
    placeholders), each bounded, so the marks come before the token limit."""
    line = shape.chars.minus("\n")
    inside = shape.letters.intersect(line)
    if "hl" in marks:
        text_rule(rules, "hltext", inside, line, MARK_WORDS, avoid=shape.avoid)
        rules["hl"] = '"*" hltext "*"'
    if "ph" in marks:
        text_rule(rules, "phtext", inside, line, PLACEHOLDER_WORDS, avoid=shape.avoid)
        rules["ph"] = '"[" phtext "]"'
    runs = len(marks) + 1
    least = _share(shape.min_words, runs)
    each = max(MARKED_RUN_WORDS, (shape.max_words or 0) // runs, least + MIN_PART_WORDS)
    text_rule(rules, "lead", shape.letters, shape.chars, each, least, avoid=shape.avoid)
    text_rule(rules, "run", shape.chars, shape.chars, each, least, avoid=shape.avoid)
    text_rule(rules, "lastrun", shape.chars, shape.chars, each, least, avoid=shape.avoid)
    body = ["lead"]
    for index, mark in enumerate(marks):
        body += [mark, "lastrun?" if index == len(marks) - 1 else "run"]
    if least:  # the words are owed: the last run cannot be left out
        body[-1] = "lastrun"
    return "(" + " ".join(body) + ")"


def _blocks_rules(shape: Shape, rules: dict[str, str], n: int, each: int | None, least: int) -> str:
    """`n` one-line paragraphs divided by a blank line; some start with a fixed word."""
    line = shape.chars.minus("\n")
    first = shape.letters.intersect(line)
    text_rule(rules, "blk", first, line, each, least, avoid=shape.avoid)
    text_rule(rules, "lastblk", first, line, each, least, avoid=shape.avoid)
    fixed = dict(shape.first_words)
    stops = CharSet.of(".?!" if shape.no_comma else ".,?!").intersect(line)
    text_rule(rules, "blkrest", first, line, each, max(0, least - 1), avoid=shape.avoid)
    text_rule(rules, "lastblkrest", first, line, each, max(0, least - 1), avoid=shape.avoid)
    out = []
    for index in range(1, n + 1):
        last = index == n
        word = fixed.get(index)
        if word is None:
            out.append("lastblk" if last else "blk")
            continue
        lit = _first_word_literal(shape, word)
        rest = "lastblkrest" if last else "blkrest"
        out.append(f"{lit} {stops.gbnf()}? {gbnf_literal(' ')} {rest}")
    return "(" + ' "\\n\\n" '.join(out) + ")"


def _first_word_literal(shape: Shape, word: str) -> str:
    """`word` as the case rule writes it; without one, its first letter in either case."""
    if shape.case is not None or not word[0].isalpha():
        return gbnf_literal(shape.cased(word))
    head = f"({gbnf_literal(word[0].upper())} | {gbnf_literal(word[0])})"
    return head + (f" {gbnf_literal(word[1:])}" if len(word) > 1 else "")


MIN_PART_WORDS = 8
"""The fewest words a bounded bullet point or paragraph may hold."""
MARK_WORDS = 10
"""At most this many words (after the first) in a ``*highlight*``: it must be closed."""
PLACEHOLDER_WORDS = 3
"""At most this many words (after the first) in a ``[placeholder]``."""
MARKED_RUN_WORDS = 40
"""At most this many words between two marks (more when the answer must be longer):
a model that does not write the next mark is made to before its token limit."""
MAX_MIN_WORDS = 1200
"""The largest "at least N words" a grammar holds (more would not fit a call's output)."""
MAX_MARKS = 40
"""The most highlights or placeholders a grammar writes out."""


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
