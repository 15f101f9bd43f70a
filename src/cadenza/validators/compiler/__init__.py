"""The requirement compiler: a plain-language requirement in, an exact code check out.

``compile_requirement("Do not use any commas")`` gives
``CompiledCheck("punctuation:no_comma", {}, rule="no_commas")``. When the meaning is
not clear-cut it gives ``None`` and the requirement stays with the LLM judge. The
checks are the IFEval instruction ids with IFEval's keyword arguments, ``json:object``
(a JSON object with given keys) and ``all_of`` (several checks that must all pass).

How a requirement is read
-------------------------
1. Quoted text ("...", '...', “...”, ‘...’, «...», `...`) and examples such as
   ``[address]``, ``<<title>>`` and ``*highlighted*`` are set aside with their exact
   text, so their words can neither trigger a rule nor go unexplained (`text`).
2. Each row of the rule table (`rules.RULES`) looks for its phrases (written in a small
   pattern language, `phrases`), reads its check's arguments (`readers`) and *claims*
   the words it accounts for.
3. The residue guard: a row's match stands only if every word it did not claim is
   harmless filler ("your", "response", "must", "please", ...) or in the row's own
   vocabulary. Negations, scopes, hedges and further constraints are never filler, so
   "do not avoid commas", "lowercase the first word", "no commas unless needed" and
   "no commas and be concise" all go to the judge.
4. Exactly one check must stand. If none does, the requirement may hold several
   constraints: it is cut into clauses that must each compile on their own
   (`conjunctions`), giving ``all_of`` the clauses' checks ("all lowercase and no
   commas"); guards refuse cuttings where a clause may depend on another.

Counts follow IFEval, which knows only "at least N" and "less than N": "at most 50
words" becomes less than 51 and "more than 299" at least 300. An exact count ("exactly
50 words", "just 50 words", "50 words") or an approximate one ("about 50 words") cannot
be expressed and goes to the judge. Checks that are exact in IFEval (bullet points,
paragraphs) take bare and exact counts; checks that count a minimum (placeholders,
highlighted sections, sections) take "at least N" and a bare N, as IFEval phrases them.

Extending it
------------
The table in `rules.py` is the place: each row names a check, its phrases, its reader
and its vocabulary, with examples that the tests compile. ``bench/compiler_recall.py``
measures recall and wrong checks on ``tests/data/compiler_paraphrases.jsonl``; see
docs/concepts.md ("The requirement compiler").
"""

from __future__ import annotations

import importlib

from ...task import Requirement
from ..base import registered_validators
from .conjunctions import read_clauses
from .rules import RULES, Rule, read_one
from .text import MAX_CHARS, CompiledCheck, Text

__all__ = ["RULES", "CompiledCheck", "Rule", "compile_requirement", "compile_requirements"]


def compile_requirement(description: str) -> CompiledCheck | None:
    """The code check that `description` asks for, or ``None`` if that is not clear."""
    if not description.strip() or len(description) > MAX_CHARS:
        return None
    text = Text(description)
    return read_one(text) or read_clauses(text)


def compile_requirements(reqs: list[Requirement], *, enabled: bool = True) -> list[Requirement]:
    """Attach a code check to each requirement that has none and compiles with confidence.

    Compiled requirements are copies; the input list and its requirements are not
    changed. A requirement that already names a validator, or carries
    ``validator_args`` of its own, is left as it is, and so is one whose check (or a
    part of it) is not registered (the judge then decides it). With ``enabled=False``
    nothing is compiled.
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
        needed = [check, *check.parts] if check is not None else []
        if check is None or any(c.validator not in known for c in needed):
            out.append(req)
            continue
        out.append(
            req.model_copy(
                update={"validator": check.validator, "validator_args": _copy(check.args)}
            )
        )
    return out


def _copy(args: dict[str, object]) -> dict[str, object]:
    """A deep enough copy of a check's arguments (lists and dicts of plain values)."""

    def copy(value: object) -> object:
        if isinstance(value, dict):
            return {k: copy(v) for k, v in value.items()}
        if isinstance(value, list):
            return [copy(v) for v in value]
        return value

    return {k: copy(v) for k, v in args.items()}


_BUILTIN_MODULES = ("ifeval", "json_checks", "combined")


def _load_builtin_checks() -> None:
    """Register the built-in checks the compiler attaches (IFEval's if installed)."""
    for module in _BUILTIN_MODULES:
        name = f"{__package__.rpartition('.')[0]}.{module}"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
