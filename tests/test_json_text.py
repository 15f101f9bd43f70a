"""Reading JSON out of answers: fences removed, nothing added, bad answers never raise."""

from __future__ import annotations

import pytest

from cadenza.json_text import parse_json_answer, strip_fences


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '  {"a": 1}\n',
        '```json\n{"a": 1}\n```',
        '```JSON\n{"a": 1}\n```\n',
        '```\n{"a": 1}\n```',
        'Here is the JSON:\n```json\n{"a": 1}\n```\nHope this helps!',
        '```python\nprint(1)\n```\nand:\n```json\n{"a": 1}\n```',
    ],
)
def test_fenced_and_bare_json(text: str) -> None:
    answer = parse_json_answer(text)
    assert answer.ok and answer.value == {"a": 1}
    assert answer.unfenced == ("```" in text)


def test_unfencing_can_be_switched_off() -> None:
    answer = parse_json_answer('```json\n{"a": 1}\n```', unfence=False)
    assert not answer.ok and not answer.unfenced


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "Ada", "tags": ["x", "y"',
        '{"name": "Ada loves mathem',
        "[1, 2,",
        '```json\n{"a": ',
    ],
)
def test_a_truncated_object_is_a_failure_not_a_crash(text: str) -> None:
    answer = parse_json_answer(text)
    assert not answer.ok
    assert answer.truncated
    assert answer.value is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("```json\n```", "empty"),
        ("The capital is Paris.", "not JSON"),
        ('{"a": 1} and more', "extra text"),
        ("{'a': 1}", "not JSON"),
    ],
)
def test_other_failures_say_why(text: str, words: str) -> None:
    answer = parse_json_answer(text)
    assert not answer.ok and answer.error is not None
    assert words in answer.error


def test_deep_nesting_is_a_failure() -> None:
    answer = parse_json_answer("[" * 100_000 + "]" * 100_000)
    assert not answer.ok


def test_nothing_is_added() -> None:
    text, unfenced = strip_fences('```json\n{"a": 1')
    assert (text, unfenced) == ('{"a": 1', True)
    assert parse_json_answer('"just a string"').value == "just a string"
