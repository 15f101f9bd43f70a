"""The requirement compiler: plain-language requirements to IFEval checks, or None.

The phrasings here are written for these tests (paraphrases, several word orders, number
words, several kinds of quotes); none comes from the IFEval dev set.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadenza.task import Requirement
from cadenza.validators import base, compiler
from cadenza.validators.compiler import (
    RULES,
    CompiledCheck,
    compile_requirement,
    compile_requirements,
)
from cadenza.validators.compiler import text as compiler_text

NO_COMMA = "punctuation:no_comma"
LOWER = "change_case:english_lowercase"
UPPER = "change_case:english_capital"
CAPS_WORDS = "change_case:capital_word_frequency"
END = "startend:end_checker"
QUOTED = "startend:quotation"
JSON = "detectable_format:json_format"
HAS = "keywords:existence"
FORBID = "keywords:forbidden_words"
FREQ = "keywords:frequency"
LETTER = "keywords:letter_frequency"
WORDS = "length_constraints:number_words"
SENTENCES = "length_constraints:number_sentences"
PARAGRAPHS = "length_constraints:number_paragraphs"
FIRST_WORD = "length_constraints:nth_paragraph_first_word"
BULLETS = "detectable_format:number_bullet_lists"
PLACEHOLDERS = "detectable_content:number_placeholders"
HIGHLIGHTS = "detectable_format:number_highlighted_sections"
SECTIONS = "detectable_format:multiple_sections"
TITLE = "detectable_format:title"
PS = "detectable_content:postscript"
LANG = "language:response_language"
TWO = "combination:two_responses"
YES_NO = "detectable_format:constrained_response"
JSON_OBJECT = "json:object"
ALL_OF = "all_of"


def words(relation: str, n: int) -> dict[str, Any]:
    return {"relation": relation, "num_words": n}


def sentences(relation: str, n: int) -> dict[str, Any]:
    return {"relation": relation, "num_sentences": n}


POSITIVE: list[tuple[str, str, dict[str, Any]]] = [
    # commas
    ("Do not use any commas", NO_COMMA, {}),
    ("no commas", NO_COMMA, {}),
    ("Avoid commas.", NO_COMMA, {}),
    ("NO COMMAS!", NO_COMMA, {}),
    ("Please make sure your reply contains no commas at all.", NO_COMMA, {}),
    ("Never use a comma.", NO_COMMA, {}),
    ("Commas are not allowed.", NO_COMMA, {}),
    ("Your answer must be comma-free", NO_COMMA, {}),
    ("Make sure not to use any commas", NO_COMMA, {}),
    # letter case
    ("Your whole reply must be lowercase", LOWER, {}),
    ("use only lowercase letters", LOWER, {}),
    ("Write everything in lower case.", LOWER, {}),
    ("Lowercase only, please.", LOWER, {}),
    ("no capital letters", LOWER, {}),
    ("Don't use any uppercase letters", LOWER, {}),
    ("Respond in English, in all lower-case", LOWER, {}),
    ("all in capital letters", UPPER, {}),
    ("Respond in ALL CAPS", UPPER, {}),
    ("Your answer must be written entirely in uppercase letters", UPPER, {}),
    ("Capital letters only", UPPER, {}),
    (
        "Use fewer than four words in all caps",
        CAPS_WORDS,
        {"capital_relation": "less than", "capital_frequency": 4},
    ),
    (
        "Include at least 3 all-caps words",
        CAPS_WORDS,
        {"capital_relation": "at least", "capital_frequency": 3},
    ),
    (
        "Words in all capital letters should appear no more than twice",
        CAPS_WORDS,
        {"capital_relation": "less than", "capital_frequency": 3},
    ),
    # endings and wrapping
    ("End with the phrase 'Any questions?'", END, {"end_phrase": "Any questions?"}),
    (
        'finish your response with "Is there anything else I can help with?"',
        END,
        {"end_phrase": "Is there anything else I can help with?"},
    ),
    ("End your reply with “Peace out.”", END, {"end_phrase": "Peace out."}),
    ("Your email should end with 'Best, Sam'", END, {"end_phrase": "Best, Sam"}),
    ('The last sentence must be "See you soon."', END, {"end_phrase": "See you soon."}),
    ("Conclude with the exact words «À bientôt»", END, {"end_phrase": "À bientôt"}),
    ("Don't forget to end with 'Cheers!'", END, {"end_phrase": "Cheers!"}),
    ("Close your answer with `Over and out`", END, {"end_phrase": "Over and out"}),
    ("wrap your entire response in double quotation marks", QUOTED, {}),
    ("Put your whole answer inside quotes", QUOTED, {}),
    ("Enclose the response in double quotes", QUOTED, {}),
    ("Wrap the entire output in JSON", JSON, {}),
    ("format your answer as valid JSON", JSON, {}),
    ("Return valid JSON only.", JSON, {}),
    ("Respond in JSON", JSON, {}),
    # keywords
    ("include the keywords rock and roll", HAS, {"keywords": ["rock", "roll"]}),
    (
        "Your response must mention the words 'ocean' and 'salt'",
        HAS,
        {"keywords": ["ocean", "salt"]},
    ),
    ("Include the word sky", HAS, {"keywords": ["sky"]}),
    (
        'Use the terms "latency", "throughput" and "jitter"',
        HAS,
        {"keywords": ["latency", "throughput", "jitter"]},
    ),
    ("Make sure to include keywords: Python, Rust", HAS, {"keywords": ["Python", "Rust"]}),
    ("do not mention the words apple, banana", FORBID, {"forbidden_words": ["apple", "banana"]}),
    ("Avoid the word 'very'", FORBID, {"forbidden_words": ["very"]}),
    ('Never say "sorry".', FORBID, {"forbidden_words": ["sorry"]}),
    ("The words 'hate' and 'kill' must not appear", FORBID, {"forbidden_words": ["hate", "kill"]}),
    ("Do not use the words good or bad", FORBID, {"forbidden_words": ["good", "bad"]}),
    (
        "use the word 'banana' at least 3 times",
        FREQ,
        {"keyword": "banana", "relation": "at least", "frequency": 3},
    ),
    (
        "Mention ‘Paris’ at least twice",
        FREQ,
        {"keyword": "Paris", "relation": "at least", "frequency": 2},
    ),
    (
        "The word 'very' should not appear more than twice",
        FREQ,
        {"keyword": "very", "relation": "less than", "frequency": 3},
    ),
    (
        "In your reply, the keyword data must appear fewer than five times",
        FREQ,
        {"keyword": "data", "relation": "less than", "frequency": 5},
    ),
    (
        "the letter q should appear at least 5 times",
        LETTER,
        {"letter": "q", "let_relation": "at least", "let_frequency": 5},
    ),
    (
        "The letter 'Z' must appear fewer than three times",
        LETTER,
        {"letter": "z", "let_relation": "less than", "let_frequency": 3},
    ),
    (
        "Include at least 10 instances of the letter e",
        LETTER,
        {"letter": "e", "let_relation": "at least", "let_frequency": 10},
    ),
    (
        "Do not use the letter e",
        LETTER,
        {"letter": "e", "let_relation": "less than", "let_frequency": 1},
    ),
    # length
    ("Answer in at most 50 words", WORDS, words("less than", 51)),
    ("Write at least 300 words", WORDS, words("at least", 300)),
    ("Your response should be 300+ words", WORDS, words("at least", 300)),
    ("No fewer than fifty words", WORDS, words("at least", 50)),
    ("More than 299 words", WORDS, words("at least", 300)),
    ("Keep it under 100 words", WORDS, words("less than", 100)),
    ("The word count must not exceed 200", WORDS, words("less than", 201)),
    ("Limit your answer to fifty words", WORDS, words("less than", 51)),
    ("Answer in 50 words or less", WORDS, words("less than", 51)),
    ("100 words max", WORDS, words("less than", 101)),
    ("Minimum 300 words", WORDS, words("at least", 300)),
    ("no more than one hundred and fifty words", WORDS, words("less than", 151)),
    ("Do not write more than 50 words", WORDS, words("less than", 51)),
    ("Do not write fewer than 300 words", WORDS, words("at least", 300)),
    ("Write a story of at least 300 words", WORDS, words("at least", 300)),
    ("no less than 1,000 words", WORDS, words("at least", 1000)),
    ("Answer in fewer than twenty-five words", WORDS, words("less than", 25)),
    ("Stay within a 200-word limit", WORDS, words("less than", 201)),
    ("in fewer than 5 sentences", SENTENCES, sentences("less than", 5)),
    ("Your response should contain at least 6 sentences.", SENTENCES, sentences("at least", 6)),
    ("Respond with a single sentence", SENTENCES, sentences("less than", 2)),
    ("no more than 3 sentences", SENTENCES, sentences("less than", 4)),
    ("3 sentences or fewer", SENTENCES, sentences("less than", 4)),
    ("Use at least seven sentences", SENTENCES, sentences("at least", 7)),
    # structure
    ("exactly 3 bullet points", BULLETS, {"num_bullets": 3}),
    ("Use 4 markdown bullet points", BULLETS, {"num_bullets": 4}),
    ("Your list must have five bullets", BULLETS, {"num_bullets": 5}),
    ("Give a bulleted list of 3 items", BULLETS, {"num_bullets": 3}),
    (
        "at least 2 placeholders in square brackets like [address]",
        PLACEHOLDERS,
        {"num_placeholders": 2},
    ),
    ("Include at least 2 placeholders such as [name]", PLACEHOLDERS, {"num_placeholders": 2}),
    ("highlight at least 3 sections with markdown", HIGHLIGHTS, {"num_highlights": 3}),
    (
        "Use markdown to highlight at least 2 sections, like *this*",
        HIGHLIGHTS,
        {"num_highlights": 2},
    ),
    ("Include at least 3 highlighted sections", HIGHLIGHTS, {"num_highlights": 3}),
    (
        "Divide your answer into 4 sections, each starting with 'Part 1', 'Part 2', etc.",
        SECTIONS,
        {"section_spliter": "Part", "num_sections": 4},
    ),
    (
        "Organize the answer in 2 sections labeled Section 1 and Section 2",
        SECTIONS,
        {"section_spliter": "Section", "num_sections": 2},
    ),
    ("a title wrapped in double angular brackets like <<title>>", TITLE, {}),
    ("Give your poem a title in double angle brackets", TITLE, {}),
    ("add a postscript starting with P.S.", PS, {"postscript_marker": "P.S."}),
    ("Include a P.P.S. at the end", PS, {"postscript_marker": "P.P.S"}),
    ("End your response with a postscript starting with 'P.S.'", PS, {"postscript_marker": "P.S."}),
    ("4 paragraphs separated by ***", PARAGRAPHS, {"num_paragraphs": 4}),
    (
        "There should be exactly 4 paragraphs, separated by the markdown divider ***",
        PARAGRAPHS,
        {"num_paragraphs": 4},
    ),
    ("Use *** to separate your three paragraphs", PARAGRAPHS, {"num_paragraphs": 3}),
    (
        "There should be 3 paragraphs separated by blank lines. The first paragraph must begin "
        'with "Once"',
        FIRST_WORD,
        {"num_paragraphs": 3, "nth_paragraph": 1, "first_word": "once"},
    ),
    ("Give two different answers separated by ******", TWO, {}),
    (
        "Reply with one of: 'My answer is yes.', 'My answer is no.', 'My answer is maybe.'",
        YES_NO,
        {},
    ),
    # language
    ("respond in French", LANG, {"language": "fr"}),
    ("your answer must be in German", LANG, {"language": "de"}),
    ("Respond only in Spanish", LANG, {"language": "es"}),
    ("Write your answer in Japanese", LANG, {"language": "ja"}),
    ("Hindi only", LANG, {"language": "hi"}),
]

# None means the judge decides: vague, scoped, hedged, negated, two constraints, or a
# count that IFEval's checks cannot express.
NEGATIVE: list[str] = [
    # vague
    "Be concise",
    "Use a friendly tone",
    "Make it engaging",
    # counts that are exact, approximate or ranges
    "Answer in just 50 words",
    "Answer in exactly 50 words",
    "Write 300 words",
    "around 200 words",
    "a 300-word essay",
    "Use between 100 and 200 words",
    "Answer in 2-3 sentences",
    "Summarize in 2 sentences",
    "Respond with fewer than 1 sentence",
    "at least 3 bullet points",
    "Highlight exactly 2 sections",
    "Use at most 3 placeholders in square brackets",
    "At least 2 paragraphs separated by ***",
    # hedged, negated or about commas rather than forbidding them
    "Don't use commas unless needed",
    "Mention commas in the answer",
    "Use commas sparingly",
    "Try to avoid commas",
    "Avoid commas where possible",
    "You may use commas.",
    "Do not avoid commas",
    "Do not write in lowercase",
    "You don't have to write in lowercase",
    "Don't use all caps",
    "Don't end with 'Thanks'",
    "Do not use JSON",
    "Don't respond in French",
    "Do not add a P.S.",
    # scoped to a part of the answer
    "No commas in the title",
    "Write at least one paragraph about lowercase letters",
    "lowercase the first word",
    "Make the first letter lowercase",
    "Use lowercase for headings",
    "Respond in lowercase, except for acronyms",
    "Start each sentence with a capital letter",
    "Use capital letters for proper nouns",
    "Use all caps for emphasis",
    "End each paragraph with 'Amen'",
    "Include the keywords 'a' and 'b' in the title",
    "Use at least 3 sentences per paragraph",
    "Include at least 3 sentences about dogs",
    "Each paragraph must have at least 3 sentences",
    "Keep each sentence under 20 words",
    "The title should be under 10 words",
    "3 bullet points per section",
    "Put the title in quotes",
    "Use double quotes for dialogue",
    "Include a JSON example",
    # two constraints where one may reach into the other (see CONJUNCTIONS for those
    # that compile to all_of)
    "no commas and all lowercase",
    "Respond in French, all lowercase",
    "Write an essay and a poem; the poem should be in lowercase",
    "Start with 'Hello' and end with 'Bye'",
    "Write 3 paragraphs separated by ***, each with at least 2 sentences",
    "The title must be in double angular brackets and under 5 words",
    "Add a P.S. mentioning the deadline",
    # ambiguous or missing what the check needs
    "Use capital letters",
    "End with a question",
    "End with 'X' or 'Y'",
    "End with the phrase Thank you.",
    "Include either 'cat' or 'dog'",
    "Use words carefully",
    "Use words like 'amazing' and 'great'",
    "Do not use the word very often",
    "Don't mention the price",
    "Use the word 'banana' exactly 3 times",
    "Use bullet points",
    "Include at least two placeholders",
    "Include placeholders like {name}",
    "Highlight the key terms",
    "Split into 3 parts",
    "Include a title",
    "Use the title <<My Day>>",
    "Add a postscript",
    "Add a P.S. and a P.P.S.",
    "Use single quotes",
    "Include three quotes from Shakespeare",
    "Write 4 paragraphs",
    "Use 4 paragraphs separated by ---",
    "The second paragraph must start with the word 'However'",
    "Respond in English or Spanish",
    "Answer in English, not French",
    "Translate into French",
    "Explain in plain English",
    "Respond in Chinese",
    "Write the code in Python",
]


@pytest.mark.parametrize(("text", "validator", "args"), POSITIVE)
def test_compiles(text: str, validator: str, args: dict[str, Any]) -> None:
    check = compile_requirement(text)
    assert check is not None, f"{text!r} did not compile"
    assert (check.validator, check.args) == (validator, args)
    assert check.rule


@pytest.mark.parametrize("text", NEGATIVE)
def test_leaves_unclear_requirements_to_the_judge(text: str) -> None:
    assert compile_requirement(text) is None


def test_table_is_large_and_has_no_duplicates() -> None:
    texts = [p[0] for p in POSITIVE] + NEGATIVE
    assert len(POSITIVE) >= 60 and len(NEGATIVE) >= 60
    assert len(texts) == len(set(texts))


# A few positives of different kinds, for the transformations below.
SAMPLE = [
    "Do not use any commas",
    "use only lowercase letters",
    "Respond in ALL CAPS",
    "End with the phrase 'Any questions?'",
    "Wrap the entire output in JSON",
    "include the keywords rock and roll",
    "Avoid the word 'very'",
    "use the word 'banana' at least 3 times",
    "Write at least 300 words",
    "in fewer than 5 sentences",
    "exactly 3 bullet points",
    "respond in French",
    "add a postscript starting with P.S.",
    "4 paragraphs separated by ***",
]


@pytest.mark.parametrize("text", SAMPLE)
def test_sample_compiles(text: str) -> None:
    assert compile_requirement(text) is not None


@pytest.mark.parametrize("text", SAMPLE)
@pytest.mark.parametrize(
    "variant",
    [
        "{} unless the user asks otherwise",
        "{} in the first paragraph",
        "It is not necessary: {}",
        "Ideally, {}",
    ],
)
def test_hedges_scopes_and_negations_fall_through(text: str, variant: str) -> None:
    assert compile_requirement(variant.format(text)) is None


def _parts(check: CompiledCheck | None) -> list[tuple[str, dict[str, Any]]] | None:
    """A compiled check as its list of (validator, args): the parts of an all_of."""
    if check is None:
        return None
    return [(p.validator, p.args) for p in (check.parts or (check,))]


# Pairs of SAMPLE that stay with the judge, and why.
_PAIRS_TO_JUDGE = {
    # IFEval's case checks also require English: not with French, not with each other
    frozenset({"use only lowercase letters", "Respond in ALL CAPS"}),
    frozenset({"use only lowercase letters", "respond in French"}),
    frozenset({"Respond in ALL CAPS", "respond in French"}),
}
# "in fewer than 5 sentences" has no verb of its own: after a clause about a part of the
# answer (a phrase, keywords, bullets, a P.S.) it may be about that part.
_NO_VERB = "in fewer than 5 sentences"
_ABOUT_A_PART = {
    "End with the phrase 'Any questions?'",
    "include the keywords rock and roll",
    "Avoid the word 'very'",
    "use the word 'banana' at least 3 times",
    "exactly 3 bullet points",
    "add a postscript starting with P.S.",
    "4 paragraphs separated by ***",
}


@pytest.mark.parametrize(
    ("first", "second"),
    [(a, b) for i, a in enumerate(SAMPLE) for b in SAMPLE[i + 1 :]],
)
def test_two_constraints_compile_to_all_of_their_checks(first: str, second: str) -> None:
    for text, (a, b) in (
        (f"{first}. {second}", (first, second)),
        (f"{second} and {first[0].lower()}{first[1:]}", (second, first)),
    ):
        check = compile_requirement(text)
        refused = frozenset({a, b}) in _PAIRS_TO_JUDGE or (b == _NO_VERB and a in _ABOUT_A_PART)
        if refused:
            assert check is None, text
            continue
        assert check is not None and check.validator == ALL_OF, text
        want = [_parts(compile_requirement(a))[0], _parts(compile_requirement(b))[0]]  # type: ignore[index]
        assert _parts(check) == want, text
        assert check.args == {"checks": [{"validator": v, "args": x} for v, x in want]}


@pytest.mark.parametrize("text", ["End with 'P.S.'", 'End with "P.P.S"'])
def test_two_rules_reading_one_text_differently_give_none(text: str) -> None:
    # Both the end-phrase rule and the postscript rule account for every word here.
    t = compiler_text.Text(text)
    readings = {
        m.check.validator for rule in RULES if (m := rule.match(t)) and compiler_text.explains(t, m)
    }
    assert readings == {END, PS}
    assert compile_requirement(text) is None


def test_case_and_spacing_do_not_matter() -> None:
    expected = compile_requirement("Write at least 300 words")
    for text in (
        "WRITE AT LEAST 300 WORDS",
        "  write   at least\n300 words.  ",
        "Write at least 300 Words!",
    ):
        assert compile_requirement(text) == expected


def test_quoted_text_keeps_its_case_and_punctuation() -> None:
    check = compile_requirement('End your answer with "Let\'s GO, team!"')
    assert check is not None and check.args == {"end_phrase": "Let's GO, team!"}
    check = compile_requirement("Mention 'NASA' at least twice")
    assert check is not None and check.args["keyword"] == "NASA"


def test_words_inside_quotes_do_not_trigger_rules() -> None:
    # "no commas" and "lowercase" are the phrase to end with, not constraints.
    check = compile_requirement("End with 'no commas, all lowercase'")
    assert check == CompiledCheck(
        END, {"end_phrase": "no commas, all lowercase"}, "ends_with_phrase"
    )


_SMALL = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
_UNITS = [*_SMALL.split(), "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def spell(n: int) -> str:
    """English words for 0 <= n < 1_000_000, e.g. 'three hundred and twenty-one'."""
    if n < 20:
        return _UNITS[n]
    if n < 100:
        return _TENS[n // 10 - 2] + ("" if n % 10 == 0 else "-" + _UNITS[n % 10])
    if n < 1000:
        rest = n % 100
        return _UNITS[n // 100] + " hundred" + ("" if rest == 0 else " and " + spell(rest))
    rest = n % 1000
    return spell(n // 1000) + " thousand" + ("" if rest == 0 else " " + spell(rest))


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=99_999),
    style=st.sampled_from(["digits", "comma", "words"]),
)
def test_numbers_in_digits_or_words(n: int, style: str) -> None:
    number = {"digits": str(n), "comma": f"{n:,}", "words": spell(n)}[style]
    assert compile_requirement(f"Write at least {number} words") == CompiledCheck(
        WORDS, words("at least", n), "word_count"
    )
    assert compile_requirement(f"no more than {number} sentences") == CompiledCheck(
        SENTENCES, sentences("less than", n + 1), "sentence_count"
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_check_or_none(text: str) -> None:
    result = compile_requirement(text)
    assert result is None or isinstance(result, CompiledCheck)


def test_long_adversarial_input_is_fast() -> None:
    texts = [
        "include the keywords " + "alpha, " * 250 + "omega",
        "at least " * 200 + "3 words",
        "'a' " * 400,
        "End with " + "very " * 300 + "'x'",
    ]
    start = time.perf_counter()
    for text in texts:
        compile_requirement(text)
    assert time.perf_counter() - start < 2.0


def test_filler_and_rule_vocabularies_hold_no_negation_or_scope() -> None:
    risky = {
        "no", "not", "never", "don't", "without", "avoid", "except", "unless", "only", "but",
        "or", "first", "last", "each", "every", "per", "title", "exactly", "about", "least",
        "most", "more", "less", "than", "under", "over", "bold", "italic", "code",
        "block", "start", "begin", "number", "heading",
    }  # fmt: skip
    # A row may own a risky word that is part of its own wording.
    owned = {
        "json_output": {"only"},  # "JSON only"
        "json_object": {"only"},  # "a JSON object only" ("only the key" is refused)
        "response_language": {"only"},  # "French only"
        "title_in_angle_brackets": {"title"},
        "postscript": {"start", "begin"},  # "a postscript starting with P.S."
        "yes_no_maybe": {"exactly"},  # "answer with exactly one of" the three options
    }
    assert not compiler_text.FILLER & risky
    for rule in RULES:
        assert not (rule.vocab & risky) - owned.get(rule.name, set()), rule.name
    assert set(owned) <= {rule.name for rule in RULES}


def test_every_row_compiles_its_examples_and_only_to_its_check() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    for rule in RULES:
        assert rule.examples, f"row {rule.name} has no examples"
        for example in rule.examples:
            check = compile_requirement(example)
            assert check is not None, (rule.name, example)
            assert (check.validator, check.rule) == (rule.check, rule.name), example


def test_compiled_args_are_accepted_by_the_ifeval_checks() -> None:
    checks = pytest.importorskip("cadenza.validators.ifeval.checks")
    from cadenza.validators.ifeval import INSTRUCTION_IDS

    for text, validator, _ in POSITIVE:
        check = compile_requirement(text)
        assert check is not None
        if validator in INSTRUCTION_IDS:
            checks.parse_kwargs(validator, check.args)


# -- compile_requirements ---------------------------------------------------------------


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks the tests below attach, registered (as no-ops if ifeval is missing)."""
    compiler._load_builtin_checks()
    for name in (NO_COMMA, WORDS):
        if name not in base.registered_validators():
            monkeypatch.setitem(base._REGISTRY, name, base.Validator(name, lambda _: True))


def test_compile_requirements_fills_copies(registered: None) -> None:
    reqs = [
        Requirement(name="commas", description="Do not use any commas"),
        Requirement(description="Be concise"),
        Requirement(description="Write at least 300 words", is_mandatory=True, weight=2.0),
    ]
    out = compile_requirements(reqs)
    assert [r.validator for r in out] == [NO_COMMA, None, WORDS]
    assert out[0].validator_args == {} and out[0].name == "commas"
    assert out[2].validator_args == words("at least", 300)
    assert out[2].is_mandatory and out[2].weight == 2.0
    assert all(r.validator is None and r.validator_args == {} for r in reqs)
    assert out[0] is not reqs[0]
    out[2].validator_args["num_words"] = 1
    assert compile_requirement("Write at least 300 words") == CompiledCheck(
        WORDS, words("at least", 300), "word_count"
    )


def test_compile_requirements_respects_what_the_user_set(registered: None) -> None:
    def mine(text: str) -> bool:
        return True

    reqs = [
        Requirement(description="Do not use any commas", validator="some_check"),
        Requirement(description="Do not use any commas", validator=mine),
        Requirement(description="Write at least 300 words", validator_args={"num_words": 5}),
    ]
    out = compile_requirements(reqs)
    assert [r.validator for r in out] == ["some_check", mine, None]
    assert out[2].validator_args == {"num_words": 5}


def test_compile_requirements_disabled(registered: None) -> None:
    reqs = [Requirement(description="Do not use any commas")]
    out = compile_requirements(reqs, enabled=False)
    assert out == reqs and out is not reqs
    assert out[0].validator is None


def test_unregistered_checks_are_not_attached(
    registered: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(base._REGISTRY, NO_COMMA)
    out = compile_requirements([Requirement(description="Do not use any commas")])
    assert out[0].validator is None


def test_concepts_guide_compiler_examples_run() -> None:
    guide = Path(__file__).resolve().parents[1] / "docs" / "concepts.md"
    section = guide.read_text(encoding="utf-8").split("## The requirement compiler")[1]
    blocks = re.findall(r"```python\n(.*?)```", section.split("\n## ")[0], re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/concepts.md", "exec"), {})


# -- the phrase pattern language --------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("no commas", ["no commas", "no   commas", "No\ncommas"], ["no comma", "piano commas"]),
        ("do [not] use", ["do use", "do not use"], ["do  not  not use", "douse"]),
        ("[only] lower~case", ["lowercase", "lower case", "lower-case", "only lower case"], []),
        ("(use|write) [in] french", ["use french", "write in french"], ["speak french"]),
        ("[all~]caps", ["caps", "all caps", "all-caps", "allcaps"], ["recaps"]),
        ("{NEG} exceed", ["do not exceed", "never exceed", "mustn't exceed"], ["exceed"]),
        ("{NUM} words", ["300 words", "1,000 words", "twenty-five words"], ["many words"]),
        ("commas?", ["comma", "commas"], ["commass"]),
        ("[a [very|really]] big", ["big", "a very big", "a big"], ["very big"]),
    ],
)
def test_phrase_patterns(pattern: str, matches: list[str], misses: list[str]) -> None:
    from cadenza.validators.compiler.phrases import phrase

    regex = re.compile(phrase(pattern))
    for text in matches:
        assert regex.fullmatch(text.lower()), (pattern, text)
    for text in misses:
        assert not regex.search(text.lower()) or not regex.fullmatch(text.lower()), (pattern, text)


def test_phrase_patterns_capture_named_macros_and_refuse_unbalanced_ones() -> None:
    from cadenza.validators.compiler.phrases import number, phrase

    m = re.fullmatch(phrase("at least {NUM@n} words"), "at least two hundred words")
    assert m is not None and number(m.group("n")) == 200
    for bad in ("(a|b", "[a", "a]", "a|b"):
        with pytest.raises(ValueError, match="unbalanced"):
            phrase(bad)
