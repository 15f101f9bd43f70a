"""Extractive answers: candidate spans cut out of the passages in code, the model's choice
among them under a grammar, and the exact citations that follow (sources/spans.py,
sources/choose.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import cadenza
from cadenza.models.base import ModelRequest
from cadenza.retrieval import FileSearch, HashingEmbedder, Library
from cadenza.runner import RunOptions
from cadenza.sources.checks import short_answer_check
from cadenza.sources.choose import alternative, choice_grammar
from cadenza.sources.citations import cited_labels
from cadenza.sources.evidence import Found, Source
from cadenza.sources.retriever import RetrievalSettings
from cadenza.sources.spans import (
    answer_type,
    asks_short_answer,
    candidate_spans,
    question_options,
)
from cadenza.testing import ScriptedModel
from cadenza.validators.base import CheckContext

FILM = (
    "# Kiss and Tell (1945 film)\n\nKiss and Tell is a 1945 American comedy film starring "
    "then 17-year-old Shirley Temple as Corliss Archer.\n"
)
TEMPLE = (
    "# Shirley Temple\n\nShirley Temple Black was an American actress. As an adult, she "
    "was named United States ambassador to Ghana and served as Chief of Protocol of the "
    "United States.\n"
)
OTHER = "# Janet Waldo\n\nJanet Waldo was an American radio actress born in Yakima.\n"

QUESTION = (
    "What government position was held by the woman who portrayed Corliss Archer in the "
    "film Kiss and Tell?"
)


def _source(label: str, title: str, text: str) -> Source:
    found = Found(kind="file", key=label, text=text, title=title, score=1.0, query="q", rank=1)
    return Source(label, found)


# -- what the question asks for ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who was born first, Erika Jayne or Marco Da Silva", "choice"),
        ("Which genus has more species, Salvia or Arachis?", "choice"),
        ("Are both Cypress and Ajuga genera?", "yes_no"),
        ("When was the palace founded at which Columba de Dunbar died?", "date"),
        ("In what year was the band formed?", "date"),
        ("How many inhabitants does the country have?", "number"),
        ("Who directed the film?", "name"),
        ("Which American film director hosted the awards in 2002?", "name"),
        ("What profession do Eric Ambler and Carol Shields share?", "category"),
        ("What type of music does the band play?", "category"),
    ],
)
def test_the_answer_type_comes_from_the_question(question: str, kind: str) -> None:
    assert answer_type(question) == kind


def test_the_options_of_an_a_or_b_question() -> None:
    assert question_options("Who was born first, Erika Jayne or Marco Da Silva") == [
        "Erika Jayne",
        "Marco Da Silva",
    ]
    assert question_options("Who was born first Am Rong or Ava DuVernay ?") == [
        "Am Rong",
        "Ava DuVernay",
    ]
    assert question_options('Which came first, "The Climb" or "Voices of Iraq"?') == [
        "The Climb",
        "Voices of Iraq",
    ]
    assert question_options("Who wrote the novel?") == []


@pytest.mark.parametrize(
    ("question", "short"),
    [
        (QUESTION, True),
        ("How many people live in Yakima?", True),
        ("Why did Shirley Temple become a diplomat?", False),
        ("Explain how herons build their nests.", False),
        ("How do herons build their nests?", False),
        ("Summarise the passages about owls.", False),
    ],
)
def test_short_factual_questions_are_told_from_long_form_ones(question: str, short: bool) -> None:
    assert asks_short_answer(question) is short


# -- the candidates -----------------------------------------------------------------------------
def test_candidates_are_names_from_the_passages_that_the_question_does_not_hold() -> None:
    sources = [
        _source("P1", "Kiss and Tell (1945 film)", FILM.split("\n\n", 1)[1]),
        _source("P2", "Shirley Temple", TEMPLE.split("\n\n", 1)[1]),
    ]
    spans = candidate_spans(QUESTION, sources, bridges=["P2"])
    texts = [s.text for s in spans]
    assert "Chief of Protocol of the United States" in texts and "Shirley Temple" in texts
    # nothing the question says already, no adjective of nationality, no dates for a name
    assert not {"Corliss Archer", "Kiss and Tell", "American", "1945"} & set(texts)
    chief = next(s for s in spans if s.text.startswith("Chief of Protocol"))
    # the passage it comes from, then the passage that led to that bridge passage
    assert chief.labels == ("P2", "P1")
    assert alternative(chief) == "Chief of Protocol of the United States [P2][P1]"


def test_a_date_question_gets_dates_and_a_number_question_numbers() -> None:
    sources = [
        _source(
            "P1",
            "Harry Potter",
            "The first novel was published on 26 June 1997 by Bloomsbury. It sold 120,000 "
            "copies in its first year.",
        )
    ]
    dates = candidate_spans("When was the first Harry Potter novel published?", sources)
    assert [s.text for s in dates][:1] == ["26 June 1997"]
    numbers = candidate_spans("How many copies did the first novel sell?", sources)
    assert "120,000" in [s.text for s in numbers]
    assert all(s.kind == "number" for s in numbers)


def test_yes_no_and_options_cite_the_passages_about_what_the_question_names() -> None:
    sources = [
        _source("P1", "Owls", "Owls hunt at night."),
        _source("P2", "Salvia", "Salvia has about 900 species."),
        _source("P3", "Arachis", "Arachis has about 80 species."),
    ]
    yes_no = candidate_spans("Are Salvia and Arachis both genera?", sources)
    assert [alternative(s) for s in yes_no] == ["yes [P2][P3]", "no [P2][P3]"]
    options = candidate_spans("Which genus has more species, Salvia or Arachis?", sources)
    assert [alternative(s) for s in options] == ["Salvia [P2][P3]", "Arachis [P3][P2]"]


def test_a_category_question_gets_what_the_passages_say_their_subjects_are() -> None:
    sources = [
        _source("P1", "Eric Ambler", "Eric Ambler was an English author of thrillers."),
        _source("P2", "Owls", "The barn owl is a nocturnal bird."),
        _source("P3", "Carol Shields", "Carol Shields was an American-born Canadian author."),
    ]
    spans = candidate_spans("What profession do Eric Ambler and Carol Shields share?", sources)
    assert spans[0].text == "author" and spans[0].labels == ("P1", "P3")
    assert "bird" in [s.text for s in spans]


def test_the_choice_grammar_allows_exactly_the_alternatives() -> None:
    grammar = choice_grammar(["Chief of Protocol [P2]", 'The "Conversation" [P1]', "Télé [P3]"])
    assert grammar.startswith("root ::= ")
    assert '"Chief of Protocol [P2]"' in grammar
    assert '"The \\x22Conversation\\x22 [P1]"' in grammar  # quotes escaped
    assert "Télé" not in grammar  # non-ASCII escaped
    with pytest.raises(ValueError):
        choice_grammar([])


def test_short_answer_accepts_an_option_of_an_a_or_b_question() -> None:
    ctx = CheckContext(
        instruction="Who was born first, Erika Jayne or Marco Da Silva",
        requirement_name="short_answer",
        requirement_description="a short answer",
    )
    assert short_answer_check("Erika Jayne [P1]", ctx).score == 1.0
    assert short_answer_check("Who was born first [P1]", ctx).score < 1.0


# -- in a run -------------------------------------------------------------------------------------
@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    with Library(f"sqlite:///{tmp_path / 'lib.db'}", embedder=HashingEmbedder()) as lib:
        lib.add(FILM.encode(), name="film.md")
        lib.add(TEMPLE.encode(), name="temple.md")
        lib.add(OTHER.encode(), name="waldo.md")
        yield lib


def _alternatives(request: ModelRequest) -> list[str]:
    fmt = request.response_format
    assert fmt is not None and fmt.kind == "grammar" and fmt.grammar
    return re.findall(r'"((?:[^"\\]|\\.)*)"', fmt.grammar)


def _choose_chief(request: ModelRequest) -> str:
    """A model held to the grammar: it writes one of the alternatives."""
    alts = _alternatives(request)
    return next(a for a in alts if a.startswith("Chief of Protocol"))


async def test_a_short_question_is_answered_by_a_span_chosen_under_a_grammar(
    library: Library,
) -> None:
    model = ScriptedModel(default=_choose_chief, formats=("grammar",))
    result = await cadenza.arun(
        QUESTION, models=[model], budget={"max_calls": 6}, tools=[FileSearch()], library=library
    )
    assert result.result.startswith("Chief of Protocol of the United States [P")
    assert result.requirements_result.finish_reason == "all_requirements_met"
    assert result.usage.calls == 1  # one choice, nothing else
    request = model.generation_requests[0]
    alts = _alternatives(request)
    assert result.result in alts and len(alts) <= RetrievalSettings().extract_choices
    assert "Choose from:" in request.messages[-1].content
    # the citation is the passage that holds the span
    ds = result.data_sources
    assert ds is not None
    by_id = {p.id: p for p in ds.file_search}
    first, *rest = cited_labels(result.result)
    assert by_id[first].file_name == "temple.md" and by_id[first].cited
    # and the passage that led to it (the film names the actress)
    assert [by_id[lab].file_name for lab in rest] == ["film.md"]
    node = next(n for n in result.trace if n.kind == "generate")
    assert node.detail["constrained"] == "grammar"
    assert node.detail["extract"]["answer_type"] == "name"
    assert result.result in node.detail["extract"]["choices"]


def _free_answer(request: ModelRequest) -> str:
    assert request.response_format is None
    lines = [line for m in request.messages for line in m.content.splitlines()]
    label = next(line[1:3] for line in lines if line.startswith("[P") and "Chief" in line)
    return f"Chief of Protocol [{label}]"


async def test_a_model_without_grammars_answers_free(library: Library) -> None:
    model = ScriptedModel(default=_free_answer)
    result = await cadenza.arun(
        QUESTION, models=[model], budget={"max_calls": 4}, tools=[FileSearch()], library=library
    )
    assert result.result.startswith("Chief of Protocol [P")
    assert all(r.response_format is None for r in model.generation_requests)


async def test_a_long_form_question_and_the_switch_keep_the_free_path(library: Library) -> None:
    model = ScriptedModel(default=_free_answer, formats=("grammar",))
    await cadenza.arun(
        "Why was Shirley Temple named Chief of Protocol?",
        models=[model],
        budget={"max_calls": 2},
        tools=[FileSearch()],
        library=library,
        options=RunOptions(source_requirements=False),
    )
    options = RunOptions(retrieval=RetrievalSettings(extract=False))
    await cadenza.arun(
        QUESTION,
        models=[model],
        budget={"max_calls": 2},
        tools=[FileSearch()],
        library=library,
        options=options,
    )
    assert model.generation_requests
    assert all(r.response_format is None for r in model.generation_requests)


async def test_a_wrong_choice_is_followed_by_free_answers(library: Library) -> None:
    """The extractive answer is one candidate among others: when it fails a requirement
    the free-form path goes on."""
    calls: list[ModelRequest] = []

    def script(request: ModelRequest) -> str:
        calls.append(request)
        if request.response_format is not None:
            return "I cannot tell"  # a model that ignored the grammar: no citation
        return _free_answer(request)

    model = ScriptedModel(default=script, formats=("grammar",))
    result = await cadenza.arun(
        QUESTION, models=[model], budget={"max_calls": 6}, tools=[FileSearch()], library=library
    )
    assert calls[0].response_format is not None
    assert any(r.response_format is None for r in calls[1:])
    assert result.result.startswith("Chief of Protocol [P")


# -- citations and abbreviations ------------------------------------------------------------------
def test_a_full_stop_after_an_abbreviation_does_not_end_the_sentence() -> None:
    from cadenza.sources.citations import cited_sentences
    from cadenza.validators.base import get_validator

    text = "Rostker v. Goldberg held that conscription was constitutional."
    assert [s.text for s in cited_sentences(text)] == [text]
    two = "He served in the U.S. Army [P1]. C. W. Grafton wrote it [P2]."
    assert [(s.text, s.labels) for s in cited_sentences(two)] == [
        ("He served in the U.S. Army.", ("P1",)),
        ("C. W. Grafton wrote it.", ("P2",)),
    ]
    ctx = CheckContext(
        instruction="What did Rostker v. Goldberg hold?",
        requirement_name="cites_sources",
        requirement_description="cite",
        sources={"P1": "Rostker v. Goldberg\nThe court held that conscription was constitutional."},
    )
    repair = get_validator("cites_sources").repair
    assert repair is not None
    fixed = repair(text, ctx)
    assert fixed == "Rostker v. Goldberg held that conscription was constitutional [P1]."
