"""Requirements that hold several constraints: "all lowercase and no commas".

When the whole requirement does not compile to one check, it is cut into clauses at
sentence ends, semicolons, commas, "and", "but" and "as well as"; every clause must
then compile to one check on its own (the same table, the same residue guard), with
the fewest clauses that do. The requirement compiles to ``all_of`` those checks, whose
verdict is the lowest of its parts' and names the part that failed.

A reading is refused, and the judge decides, when:

- two cuttings with the fewest clauses read differently;
- a later clause refers back ("it", "this", a leading "all") to something an earlier
  clause introduced other than the whole answer ("Add a P.S. and keep it under 20
  words": "it" is the P.S.);
- a clause follows a negated one without a verb or subject of its own, so the negation
  may reach it ("Don't use commas and capital letters");
- a clause follows one about a part of the answer (a title, a paragraph, a P.S.) and
  may be about that part too: a length or case without a verb of its own ("a title in
  double angular brackets and under 5 words"), or a verb sharing that part's subject
  ("paragraph 2 must start with 'So' and end with 'Yes'");
- the letter case checks (English, per IFEval) meet another language ("Respond in
  French, all lowercase" cannot be met by those checks);
- two clauses ask for the same check in ways that cannot both hold ("in French ... in
  Spanish", "exactly 3 bullet points and exactly 4", "at least 100 words and at most
  50"); a lower and an upper bound of one count are a range, and two keyword lists
  are merged;
- the clauses name different pieces of writing ("a poem in lowercase and a story with
  no commas");
- there are too many clauses (more than `MAX_CLAUSES`) or too many ways to cut the text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .phrases import NEG
from .rules import read_one
from .text import CompiledCheck, Span, Text

__all__ = ["read_clauses"]

MAX_CHARS = 600
MAX_BOUNDARIES = 10
MAX_CLAUSES = 5
MAX_CUTTINGS = 16

_STOP_RE = re.compile(r"[.!?;:]\s+|;")  # a sentence end or a semicolon
_JOIN_RE = re.compile(  # a comma, "and", "but", "as well as"
    r",\s+(?:(?:and|but|plus)\s+(?:also\s+)?)?|\s+(?:and|but)\s+(?:also\s+)?|\s+as\s+well\s+as\s+"
)

# Checks about the answer as a whole: a later "it" or "all" can only mean the answer.
_WHOLE = frozenset(
    {
        "punctuation:no_comma",
        "change_case:english_lowercase",
        "change_case:english_capital",
        "length_constraints:number_words",
        "length_constraints:number_sentences",
        "language:response_language",
        "detectable_format:json_format",
        "startend:quotation",
        "json:object",
    }
)
_CASE = frozenset({"change_case:english_lowercase", "change_case:english_capital"})
# "it", "this", or a clause that hangs on the one before: "all in lowercase", "with ...".
_REFERS_BACK_RE = re.compile(
    r"\b(?:it|its|it's|this)\b|^\W*(?:all|with|without|of|having|containing|including)\b"
)
# A full stop after an abbreviation does not end a sentence: "P.S.", "e.g.", "max.".
_ABBREVIATION_RE = re.compile(
    r"\b(?:p\.\s?(?:p\.\s?)?s|e\.\s?g|i\.\s?e|etc|vs|approx|min|max|no|nr)\.$"
)
_NEGATED_RE = re.compile(
    f"{NEG}|\\b(?:no|never|without|avoid|avoiding|refrain|omit|exclude|skip|zero|free\\s+of)\\b"
)
# A clause that starts with its own verb or subject (so nothing before reaches into it).
_OWN_CLAUSE_RE = re.compile(
    f"^\\W*(?:(?:also|then|please)\\s+)*(?:{NEG}|no\\b|never\\b|avoid\\b|there\\b|your\\b"
    r"|it\s+(?:must|should|has|needs|is)\b|the\s+(?:response|answer|reply|output|text)\b"
    r"|(?:use|write|respond|answer|reply|include|end|finish|conclude|close|keep|make|wrap|put"
    r"|enclose|add|give|highlight|mention|format|return|output|limit|stay|divide|split|organize"
    r"|separate|be|ensure|start|begin|provide|type|say|repeat|sign|avoid)\b)"
)
# A clause with a subject of its own ("your answer must ...", "there should be ...").
_SUBJECT_RE = re.compile(
    r"^\W*(?:(?:also|then|please)\s+)*(?:your\b|there\b|you\b|the\s+(?:response|answer|reply"
    r"|output|text)\b|it\s+(?:must|should|has|needs|is)\b)"
)
# A clause that says something of a subject: "paragraph 2 must start with ...".
_PREDICATE_RE = re.compile(
    r"\b(?:must|should|shall|has\s+to|have\s+to|needs?\s+to|will|can|may|is|are|be)\b"
)
_PIECES_RE = re.compile(r"\b(?:essay|story|poem|article|blog\s+post|post|email|summary|title)\b")


@dataclass(frozen=True)
class _Clause:
    span: Span
    check: CompiledCheck
    after_stop: bool
    """Whether the clause follows a sentence end or semicolon (not "and" or a comma)."""


def read_clauses(t: Text) -> CompiledCheck | None:
    """``all_of`` the checks of the clauses of `t`, or None (see the module docstring)."""
    if len(t.low) > MAX_CHARS:
        return None
    edges = _edges(t.low)
    if len(edges) < 3 or len(edges) > MAX_BOUNDARIES + 2:
        return None
    memo: dict[tuple[int, int], CompiledCheck | None] = {}

    def clause(i: int, j: int) -> CompiledCheck | None:
        if (i, j) not in memo:
            memo[i, j] = read_one(t.slice(edges[i][1], edges[j][0]))
        return memo[i, j]

    # fewest[i]: the cuttings of the text after edge i into the fewest clauses.
    last = len(edges) - 1
    fewest: dict[int, list[list[_Clause]]] = {last: [[]]}
    for i in range(last - 1, -1, -1):
        best: list[list[_Clause]] = []
        for j in range(i + 1, last + 1):
            check = clause(i, j) if j in fewest else None
            if check is None:
                continue
            head = _Clause((edges[i][1], edges[j][0]), check, edges[i][2])
            options = [[head, *rest] for rest in fewest[j]]
            if not best or len(options[0]) < len(best[0]):
                best = options
            elif len(options[0]) == len(best[0]):
                best += options
        if len(best) > MAX_CUTTINGS:
            return None  # too many ways to read it
        if best:
            fewest[i] = best
    cuttings = fewest.get(0, [])
    if not cuttings or not 2 <= len(cuttings[0]) <= MAX_CLAUSES:
        return None
    readings = [_reading(t, clauses) for clauses in cuttings]
    parts = readings[0]
    if parts is None or any(r is None or _keys(r) != _keys(parts) for r in readings):
        return None
    if len(parts) == 1:
        return parts[0]
    return CompiledCheck(
        "all_of",
        {"checks": [{"validator": p.validator, "args": dict(p.args)} for p in parts]},
        "all_of(" + ", ".join(p.rule for p in parts) + ")",
        parts,
    )


def _edges(s: str) -> list[tuple[int, int, bool]]:
    """Where `s` may be cut: (start, end, after a sentence end), with the start and end of
    `s` as the first and last edges. A full stop after an abbreviation is no cut."""
    cuts = [(m.start(), m.end(), True) for m in _STOP_RE.finditer(s)]
    cuts = [c for c in cuts if not _ABBREVIATION_RE.search(s[: c[0] + 1])]
    cuts += [(m.start(), m.end(), False) for m in _JOIN_RE.finditer(s)]
    merged: list[tuple[int, int, bool]] = []
    for a, b, stop in sorted(cuts):
        if merged and a <= merged[-1][1]:  # ". And": one cut
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], b), last[2] or stop)
        else:
            merged.append((a, b, stop))
    inner = [c for c in merged if c[0] > 0 and c[1] < len(s)]
    return [(0, 0, False), *inner, (len(s), len(s), False)]


def _reading(t: Text, clauses: list[_Clause]) -> tuple[CompiledCheck, ...] | None:
    """The checks of one cutting, or None if a guard refuses it."""
    for k, c in enumerate(clauses[1:], start=1):
        text = t.low[c.span[0] : c.span[1]]
        earlier, prev = clauses[:k], clauses[k - 1]
        before = t.low[prev.span[0] : prev.span[1]]
        own = bool(_OWN_CLAUSE_RE.search(text))
        if _REFERS_BACK_RE.search(text) and any(e.check.validator not in _WHOLE for e in earlier):
            return None  # "Add a P.S. and keep it short": "it" is the P.S.
        if not c.after_stop and _NEGATED_RE.search(before) and not own:
            return None  # "Don't use commas and capital letters"
        if prev.check.validator not in _WHOLE:
            if c.check.validator in _WHOLE and not own:
                return None  # "The title must be in <<brackets>> and under 5 words"
            if not c.after_stop and _PREDICATE_RE.search(before) and not _SUBJECT_RE.search(text):
                return None  # "Paragraph 2 must start with 'So' and end with 'Yes'"
    if len(set(_PIECES_RE.findall(t.low))) > 1:
        return None  # "a poem in lowercase and a story with no commas"
    return _combined([c.check for c in clauses])


# For checks of a count, the arguments that hold the relation and the number: a lower and
# an upper bound of the same count make a range ("at least 100 words but at most 200").
_BOUND_ARGS = {
    "length_constraints:number_words": ("relation", "num_words"),
    "length_constraints:number_sentences": ("relation", "num_sentences"),
    "keywords:frequency": ("relation", "frequency"),
    "keywords:letter_frequency": ("let_relation", "let_frequency"),
    "change_case:capital_word_frequency": ("capital_relation", "capital_frequency"),
}
# Lists that two clauses may add to: "include the word 'cat'. Also include 'dog'".
_LIST_ARGS = {"keywords:existence": "keywords", "keywords:forbidden_words": "forbidden_words"}


def _combined(checks: list[CompiledCheck]) -> tuple[CompiledCheck, ...] | None:
    """The clauses' checks as the parts of one ``all_of``: repeats dropped, lists merged,
    and None where two clauses disagree (two languages, lowercase and capitals, ...)."""
    languages = {c.args["language"] for c in checks if c.validator == "language:response_language"}
    cases = {c.validator for c in checks} & _CASE
    if len(cases) > 1 or (cases and languages - {"en"}):
        return None  # IFEval's case checks also require English
    if cases:  # ... so "in English" adds nothing to them
        checks = [c for c in checks if c.validator != "language:response_language"]
    out: list[CompiledCheck] = []
    for check in checks:
        same = [c for c in out if c.validator == check.validator]
        if any(_key(c) == _key(check) for c in same):
            continue
        if not same:
            out.append(check)
        elif check.validator in _LIST_ARGS and len(same) == 1:
            arg = _LIST_ARGS[check.validator]
            merged = list(dict.fromkeys([*same[0].args[arg], *check.args[arg]]))
            out[out.index(same[0])] = CompiledCheck(
                check.validator, {arg: merged}, f"{same[0].rule}+{check.rule}"
            )
        elif check.validator in _BOUND_ARGS and len(same) == 1 and _is_range(same[0], check):
            out.append(check)
        else:
            return None
    return tuple(out)


def _is_range(a: CompiledCheck, b: CompiledCheck) -> bool:
    """Whether `a` and `b` bound the same count from both sides, leaving room between."""
    relation, number = _BOUND_ARGS[a.validator]
    rest_a = {k: v for k, v in a.args.items() if k not in (relation, number)}
    rest_b = {k: v for k, v in b.args.items() if k not in (relation, number)}
    if rest_a != rest_b or a.args[relation] == b.args[relation]:
        return False
    low, high = (a, b) if a.args[relation] == "at least" else (b, a)
    return bool(low.args[number] < high.args[number])


def _key(check: CompiledCheck) -> tuple[str, str]:
    return check.validator, json.dumps(check.args, sort_keys=True)


def _keys(checks: tuple[CompiledCheck, ...]) -> list[tuple[str, str]]:
    return sorted(_key(c) for c in checks)
