"""The built-in IFEval checks: IFEval's strict/loose semantics, verdicts, kwargs, repairs."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from cadenza.errors import InvalidTaskError, UnknownValidatorError, ValidatorError
from cadenza.validators.base import CheckContext, Verdict, get_validator, run_validator
from cadenza.validators.ifeval import (
    ALIASES,
    INSTRUCTION_IDS,
    REPAIRABLE,
    check_instruction,
    count_sentences,
    count_words,
    detect_language,
    loose_variants,
    repair,
    score_response,
    word_tokenize,
)

DEV_JSONL = Path(__file__).resolve().parents[1].parent / "shared/benchmarks/ifeval/dev.jsonl"


def check(iid: str, response: str, kwargs: dict[str, Any] | None = None, **kw: Any) -> Verdict:
    return check_instruction(iid, response, kwargs, **kw)


def passes(iid: str, response: str, kwargs: dict[str, Any] | None = None, **kw: Any) -> bool:
    return check(iid, response, kwargs, **kw).passed


ENGLISH = (
    "the quick brown fox jumps over the lazy dog and then it runs far away into the "
    "green forest where it lives with its family"
)


# --------------------------------------------------------------------------- ids


def test_all_25_instruction_ids() -> None:
    assert len(INSTRUCTION_IDS) == 25 == len(set(INSTRUCTION_IDS))
    assert "punctuation:no_comma" in INSTRUCTION_IDS
    assert "language:response_language" in INSTRUCTION_IDS
    assert all(":" in iid for iid in INSTRUCTION_IDS)


def test_unknown_id_raises() -> None:
    with pytest.raises(UnknownValidatorError, match="no_such:thing"):
        check("no_such:thing", "text")
    with pytest.raises(UnknownValidatorError):
        score_response("p", "r", ["punctuation:no_comma", "bogus"], [None, None])
    with pytest.raises(UnknownValidatorError):
        repair("bogus", "text", None)


# --------------------------------------------------------------------------- tokenization


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("one two three", 3),
        ("don't stop-believing, 3.5 times!", 7),
        ("naïve café", 2),
        ("**bold** _it_ `code`", 3),  # \w includes the underscore
        # stdlib re (what IFEval was built on) splits Devanagari at vowel signs
        ("यह एक परीक्षण वाक्य है।", 9),
    ],
)
def test_count_words_is_the_w_plus_regex(text: str, expected: int) -> None:
    assert count_words(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    # Values produced by nltk 3.9.4's English Punkt (nltk.sent_tokenize).
    [
        ("Dr. Smith went home. He was tired.", 2),
        ("Is it true?? Maybe.", 2),
        ("Wow!!! That is great!", 2),
        ("We met at 10 a.m. on Jan. 5. It rained.", 2),
        ("The U.S. economy grew 3.5% last year. Prices rose.", 2),
        ('He said "hello." Then he left.', 2),
        ("This is the end... Or is it?", 1),
        ("* First point.\n* Second point.\n* Third point", 3),
        ("No punctuation at all", 1),
        ("", 0),
        ("Mr. and Mrs. Jones live on St. Louis Ave. in town.", 1),
        ("(Sent one.) Sent two.", 2),
        ("e.g. this one. i.e. that one.", 4),
        ("यह एक परीक्षण वाक्य है। दूसरा वाक्य।", 1),
        # NLTK strands a second '?'/'!'/'.' as a sentence of its own
        ("Really ?? Yes.", 3),
        ("Wait !! Now.", 3),
        ("Stop . . Go.", 3),
    ],
)
def test_count_sentences_matches_nltk_punkt(text: str, expected: int) -> None:
    assert count_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    # Values produced by nltk 3.9.4's nltk.word_tokenize.
    [
        (
            "I DON'T know NASA's plan. OK?",
            ["I", "DO", "N'T", "know", "NASA", "'s", "plan", ".", "OK", "?"],
        ),
        (
            "The U.S.A. is BIG-TIME, isn't it?",
            ["The", "U.S.A.", "is", "BIG-TIME", ",", "is", "n't", "it", "?"],
        ),
        (
            '"QUOTED" (NASA) AI\'s cannot',
            ["``", "QUOTED", "''", "(", "NASA", ")", "AI", "'s", "can", "not"],
        ),
        ("I gonna WANNA do it.", ["I", "gon", "na", "WAN", "NA", "do", "it", "."]),
    ],
)
def test_word_tokenize_matches_nltk(text: str, expected: list[str]) -> None:
    assert word_tokenize(text) == expected


def test_language_detection_is_deterministic() -> None:
    text = "okay"  # short and ambiguous: unseeded, langdetect answers fi, pl, sw or tl
    assert len({detect_language(text) for _ in range(20)}) == 1
    assert detect_language("Der Hund spielt im Garten mit dem roten Ball.") == "de"
    assert detect_language("12345 !!!") is None  # langdetect finds no features


# --------------------------------------------------------------------------- punctuation


def test_no_comma() -> None:
    assert passes("punctuation:no_comma", "The sea is calm. The sky is blue.")
    v = check("punctuation:no_comma", "Look at the sea, the sky, the sand, and the sun.")
    assert not v.passed
    assert v.score == pytest.approx(1 / (1 + 3))
    assert "3 commas" in v.reason and "the sea, the sky" in v.reason
    # only ASCII commas count, as in IFEval
    assert passes("punctuation:no_comma", "日本語、中文，ok")
    assert check("punctuation:no_comma", "a,b").score == pytest.approx(0.5)


# --------------------------------------------------------------------------- length


@pytest.mark.parametrize(
    ("n", "relation", "threshold", "ok"),
    [
        (300, "at least", 300, True),
        (299, "at least", 300, False),
        (299, "less than", 300, True),
        (300, "less than", 300, False),
        (0, "less than", 1, False),  # empty response fails every instruction
        (1, "less than", 1, False),
    ],
)
def test_number_words_boundaries(n: int, relation: str, threshold: int, ok: bool) -> None:
    text = " ".join(["word"] * n)
    v = check(
        "length_constraints:number_words", text, {"relation": relation, "num_words": threshold}
    )
    assert v.passed is ok
    assert (v.score == 1.0) is ok


def test_number_words_graded_score_and_reason() -> None:
    v = check(
        "length_constraints:number_words",
        " ".join(["w"] * 212),
        {"relation": "at least", "num_words": 300},
    )
    assert v.score == pytest.approx(212 / 300)
    assert v.reason == "212 words, need at least 300"
    v = check(
        "length_constraints:number_words",
        " ".join(["w"] * 400),
        {"relation": "less than", "num_words": 100},
    )
    assert 0 < v.score < 1 and "400 words, need fewer than 100" in v.reason


def test_number_words_counts_markdown_and_unicode() -> None:
    kw = {"relation": "at least", "num_words": 3}
    assert passes("length_constraints:number_words", "# Title\n* **café** naïve", kw)
    assert not passes("length_constraints:number_words", "# Title\n* **café**", kw)
    assert not passes("length_constraints:number_words", "*** --- ### !!!", kw)


def test_number_sentences() -> None:
    kw = {"relation": "less than", "num_sentences": 3}
    assert passes("length_constraints:number_sentences", "Dr. Smith left. He was tired.", kw)
    v = check("length_constraints:number_sentences", "One. Two. Three.", kw)
    assert not v.passed and "3 sentences, need fewer than 3" in v.reason
    kw = {"relation": "at least", "num_sentences": 3}
    assert passes("length_constraints:number_sentences", "One. Two. Three.", kw)
    assert check("length_constraints:number_sentences", "One. Two.", kw).score == pytest.approx(
        2 / 3
    )


def test_number_paragraphs() -> None:
    kw = {"num_paragraphs": 3}
    iid = "length_constraints:number_paragraphs"
    assert passes(iid, "First.\n***\nSecond.\n***\nThird.", kw)
    assert passes(iid, "***\nFirst.\n***\nSecond.\n***\nThird.\n***", kw)  # ends don't count
    v = check(iid, "First.\n***\nSecond.", kw)
    assert not v.passed and "2 paragraphs separated by ***, need exactly 3" in v.reason
    assert v.score == pytest.approx(2 / 3)
    v = check(iid, "First.\n***\n***\nSecond.\n***\nThird.", kw)  # empty middle paragraph
    assert not v.passed and "empty paragraph" in v.reason
    # '******' is two dividers around an empty paragraph
    assert not passes(iid, "A.\n******\nB.\n***\nC.", kw)
    # blank lines are not paragraph breaks here
    assert not passes(iid, "First.\n\nSecond.\n\nThird.", kw)


def test_nth_paragraph_first_word() -> None:
    iid = "length_constraints:nth_paragraph_first_word"
    kw = {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "Summer"}
    assert passes(iid, "Intro here.\n\nSummer is warm.\n\nThe end.", kw)
    # quotes and trailing punctuation are ignored, case too
    assert passes(iid, 'Intro.\n\n"summer, they said.\n\nEnd.', kw)
    assert passes(iid, "Intro.\n\n'SUMMER's end.\n\nEnd.", kw)
    v = check(iid, "Intro.\n\nWinter is cold.\n\nEnd.", kw)
    assert not v.passed and "starts with 'winter', must start with 'summer'" in v.reason
    assert v.score == pytest.approx(0.5)
    v = check(iid, "Intro.\n\nSummer is warm.", kw)
    assert not v.passed and "2 paragraphs" in v.reason
    assert not passes(iid, "Intro.\n\nSummertime.\n\nEnd.", kw)
    # IFEval indexes the raw split: a leading blank paragraph shifts the count
    assert not passes(iid, "\n\nIntro.\n\nSummer is warm.\n\nEnd.", kw)


# --------------------------------------------------------------------------- keywords


def test_keywords_existence() -> None:
    iid = "keywords:existence"
    kw = {"keywords": ["ocean", "Blue Whale"]}
    assert passes(iid, "The blue whale swims in the OCEAN.", kw)
    assert passes(iid, "Oceanic blue whales.", kw)  # substring match, as in IFEval
    v = check(iid, "The whale swims in the ocean.", kw)
    assert not v.passed and v.score == pytest.approx(0.5)
    assert "missing keywords: 'Blue Whale'" in v.reason
    assert passes(iid, "I love C++ code.", {"keywords": ["c++"]})  # invalid regex: literal


def test_keywords_frequency() -> None:
    iid = "keywords:frequency"
    kw = {"keyword": "sun", "relation": "at least", "frequency": 3}
    assert passes(iid, "Sun, sun and SUNSHINE.", kw)
    v = check(iid, "The sun is up.", kw)
    assert not v.passed and v.score == pytest.approx(1 / 3)
    assert "'sun' appears 1 time, need at least 3" in v.reason
    assert passes(iid, "sun sun", {**kw, "relation": "less than"})
    assert not passes(iid, "sun sun sun", {**kw, "relation": "less than"})


def test_forbidden_words() -> None:
    iid = "keywords:forbidden_words"
    kw = {"forbidden_words": ["sun", "moon"]}
    assert passes(iid, "Sunny days and moonlight.", kw)  # whole words only
    v = check(iid, "The Sun rose; the sun set.", kw)
    assert not v.passed
    assert v.reason == "these words must not appear: 'sun' (2 times)"
    assert v.score == pytest.approx(1 / 3)
    assert passes(iid, "", kw) is False  # empty response fails
    v = check(iid, "sun and sun", {"forbidden_words": ["sun", "sun"]})  # deduplicated
    assert v.reason == "these words must not appear: 'sun' (2 times)"


def test_letter_frequency() -> None:
    iid = "keywords:letter_frequency"
    kw = {"letter": "E", "let_relation": "at least", "let_frequency": 4}
    assert passes(iid, "eEee", kw)
    v = check(iid, "eee", kw)
    assert not v.passed and "letter 'e' appears 3 times, need at least 4" in v.reason
    assert passes(iid, "xyz", {**kw, "let_relation": "less than"})
    assert passes(iid, "éeee", {**kw, "let_relation": "less than"})  # é is not e


# --------------------------------------------------------------------------- format


def test_number_bullet_lists() -> None:
    iid = "detectable_format:number_bullet_lists"
    kw = {"num_bullets": 3}
    assert passes(iid, "Intro\n* one\n* two\n- three", kw)
    assert passes(iid, "  * one\n  * two\n  * three\n**Bold** is not a bullet", kw)
    v = check(iid, "* one\n* two", kw)
    assert not v.passed and "2 bullet points" in v.reason and "exactly 3" in v.reason
    assert not passes(iid, "* one\n* two\n* three\n* four", kw)
    assert passes(iid, "* one\n* two\n---", kw)  # IFEval counts a '---' rule as a bullet


def test_constrained_response() -> None:
    iid = "detectable_format:constrained_response"
    assert passes(iid, "My answer is yes.")
    assert passes(iid, "Thinking... My answer is maybe. Because.")
    v = check(iid, "Yes.")
    assert not v.passed and "My answer is no." in v.reason
    assert not passes(iid, "my answer is yes.")


def test_number_highlighted_sections() -> None:
    iid = "detectable_format:number_highlighted_sections"
    kw = {"num_highlights": 2}
    assert passes(iid, "Some *first part* and *second part*.", kw)
    assert passes(iid, "**Bold** and *other*", kw)
    assert not passes(iid, "**Bold title** only", kw)  # '**' alone is an empty highlight
    v = check(iid, "Only *one* here and * * empty.", kw)
    assert not v.passed and v.score == pytest.approx(0.5)
    assert "1 highlighted section" in v.reason


def test_multiple_sections() -> None:
    iid = "detectable_format:multiple_sections"
    kw = {"section_spliter": "SECTION", "num_sections": 2}
    assert passes(iid, "SECTION 1\nIntro\nSECTION 2\nBody", kw)
    v = check(iid, "Section 1\nIntro\nSection 2\nBody", kw)  # case-sensitive
    assert not v.passed and "0 sections marked 'SECTION X', need at least 2" in v.reason
    assert passes(iid, "Day 1 then Day 2", {"section_spliter": " Day ", "num_sections": 2})


def test_json_format() -> None:
    iid = "detectable_format:json_format"
    assert passes(iid, '{"a": [1, 2]}')
    assert passes(iid, '```json\n{"a": 1}\n```')
    assert passes(iid, "```\n[1, 2]\n```")
    v = check(iid, '{"a": 1,}')
    assert not v.passed and v.reason.startswith("not valid JSON")
    assert not passes(iid, 'Here it is: {"a": 1}')


def test_title() -> None:
    iid = "detectable_format:title"
    assert passes(iid, "<<Poem of Joy>>\nRoses are red.")
    assert not passes(iid, "<< >> no title")
    assert not passes(iid, "<<broken\ntitle>>")
    assert "<<" in check(iid, "Untitled").reason


# --------------------------------------------------------------------------- content


def test_number_placeholders() -> None:
    iid = "detectable_content:number_placeholders"
    kw = {"num_placeholders": 2}
    assert passes(iid, "Dear [name], at [address].", kw)
    v = check(iid, "Dear [name].", kw)
    assert not v.passed and v.score == pytest.approx(0.5) and "[name]" in v.reason


def test_postscript() -> None:
    iid = "detectable_content:postscript"
    assert passes(iid, "Hello.\n\nP.S. See you soon.", {"postscript_marker": "P.S."})
    assert passes(iid, "Hello.\np. s. lowercase works", {"postscript_marker": "P.S."})
    assert passes(iid, "Hi.\nP.P.S extra", {"postscript_marker": "P.P.S"})
    assert not passes(iid, "Hi.\nPS: no dots", {"postscript_marker": "P.S."})
    v = check(iid, "No postscript here.", {"postscript_marker": "P.P.S"})
    assert not v.passed and "'P.P.S'" in v.reason


# --------------------------------------------------------------------------- case


def test_capital_word_frequency() -> None:
    iid = "change_case:capital_word_frequency"
    kw = {"capital_relation": "at least", "capital_frequency": 3}
    assert passes(iid, "NASA and the USA are GREAT.", kw)
    # nltk splits DON'T into DO + N'T: two all-capital words
    assert passes(iid, "I DON'T know.", kw)
    v = check(iid, "NASA is here.", kw)
    assert not v.passed and "1 all-capital word" in v.reason and "'NASA'" in v.reason
    assert passes(iid, "NASA is here.", {**kw, "capital_relation": "less than"})


def test_english_lowercase() -> None:
    iid = "change_case:english_lowercase"
    assert passes(iid, ENGLISH)
    v = check(iid, "The Sea is calm and the sky is clear today, my friend.")
    assert not v.passed
    assert v.reason == "uppercase letters found: 'The', 'Sea'"
    assert 0.9 < v.score < 1
    v = check(iid, "le chat est sur la table et il dort dans la maison avec le chien")
    assert not v.passed and "detected French ('fr')" in v.reason
    assert not passes(iid, "12345")  # no cased letters: str.islower() is False
    assert passes(iid, "ça va très bien, merci beaucoup. " + ENGLISH)


def test_english_capital() -> None:
    iid = "change_case:english_capital"
    assert passes(iid, ENGLISH.upper())
    v = check(iid, "THE SEA IS Calm AND THE SKY IS CLEAR")
    assert not v.passed and "lowercase letters found: 'Calm'" in v.reason
    assert v.score == pytest.approx(25 / 28)
    assert not passes(iid, "DER HUND SPIELT IM GARTEN MIT DEM ROTEN BALL UND DER KATZE")


# --------------------------------------------------------------------------- start/end


def test_end_checker() -> None:
    iid = "startend:end_checker"
    kw = {"end_phrase": "Any other questions?"}
    assert passes(iid, "Here you go. Any other questions?", kw)
    assert passes(iid, '"Here you go. any other questions?"\n', kw)  # quotes, case ignored
    v = check(iid, "Any other questions? Bye!", kw)
    assert not v.passed
    assert "ends with 'Any other questions? Bye!', must end with 'Any other questions?'" in (
        v.reason
    )


def test_quotation() -> None:
    iid = "startend:quotation"
    assert passes(iid, '  "All wrapped."  ')
    assert not passes(iid, '"')
    assert not passes(iid, "“curly quotes”")
    v = check(iid, '"Only opened.')
    assert not v.passed and v.score == pytest.approx(0.5)


# --------------------------------------------------------------------------- combination


def test_two_responses() -> None:
    iid = "combination:two_responses"
    assert passes(iid, "First answer.\n******\nSecond answer.")
    assert passes(iid, "******\nFirst.\n******\nSecond.\n******")
    v = check(iid, "Same.\n******\nSame.")
    assert not v.passed and "identical" in v.reason
    assert not passes(iid, "One.\n******\n******\nTwo.")
    assert "3 responses" in check(iid, "A\n******\nB\n******\nC").reason


def test_repeat_prompt() -> None:
    iid = "combination:repeat_prompt"
    kw = {"prompt_to_repeat": "Write a poem about cats."}
    assert passes(iid, "write a poem about CATS. Here is my poem...", kw)
    v = check(iid, "Sure! Write a poem about cats.", kw)
    assert not v.passed and v.score == 0.0 and "at the very start" in v.reason
    v = check(iid, "Write a poem about dogs.", kw)
    assert not v.passed and v.score == pytest.approx(len("write a poem about ") / 24)
    # without prompt_to_repeat the prompt itself is what must be repeated
    assert passes(iid, "Say hi. Hi!", None, prompt="Say hi.")
    assert passes(iid, "Say hi. Hi!", {"prompt_to_repeat": None}, prompt="Say hi.")


def test_response_language() -> None:
    iid = "language:response_language"
    assert passes(iid, "Der Hund spielt im Garten mit dem roten Ball.", {"language": "de"})
    v = check(iid, "The dog plays in the garden with the red ball.", {"language": "de"})
    assert not v.passed
    assert "detected English ('en')" in v.reason and "German ('de')" in v.reason
    assert passes(iid, "12345 ???", {"language": "de"})  # undetectable counts as followed
    assert passes(iid, "这是一个测试句子，我们正在测试语言检测。", {"language": "zh-cn"})


# --------------------------------------------------------------------------- strict/loose


def test_empty_response_fails_strict_and_loose() -> None:
    for iid in ("punctuation:no_comma", "keywords:forbidden_words"):
        kwargs = {"forbidden_words": ["x"]} if iid == "keywords:forbidden_words" else None
        for response in ("", "   \n "):
            for loose in (False, True):
                v = check(iid, response, kwargs, loose=loose)
                assert not v.passed and v.score == 0.0 and "empty" in v.reason


def test_loose_drops_first_line() -> None:
    response = "Sure, here it is:\nThe sea is calm\nThe sky is blue"
    assert not passes("punctuation:no_comma", response)
    v = check("punctuation:no_comma", response, loose=True)
    assert v.passed and "without the first line" in v.reason
    assert score_response("p", response, ["punctuation:no_comma"], [None]) == [
        ("punctuation:no_comma", False, True)
    ]


def test_loose_drops_last_line_and_asterisks() -> None:
    iid = "startend:end_checker"
    kw = {"end_phrase": "Any other questions?"}
    assert passes(iid, "Done.\n**Any other questions?**", kw, loose=True)
    assert not passes(iid, "Done.\n**Any other questions?**", kw)
    response = '{"a": 1}\nHope this helps!'
    assert not passes("detectable_format:json_format", response)
    assert passes("detectable_format:json_format", response, loose=True)
    # a failure that no variant fixes stays a failure, with the strict reason
    v = check("punctuation:no_comma", "a, b\nc, d\ne, f", loose=True)
    assert not v.passed and "3 commas" in v.reason


def test_loose_variants_are_ifevals_eight() -> None:
    variants = [text for _, text in loose_variants("*a*\nb\n*c*")]
    assert variants == [
        "*a*\nb\n*c*",
        "a\nb\nc",
        "b\n*c*",
        "*a*\nb",
        "b",
        "b\nc",
        "a\nb",
        "b",
    ]


def test_score_response() -> None:
    got = score_response(
        "Write about the sea. Repeat me.",
        "The sea is calm, very calm.",
        ["punctuation:no_comma", "length_constraints:number_words", "combination:repeat_prompt"],
        [None, {"relation": "at least", "num_words": 3}, {"prompt_to_repeat": None}],
    )
    assert got == [
        ("punctuation:no_comma", False, False),
        ("length_constraints:number_words", True, True),
        ("combination:repeat_prompt", False, False),
    ]
    with pytest.raises(InvalidTaskError, match="2 instruction ids but 1 kwargs"):
        score_response("p", "r", ["punctuation:no_comma", "startend:quotation"], [None])


# --------------------------------------------------------------------------- kwargs


@pytest.mark.parametrize(
    ("iid", "kwargs", "message"),
    [
        (
            "length_constraints:number_words",
            {"relation": "at least"},
            "missing argument 'num_words'",
        ),
        ("length_constraints:number_words", {"num_words": 3}, "missing argument 'relation'"),
        (
            "length_constraints:number_words",
            {"relation": "at least", "num_words": None},
            "num_words",
        ),
        (
            "length_constraints:number_words",
            {"relation": "more than", "num_words": 3},
            "invalid argument 'relation'",
        ),
        ("length_constraints:number_words", {"relation": "at least", "num_words": -1}, "num_words"),
        (
            "length_constraints:number_words",
            {"relation": "at least", "num_words": True},
            "num_words",
        ),
        (
            "length_constraints:number_words",
            {"relation": "at least", "num_words": "x"},
            "num_words",
        ),
        ("punctuation:no_comma", {"num_words": 3}, "unknown argument(s) 'num_words'"),
        ("keywords:existence", {"keywords": []}, "'keywords'"),
        ("keywords:existence", {"keywords": ["a", 3]}, "'keywords'"),
        (
            "keywords:letter_frequency",
            {"letter": "ab", "let_relation": "at least", "let_frequency": 1},
            "'letter'",
        ),
        ("language:response_language", {"language": "klingon"}, "'language'"),
        ("startend:end_checker", {"end_phrase": "  "}, "'end_phrase'"),
        (
            "length_constraints:nth_paragraph_first_word",
            {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "hi"},
            "must not exceed",
        ),
        ("combination:repeat_prompt", {}, "prompt_to_repeat"),
    ],
)
def test_bad_kwargs_name_the_argument(iid: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTaskError) as info:
        check(iid, "some response", kwargs)
    assert message in str(info.value)
    assert iid in str(info.value)


def test_bad_kwargs_raise_even_for_empty_response() -> None:
    with pytest.raises(InvalidTaskError):
        check("length_constraints:number_words", "", {})


def test_kwargs_must_be_a_mapping() -> None:
    with pytest.raises(InvalidTaskError, match="dict"):
        check("punctuation:no_comma", "x", ["a"])  # type: ignore[arg-type]


def test_none_kwargs_are_absent_and_lenient_forms_are_accepted() -> None:
    assert passes(
        "detectable_format:number_highlighted_sections",
        "*a* *b*",
        {"num_highlights": 2, "relation": None, "keywords": None},
    )
    kw = {"relation": "At_Least", "num_words": "2"}
    assert passes("length_constraints:number_words", "one two", kw)
    assert passes("keywords:existence", "hello world", {"keywords": "world"})
    assert passes(
        "length_constraints:number_words", "a b", {"relation": "at least", "num_words": 2.0}
    )


# --------------------------------------------------------------------------- verdicts


def _random_response(rng: random.Random) -> str:
    pieces = [
        "The sea, the sky.",
        "* bullet",
        "- dash",
        "*highlight*",
        "SECTION 1",
        "<<Title>>",
        "[name]",
        "P.S. bye",
        '{"a": 1}',
        "***",
        "******",
        "\n\n",
        "NASA IS GREAT",
        "der Hund spielt",
        "x" * 300,
        "Any other questions?",
        "",
    ]
    return "\n".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))


_KWARGS: dict[str, dict[str, Any]] = {
    "length_constraints:number_words": {"relation": "at least", "num_words": 50},
    "length_constraints:number_sentences": {"relation": "less than", "num_sentences": 2},
    "length_constraints:number_paragraphs": {"num_paragraphs": 2},
    "length_constraints:nth_paragraph_first_word": {
        "num_paragraphs": 2,
        "nth_paragraph": 1,
        "first_word": "the",
    },
    "keywords:existence": {"keywords": ["sea", "moon"]},
    "keywords:frequency": {"keyword": "sea", "relation": "at least", "frequency": 2},
    "keywords:forbidden_words": {"forbidden_words": ["sea", "sky", "name"]},
    "keywords:letter_frequency": {"letter": "x", "let_relation": "less than", "let_frequency": 5},
    "detectable_format:number_bullet_lists": {"num_bullets": 2},
    "detectable_format:number_highlighted_sections": {"num_highlights": 2},
    "detectable_format:multiple_sections": {"section_spliter": "SECTION", "num_sections": 2},
    "detectable_content:number_placeholders": {"num_placeholders": 2},
    "detectable_content:postscript": {"postscript_marker": "P.S."},
    "change_case:capital_word_frequency": {"capital_relation": "at least", "capital_frequency": 2},
    "startend:end_checker": {"end_phrase": "Any other questions?"},
    "combination:repeat_prompt": {"prompt_to_repeat": "The sea, the sky."},
    "language:response_language": {"language": "en"},
}


def test_every_check_gives_a_well_formed_verdict() -> None:
    rng = random.Random(7)
    seen = {iid: [False, False] for iid in INSTRUCTION_IDS}
    for _ in range(60):
        response = _random_response(rng)
        for iid in INSTRUCTION_IDS:
            for loose in (False, True):
                v = check(iid, response, _KWARGS.get(iid), loose=loose)
                assert 0.0 <= v.score <= 1.0
                assert v.passed == (v.score == 1.0)
                assert v.reason and len(v.reason) < 200
                assert "\n" not in v.reason
                seen[iid][v.passed] = True
    never_failed = [iid for iid, (failed, _) in seen.items() if not failed]
    assert never_failed == []


def test_reasons_stay_short_with_huge_evidence() -> None:
    long_words = ["w" * 80 + str(i) for i in range(10)]
    v = check("keywords:forbidden_words", " ".join(long_words), {"forbidden_words": long_words})
    assert not v.passed and len(v.reason) < 200
    v = check("change_case:english_lowercase", " ".join(w.upper() for w in long_words))
    assert len(v.reason) < 200


# --------------------------------------------------------------------------- registration


def test_every_id_and_alias_is_registered() -> None:
    for iid in INSTRUCTION_IDS:
        assert get_validator(iid).wants_context
    assert set(ALIASES) == {
        "no_commas",
        "lowercase",
        "uppercase",
        "word_count",
        "json",
        "forbidden_words",
    }
    for alias in ALIASES:
        assert get_validator(alias).description


def _ctx(args: dict[str, Any], instruction: str = "Write something.") -> CheckContext:
    return CheckContext(
        instruction=instruction,
        requirement_name="r",
        requirement_description="d",
        args=args,
    )


async def test_registered_validator_reads_ctx_args() -> None:
    v = await run_validator(
        get_validator("length_constraints:number_words"),
        "one two three",
        _ctx({"relation": "at least", "num_words": 6}),
    )
    assert v.score == pytest.approx(0.5) and "3 words, need at least 6" in v.reason
    v = await run_validator(
        get_validator("word_count"),
        "one two three",
        _ctx({"relation": "less than", "num_words": 6}),
    )
    assert v.passed


async def test_aliases_behave_like_their_ids() -> None:
    cases = [
        ("no_commas", "a, b", {}),
        ("lowercase", "Hello There", {}),
        ("uppercase", "hello", {}),
        ("json", "{oops", {}),
        ("forbidden_words", "the sun", {"forbidden_words": ["sun"]}),
    ]
    for alias, text, args in cases:
        v = await run_validator(get_validator(alias), text, _ctx(args))
        direct = check(ALIASES[alias], text, args)
        assert not v.passed and v == direct


async def test_registered_validator_loose_and_prompt() -> None:
    text = "Sure, here:\nno commas here"
    strict = await run_validator(get_validator("no_commas"), text, _ctx({}))
    loose = await run_validator(get_validator("no_commas"), text, _ctx({"loose": True}))
    assert not strict.passed and loose.passed
    v = await run_validator(
        get_validator("combination:repeat_prompt"),
        "Name three colors. Red, green, blue.",
        _ctx({}, instruction="Name three colors."),
    )
    assert v.passed


async def test_registered_validator_bad_args_surface_as_validator_error() -> None:
    with pytest.raises(ValidatorError, match="num_words"):
        await run_validator(
            get_validator("length_constraints:number_words"), "x", _ctx({"relation": "at least"})
        )


# --------------------------------------------------------------------------- repairs


def test_repairable_set() -> None:
    assert (
        frozenset(
            {
                "punctuation:no_comma",
                "change_case:english_lowercase",
                "change_case:english_capital",
                "startend:quotation",
                "length_constraints:number_words",
                "length_constraints:number_sentences",
                "length_constraints:number_paragraphs",
                "startend:end_checker",
                "combination:repeat_prompt",
                "detectable_format:json_format",
                "detectable_format:number_bullet_lists",
                "detectable_format:multiple_sections",
                "detectable_format:title",
                "keywords:forbidden_words",
                "keywords:letter_frequency",
                "keywords:frequency",
                "combination:two_responses",
                "detectable_format:number_highlighted_sections",
            }
        )
        == REPAIRABLE
    )


def test_repairs_make_the_check_pass() -> None:
    cases: list[tuple[str, str, str]] = [
        (
            "punctuation:no_comma",
            "We had 1,000 apples, pears,and plums.",
            "We had 1000 apples pears and plums.",
        ),
        ("change_case:english_lowercase", ENGLISH.title(), ENGLISH),
        ("change_case:english_capital", ENGLISH, ENGLISH.upper()),
        ("startend:quotation", "  Hello there. ", '"Hello there."'),
        ("startend:quotation", '"Half open', '"Half open"'),
        ("startend:quotation", 'Half closed"', '"Half closed"'),
    ]
    for iid, broken, fixed in cases:
        assert not passes(iid, broken)
        assert repair(iid, broken, None) == fixed
        assert passes(iid, fixed)
        assert repair(iid, fixed, None) == fixed  # idempotent


def test_no_repair_where_none_is_safe() -> None:
    assert repair("keywords:forbidden_words", "the sun", {"forbidden_words": ["sun"]}) is None
    assert repair("detectable_content:number_placeholders", "Hi", {"num_placeholders": 1}) is None
    at_least = {"relation": "at least", "num_words": 50}
    assert repair("length_constraints:number_words", "short", at_least) is None
    assert repair("punctuation:no_comma", "   ", None) is None
    assert repair("no_commas", "a, b", None) == "a b"
    with pytest.raises(InvalidTaskError, match="num_words"):
        repair("length_constraints:number_words", "short", {"relation": "less than"})


SEA = "The sea is blue. It is vast and deep! Many fish live there. Boats sail on it all day."


def _passes(iid: str, text: str, kwargs: dict[str, Any]) -> bool:
    return check_instruction(iid, text, kwargs).passed


@pytest.mark.parametrize(
    ("iid", "kwargs", "broken", "fixed"),
    [
        # whole sentences are kept while they fit under the limit
        (
            "length_constraints:number_words",
            {"relation": "less than", "num_words": 12},
            SEA,
            "The sea is blue. It is vast and deep!",
        ),
        # one long sentence: cut at a word
        (
            "length_constraints:number_words",
            {"relation": "less than", "num_words": 4},
            "one two three four five six",
            "one two three.",
        ),
        (
            "length_constraints:number_sentences",
            {"relation": "less than", "num_sentences": 3},
            SEA,
            "The sea is blue. It is vast and deep!",
        ),
        # too few paragraphs: the sentences are regrouped, in order
        (
            "length_constraints:number_paragraphs",
            {"num_paragraphs": 2},
            SEA,
            "The sea is blue.\n\nIt is vast and deep!\n\n***\n\n"
            "Many fish live there.\n\nBoats sail on it all day.",
        ),
        # too many: neighbouring paragraphs are merged
        (
            "length_constraints:number_paragraphs",
            {"num_paragraphs": 2},
            "A.\n\n***\n\nB.\n\n***\n\nC.",
            "A.\n\nB.\n\n***\n\nC.",
        ),
        # the phrase is appended; a copy missing its final mark is replaced
        (
            "startend:end_checker",
            {"end_phrase": "Any questions?"},
            "Here it is. Any questions",
            "Here it is.\n\nAny questions?",
        ),
        (
            "combination:repeat_prompt",
            {"prompt_to_repeat": "Write a poem."},
            "Roses are red.",
            "Write a poem.\n\nRoses are red.",
        ),
        # a numbered list becomes '* ' bullets, regrouped to exactly N, in place
        (
            "detectable_format:number_bullet_lists",
            {"num_bullets": 3},
            "Tips:\n1. Drink water.\n2. Sleep well.\n3. Walk daily.\n4. Read.\nGood luck!",
            "Tips:\n* Drink water. Sleep well.\n* Walk daily.\n* Read.\nGood luck!",
        ),
        # no list: the sentences become the bullets; a '---' rule would count as one
        (
            "detectable_format:number_bullet_lists",
            {"num_bullets": 2},
            "A cat. A dog. A cow.\n---",
            "* A cat. A dog.\n* A cow.",
        ),
        (
            "detectable_format:multiple_sections",
            {"num_sections": 2, "section_spliter": "Section"},
            "A cat.\n\nA dog.\n\nA cow.",
            "Section 1\nA cat.\n\nA dog.\n\nSection 2\nA cow.",
        ),
        ("detectable_format:title", {}, "# The Sea\nIt is wide.", "<<The Sea>>\nIt is wide."),
        (
            "detectable_format:title",
            {},
            "**Title: The Sea**\nIt is wide.",
            "<<The Sea>>\nIt is wide.",
        ),
        (
            "detectable_format:json_format",
            {},
            'He said "hi"',
            '{\n  "response": "He said \\"hi\\""\n}',
        ),
    ],
)
def test_repairs_with_arguments(iid: str, kwargs: dict[str, Any], broken: str, fixed: str) -> None:
    assert not _passes(iid, broken, kwargs)
    assert repair(iid, broken, kwargs) == fixed
    assert _passes(iid, fixed, kwargs)


def test_repairs_that_cannot_pass_return_none() -> None:
    one = {"relation": "less than", "num_sentences": 1}
    assert repair("length_constraints:number_sentences", SEA, one) is None
    three = {"num_paragraphs": 3}
    assert repair("length_constraints:number_paragraphs", "Just one.", three) is None
    under_one = {"relation": "less than", "num_words": 1}
    assert repair("length_constraints:number_words", "a b", under_one) is None


def test_title_repair_needs_a_heading() -> None:
    assert repair("detectable_format:title", "It is wide. Really.\nYes.", {}) is None
    assert repair("detectable_format:title", "# Only a heading", {}) is None


def test_repeat_prompt_repair_falls_back_to_the_prompt() -> None:
    assert repair("combination:repeat_prompt", "Yes.", {}, prompt="Say yes.") == "Say yes.\n\nYes."


# --------------------------------------------------------------------------- dev data


@pytest.mark.skipif(not DEV_JSONL.exists(), reason="shared IFEval dev slice not present")
def test_dev_slice_kwargs_are_all_accepted() -> None:
    rows = [json.loads(line) for line in DEV_JSONL.read_text().splitlines() if line.strip()]
    assert rows
    seen: set[str] = set()
    for row in rows:
        ids, kwargs = row["instruction_id_list"], row["kwargs"]
        for response in ("", row["prompt"], row["prompt"].upper() + "\n\nP.S. done"):
            results = score_response(row["prompt"], response, ids, kwargs)
            assert [r[0] for r in results] == ids
            assert all(loose or not strict for _, strict, loose in results)
        for iid, kw in zip(ids, kwargs, strict=True):
            seen.add(iid)
            v = check_instruction(iid, row["prompt"], kw, prompt=row["prompt"])
            assert 0.0 <= v.score <= 1.0 and v.reason
    assert seen <= set(INSTRUCTION_IDS)
