"""Requirements holding several constraints compile to ``all_of`` their parts, or go to
the judge when one part may reach into another."""

from __future__ import annotations

from typing import Any

import pytest

from cadenza.task import Requirement
from cadenza.validators import base
from cadenza.validators.compiler import CompiledCheck, compile_requirement, compile_requirements

NO_COMMA = ("punctuation:no_comma", {})
LOWER = ("change_case:english_lowercase", {})
UPPER = ("change_case:english_capital", {})
QUOTED = ("startend:quotation", {})
JSON = ("detectable_format:json_format", {})
TITLE = ("detectable_format:title", {})
PS = ("detectable_content:postscript", {"postscript_marker": "P.S."})


def words(relation: str, n: int) -> tuple[str, dict[str, Any]]:
    return "length_constraints:number_words", {"relation": relation, "num_words": n}


def sentences(relation: str, n: int) -> tuple[str, dict[str, Any]]:
    return "length_constraints:number_sentences", {"relation": relation, "num_sentences": n}


def lang(code: str) -> tuple[str, dict[str, Any]]:
    return "language:response_language", {"language": code}


def end(phrase: str) -> tuple[str, dict[str, Any]]:
    return "startend:end_checker", {"end_phrase": phrase}


def has(*keywords: str) -> tuple[str, dict[str, Any]]:
    return "keywords:existence", {"keywords": list(keywords)}


def forbid(*keywords: str) -> tuple[str, dict[str, Any]]:
    return "keywords:forbidden_words", {"forbidden_words": list(keywords)}


def parts(check: CompiledCheck | None) -> list[tuple[str, dict[str, Any]]] | None:
    if check is None:
        return None
    return [(p.validator, p.args) for p in (check.parts or (check,))]


CONJUNCTIONS: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = [
    ("all lowercase and no commas", [LOWER, NO_COMMA]),
    ("Write at least 300 words, no commas", [words("at least", 300), NO_COMMA]),
    ("Respond in Spanish and do not use any commas.", [lang("es"), NO_COMMA]),
    ("No commas. All lowercase.", [NO_COMMA, LOWER]),
    ("No commas; at most 50 words", [NO_COMMA, words("less than", 51)]),
    ("Don't use commas and don't use capital letters", [NO_COMMA, LOWER]),
    ("Wrap your response in double quotes and end with 'Bye'", [QUOTED, end("Bye")]),
    (
        "at least 5 sentences, no more than 100 words",
        [sentences("at least", 5), words("less than", 101)],
    ),
    ("Write in all caps, at least 100 words", [UPPER, words("at least", 100)]),
    ("Respond in lowercase. Keep it under 50 words.", [LOWER, words("less than", 50)]),
    ("In all lowercase letters, with no commas", [LOWER, NO_COMMA]),
    ("Respond in English, but with no commas", [lang("en"), NO_COMMA]),
    (
        "Answer in French please, and in fewer than 3 sentences",
        [lang("fr"), sentences("less than", 3)],
    ),
    (
        "Include a title in double angular brackets. Keep your answer under 50 words.",
        [TITLE, words("less than", 50)],
    ),
    ("Add a P.S. and use no commas", [PS, NO_COMMA]),
    (
        "Include the keywords 'apple' and 'pear', and avoid the word 'banana'.",
        [has("apple", "pear"), forbid("banana")],
    ),
    # a range: a lower and an upper bound of the same count
    (
        "At least 100 words but no more than 200 words.",
        [words("at least", 100), words("less than", 201)],
    ),
    # lists that two clauses add to are merged
    ("Include the word 'cat'. Also include the word 'dog'.", [has("cat", "dog")]),
    ("Do not use the word 'very'. Do not use the word 'really'.", [forbid("very", "really")]),
    # "in English" adds nothing to IFEval's case checks, which require English
    ("Answer in English, all lowercase, no commas", [LOWER, NO_COMMA]),
]


@pytest.mark.parametrize(("text", "expected"), CONJUNCTIONS)
def test_compiles_to_all_of_its_parts(text: str, expected: list[Any]) -> None:
    check = compile_requirement(text)
    assert check is not None, text
    assert parts(check) == expected
    if len(expected) > 1:
        assert check.validator == "all_of"
        assert check.args == {"checks": [{"validator": v, "args": a} for v, a in expected]}
        assert check.rule.startswith("all_of(")
    else:
        assert not check.parts


def test_a_repeated_constraint_is_one_check() -> None:
    assert compile_requirement("Respond in French. Respond in French.") == compile_requirement(
        "Respond in French"
    )


# Each stays with the judge; the comment says which guard refuses it.
TO_THE_JUDGE = [
    # a clause refers back to a part of the answer ("it", "all", "with")
    "Add a P.S. and keep it under 20 words",
    "End with 'Bye' and wrap it in double quotes",
    "Include a title in double angular brackets and make it all caps",
    "Write 3 bullet points, all in lowercase",
    "Include 3 placeholders like [name], all in lowercase",
    "Add a P.S., with no commas",
    "Include a title in double angular brackets. Keep it under 5 words.",
    # a negation may reach into the next clause
    "Don't use commas and capital letters",
    "No commas and lowercase letters",
    "Never use commas, lowercase letters",
    "No commas and all lowercase",
    "Don't use commas and more than 100 words",
    # a clause about a part of the answer, then one that may be about it too
    "The title must be in double angular brackets and under 5 words",
    "Give your poem a title in double angular brackets, in fewer than 5 sentences",
    "There should be 3 paragraphs separated by blank lines, and paragraph 2 must start with "
    "'So' and end with 'Yes'",
    # IFEval's case checks require English
    "Respond in French, all lowercase",
    "Answer in German and in all capital letters",
    # contradictions and two readings of one count
    "Write in all caps and in lowercase",
    "Use at least 100 words and at most 50 words",
    "Respond in French. Respond in Spanish.",
    "Use exactly 3 bullet points and exactly 4 bullet points",
    # different pieces of writing
    "Write a poem in lowercase and a story with no commas",
    "Write an essay and a poem; the poem should be in lowercase",
    # a clause that compiles to nothing: the whole goes to the judge
    "Use no commas, and be concise",
    "Lowercase only, and try to avoid commas",
    "No commas, if possible",
    "Ideally, no commas and all lowercase",
    "All lowercase and no commas, except in code",
    "Use lowercase letters and no commas in the title",
    "Write at least 300 words about cats, no commas",
    "Start with 'Hello' and end with 'Bye'",
]


@pytest.mark.parametrize("text", TO_THE_JUDGE)
def test_goes_to_the_judge(text: str) -> None:
    assert compile_requirement(text) is None


def test_too_many_clauses_go_to_the_judge() -> None:
    six = (
        "No commas. All lowercase. At least 5 sentences. Under 100 words. End with 'x'. "
        "Mention 'y'."
    )
    assert compile_requirement(six) is None
    five = "No commas. All lowercase. At least 5 sentences. Under 100 words. End with 'x'."
    assert parts(compile_requirement(five)) == [
        NO_COMMA,
        LOWER,
        sentences("at least", 5),
        words("less than", 100),
        end("x"),
    ]


def test_a_quoted_and_is_no_clause_boundary() -> None:
    check = compile_requirement("End with 'salt and pepper', and no commas")
    assert parts(check) == [end("salt and pepper"), NO_COMMA]


@pytest.fixture
def builtins_registered() -> None:
    from cadenza.validators.compiler import _load_builtin_checks

    _load_builtin_checks()


def test_compile_requirements_attaches_all_of(builtins_registered: None) -> None:
    out = compile_requirements(
        [Requirement(name="style", description="all lowercase and no commas")]
    )
    assert out[0].validator == "all_of"
    assert out[0].validator_args == {
        "checks": [
            {"validator": "change_case:english_lowercase", "args": {}},
            {"validator": "punctuation:no_comma", "args": {}},
        ]
    }


def test_a_conjunction_with_an_unregistered_part_goes_to_the_judge(
    builtins_registered: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(base._REGISTRY, "punctuation:no_comma")
    out = compile_requirements([Requirement(description="all lowercase and no commas")])
    assert out[0].validator is None
