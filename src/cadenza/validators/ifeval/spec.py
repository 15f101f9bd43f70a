"""The 25 IFEval instructions: each one's arguments and summary, aliases, and the
entry points that validate arguments and run a check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidTaskError, UnknownValidatorError
from ..base import Verdict
from .args import KIND_HELP, Arg, Params, parse_arg
from .checks import CHECKS

__all__ = [
    "ALIASES",
    "INSTRUCTION_IDS",
    "describe",
    "parse_kwargs",
    "resolve_id",
    "run_check",
]


@dataclass(frozen=True)
class _Spec:
    args: tuple[Arg, ...]
    summary: str


def _a(name: str, kind: str) -> Arg:
    return Arg(name, kind)


_SPECS: dict[str, _Spec] = {
    "punctuation:no_comma": _Spec((), "no commas anywhere"),
    "length_constraints:number_words": _Spec(
        (_a("relation", "relation"), _a("num_words", "count")),
        "word count 'less than' / 'at least' num_words",
    ),
    "length_constraints:number_sentences": _Spec(
        (_a("relation", "relation"), _a("num_sentences", "count")),
        "sentence count 'less than' / 'at least' num_sentences",
    ),
    "length_constraints:number_paragraphs": _Spec(
        (_a("num_paragraphs", "count"),),
        "exactly num_paragraphs paragraphs separated by ***",
    ),
    "length_constraints:nth_paragraph_first_word": _Spec(
        (_a("num_paragraphs", "nth"), _a("nth_paragraph", "nth"), _a("first_word", "text")),
        "num_paragraphs paragraphs (blank-line separated); paragraph nth_paragraph starts "
        "with first_word",
    ),
    "keywords:existence": _Spec((_a("keywords", "texts"),), "every one of the keywords appears"),
    "keywords:frequency": _Spec(
        (_a("keyword", "text"), _a("relation", "relation"), _a("frequency", "count")),
        "keyword appears 'less than' / 'at least' frequency times",
    ),
    "keywords:forbidden_words": _Spec(
        (_a("forbidden_words", "texts"),),
        "none of forbidden_words appears as a whole word",
    ),
    "keywords:letter_frequency": _Spec(
        (_a("letter", "letter"), _a("let_relation", "relation"), _a("let_frequency", "count")),
        "letter appears 'less than' / 'at least' let_frequency times",
    ),
    "detectable_format:number_bullet_lists": _Spec(
        (_a("num_bullets", "count"),),
        "exactly num_bullets markdown bullet points",
    ),
    "detectable_format:constrained_response": _Spec((), "answers 'My answer is yes./no./maybe.'"),
    "detectable_format:number_highlighted_sections": _Spec(
        (_a("num_highlights", "count"),),
        "at least num_highlights *highlighted* sections",
    ),
    "detectable_format:multiple_sections": _Spec(
        (_a("section_spliter", "text"), _a("num_sections", "count")),
        "at least num_sections sections marked 'section_spliter N'",
    ),
    "detectable_format:json_format": _Spec((), "the whole output is valid JSON"),
    "detectable_format:title": _Spec((), "has a title in <<double angular brackets>>"),
    "detectable_content:number_placeholders": _Spec(
        (_a("num_placeholders", "count"),),
        "at least num_placeholders [placeholders]",
    ),
    "detectable_content:postscript": _Spec(
        (_a("postscript_marker", "text"),),
        "has a postscript starting with postscript_marker",
    ),
    "change_case:capital_word_frequency": _Spec(
        (_a("capital_relation", "relation"), _a("capital_frequency", "count")),
        "all-capital words 'less than' / 'at least' capital_frequency times",
    ),
    "change_case:english_capital": _Spec((), "English, all capital letters"),
    "change_case:english_lowercase": _Spec((), "English, all lowercase letters"),
    "startend:end_checker": _Spec((_a("end_phrase", "text"),), "ends with end_phrase exactly"),
    "startend:quotation": _Spec((), "wrapped in double quotation marks"),
    "combination:two_responses": _Spec((), "two different responses separated by ******"),
    "combination:repeat_prompt": _Spec(
        (_a("prompt_to_repeat", "prompt"),),
        "starts by repeating prompt_to_repeat (default: the instruction) word for word",
    ),
    "language:response_language": _Spec(
        (_a("language", "language"),),
        "the whole response is in language (ISO 639-1 code)",
    ),
}

INSTRUCTION_IDS: tuple[str, ...] = tuple(_SPECS)

ALIASES: Mapping[str, str] = {
    "no_commas": "punctuation:no_comma",
    "lowercase": "change_case:english_lowercase",
    "uppercase": "change_case:english_capital",
    "word_count": "length_constraints:number_words",
    "json": "detectable_format:json_format",
    "forbidden_words": "keywords:forbidden_words",
}


def resolve_id(instruction_id: str) -> str:
    """The IFEval id for `instruction_id` or one of its `ALIASES`."""
    if instruction_id in _SPECS:
        return instruction_id
    if instruction_id in ALIASES:
        return ALIASES[instruction_id]
    raise UnknownValidatorError(
        f"unknown IFEval instruction id {instruction_id!r}; use one of: "
        + ", ".join(INSTRUCTION_IDS)
    )


def describe(instruction_id: str) -> str:
    """A one-line description of what the instruction requires, naming its kwargs."""
    iid = resolve_id(instruction_id)
    spec = _SPECS[iid]
    args = ", ".join(a.name for a in spec.args)
    return f"IFEval {iid}: {spec.summary}" + (f" (args: {args})" if args else "")


def parse_kwargs(
    instruction_id: str, kwargs: Mapping[str, Any] | None, *, prompt: str = ""
) -> dict[str, Any]:
    """Validate IFEval kwargs for `instruction_id` (None values count as absent).

    Raises `UnknownValidatorError` for an unknown id and `InvalidTaskError` naming the
    missing, unknown or invalid argument.
    """
    iid = resolve_id(instruction_id)
    spec = _SPECS[iid]
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, Mapping):
        raise InvalidTaskError(
            f"{iid}: kwargs must be a dict of arguments, got {type(kwargs).__name__}"
        )
    given = {k: v for k, v in kwargs.items() if v is not None}
    names = [a.name for a in spec.args]
    unknown = sorted(str(k) for k in given if k not in names)
    if unknown:
        accepted = ", ".join(names) if names else "none"
        raise InvalidTaskError(
            f"{iid}: unknown argument(s) {', '.join(map(repr, unknown))}; accepted: {accepted}"
        )
    params: dict[str, Any] = {}
    for arg in spec.args:
        value = given.get(arg.name)
        if value is None and arg.kind != "prompt":
            raise InvalidTaskError(f"{iid}: missing argument {arg.name!r} ({KIND_HELP[arg.kind]})")
        params[arg.name] = parse_arg(iid, arg, value, prompt)
    if iid == "length_constraints:nth_paragraph_first_word":
        if params["nth_paragraph"] > params["num_paragraphs"]:
            raise InvalidTaskError(
                f"{iid}: nth_paragraph ({params['nth_paragraph']}) must not exceed "
                f"num_paragraphs ({params['num_paragraphs']})"
            )
        params["first_word"] = params["first_word"].lower()
    return params


def run_check(instruction_id: str, response: str, params: Params) -> Verdict:
    """IFEval's ``check_following(response)`` as a Verdict; `params` from `parse_kwargs`.

    This is the bare check: IFEval's rule that an empty response fails is applied by
    `check_instruction`.
    """
    return CHECKS[resolve_id(instruction_id)](response, params)
