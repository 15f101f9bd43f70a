"""Repairs that only remove or reshape what the model wrote: forbidden words, "less
than" counts of a letter or a keyword, two responses, highlighted sections."""

from __future__ import annotations

from typing import Any

import pytest

from cadenza.validators.ifeval import check_instruction, repair

STORY = (
    "Emma wanted a bike. She practised every day in the park. "
    "Her mom said she can do it. At last she rode alone and smiled."
)


def passes(iid: str, text: str, kwargs: dict[str, Any]) -> bool:
    return check_instruction(iid, text, kwargs).passed


@pytest.mark.parametrize(
    ("iid", "kwargs", "broken", "fixed"),
    [
        # the sentence holding the forbidden word goes; the rest stays as written
        (
            "keywords:forbidden_words",
            {"forbidden_words": ["can"]},
            STORY,
            "Emma wanted a bike. She practised every day in the park. "
            "At last she rode alone and smiled.",
        ),
        # the paragraph layout between the kept sentences is kept
        (
            "keywords:forbidden_words",
            {"forbidden_words": ["station"]},
            "The bus came.\n\nIt stopped at the station. People got off.",
            "The bus came.\n\nPeople got off.",
        ),
        (
            "keywords:letter_frequency",
            {"letter": "o", "let_relation": "less than", "let_frequency": 6},
            "Go on. Look around. Rooms of gold, boots of iron.",
            "Go on. Look around.",
        ),
        (
            "keywords:frequency",
            {"keyword": "sea", "relation": "less than", "frequency": 2},
            "The sea is wide. The sea is deep.",
            "The sea is wide.",
        ),
        (
            "combination:two_responses",
            {},
            "A cat sat.\n\nA dog ran.\n\nA cow ate.",
            "A cat sat.\n\nA dog ran.\n******\nA cow ate.",
        ),
        (
            "combination:two_responses",
            {},
            "1. Roses are red.\n2. Violets are blue.",
            "1. Roses are red.\n******\n2. Violets are blue.",
        ),
        (
            "detectable_format:number_highlighted_sections",
            {"num_highlights": 2},
            "# Plan\nWe sell shirts.\n\nMarket:\nStudents in Bremen.",
            "# *Plan*\nWe sell shirts.\n\n*Market*:\nStudents in Bremen.",
        ),
        # too few headings: paragraph openings too; list items keep their form
        (
            "detectable_format:number_highlighted_sections",
            {"num_highlights": 2},
            "Sleep well every night.\n\n- rest\n- eat\n\nWalk in the sun each day.",
            "*Sleep well every night.*\n\n- rest\n- eat\n\n*Walk in the sun each day.*",
        ),
    ],
)
def test_reshaping_repairs(iid: str, kwargs: dict[str, Any], broken: str, fixed: str) -> None:
    assert not passes(iid, broken, kwargs)
    assert repair(iid, broken, kwargs) == fixed
    assert passes(iid, fixed, kwargs)


def test_no_reshaping_where_too_little_would_remain_or_nothing_fits() -> None:
    # the only sentence holds the word: nothing is left to keep
    bus = "The bus arrived at the station."
    assert repair("keywords:forbidden_words", bus, {"forbidden_words": ["station"]}) is None
    # most sentences hold it: less than half the words would remain
    most = "We can go. You can stay. They can sing loudly. Bye now."
    assert repair("keywords:forbidden_words", most, {"forbidden_words": ["can"]}) is None
    # "at least" counts need words the model did not write
    more_o = {"letter": "o", "let_relation": "at least", "let_frequency": 60}
    assert repair("keywords:letter_frequency", "Go on.", more_o) is None
    # the first sentence alone is over the limit
    over = {"letter": "o", "let_relation": "less than", "let_frequency": 2}
    assert repair("keywords:letter_frequency", "Look, good food. Yes.", over) is None
    # one sentence cannot become two responses
    assert repair("combination:two_responses", "Just one.", {}) is None
    # no line to highlight: none is invented
    assert (
        repair(
            "detectable_format:number_highlighted_sections",
            "- a\n- b",
            {"num_highlights": 1},
        )
        is None
    )
