"""Built-in deterministic checks for the 25 IFEval instruction types.

    from cadenza.validators.ifeval import check_instruction, score_response

    check_instruction("length_constraints:number_words", text,
                      {"relation": "at least", "num_words": 300})
    # Verdict(score=0.71, reason='212 words, need at least 300')

Every check is a built-in cadenza validator under its IFEval id (e.g.
``"punctuation:no_comma"``) and under a few friendly aliases (``no_commas``,
``lowercase``, ``uppercase``, ``word_count``, ``json``, ``forbidden_words``); the
validator registry loads them on its first lookup. A requirement passes the
instruction's kwargs as its ``validator_args`` (plus an optional ``"loose": true`` for
IFEval's loose variant); ``combination:repeat_prompt`` repeats the instruction itself
when ``prompt_to_repeat`` is not given. Text arguments are matched literally.

Modules: `tokenizers` (words, Punkt sentences, Treebank words), `language`
(langdetect), `args` (argument kinds and parsing), `checks` (the 25 checks), `spec`
(each instruction's arguments; validating kwargs), `repairs`, `scoring` (IFEval's
strict and loose scoring).

Ported from IFEval (Copyright Google LLC, Apache License 2.0); see NOTICE.
"""

from __future__ import annotations

from collections.abc import Callable

from ...errors import InvalidTaskError
from ..base import CheckContext, RepairFn, Verdict, register_validator
from .language import LANGUAGE_CODES, detect_language
from .repairs import REPAIRABLE, repair
from .scoring import check_instruction, loose_variants, score_response
from .spec import ALIASES, INSTRUCTION_IDS, describe, parse_kwargs, resolve_id, run_check
from .tokenizers import count_sentences, count_words, word_tokenize

__all__ = [
    "ALIASES",
    "INSTRUCTION_IDS",
    "LANGUAGE_CODES",
    "REPAIRABLE",
    "check_instruction",
    "count_sentences",
    "count_words",
    "describe",
    "detect_language",
    "loose_variants",
    "parse_kwargs",
    "repair",
    "resolve_id",
    "run_check",
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
            builtin=True,
        )
    for alias, instruction_id in ALIASES.items():
        register_validator(
            alias,
            _make_validator(instruction_id),
            description=describe(instruction_id) + f" (alias {alias!r})",
            repair=_make_repair(instruction_id),
            builtin=True,
        )


_register()
