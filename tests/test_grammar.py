"""The grammar of exact requirements, fragment by fragment, against the real checks.

Each case gives requirements, answers the grammar is meant to let through (each must
pass every check the grammar says it enforces) and answers a check refuses (the grammar
must refuse them too). Then every small edit of the accepted answers that the grammar
still accepts must still pass the checks: the grammar never lets a failing answer
through. The grammar is run by lark (tests/gbnf_lark.py), read from its GBNF text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache

import pytest

from cadenza.planner.grammar import (
    RULES,
    CharSet,
    ExactRequirement,
    gbnf_literal,
    requirements_grammar,
)
from cadenza.validators.ifeval import ALIASES, check_instruction
from cadenza.validators.json_checks import JSON_OBJECT, check_json_object
from gbnf_lark import GbnfMatcher

E = ExactRequirement
PROMPT = "Write about the sea."


def passes(req: ExactRequirement, text: str, *, language: bool = True) -> bool:
    """Whether the real check passes `text`. Without `language`, a case check that fails
    only because langdetect does not call the text English counts as passed: that part
    of IFEval's case checks is beyond a grammar (the module docstring says so)."""
    if req.validator == JSON_OBJECT:
        return check_json_object(text, list(req.args.get("keys", []))).score >= 1.0
    iid = ALIASES.get(req.validator, req.validator)
    verdict = check_instruction(iid, text, req.args, prompt=PROMPT)
    return verdict.score >= 1.0 or (not language and "must be English" in verdict.reason)


@cache
def matcher(gbnf: str) -> GbnfMatcher:
    return GbnfMatcher(gbnf)


def grammar_of(reqs: Sequence[ExactRequirement], max_words: int | None = None) -> GbnfMatcher:
    g = requirements_grammar(reqs, max_words=max_words)
    assert g is not None
    assert set(g.enforced) == {r.name for r in reqs}, g.not_enforced
    return matcher(g.grammar)


def edits(text: str) -> Iterator[str]:
    """Small edits of `text`: what a model might write instead."""
    yield text + ","
    yield "," + text
    yield text[:-1]
    yield text[1:]
    yield text + " More"
    yield text + "\n"
    yield " " + text
    yield text.upper()
    yield text.lower()
    yield text.swapcase()
    yield text.replace(" ", ", ", 1)
    yield text.replace("\n", "\n\n", 1)
    yield text.replace("*", "-", 1)
    yield text + '"'
    yield '"' + text
    yield text.replace('"', "", 1)
    for i in range(0, len(text), max(1, len(text) // 6)):
        yield text[:i] + text[i + 1 :]
        yield text[:i] + "X" + text[i:]
        yield text[:i] + "é" + text[i:]


END = {"end_phrase": "Is there anything else I can help with?"}
CASES: list[tuple[str, list[ExactRequirement], list[str], list[str]]] = [
    (
        "no commas",
        [E("a", "punctuation:no_comma")],
        ["The sea is wide. It is deep.", "Hello\nworld; yes!"],
        ["The sea, wide.", "a,b"],
    ),
    (
        "lowercase",
        [E("a", "change_case:english_lowercase")],
        ["the sea is wide and deep.", "hello there, my friend!\nbye."],
        ["The sea is wide.", "THE SEA", "1234"],
    ),
    (
        "capitals",
        [E("a", "uppercase")],
        ["THE SEA IS WIDE AND DEEP.", "HELLO THERE, MY FRIEND!"],
        ["The sea is wide.", "the sea"],
    ),
    (
        "double quotes",
        [E("a", "startend:quotation")],
        ['"The sea is wide."', '"Say "hi" to me"'],
        ["The sea is wide.", '"The sea is wide.', 'The sea is wide."'],
    ),
    (
        "end phrase",
        [E("a", "startend:end_checker", END)],
        [
            "The sea is wide. Is there anything else I can help with?",
            "Sure.\nIs there anything else I can help with?",
        ],
        ["Is there anything else I can help with? Bye.", "The sea is wide."],
    ),
    (
        "JSON",
        [E("a", "detectable_format:json_format")],
        ['{"sea": "wide", "depth": [1, 2.5, -3e2, true, null]}', "{}", '{"a": {"b": "c"}}'],
        ['The JSON is {"a": 1}', '{"a": 1', "{'a': 1}"],
    ),
    (
        "JSON object with keys",
        [E("a", JSON_OBJECT, {"keys": ["name", "age"]})],
        ['{"name": "Bo", "age": 3}', '{"name": "Bo", "age": 3, "x": [1]}'],
        ['{"name": "Bo"}', "[1, 2]"],
    ),
    (
        "three bullet points",
        [E("a", "detectable_format:number_bullet_lists", {"num_bullets": 3})],
        ["* Sea\n* Sand\n* Sun", "* The sea is wide.\n* It is deep.\n* Boats sail on it."],
        ["* Sea\n* Sand", "* Sea\n* Sand\n* Sun\n* Sky", "Sea, sand, sun."],
    ),
    (
        "two paragraphs",
        [E("a", "length_constraints:number_paragraphs", {"num_paragraphs": 2})],
        ["The sea is wide.\n***\nIt is deep.", "One.\n\nStill one.\n***\nTwo."],
        ["The sea is wide.", "One\n***\nTwo\n***\nThree"],
    ),
    (
        "fixed answer",
        [E("a", "detectable_format:constrained_response")],
        ["My answer is yes.", "My answer is maybe."],
        ["Yes.", "My answer is perhaps."],
    ),
    (
        "title",
        [E("a", "detectable_format:title")],
        ["<<The Sea>>\nThe sea is wide."],
        ["The Sea\nThe sea is wide.", "<<>>\nThe sea."],
    ),
    (
        "postscript",
        [E("a", "detectable_content:postscript", {"postscript_marker": "P.S."})],
        ["The sea is wide.\n\nP.S. I love it."],
        ["The sea is wide.", "The sea is wide. PS I love it."],
    ),
    (
        "repeat the request",
        [E("a", "combination:repeat_prompt", {"prompt_to_repeat": PROMPT})],
        [PROMPT + "\nThe sea is wide."],
        ["The sea is wide.", "Write about the lake.\nIt is small."],
    ),
    (
        "lowercase, no commas, quoted, with an end phrase",
        [
            E("a", "lowercase"),
            E("b", "no_commas"),
            E("c", "startend:quotation"),
            E("d", "startend:end_checker", END),
        ],
        ['"the sea is wide. is there anything else i can help with?"'],
        [
            '"the sea, wide. is there anything else i can help with?"',
            '"The sea. is there anything else i can help with?"',
            "the sea is wide. is there anything else i can help with?",
        ],
    ),
    (
        "capitals, bullets, postscript, end phrase",
        [
            E("a", "uppercase"),
            E("b", "detectable_format:number_bullet_lists", {"num_bullets": 2}),
            E("c", "detectable_content:postscript", {"postscript_marker": "P.S."}),
            E("d", "startend:end_checker", END),
        ],
        ["* SEA\n* SAND\n\nP.S. BYE. IS THERE ANYTHING ELSE I CAN HELP WITH?"],
        [
            "* SEA\n* SAND\n\nP.S. BYE.",
            "* SEA\n\nP.S. BYE. IS THERE ANYTHING ELSE I CAN HELP WITH?",
        ],
    ),
    (
        "title, two paragraphs, quoted, no commas",
        [
            E("a", "detectable_format:title"),
            E("b", "length_constraints:number_paragraphs", {"num_paragraphs": 2}),
            E("c", "startend:quotation"),
            E("d", "no_commas"),
        ],
        ['"<<Sea>>\nThe sea is wide.\n***\nIt is deep."'],
        ['"<<Sea>>\nThe sea, wide.\n***\nIt is deep."', '"<<Sea>>\nThe sea is wide."'],
    ),
    (
        "at least five words",
        [E("a", "length_constraints:number_words", {"relation": "at least", "num_words": 5})],
        ["One two three four five.", "It's a-b c d e", "Hi - there you are now\nfine"],
        ["One two three four.", "One - - - - - -", "Hi"],
    ),
    (
        "at least six words, quoted, no commas",
        [
            E("a", "length_constraints:number_words", {"relation": "at least", "num_words": 6}),
            E("b", "startend:quotation"),
            E("c", "no_commas"),
        ],
        ['"The sea is wide and deep."'],
        ['"The sea is wide."', '"The sea, it is wide and deep."'],
    ),
    (
        "at least two highlighted sections",
        [E("a", "detectable_format:number_highlighted_sections", {"num_highlights": 2})],
        ["The *sea* is *wide*.", "Sea *one* and *two* and more"],
        ["The *sea* is wide.", "The sea is wide.", "The ** is *wide*"],
    ),
    (
        "highlights and placeholders in lowercase words",
        [
            E("a", "detectable_format:number_highlighted_sections", {"num_highlights": 1}),
            E("b", "detectable_content:number_placeholders", {"num_placeholders": 2}),
            E("c", "lowercase"),
            E("d", "length_constraints:number_words", {"relation": "at least", "num_words": 4}),
        ],
        ["see *the sea* at [place] on [date] now"],
        ["see *the sea* at [place] now", "see the sea at [place] on [date] now"],
    ),
    (
        "placeholders with an end phrase",
        [
            E("a", "detectable_content:number_placeholders", {"num_placeholders": 2}),
            E("b", "startend:end_checker", END),
        ],
        ["Dear [name], meet me at [place]. Is there anything else I can help with?"],
        ["Dear [name]. Is there anything else I can help with?"],
    ),
    (
        "two responses",
        [E("a", "combination:two_responses")],
        ["The sea is wide.\n******\nThe sea is deep."],
        ["The sea is wide.", "One\n******\nTwo\n******\nThree"],
    ),
    (
        "paragraph 2 of 3 starts with a word",
        [
            E(
                "a",
                "length_constraints:nth_paragraph_first_word",
                {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "president"},
            )
        ],
        [
            "Aliens came.\n\nPresident Bo hid.\n\nThe end.",
            "Aliens came.\n\npresident, hi.\n\nThe end.",
        ],
        ["Aliens came.\n\nThe president hid.\n\nThe end.", "Aliens.\n\nPresident hid."],
    ),
    (
        "three bullet points of at least nine words in all",
        [
            E("a", "detectable_format:number_bullet_lists", {"num_bullets": 3}),
            E("b", "length_constraints:number_words", {"relation": "at least", "num_words": 9}),
        ],
        ["* The sea is\n* wide and deep\n* and blue too"],
        ["* Sea\n* Sand\n* Sun"],
    ),
    (
        "keywords, one of them twice",
        [
            E("a", "keywords:existence", {"keywords": ["sea", "blue"]}),
            E(
                "b",
                "keywords:frequency",
                {"keyword": "sea", "relation": "at least", "frequency": 2},
            ),
        ],
        ["The sea is blue and the sea is calm.", "The sea is blue, the sea."],
        ["The sea is blue.", "The lake is blue and the lake is calm."],
    ),
    (
        "a keyword in capitals without commas",
        [
            E("a", "keywords:existence", {"keywords": ["Bremen"]}),
            E("b", "uppercase"),
            E("c", "no_commas"),
        ],
        ["WE SELL OUR WARM SHIRTS IN BREMEN TO ALL THE STUDENTS THERE."],
        ["WE SELL IN HAMBURG.", "WE SELL IN BREMEN, NOW."],
    ),
    (
        "forbidden words",
        [E("a", "keywords:forbidden_words", {"forbidden_words": ["can", "ride"]})],
        ["Emma rides a bike; she cannot stop.", "Scan the candy: it rode off, Riders."],
        ["She can ride.", "CAN you?", "well-can", "Ride on", "I can't"],
    ),
    (
        "forbidden words, lowercase, at least six words, two highlights",
        [
            E("a", "keywords:forbidden_words", {"forbidden_words": ["station", "bus"]}),
            E("b", "lowercase"),
            E("c", "length_constraints:number_words", {"relation": "at least", "num_words": 6}),
            E("d", "detectable_format:number_highlighted_sections", {"num_highlights": 2}),
        ],
        ["the old *coach* came to the *stop* at nine."],
        ["the *bus* came to the *stop* at nine.", "the *coach* came to the stop."],
    ),
    (
        "forbidden words in bullet points with an end phrase",
        [
            E("a", "keywords:forbidden_words", {"forbidden_words": ["sea"]}),
            E("b", "detectable_format:number_bullet_lists", {"num_bullets": 2}),
            E("c", "startend:end_checker", END),
        ],
        ["* The ocean is wide.\n* Seas are deep. Is there anything else I can help with?"],
        ["* The sea is wide.\n* It is deep. Is there anything else I can help with?"],
    ),
    (
        "lowercase JSON without commas",
        [E("a", "json"), E("b", "lowercase"), E("c", "no_commas")],
        ['{"sea": "wide"}', '{"sea": {"depth": [true]}}'],
        ["{}", '{"sea": "Wide"}', '{"a": 1, "b": 2}'],
    ),
]


@pytest.mark.parametrize("name,reqs,good,bad", CASES, ids=[c[0] for c in CASES])
def test_each_fragment_lets_through_what_its_checks_pass_and_nothing_they_fail(
    name: str, reqs: list[ExactRequirement], good: list[str], bad: list[str]
) -> None:
    grammar = grammar_of(reqs)
    for text in good:
        assert all(passes(r, text) for r in reqs), f"test data: checks refuse {text!r}"
        assert grammar.accepts(text), f"{name}: the grammar refuses {text!r}"
    for text in bad:
        assert not all(passes(r, text) for r in reqs), f"test data: checks pass {text!r}"
        assert not grammar.accepts(text), f"{name}: the grammar lets through {text!r}"
    for text in good:
        for edited in edits(text):
            if grammar.accepts(edited):
                failing = [r.validator for r in reqs if not passes(r, edited, language=False)]
                assert not failing, f"{name}: the grammar lets through {edited!r} ({failing})"


def test_the_table_covers_the_promised_checks_and_their_aliases() -> None:
    promised = {
        "punctuation:no_comma",
        "change_case:english_lowercase",
        "change_case:english_capital",
        "startend:quotation",
        "startend:end_checker",
        "detectable_format:json_format",
        "detectable_format:number_bullet_lists",
    }
    assert promised <= set(RULES)
    for alias in ("no_commas", "lowercase", "uppercase", "json"):
        assert requirements_grammar([E("a", alias)]) is not None


def test_what_it_cannot_express_it_says_and_leaves_out() -> None:
    g = requirements_grammar(
        [
            E("json", "detectable_format:json_format"),
            E("end", "startend:end_checker", END),
            E("words", "length_constraints:number_words", {"relation": "at least", "num_words": 9}),
            E("mine", "my_own_check"),
            E(
                "fewer",
                "length_constraints:number_words",
                {"relation": "less than", "num_words": 9},
            ),
            E("kw", "keywords:existence", {"keywords": ["sea"]}),
            E("low", "lowercase"),
            E("up", "uppercase"),
            E("bad", "startend:end_checker", {}),
        ]
    )
    assert g is not None
    assert g.enforced == ("json", "low")
    assert set(g.not_enforced) == {"end", "words", "mine", "fewer", "kw", "up", "bad"}
    assert "least" in g.not_enforced["fewer"]
    # a forbidden word in what the grammar must write, or that free text could complete
    for fixed, why in (
        (E("end", "startend:end_checker", {"end_phrase": "Can I help?"}), "holds"),
        (E("kw", "keywords:existence", {"keywords": ["n"]}), "join"),
        (E("kw", "keywords:existence", {"keywords": ["ca"]}), "join"),
    ):
        g3 = requirements_grammar(
            [E("no", "keywords:forbidden_words", {"forbidden_words": ["can"]}), fixed]
        )
        assert g3 is not None and g3.enforced == ("no",)
        assert why in g3.not_enforced[fixed.name]
    assert "JSON" in g.not_enforced["end"]
    assert "number of words" in g.not_enforced["words"]
    assert "lowercase and all capitals" in g.not_enforced["up"]
    assert "end_phrase" in g.not_enforced["bad"]
    # a phrase with a comma cannot end an answer without commas
    g2 = requirements_grammar(
        [E("nc", "no_commas"), E("end", "startend:end_checker", END | {"end_phrase": "Bye, now"})]
    )
    assert g2 is not None and g2.enforced == ("nc",)
    assert "','" in g2.not_enforced["end"]
    assert requirements_grammar([E("mine", "my_own_check")]) is None


def test_free_text_is_bounded_so_the_answer_finishes_before_the_token_limit() -> None:
    reqs = [E("a", "startend:end_checker", {"end_phrase": "Bye."})]
    grammar = grammar_of(reqs, max_words=3)
    assert grammar.accepts("One two three four Bye.")
    assert not grammar.accepts("One two three four five Bye.")
    # nothing must follow: bounded all the same (the answer ends instead of running on),
    # and after the last word at most two spaces or newlines
    free = grammar_of([E("a", "no_commas")], max_words=3)
    assert free.accepts("One two three four\n\n")
    assert not free.accepts("One two three four five")
    assert not free.accepts("One two three four\n\n\n")
    # nor along its last word, nor with a run of newlines
    assert free.accepts("One two " + "x" * 40)
    assert not free.accepts("One two " + "x" * 41)
    assert not free.accepts("One" + "\n" * 7 + "two")
    # no bound given: none
    assert grammar_of([E("a", "no_commas")]).accepts("One two three four five six seven")
    # an "at least N words" requirement raises the bound
    with_words = requirements_grammar(
        [
            *reqs,
            E("w", "length_constraints:number_words", {"relation": "at least", "num_words": 40}),
        ],
        max_words=3,
    )
    assert with_words is not None and with_words.shape.max_words == 60
    # 800 words: held through a named rule repeated (llama.cpp refuses a long inline group)
    many = E("w", "length_constraints:number_words", {"relation": "at least", "num_words": 800})
    held = requirements_grammar([*reqs, many], max_words=150)
    assert held is not None and held.shape.max_words == 820 and held.enforced == ("a", "w")
    assert "textmw{799}" in held.grammar and "textww{0,20}" in held.grammar
    # past what a call can write, the words are left to validation, the bound dropped
    too_many = E(
        "w", "length_constraints:number_words", {"relation": "at least", "num_words": 1950}
    )
    unbounded = requirements_grammar([*reqs, too_many], max_words=150)
    assert unbounded is not None and unbounded.shape.max_words is None
    assert unbounded.enforced == ("a",) and "w" in unbounded.not_enforced
    assert "{0," not in unbounded.grammar


def test_an_answer_that_ends_on_a_line_may_end_with_a_newline_and_then_must_stop() -> None:
    bullets = grammar_of([E("a", "detectable_format:number_bullet_lists", {"num_bullets": 2})])
    assert bullets.accepts("* Sea\n* Sand\n")
    assert not bullets.accepts("* Sea\n* Sand\n\n")
    assert not bullets.accepts("* Sea\n* Sand\nMore")
    ps = grammar_of([E("a", "detectable_content:postscript", {"postscript_marker": "P.S."})])
    assert ps.accepts("Hi.\n\nP.S. Bye.\n")


def test_literals_and_classes_escape_what_gbnf_reads_specially() -> None:
    assert gbnf_literal('a"b\\c\nd\u00e9') == '"a\\x22b\\x5Cc\\x0Ad\\xE9"'
    assert CharSet.of("ab-]").gbnf() == "[\\x2D\\x5Dab]"
    assert CharSet(((0, 0x10FFFF),)).minus(",").gbnf() == "[\\x00-\\x2B\\x2D-\\U0010FFFF]"
    literal_phrase = [E("a", "startend:end_checker", {"end_phrase": 'Say "yes" \\ no'})]
    assert grammar_of(literal_phrase).accepts('Hi. Say "yes" \\ no')
