"""Citations, the built-in `cites_sources` and `grounded` checks and their repairs, and
the names multi-hop retrieval follows."""

from __future__ import annotations

import pytest

from cadenza.sources.checks import cites_sources, content_words, grounded, sentence_support
from cadenza.sources.citations import cited_labels, cited_sentences, strip_citations
from cadenza.sources.hops import entities, names_match, new_entities
from cadenza.sources.prompts import answer_messages, is_polar_question, short_answer
from cadenza.validators.base import CheckContext, get_validator

SOURCES = {
    "P1": "Kiss and Tell (1945 film)\nKiss and Tell is a 1945 American comedy film starring "
    "then 17-year-old Shirley Temple as Corliss Archer.",
    "P2": "Shirley Temple\nShirley Temple Black was an American actress and diplomat. As an "
    "adult she served as Chief of Protocol of the United States.",
}
QUESTION = (
    "What government position was held by the woman who portrayed Corliss Archer in the "
    "film Kiss and Tell?"
)


def ctx(sources: dict[str, str] | None = None, **args: object) -> CheckContext:
    return CheckContext(
        instruction=QUESTION,
        requirement_name="r",
        requirement_description="d",
        args=args,
        sources=SOURCES if sources is None else sources,
    )


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("Chief of Protocol [P2].", ["P2"]),
        ("A [P1][P3] and B (P2).", ["P1", "P3", "P2"]),
        ("A [P1, P2] b [P2 and P4]", ["P1", "P2", "P4"]),
        ("yes [2]", ["P2"]),
        ("no citation [see above] (1945)", []),
    ],
)
def test_citations_are_read_in_their_loose_forms(text: str, labels: list[str]) -> None:
    assert cited_labels(text) == labels


def test_citations_belong_to_their_sentence_even_after_the_full_stop() -> None:
    got = cited_sentences("Paris is big. [P1] It has a tower (P2).\nyes [P3]")
    assert [(s.text, s.labels) for s in got] == [
        ("Paris is big.", ("P1",)),
        ("It has a tower.", ("P2",)),
        ("yes", ("P3",)),
    ]
    assert strip_citations("Chief of Protocol [P2].") == "Chief of Protocol."


def test_cites_sources_is_exact() -> None:
    assert cites_sources("Chief of Protocol [P2]", ctx()).score == 1.0
    none = cites_sources("Chief of Protocol", ctx())
    assert none.score == 0.0 and "cites no passage" in none.reason and "P1, P2" in none.reason
    half = cites_sources("Chief of Protocol [P2][P7]", ctx())
    assert half.score == 0.5 and "P7 is not among the retrieved passages" in half.reason
    nothing = cites_sources("I don't know.", ctx({}))
    assert nothing.score == 1.0 and "nothing to cite" in nothing.reason


def test_grounded_accepts_what_the_cited_passage_says() -> None:
    assert grounded("Chief of Protocol [P2]", ctx()).score == 1.0
    # the question's own words need no support; the new ones do
    v = grounded("The woman who portrayed Corliss Archer held Chief of Protocol [P2].", ctx())
    assert v.score == 1.0


def test_grounded_names_the_unsupported_sentence_and_words() -> None:
    v = grounded("Chief of Protocol [P2]. She was Queen Elizabeth II [P1].", ctx())
    assert v.score == 0.5
    assert "Queen Elizabeth II" in v.reason and "'queen'" in v.reason and "(P1)" in v.reason
    # the right words, but cited to the wrong passage
    wrong = grounded("Chief of Protocol [P1]", ctx())
    assert wrong.score == 0.0
    # a sentence without its own citation is read against what the answer cites
    assert grounded("She was an actress. Chief of Protocol [P2]", ctx()).score == 1.0


def test_grounded_threshold_is_an_argument() -> None:
    text = "Shirley Temple was Chief of Protocol in Ghana and Peru [P2]"
    share, missing = sentence_support(text, [SOURCES["P2"]], QUESTION)
    assert missing == ["ghana", "peru"] and 0.5 < share < 0.75
    assert grounded(text, ctx()).score == 0.0
    assert grounded(text, ctx(min_support=0.5)).score == 1.0
    with pytest.raises(ValueError, match="min_support"):
        grounded(text, ctx(min_support=2))


def test_content_words_ignore_function_words_and_number_formats() -> None:
    assert content_words("The answer is 9,984 people's homes") == ["9984", "people", "home"]


def test_repairs_keep_the_supported_sentences_and_add_missing_citations() -> None:
    g = get_validator("grounded")
    assert g.repair is not None
    fixed = g.repair("Chief of Protocol [P2]. She was Queen Elizabeth II [P1].", ctx())
    assert fixed == "Chief of Protocol [P2]."
    assert grounded(fixed, ctx()).score == 1.0
    c = get_validator("cites_sources")
    assert c.repair is not None
    assert c.repair("Shirley Temple Black was Chief of Protocol.", ctx()) == (
        "Shirley Temple Black was Chief of Protocol [P2]."
    )
    assert c.repair("Chief of Protocol [P9]", ctx()) == "Chief of Protocol [P2]"
    # nothing close enough to cite: no repair
    assert c.repair("The moon is made of cheese.", ctx()) is None


def test_short_answers_are_cut_from_long_ones() -> None:
    q = "Where is the company that Sachin Warrier worked for headquartered?"
    long = "The company that Sachin Warrier worked for is headquartered in Mumbai [P3]."
    assert short_answer(long, q, max_words=8) == "headquartered in Mumbai [P3]"
    assert short_answer("The answer is: 9,984 [P1]", "How many?") == "9,984 [P1]"
    assert short_answer("Yes, both are. [P1]", "Are both from Wales?") == "yes [P1]"
    assert short_answer("Mumbai [P3]", q) is None  # already short
    assert is_polar_question("Were Scott Derrickson and Ed Wood of the same nationality?")
    assert not is_polar_question("Is it red or blue?")


def test_the_answer_prompt_shows_passages_under_their_ids() -> None:
    from cadenza.sources.evidence import Evidence, Found

    ev = Evidence()
    shown = ev.show([Found("file", "k1", "Paris is in France.", "Paris", 1.0, "q", 1)])
    msgs = answer_messages("Where is Paris?", shown)
    assert msgs[-1].content.startswith("[P1] Paris is in France.\n\nQuestion: Where is Paris?")
    assert "short phrase copied from the passages" in msgs[-1].content
    assert "like:" not in msgs[-1].content  # no example answer to copy


def test_names_in_passages_lead_to_the_next_passage() -> None:
    text = (
        "Kiss and Tell is a 1945 American comedy film starring Shirley Temple as Corliss "
        "Archer. It is set in Brown County, Kansas in the U.S. Army base."
    )
    assert entities(text)[:4] == ["Kiss and Tell", "American", "Shirley Temple", "Corliss Archer"]
    assert "Brown County, Kansas" in entities(text)
    found = new_entities(QUESTION, [("Kiss and Tell (1945 film)", text)])
    assert "Shirley Temple" in found and "Corliss Archer" not in found
    assert names_match("Nixon", "Richard Nixon") and names_match("Alien", "Alien (film)")
    assert not names_match("Alien", "Aliens (soundtrack)")


def test_short_answer_wants_the_phrase_alone() -> None:
    from cadenza.sources.checks import short_answer_check
    from cadenza.sources.prompts import short_answer
    from cadenza.validators.base import CheckContext

    ctx = CheckContext("Who?", "short_answer", "short")
    for text in ("The answer is: 10 [P5]", "Question: Ann was [P1]", "Ann Lee\nBob Ray [P1]"):
        verdict = short_answer_check(text, ctx)
        assert verdict.score == 0.5 and "phrase alone" in verdict.reason
        cut = short_answer(text, "Who?")
        assert cut is not None and short_answer_check(cut, ctx).score == 1.0
    assert short_answer_check("Ann Lee [P1]", ctx).score == 1.0


def test_short_answer_must_answer_something() -> None:
    from cadenza.sources.checks import short_answer_check
    from cadenza.validators.base import CheckContext

    ctx = CheckContext("Which river flows through Quorra?", "short_answer", "short")
    assert short_answer_check("[Question] [P1]", ctx).score == 0.3
    assert short_answer_check("Quorra river [P1]", ctx).score == 0.3  # only the question's words
    assert short_answer_check("the Ombra [P1]", ctx).score == 1.0
    polar = CheckContext("Is the Ombra in Quorra?", "short_answer", "short")
    assert short_answer_check("yes [P1]", polar).score == 1.0
    assert short_answer_check("Ombra [P1]", polar).score == 0.5
