"""Plain-language requirements written from IFEval instruction ids and their kwargs.

These are IFEval's own instruction descriptions (its `build_description` templates,
Apache-2.0, see NOTICE), which is what the published Maestro evaluation gave its
judge-mode runs: e.g. ``punctuation:no_comma`` becomes "In your entire response,
refrain from the use of any commas."
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidTaskError, UnknownValidatorError
from ..validators.ifeval import LANGUAGE_CODES as _LANGUAGES

__all__ = ["describe_instruction"]


_Template = Callable[[Mapping[str, Any]], str]

_TEMPLATES: dict[str, _Template] = {
    "keywords:existence": lambda k: f"Include keywords {', '.join(k['keywords'])} in the response.",
    "keywords:frequency": lambda k: (
        f"In your response, the word {k['keyword']} should appear {k['relation']} "
        f"{k['frequency']} times."
    ),
    "keywords:forbidden_words": lambda k: (
        f"Do not include keywords {', '.join(k['forbidden_words'])} in the response."
    ),
    "keywords:letter_frequency": lambda k: (
        f"In your response, the letter {k['letter']} should appear {k['let_relation']} "
        f"{k['let_frequency']} times."
    ),
    "language:response_language": lambda k: (
        f"Your ENTIRE response should be in {_LANGUAGES.get(k['language'], k['language'])} "
        "language, no other language is allowed."
    ),
    "length_constraints:number_sentences": lambda k: (
        f"Your response should contain {k['relation']} {k['num_sentences']} sentences."
    ),
    "length_constraints:number_paragraphs": lambda k: (
        f"There should be {k['num_paragraphs']} paragraphs. Paragraphs are separated with the "
        "markdown divider: ***"
    ),
    "length_constraints:number_words": lambda k: (
        f"Answer with {k['relation']} {k['num_words']} words."
    ),
    "length_constraints:nth_paragraph_first_word": lambda k: (
        f"There should be {k['num_paragraphs']} paragraphs. Paragraphs and only paragraphs are "
        "separated with each other by two new lines as if it was '\\n\\n' in python. "
        f"Paragraph {k['nth_paragraph']} must start with word {k['first_word']}."
    ),
    "detectable_content:number_placeholders": lambda k: (
        f"The response must contain at least {k['num_placeholders']} placeholders represented "
        "by square brackets, such as [address]."
    ),
    "detectable_content:postscript": lambda k: (
        "At the end of your response, please explicitly add a postscript starting with "
        f"{k['postscript_marker']}"
    ),
    "detectable_format:number_bullet_lists": lambda k: (
        f"Your answer must contain exactly {k['num_bullets']} bullet points. Use the markdown "
        "bullet points such as:\n* This is point 1. \n* This is point 2"
    ),
    "detectable_format:constrained_response": lambda k: (
        "Answer with one of the following options: ('My answer is yes.', 'My answer is no.', "
        "'My answer is maybe.')"
    ),
    "detectable_format:number_highlighted_sections": lambda k: (
        f"Highlight at least {k['num_highlights']} sections in your answer with markdown, i.e. "
        "*highlighted section*."
    ),
    "detectable_format:multiple_sections": lambda k: (
        f"Your response must have {k['num_sections']} sections. Mark the beginning of each "
        f"section with {k['section_spliter']} X, such as:\n{k['section_spliter']} 1\n"
        f"[content of section 1]\n{k['section_spliter']} 2\n[content of section 2]"
    ),
    "detectable_format:json_format": lambda k: (
        "Entire output should be wrapped in JSON format. You can use markdown ticks such as ```."
    ),
    "detectable_format:title": lambda k: (
        "Your answer must contain a title, wrapped in double angular brackets, such as "
        "<<poem of joy>>."
    ),
    "combination:two_responses": lambda k: (
        "Give two different responses. Responses and only responses should be separated by 6 "
        "asterisk symbols: ******."
    ),
    "combination:repeat_prompt": lambda k: (
        "First repeat the request word for word without change, then give your answer (1. do "
        "not say any words or characters before repeating the request; 2. the request you need "
        f"to repeat does not include this sentence) Request: {k['prompt_to_repeat']}"
    ),
    "startend:end_checker": lambda k: (
        f"Finish your response with this exact phrase {k['end_phrase']}. No other words should "
        "follow this phrase."
    ),
    "startend:quotation": lambda k: "Wrap your entire response with double quotation marks.",
    "change_case:capital_word_frequency": lambda k: (
        f"In your response, words with all capital letters should appear "
        f"{k['capital_relation']} {k['capital_frequency']} times."
    ),
    "change_case:english_capital": lambda k: (
        "Your entire response should be in English, and in all capital letters."
    ),
    "change_case:english_lowercase": lambda k: (
        "Your entire response should be in English, and in all lowercase letters. No capital "
        "letters are allowed."
    ),
    "punctuation:no_comma": lambda k: (
        "In your entire response, refrain from the use of any commas."
    ),
}


def describe_instruction(instruction_id: str, kwargs: Mapping[str, Any] | None) -> str:
    """IFEval's own sentence for `instruction_id` with `kwargs` filled in."""
    try:
        template = _TEMPLATES[instruction_id]
    except KeyError:
        raise UnknownValidatorError(f"unknown IFEval instruction id {instruction_id!r}") from None
    args = {k: v for k, v in (kwargs or {}).items() if v is not None}
    try:
        return template(args)
    except KeyError as exc:
        raise InvalidTaskError(
            f"IFEval instruction {instruction_id!r} needs the argument {exc.args[0]!r}"
        ) from None
