"""A requirement whose qualifier its check cannot express goes to the judge (issue 9, item
19): "Return JSON with key 'capital'" must not pass an answer without that key."""

from __future__ import annotations

import json

import pytest

import cadenza
from cadenza import RunOptions
from cadenza.engine.calls import CallSettings
from cadenza.planner import SearchSettings
from cadenza.testing import ScriptedModel
from cadenza.validators.compiler import compile_requirement

WITHOUT_THE_KEY = json.dumps({"response": "The capital of France is Paris."})
WITH_THE_KEY = json.dumps({"capital": "Paris"})


def _options() -> RunOptions:
    return RunOptions(
        calls=CallSettings(retries=0, backoff_s=0.001, timeout_s=5.0),
        search=SearchSettings(max_output_tokens=64),
    )


async def test_json_without_the_required_key_does_not_pass() -> None:
    # The scripted judge accepts everything: only an exact check can refuse this answer.
    fake = ScriptedModel(default=WITHOUT_THE_KEY)
    result = await cadenza.arun(
        "What is the capital of France?",
        ["Return JSON with key 'capital'"],
        models=[fake],
        budget={"max_calls": 3},
        options=_options(),
    )
    assert result.result == WITHOUT_THE_KEY
    assert result.requirements_result.finish_reason != "all_requirements_met"
    (req,) = result.requirements_result.requirements
    assert req.validator == "code:json:object"
    assert req.score < 1.0
    assert "'capital'" in req.reason and "lacks" in req.reason
    assert not fake.judge_requests


async def test_json_with_the_required_key_passes() -> None:
    fake = ScriptedModel(default="```json\n" + WITH_THE_KEY + "\n```")
    result = await cadenza.arun(
        "What is the capital of France?",
        ["Return JSON with key 'capital'"],
        models=[fake],
        budget={"max_calls": 3},
        options=_options(),
    )
    assert result.requirements_result.finish_reason == "all_requirements_met"
    assert result.requirements_result.requirements[0].validator == "code:json:object"


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("Return JSON with key 'capital'", ["capital"]),
        ('Respond with a JSON object that has the keys "name" and "age".', ["name", "age"]),
        ("Answer as JSON with the keys answer and confidence", ["answer", "confidence"]),
        ("Give a JSON object with a 'summary' key", ["summary"]),
        ("Return JSON with keys: id, Title", ["id", "Title"]),
        ("Reply with a JSON object.", []),
    ],
)
def test_json_keys_compile_to_json_object(text: str, keys: list[str]) -> None:
    check = compile_requirement(text)
    assert check is not None and (check.validator, check.args) == ("json:object", {"keys": keys})


# Each class of qualifier a check would ignore; every example must go to the judge.
QUALIFIERS = {
    "JSON with values, key order, or only some keys": [
        "Return JSON with the key 'capital' set to the capital city",
        "Return JSON with keys 'a' and 'b', where 'a' is a number",
        "Return JSON with key 'capital' whose value is a string",
        "Return a JSON object with the key 'capital' and nothing else",
        "Return JSON with only the key 'capital'",
        "Return JSON with exactly the keys 'a' and 'b'",
        "Return JSON with the key 'capital' or 'city'",
        "Return a JSON list of objects with keys 'name' and 'age'",
        "Return a JSON array",
        'Respond with JSON: {"capital": "..."}',
        "Return JSON with keys name and age as integers",
    ],
    "JSON in a code block (the check does not require one)": [
        "Return JSON in a code block",
        "Wrap the JSON in a markdown code block",
    ],
    "bullet points with a property each": [
        "Use exactly 3 bullet points, each starting with a verb",
        "Write exactly 3 bullet points starting with a verb",
        "Use exactly 3 bullet points. Each is a question.",
        "3 bullet points, each under 10 words",
    ],
    "a title with content or a place": [
        "Give it a title about cats, in double angular brackets like <<title>>",
        "Include a title in double angular brackets that mentions cats",
        "Add a title in double angular brackets in all caps",
        "Put a title at the top, formatted as <<title>>",
        "Use the title <<My Day>>",
    ],
    "an ending that is not a given phrase": [
        "End with a question",
        "End your response with a question mark",
        "End with 'Bye' in bold",
        "End with the word 'Bye' in French",
        "End with 'Bye' at the end of each paragraph",
    ],
    "a postscript with content": [
        "Add a P.S. about the weather",
        "Add a P.S. in French",
        "Add a postscript starting with P.S. that thanks the reader",
        "Include a postscript at the end starting with P.S. followed by your name",
        "Add a P.S. of no more than 10 words",
    ],
    "keywords or counts in a part of the answer": [
        "Include the keywords 'cat' and 'dog' in the first paragraph",
        "Use the word 'banana' at least 3 times in the title",
        "Use the letter e at least 10 times in each paragraph",
        "Include at least 2 placeholders in square brackets in the title",
        "Use fewer than 50 words per sentence",
    ],
    "highlights or sections with a property": [
        "Highlight at least 2 key phrases in bold",
        "Highlight at least 3 sections with markdown; include bold text",
        "Highlight at least 3 sections with markdown, each about a different topic",
        "Your response must have 4 sections. Mark the beginning of each section with SECTION X. "
        "Each section must include a number",
        "Your response must have 4 sections. Mark the beginning of each section with SECTION X. "
        "Each section must start with a heading",
        "Give two different responses separated by ******, each response between asterisks",
        "Write 3 paragraphs separated by ***, and each paragraph has a title",
    ],
    "content besides the form": [
        "Write at least 300 words about cats",
        "Without using the words 'good' and 'bad', describe the movie",
        "Answer in French, but keep technical terms in English",
        "Mention Paris at least twice",
    ],
}


@pytest.mark.parametrize(
    "text", [text for examples in QUALIFIERS.values() for text in examples], ids=str
)
def test_a_qualifier_the_check_ignores_goes_to_the_judge(text: str) -> None:
    assert compile_requirement(text) is None
