"""Typed results in the library: `output_type`, validation, repairs, constraints."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

import cadenza
from cadenza import RunOptions
from cadenza.errors import InvalidTaskError
from cadenza.models.base import ModelRequest
from cadenza.output import OutputSpec
from cadenza.output.constraint import engine_pattern, engine_schema
from cadenza.output.parse import parse_json, unwrap_fence
from cadenza.planner import SearchSettings
from cadenza.testing import ScriptedModel


class Person(BaseModel):
    name: str
    age: int


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


def ConstrainedModel(*responses: str, **kw: Any) -> ScriptedModel:
    """A scripted model that says it enforces JSON Schemas while decoding."""
    return ScriptedModel(list(responses), name="fake:constrained", formats={"json_schema"}, **kw)


PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
}


def no_repairs(fast: RunOptions) -> RunOptions:
    return RunOptions(
        calls=fast.calls,
        search=SearchSettings(max_output_tokens=64, repairs=False),
        compile_requirements=False,
    )


def output_req(result: cadenza.Result) -> cadenza.RequirementResult:
    return next(r for r in result.requirements_result.requirements if r.name == "output_schema")


# -- the library --------------------------------------------------------------------------
def test_pydantic_output_is_validated_and_returned_as_an_object(fast_options: RunOptions) -> None:
    fake = ScriptedModel(['{"name": "Ann", "age": 31}'])
    result = cadenza.run("Who?", output_type=Person, models=[fake], options=fast_options)
    assert result.output == Person(name="Ann", age=31)
    assert result.result == '{"name": "Ann", "age": 31}'
    assert result.requirements_result.finish_reason == "all_requirements_met"
    req = output_req(result)
    assert req.is_mandatory and req.score == 1.0 and req.validator == "code:output_schema"
    # unconstrained: the prompt shows the schema
    assert '"age"' in fake.generation_requests[0].messages[-1].content
    assert all(r.response_format is None for r in fake.requests)
    assert json.loads(result.to_json())["output"] == {"name": "Ann", "age": 31}


def test_a_fenced_answer_is_unwrapped_by_a_traced_repair(fast_options: RunOptions) -> None:
    fake = ScriptedModel(['Here it is:\n```json\n{"name": "Ann", "age": 31}\n```\nEnjoy!'])
    result = cadenza.run("Who?", output_type=Person, models=[fake], options=fast_options)
    assert result.output == Person(name="Ann", age=31)
    assert result.result == '{"name": "Ann", "age": 31}'
    repair = next(n for n in result.trace if n.kind == "repair")
    assert repair.candidate_id == result.best_candidate_id
    assert repair.detail["repairs"] == ["output_schema"]
    check = next(
        n for n in result.trace if n.kind == "check" and n.candidate_id == repair.candidate_id
    )
    assert "unwrapped a Markdown code fence" in (check.response or "")


def test_without_repairs_the_fence_goes_back_to_the_model_as_feedback(
    fast_options: RunOptions,
) -> None:
    fake = ScriptedModel(['```json\n{"name": "Ann", "age": 31}\n```', '{"name": "Ann", "age": 31}'])
    result = cadenza.run(
        "Who?", output_type=Person, models=[fake], options=no_repairs(fast_options)
    )
    assert result.output == Person(name="Ann", age=31)
    assert not any(n.kind == "repair" for n in result.trace)
    first = next(n for n in result.trace if n.kind == "check")
    assert "Markdown code fence" in (first.response or "")


def test_validation_errors_name_the_path_and_reach_the_revision(fast_options: RunOptions) -> None:
    fake = ScriptedModel(
        ['{"name": "Ann", "age": -4}'],
        default=lambda r: (
            '{"name": "Ann", "age": 4}'
            if "Rewrite your answer" in r.messages[-1].content
            else '{"name": "Ann", "age": -4}'
        ),
    )
    result = cadenza.run(
        "Who?",
        output_type=PERSON_SCHEMA,
        models=[fake],
        options=no_repairs(fast_options),
        budget={"max_calls": 12},
    )
    assert result.output == {"name": "Ann", "age": 4}
    revisions = [r for r in fake.generation_requests if "Rewrite" in r.messages[-1].content]
    assert revisions, "the failing answer was never revised"
    assert "$.age: -4 is less than the minimum of 0" in revisions[0].messages[-1].content


def test_no_valid_instance_gives_no_output_and_says_why(fast_options: RunOptions) -> None:
    fake = ScriptedModel(default='{"name": "Ann", "age": "thirty"}')
    result = cadenza.run(
        "Who?", output_type=Person, models=[fake], options=fast_options, budget={"max_calls": 4}
    )
    assert result.output is None
    assert result.result == '{"name": "Ann", "age": "thirty"}'  # the best answer is kept
    assert result.requirements_result.score == 0.0
    assert result.requirements_result.finish_reason != "all_requirements_met"
    assert "$.age: Input should be a valid integer" in output_req(result).reason


def test_values_are_never_coerced(fast_options: RunOptions) -> None:
    fake = ScriptedModel(default='["1", 2]')
    result = cadenza.run(
        "Numbers", output_type=list[int], models=[fake], options=fast_options, budget="low"
    )
    assert result.output is None
    assert "$[0]" in output_req(result).reason


def test_a_truncated_object_is_a_failed_candidate_not_a_crash(fast_options: RunOptions) -> None:
    fake = ScriptedModel(['{"name": "Ann", "ag', '{"name": "Ann", "age": 2}'])
    result = cadenza.run("Who?", output_type=Person, models=[fake], options=fast_options)
    assert result.output == Person(name="Ann", age=2)
    first = next(n for n in result.trace if n.kind == "check")
    assert "cut off" in (first.response or "")


def test_forbidden_properties_are_dropped_and_nothing_else(fast_options: RunOptions) -> None:
    schema = {**PERSON_SCHEMA, "additionalProperties": False}
    fake = ScriptedModel(['{"name": "Ann", "age": 3, "note": "hi", "pet": {"x": 1}}'])
    result = cadenza.run("Who?", output_type=schema, models=[fake], options=fast_options)
    assert result.output == {"name": "Ann", "age": 3}
    check = next(
        n for n in result.trace if n.kind == "check" and n.candidate_id == result.best_candidate_id
    )
    assert "dropped properties the schema forbids: $.note, $.pet" in (check.response or "")


def test_pydantic_forbidden_extras_are_dropped(fast_options: RunOptions) -> None:
    fake = ScriptedModel(['{"name": "Ann", "extra": 1}'])
    result = cadenza.run("Who?", output_type=Strict, models=[fake], options=fast_options)
    assert result.output == Strict(name="Ann")


def test_constrained_models_get_the_schema_and_tighter_ones_after_a_cut_off(
    fast_options: RunOptions,
) -> None:
    fake = ConstrainedModel('{"name": "Annnnnnnnnnnnnn', '{"name": "Ann", "age": 1}')
    options = RunOptions(
        calls=fast_options.calls,
        search=SearchSettings(max_output_tokens=64, width=1),
        compile_requirements=False,
    )
    result = cadenza.run("Who?", output_type=Person, models=[fake], options=options)
    assert result.output == Person(name="Ann", age=1)
    first, second = fake.generation_requests[:2]
    assert first.response_format is not None and second.response_format is not None
    assert first.response_format.kind == "json_schema"
    assert first.response_format.schema == Person.model_json_schema()  # as given at first
    tighter = second.response_format.schema
    assert tighter is not None and tighter["properties"]["name"]["maxLength"] == 48
    assert tighter["additionalProperties"] is False
    # the prompt does not spell out a schema the engine enforces
    assert '"properties"' not in first.messages[-1].content
    generations = [n for n in result.trace if n.kind == "generate"]
    assert generations[0].detail["constrained"] == "json_schema"


def test_a_model_that_cannot_constrain_gets_the_schema_in_the_prompt(
    fast_options: RunOptions,
) -> None:
    constrained = ConstrainedModel(default='{"name": "A", "age": 1}')
    plain = ScriptedModel(name="fake:plain", default='{"name": "B", "age": 2}')
    result = cadenza.run(
        "Who?", output_type=Person, models=[constrained, plain], options=fast_options
    )
    assert result.output is not None
    for request in [*constrained.generation_requests, *plain.generation_requests]:
        assert '"properties"' in request.messages[-1].content
    assert all(r.response_format is None for r in plain.requests)
    assert all(r.response_format is not None for r in constrained.generation_requests)


@pytest.mark.parametrize(
    ("output_type", "message"),
    [
        ({"type": "nonsense"}, "is not valid under any of the given schemas"),
        ({"type": "string", "pattern": "(?=a)b"}, "cannot check in linear time"),
        (42, "must be a JSON Schema (a dict) or a type"),
        ({"minLength": -1}, "at $.minLength"),
    ],
)
def test_bad_output_types_are_refused_before_anything_runs(
    output_type: Any, message: str, fast_options: RunOptions
) -> None:
    fake = ScriptedModel()
    with pytest.raises(InvalidTaskError, match="output_type") as info:
        cadenza.run("x", output_type=output_type, models=[fake], options=fast_options)
    assert message in str(info.value)
    assert fake.requests == []


def test_the_output_requirement_name_is_reserved(fast_options: RunOptions) -> None:
    with pytest.raises(InvalidTaskError, match="reserved"):
        cadenza.run(
            "x",
            [{"name": "output_schema", "description": "mine"}],
            output_type=Person,
            models=[ScriptedModel()],
            options=fast_options,
        )


async def test_arun_takes_output_type_too(fast_options: RunOptions) -> None:
    fake = ScriptedModel(["[1, 2, 3]"])
    result = await cadenza.arun("Count", output_type=list[int], models=[fake], options=fast_options)
    assert result.output == [1, 2, 3]


# -- the checks themselves ------------------------------------------------------------------
def test_the_draft_the_schema_declares_is_used() -> None:
    draft4 = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "number",
        "maximum": 5,
        "exclusiveMaximum": True,
    }
    spec = OutputSpec.of(draft4)
    assert spec.check("4").ok and not spec.check("5").ok
    # the same keyword is a number in Draft 2020-12 (the default)
    assert not OutputSpec.of({"exclusiveMaximum": 5}).check("5").ok


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("date-time", "2024-01-02T03:04:05Z", "yesterday"),
        ("date", "2024-01-02", "2024-13-40"),
        ("email", "a@b.c", "nobody"),
        ("ipv4", "10.0.0.1", "10.0.0.999"),
        ("uuid", "12345678-1234-5678-1234-567812345678", "not-a-uuid"),
        ("uri", "https://example.org/x", "not a uri"),
    ],
)
def test_formats_are_checked(fmt: str, good: str, bad: str) -> None:
    spec = OutputSpec.of({"type": "string", "format": fmt})
    assert spec.check(json.dumps(good)).ok
    checked = spec.check(json.dumps(bad))
    assert not checked.ok and f"is not a '{fmt}'" in checked.reason


def test_patterns_run_in_linear_time() -> None:
    spec = OutputSpec.of(
        {
            "type": "object",
            "patternProperties": {"^(a+)+$": {"type": "string", "pattern": "^(a|aa)+$"}},
            "additionalProperties": False,
        }
    )
    evil = "a" * 5000 + "b"
    started = time.monotonic()
    checked = spec.check(json.dumps({evil: evil, "a": "aa"}))
    assert time.monotonic() - started < 2.0  # Python's re would take longer than the universe
    assert not checked.ok and "were unexpected" not in checked.reason
    assert "Additional properties are not allowed" in checked.reason


def test_remote_references_are_never_fetched() -> None:
    spec = OutputSpec.of({"$ref": "https://example.invalid/schema.json"})
    checked = spec.check("{}")
    assert not checked.ok and "cannot be resolved" in checked.reason


def test_reasons_are_bounded_and_most_relevant_first() -> None:
    spec = OutputSpec.of({"type": "array", "items": {"type": "integer"}})
    checked = spec.check(json.dumps(["x" * 500] * 40))
    assert len(checked.reason) <= 600
    assert checked.reason.startswith("40 schema errors: $[")
    assert "and 35 more" in checked.reason
    assert checked.score == pytest.approx(0.5 / 40)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("Sure!", "not JSON"),
        ('{"a": 1} and more', "text after the JSON"),
        ('{"a": [1, 2', "cut off"),
        ('{"a": "abc', "cut off inside a string"),
        ("[NaN]", "invalid JSON"),
        ("1e999", "too large"),
        ("```json\n{}\n```", "Markdown code fence"),
    ],
)
def test_parse_problems_say_what_to_do(text: str, problem: str) -> None:
    reading = parse_json(text)
    assert not reading.ok and problem in reading.problem


def test_unwrap_fence_only_removes() -> None:
    assert unwrap_fence('x ```json\n{"a": 1}\n``` y') == '{"a": 1}'
    assert unwrap_fence("```py\nprint(1)\n```\n```\n[1]\n```") == "[1]"
    assert unwrap_fence("```json\n{") == "{"  # truncated: unwrapped, still invalid
    assert unwrap_fence("plain") is None


# -- the schema sent to the engine ------------------------------------------------------------
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 5},
        "when": {"type": "string", "format": "date-time"},
        "code": {"type": "string", "pattern": "^[A-Z]+$"},
        "kind": {"enum": ["a", "b"]},
        "odd": False,
        "any": True,
        "nested": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
    },
    "required": ["name", "tags", "ghost"],
}


def test_level_zero_sends_the_schema_as_given_but_readable() -> None:
    sent = engine_schema(SCHEMA, 0)
    assert "odd" not in sent["properties"] and sent["properties"]["any"] == {}
    assert sent["properties"]["name"] == {"type": "string"}
    assert "additionalProperties" not in sent


def test_level_one_bounds_strings_arrays_and_extra_properties() -> None:
    sent = engine_schema(SCHEMA, 1)
    props = sent["properties"]
    assert props["name"]["maxLength"] == 48
    assert props["tags"]["maxItems"] == 5  # never below minItems
    assert props["tags"]["items"]["maxLength"] == 48
    assert "maxLength" not in props["when"] and "maxLength" not in props["code"]
    # a required property the schema does not describe, and one that accepts anything:
    # short scalars of the model's choice
    assert props["ghost"] == {"type": ["string", "number", "boolean", "null"], "maxLength": 48}
    assert props["any"] == props["ghost"]
    assert sent["additionalProperties"] is False
    assert props["nested"]["additionalProperties"] is False
    assert SCHEMA["properties"]["name"] == {"type": "string"}  # the original is untouched


def test_level_two_keeps_only_required_properties() -> None:
    sent = engine_schema(SCHEMA, 2)
    assert set(sent["properties"]) == {"name", "tags", "ghost"}
    assert sent["properties"]["name"]["maxLength"] == 16


def test_tightening_never_leaves_a_single_value() -> None:
    optional_only = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert set(engine_schema(optional_only, 2)["properties"]) == {"a"}
    any_array = engine_schema({"type": "array"}, 2)
    assert any_array["maxItems"] == 1  # [] or one item
    assert any_array["items"] == {"type": ["string", "number", "boolean", "null"], "maxLength": 16}


def test_formats_get_a_pattern_of_their_valid_forms() -> None:
    for fmt, good in [
        ("uri", "https://abc.org/x"),
        ("email", "a.b@cd.com"),
        ("ipv4", "10.2.3.4"),
        ("time", "23:59:01"),
    ]:
        sent = engine_schema({"type": "string", "format": fmt}, 1)
        assert re.fullmatch(sent["pattern"].strip("^$"), good)
        assert OutputSpec.of({"type": "string", "format": fmt}).check(json.dumps(good)).ok


@pytest.mark.parametrize(
    ("pattern", "level0", "bounded"),
    [
        (r"^[\w.-]+$", r"^[A-Za-z0-9_.-]+$", r"^[A-Za-z0-9_.-]{1,12}$"),
        (r"^[A-F\d]{24}$", r"^[A-F0-9]{24}$", r"^[A-F0-9]{24}$"),
        (r"^https?:\/\/\S*$", r"^https?://\S*$", r"^https?://[!-~]{0,12}$"),
        (r"^a{2,}\.b*?$", r"^a{2,}\.b*?$", r"^a{2,14}\.b{0,12}?$"),
        (r"[\-\]\\]", r"^.*([\-\]\\]).*$", r"^([\-\]\\])$"),
        (r"/v1/\d+", r"^.*(/v1/[0-9]+).*$", r"^(/v1/[0-9]{1,12})$"),
        (r"^\w\s\W$", r"^[A-Za-z0-9_]\s[^A-Za-z0-9_]$", r"^[A-Za-z0-9_] [^A-Za-z0-9_]$"),
        (r"^x\$", r"^(x\$).*$", r"^(x\$)$"),
        (r"[abc", r"[abc", r"[abc"),
    ],
)
def test_engine_patterns_match_the_same_or_fewer_strings(
    pattern: str, level0: str, bounded: str
) -> None:
    assert engine_pattern(pattern, None) == level0
    assert engine_pattern(pattern, 12) == bounded
    for text in ("x$", "/v1/42", "zz/v1/7zz", "-", "]", "aa.b", "a -", "https://x.y"):
        for engine in (level0, bounded):  # what the engine allows, the schema accepts
            if engine != pattern and re.fullmatch(engine, text):
                assert re.search(pattern, text), (engine, text)


def test_schemas_a_ref_points_at_are_written_wherever_they_are() -> None:
    schema = {
        "definatons": {"d": {"type": "string", "pattern": "\\d"}},  # not a keyword
        "properties": {"a": {"$ref": "#/definatons/d"}},
    }
    sent = engine_schema(schema, 1)
    assert sent["definatons"]["d"] == {"type": "string", "pattern": "^([0-9])$"}
    assert engine_schema(schema, 0)["definatons"]["d"]["pattern"] == "^.*([0-9]).*$"


def test_nothing_is_tightened_under_not_or_if() -> None:
    schema = {"not": {"type": "string"}, "if": {"type": "array"}, "then": {"type": "array"}}
    sent = engine_schema(schema, 2)
    assert sent["not"] == {"type": "string"} and sent["if"] == {"type": "array"}
    assert sent["then"]["maxItems"] == 1


def test_tightened_instances_stay_valid_for_the_original() -> None:
    spec = OutputSpec.of(SCHEMA)
    tight = OutputSpec.of(engine_schema(SCHEMA, 2))
    instance = {"name": "n", "tags": ["a", "b", "c", "d", "e"], "ghost": 1}
    text = json.dumps(instance)
    assert tight.check(text).ok and spec.check(text).ok


def test_requests_carry_one_constraint_per_call(fast_options: RunOptions) -> None:
    seen: list[ModelRequest] = []

    def answer(request: ModelRequest) -> str:
        seen.append(request)
        return '{"name": "A", "age": 1}'

    fake = ConstrainedModel(default=answer)
    cadenza.run("Who?", output_type=Person, models=[fake], options=fast_options)
    assert seen and all(r.response_format is not None for r in seen)
