"""Validators cannot freeze a run: user text is matched literally or by RE2 (linear time),
sync validators run off the event loop, and every call has a time limit."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import cadenza
from cadenza import Requirement, RunOptions
from cadenza.errors import InvalidTaskError, ValidatorError, ValidatorTimeoutError
from cadenza.planner import SearchSettings
from cadenza.testing import ScriptedModel
from cadenza.validators import (
    CheckContext,
    Validator,
    get_validator,
    run_validator,
    validator_time_limit,
)
from cadenza.validators.ifeval import check_instruction

REDOS = "(.*.*)*!"


def ctx(args: dict[str, object] | None = None) -> CheckContext:
    return CheckContext("write", "r", "r", args or {})


# -- user text is literal -----------------------------------------------------------------


def test_keywords_are_matched_literally() -> None:
    text = "It costs $5 (approx.) in C++ land, see Part.1 and P.S: bye"
    assert check_instruction("keywords:existence", text, {"keywords": ["$5", "(approx.)"]}).passed
    assert not check_instruction("keywords:existence", "it costs 5", {"keywords": ["$5"]}).passed
    frequency = {"keyword": "c++", "relation": "at least", "frequency": 1}
    assert check_instruction("keywords:frequency", text, frequency).passed
    assert not check_instruction(
        "keywords:forbidden_words", "made in the U.S. today", {"forbidden_words": ["U.S"]}
    ).passed
    # As a pattern, "a.c" would be found in "abc"; as text it is not there.
    assert check_instruction("keywords:forbidden_words", "abc", {"forbidden_words": ["a.c"]}).passed
    sections = {"section_spliter": "Part.", "num_sections": 1}
    assert check_instruction("detectable_format:multiple_sections", text, sections).passed
    assert not check_instruction(
        "detectable_format:multiple_sections", "Partx1 text", sections
    ).passed
    assert check_instruction(
        "detectable_content:postscript", text, {"postscript_marker": "P.S:"}
    ).passed


@pytest.mark.parametrize(
    ("iid", "kwargs"),
    [
        ("keywords:existence", {"keywords": [REDOS]}),
        ("keywords:frequency", {"keyword": REDOS, "relation": "at least", "frequency": 1}),
        ("keywords:forbidden_words", {"forbidden_words": [REDOS]}),
        ("detectable_format:multiple_sections", {"section_spliter": REDOS, "num_sections": 2}),
        ("detectable_content:postscript", {"postscript_marker": REDOS}),
        ("startend:end_checker", {"end_phrase": REDOS}),
    ],
)
def test_catastrophic_patterns_in_arguments_take_no_time(
    iid: str, kwargs: dict[str, object]
) -> None:
    text = "scripted answer " * 200 + "\n" + " " * 20_000 + "x"
    started = time.monotonic()
    verdict = check_instruction(iid, text, kwargs, loose=True)
    assert time.monotonic() - started < 2.0
    assert not verdict.passed or iid == "keywords:forbidden_words"


# -- the regex validator: patterns on RE2 --------------------------------------------------


async def test_regex_validator_runs_user_patterns_in_linear_time() -> None:
    regex = get_validator("regex")
    started = time.monotonic()
    verdict = await run_validator(regex, "a" * 100_000, ctx({"pattern": "(a*a*)*b"}))
    assert time.monotonic() - started < 1.0 and verdict.score == 0.0
    hit = await run_validator(regex, "Call 555-1234 now", ctx({"pattern": r"\d{3}-\d{4}"}))
    assert hit.passed and "555-1234" in hit.reason
    assert (
        await run_validator(regex, "HELLO", ctx({"pattern": "hello", "ignore_case": True}))
    ).passed
    assert not (
        await run_validator(regex, "hello!", ctx({"pattern": "hello", "full": True}))
    ).passed
    forbid = await run_validator(regex, "no digits", ctx({"pattern": r"\d", "forbid": True}))
    assert forbid.passed
    with pytest.raises(ValidatorError, match="RE2 syntax"):
        await run_validator(regex, "aa", ctx({"pattern": r"(a)\1"}))
    with pytest.raises(ValidatorError, match="at most 1000"):
        await run_validator(regex, "aa", ctx({"pattern": "a" * 1001}))
    with pytest.raises(ValidatorError, match="unknown argument"):
        await run_validator(regex, "aa", ctx({"pattern": "a", "flags": "i"}))


# -- off the event loop, with a time limit -------------------------------------------------


async def test_sync_validators_run_off_the_event_loop() -> None:
    threads: list[str] = []

    def slow(text: str) -> bool:
        threads.append(threading.current_thread().name)
        time.sleep(0.4)  # blocking work: must not stop the loop
        return True

    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    try:
        verdict = await run_validator(Validator("slow", slow), "x", ctx())
    finally:
        beat.cancel()
    assert verdict.passed
    assert threads and threads[0] != threading.current_thread().name
    assert ticks >= 10, f"the event loop stalled: {ticks} heartbeats in 0.4 s"


async def test_a_validator_past_its_time_limit_raises_a_timeout() -> None:
    def stuck(text: str) -> bool:
        time.sleep(1.5)
        return True

    async def stuck_async(text: str) -> bool:
        await asyncio.sleep(30)
        return True

    for fn in (stuck, stuck_async):
        started = time.monotonic()
        with pytest.raises(ValidatorTimeoutError, match=r"time limit of 0\.2 s"):
            await run_validator(Validator("stuck", fn), "x", ctx(), time_limit=0.2)
        assert time.monotonic() - started < 1.0
    with validator_time_limit(0.1), pytest.raises(ValidatorTimeoutError):
        await run_validator(Validator("stuck", stuck_async), "x", ctx())


async def test_a_validator_raising_timeout_error_is_not_a_time_limit() -> None:
    def raises(text: str) -> bool:
        raise TimeoutError("upstream service timed out")

    with pytest.raises(ValidatorError, match="raised TimeoutError") as info:
        await run_validator(Validator("raises", raises), "x", ctx(), time_limit=5)
    assert not isinstance(info.value, ValidatorTimeoutError)


async def test_a_run_fails_a_requirement_whose_validator_times_out() -> None:
    def stuck(text: str) -> bool:
        time.sleep(1.0)
        return True

    options = RunOptions(
        compile_requirements=False,
        validator_timeout_s=0.2,
        search=SearchSettings(max_output_tokens=16, patience=1),
    )
    started = time.monotonic()
    result = await cadenza.arun(
        "write",
        [Requirement(description="slow check", validator=stuck)],
        models=[ScriptedModel(default="an answer")],
        options=options,
        budget={"max_calls": 2},
    )
    (req,) = result.requirements_result.requirements
    assert req.score == 0.0 and "time limit of 0.2 s" in req.reason
    checks = [n for n in result.trace if n.kind == "check"]
    assert checks and all(n.status == "failed" and "time limit" in (n.error or "") for n in checks)
    assert time.monotonic() - started < 1.0 * len(checks) + 0.5  # never waited the full second


def test_validator_timeout_must_be_positive() -> None:
    with pytest.raises(InvalidTaskError, match="validator_timeout_s"):
        RunOptions(validator_timeout_s=0)
    assert RunOptions(validator_timeout_s=None).validator_timeout_s is None


# -- built-ins are there without compiling (item 16) ----------------------------------------

FRESH = textwrap.dedent(
    """
    import cadenza
    from cadenza import RunOptions
    from cadenza.testing import ScriptedModel
    from cadenza.validators import register_validator, get_validator

    # A user's validator registered under a built-in's name keeps that name.
    register_validator("lowercase", lambda text: True, description="mine")
    result = cadenza.run(
        "write",
        [{"description": "no commas", "validator": "punctuation:no_comma"},
         {"description": "lower", "validator": "lowercase"}],
        models=[ScriptedModel(default="Hello world")],
        options=RunOptions(compile_requirements=False),
        budget={"max_calls": 2},
    )
    print(result.requirements_result.finish_reason)
    print(get_validator("lowercase").description)
    print(get_validator("regex").name)
    """
)


def test_builtin_checks_are_found_in_a_fresh_interpreter_without_compiling() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FRESH], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["all_requirements_met", "mine", "regex"]
