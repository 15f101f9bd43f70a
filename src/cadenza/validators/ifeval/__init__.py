"""Built-in deterministic checks for the 25 IFEval instruction types.

    from cadenza.validators.ifeval import check_instruction, score_response

    check_instruction("length_constraints:number_words", text,
                      {"relation": "at least", "num_words": 300})
    # Verdict(score=0.71, reason='212 words, need at least 300')

Importing this package registers every check as a cadenza validator under its
IFEval id (e.g. ``"punctuation:no_comma"``) and under a few friendly aliases
(``no_commas``, ``lowercase``, ``uppercase``, ``word_count``, ``json``,
``forbidden_words``). A requirement passes the instruction's kwargs as its
``validator_args`` (plus an optional ``"loose": true`` for IFEval's loose
variant); ``combination:repeat_prompt`` repeats the instruction itself when
``prompt_to_repeat`` is not given.

Ported from IFEval (Copyright Google LLC, Apache License 2.0); see NOTICE.
"""

from __future__ import annotations

from collections.abc import Callable

from ...errors import InvalidTaskError
from ..base import CheckContext, RepairFn, Verdict, register_validator
from .checks import (
    ALIASES,
    INSTRUCTION_IDS,
    REPAIRABLE,
    count_sentences,
    count_words,
    describe,
    detect_language,
    repair,
    word_tokenize,
)
from .scoring import check_instruction, loose_variants, score_response

__all__ = [
    "ALIASES",
    "INSTRUCTION_IDS",
    "REPAIRABLE",
    "check_instruction",
    "count_sentences",
    "count_words",
    "detect_language",
    "loose_variants",
    "repair",
    "score_response",
    "word_tokenize",
]


def _make_validator(instruction_id: str) -> Callable[[str, CheckContext], Verdict]:
    def check(candidate: str, ctx: CheckContext) -> Verdict:
        args = dict(ctx.args or {})
        loose = args.pop("loose", False)
        if not isinstance(loose, bool):
            raise InvalidTaskError(f"{instruction_id}: 'loose' must be true or false")
        return check_instruction(
            instruction_id, candidate, args, prompt=ctx.instruction, loose=loose
        )

    check.__name__ = instruction_id
    check.__doc__ = describe(instruction_id)
    return check


def _make_repair(instruction_id: str) -> RepairFn | None:
    if instruction_id not in REPAIRABLE:
        return None

    def fix(candidate: str, ctx: CheckContext) -> str | None:
        args = {k: v for k, v in (ctx.args or {}).items() if k != "loose"}
        return repair(instruction_id, candidate, args, prompt=ctx.instruction)

    return fix


def _register() -> None:
    for instruction_id in INSTRUCTION_IDS:
        register_validator(
            instruction_id,
            _make_validator(instruction_id),
            description=describe(instruction_id),
            repair=_make_repair(instruction_id),
        )
    for alias, instruction_id in ALIASES.items():
        register_validator(
            alias,
            _make_validator(instruction_id),
            description=describe(instruction_id) + f" (alias {alias!r})",
            repair=_make_repair(instruction_id),
        )


_register()
