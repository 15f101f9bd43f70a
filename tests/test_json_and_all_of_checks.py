"""The built-in checks the compiler adds besides IFEval's: ``json:object`` and ``all_of``."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from typing import Any

import pytest

import cadenza
from cadenza import Requirement, RunOptions
from cadenza.errors import InvalidTaskError, UnknownValidatorError, ValidatorError
from cadenza.testing import ScriptedModel
from cadenza.validators import ifeval  # noqa: F401  (registers the IFEval checks)
from cadenza.validators.base import (
    CheckContext,
    Verdict,
    get_validator,
    register_validator,
    run_validator,
)
from cadenza.validators.combined import ALL_OF
from cadenza.validators.json_checks import JSON_OBJECT, check_json_object


def ctx(args: dict[str, Any]) -> CheckContext:
    return CheckContext("instruction", "req", "description", args)


async def verdict(name: str, text: str, args: dict[str, Any]) -> Verdict:
    return await run_validator(get_validator(name), text, ctx(args))


def test_importing_cadenza_registers_both() -> None:
    # No compiling needed: the built-ins can be named by hand (e.g. with --no-compile).
    code = (
        "import cadenza\n"
        "from cadenza.validators.base import registered_validators\n"
        "assert {'json:object', 'all_of'} <= set(registered_validators())"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- json:object ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"capital": "Paris", "country": "France"}',
        '```json\n{"capital": "Paris", "country": "France"}\n```',
        '  ```\n{"country": "France", "capital": null}```  ',
    ],
)
def test_json_object_with_the_keys_passes(text: str) -> None:
    v = check_json_object(text, ["capital", "country"])
    assert v.passed and "'capital'" in v.reason


@pytest.mark.parametrize(
    ("text", "score", "words"),
    [
        ('{"response": "The capital is Paris."}', 1 / 3, ["lacks", "'capital'", "'country'"]),
        ('{"capital": "Paris"}', 2 / 3, ["lacks", "'country'", "'capital'"]),
        ('{"Capital": "Paris", "Country": "France"}', 1 / 3, ["lacks"]),  # keys are exact
        ('{"data": {"capital": "Paris", "country": "France"}}', 1 / 3, ["lacks"]),  # top level
        ('["capital", "country"]', 0.0, ["an array", "not an object"]),
        ('"capital"', 0.0, ["a string"]),
        ("null", 0.0, ["null"]),
        ("3", 0.0, ["a number"]),
        ("The capital is Paris.", 0.0, ["not valid JSON"]),
        ('Here it is: {"capital": "Paris", "country": "France"}', 0.0, ["not valid JSON"]),
        ("[" * 100_000 + "]" * 100_000, 0.0, ["not valid JSON"]),
    ],
)
def test_json_object_failures_say_why(text: str, score: float, words: list[str]) -> None:
    v = check_json_object(text, ["capital", "country"])
    assert not v.passed
    assert v.score == pytest.approx(score)
    for w in words:
        assert w in v.reason, v.reason


def test_json_object_without_keys_wants_an_object() -> None:
    assert check_json_object("{}", []).passed
    assert not check_json_object("[]", []).passed


async def test_json_object_as_a_validator() -> None:
    assert (await verdict(JSON_OBJECT, '{"a": 1}', {"keys": ["a"]})).passed
    assert (await verdict(JSON_OBJECT, '{"a": 1}', {})).passed
    with pytest.raises(ValidatorError, match="'keys' must be a list"):
        await verdict(JSON_OBJECT, "{}", {"keys": "a"})
    with pytest.raises(ValidatorError, match="unknown argument"):
        await verdict(JSON_OBJECT, "{}", {"key": ["a"]})
    with pytest.raises(ValidatorError, match="non-empty strings"):
        await verdict(JSON_OBJECT, "{}", {"keys": [""]})


def test_json_object_argument_errors_are_task_errors() -> None:
    fn = get_validator(JSON_OBJECT).fn
    with pytest.raises(InvalidTaskError):
        fn("{}", ctx({"keys": [1]}))
    with pytest.raises(InvalidTaskError):
        fn("{}", ctx({"keys": ["k"] * 201}))


# -- all_of -----------------------------------------------------------------------------

LOWER_NO_COMMAS = {
    "checks": [
        {"validator": "change_case:english_lowercase", "args": {}},
        {"validator": "punctuation:no_comma", "args": {}},
    ]
}


async def test_all_of_passes_when_every_part_passes() -> None:
    v = await verdict(ALL_OF, "the sea is calm tonight and the moon is bright", LOWER_NO_COMMAS)
    assert v.passed and v.reason.startswith("all 2 parts met")


async def test_all_of_names_the_part_that_failed_and_takes_the_lowest_score() -> None:
    v = await verdict(ALL_OF, "the sea, the sky, the sand", LOWER_NO_COMMAS)
    assert v.score == pytest.approx(1 / 3)  # three commas; lowercase passed
    assert v.reason.startswith("part 2 of 2 (punctuation:no_comma) failed: 2 commas")
    assert "part 1" not in v.reason
    v = await verdict(ALL_OF, "The sea, the sky", LOWER_NO_COMMAS)
    assert "part 1 of 2 (change_case:english_lowercase) failed" in v.reason
    assert "part 2 of 2 (punctuation:no_comma) failed" in v.reason


async def test_all_of_passes_each_part_its_own_arguments() -> None:
    args = {
        "checks": [
            {
                "validator": "length_constraints:number_words",
                "args": {"relation": "at least", "num_words": 3},
            },
            {
                "validator": "length_constraints:number_words",
                "args": {"relation": "less than", "num_words": 5},
            },
        ]
    }
    assert (await verdict(ALL_OF, "one two three", args)).passed
    v = await verdict(ALL_OF, "one two three four five six", args)
    assert not v.passed and "part 2 of 2" in v.reason


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({}, "takes 'checks'"),
        ({"checks": []}, "takes 'checks'"),
        ({"checks": [{"validator": "punctuation:no_comma", "args": {}}], "x": 1}, "takes"),
        ({"checks": [{"validator": 3}]}, "takes 'checks'"),
        ({"checks": [{"validator": "punctuation:no_comma", "extra": 1}]}, "takes 'checks'"),
        ({"checks": [{"validator": "all_of", "args": LOWER_NO_COMMAS}]}, "cannot itself"),
        ({"checks": [{"validator": "punctuation:no_comma"}] * 11}, "1 to 10"),
    ],
)
async def test_all_of_refuses_bad_arguments(args: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidatorError, match=error):
        await verdict(ALL_OF, "text", args)


async def test_all_of_names_an_unknown_part() -> None:
    with pytest.raises(ValidatorError, match="no_such_check"):
        await verdict(ALL_OF, "text", {"checks": [{"validator": "no_such_check", "args": {}}]})
    with pytest.raises(UnknownValidatorError):
        get_validator(ALL_OF).fn("text", ctx({"checks": [{"validator": "no_such_check"}]}))


async def test_all_of_refuses_an_async_part() -> None:
    async def slow(text: str) -> bool:
        return True

    register_validator("test_async_part", slow)
    with pytest.raises(ValidatorError, match="asynchronous"):
        await verdict(ALL_OF, "text", {"checks": [{"validator": "test_async_part"}]})


def test_all_of_repairs_the_failing_parts_without_breaking_the_others() -> None:
    fix = get_validator(ALL_OF).repair
    assert fix is not None
    fixed = fix("The Sea, The Sky", ctx(LOWER_NO_COMMAS))
    assert fixed is not None and fixed == fixed.lower() and "," not in fixed
    assert fix("the sea the sky", ctx(LOWER_NO_COMMAS)) is None  # nothing to fix
    # A fix that would break a part that passed is not kept: appending the end phrase
    # brings back capitals.
    args = {
        "checks": [
            {"validator": "change_case:english_lowercase", "args": {}},
            {"validator": "startend:end_checker", "args": {"end_phrase": "Over And Out"}},
        ]
    }
    assert fix("the sea is calm", ctx(args)) is None


async def test_a_run_reports_the_failing_part(fast_options: RunOptions) -> None:
    fake = ScriptedModel(default="The sea, the sky.")
    result = await cadenza.arun(
        "Describe the sea.",
        [Requirement(description="style", validator=ALL_OF, validator_args=LOWER_NO_COMMAS)],
        models=[fake],
        budget={"max_calls": 2},
        options=dataclasses.replace(
            fast_options, search=dataclasses.replace(fast_options.search, repairs=False)
        ),
    )
    (req,) = result.requirements_result.requirements
    assert req.validator == "code:all_of"
    assert "part 1 of 2 (change_case:english_lowercase) failed" in req.reason
    assert "part 2 of 2 (punctuation:no_comma) failed" in req.reason


async def test_a_run_repairs_through_all_of(fast_options: RunOptions) -> None:
    fake = ScriptedModel(default="The Sea, The Sky.")
    result = await cadenza.arun(
        "Describe the sea.",
        [Requirement(description="style", validator=ALL_OF, validator_args=LOWER_NO_COMMAS)],
        models=[fake],
        budget={"max_calls": 2},
        options=fast_options,
    )
    assert result.requirements_result.finish_reason == "all_requirements_met"
    assert result.result == "the sea the sky."
    assert any(node.kind == "repair" for node in result.trace)
    json.dumps(result.model_dump(mode="json"))
