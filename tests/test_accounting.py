"""Honest accounting: usage is the sum of the trace, and a call that never reached the
provider costs nothing (issue 9 item 15)."""

from __future__ import annotations

import socket

import pytest

import cadenza
from cadenza import Requirement, Result, RunOptions
from cadenza.engine import CallSettings
from cadenza.errors import TransientProviderError
from cadenza.planner import SearchSettings
from cadenza.testing import ScriptedModel


def closed_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connecting is refused
    return port


def assert_usage_is_the_trace(result: Result) -> None:
    nodes = [n for n in result.trace if n.kind != "run"]
    u = result.usage
    assert u.input_tokens == sum(n.input_tokens for n in nodes)
    assert u.output_tokens == sum(n.output_tokens for n in nodes)
    assert u.calls == sum(n.attempts for n in nodes)
    assert u.cost_usd == pytest.approx(sum(n.cost_usd or 0.0 for n in nodes), abs=1e-15)


OPTIONS = RunOptions(
    calls=CallSettings(retries=1, backoff_s=0.001, timeout_s=0.1),
    search=SearchSettings(max_output_tokens=16, width=1, patience=3),
    compile_requirements=False,
)


async def test_an_unreachable_endpoint_costs_nothing() -> None:
    name = f"http://127.0.0.1:{closed_port()}/v1#some-model"
    cadenza.register_price(name, 150.0, 600.0)  # priced, so a wrong charge would show
    options = RunOptions(  # a long timeout: the first call also loads the SDK
        calls=CallSettings(retries=1, backoff_s=0.001, timeout_s=30),
        search=OPTIONS.search,
        compile_requirements=False,
    )
    result = await cadenza.arun("Say hi", ["Be brief"], models=[name], options=options)
    assert result.requirements_result.finish_reason == "error"
    assert "could not reach" in result.requirements_result.finish_message
    u = result.usage
    assert u.calls > 0 and u.input_tokens == 0 and u.output_tokens == 0 and u.cost_usd == 0.0
    assert_usage_is_the_trace(result)


async def test_a_timeout_after_sending_is_billed_on_the_node_too() -> None:
    name = "fake:hangs-priced"
    cadenza.register_price(name, 1000.0, 1000.0)
    fake = ScriptedModel(name=name, delay=2.0, default="late")
    result = await cadenza.arun(
        "one two three", models=[fake], options=OPTIONS, budget={"max_calls": 2}
    )
    (node,) = [n for n in result.trace if n.kind == "generate"]
    assert node.status == "failed" and node.attempts == 2 and "timed out" in (node.error or "")
    assert node.input_tokens == 2 * 3  # the prompt's three words, per attempt
    assert node.cost_usd == pytest.approx(6 * 1000.0 / 1e6)
    assert result.usage.input_tokens == 6
    assert_usage_is_the_trace(result)


@pytest.mark.parametrize(("status", "billed"), [(429, False), (500, True), (None, True)])
async def test_a_rejected_request_is_free_a_server_error_is_not(
    status: int | None, billed: bool
) -> None:
    fake = ScriptedModel(
        responses=[TransientProviderError(f"HTTP {status}", status_code=status), "fine"]
    )
    result = await cadenza.arun(
        "one two three",
        [Requirement(description="any", validator=lambda text: True)],
        models=[fake],
        options=OPTIONS,
    )
    (node,) = [n for n in result.trace if n.kind == "generate"]
    assert node.status == "ok" and node.attempts == 2
    prompt = sum(len(m["content"].split()) for m in node.messages)
    assert node.output_tokens == 1  # "fine"
    assert node.input_tokens == prompt * (2 if billed else 1)
    assert_usage_is_the_trace(result)


async def test_a_provider_overcounting_its_bound_is_shown_as_reported() -> None:
    class Overcounting(ScriptedModel):
        async def count_input_tokens(self, messages: object) -> int:
            return 1  # a bound that is too low: the provider will report more

    fake = Overcounting(default=" ".join(["word"] * 30))
    result = await cadenza.arun(
        "one two three", models=[fake], options=OPTIONS, budget={"max_tokens": 17}
    )
    (node,) = [n for n in result.trace if n.kind == "generate"]
    # 1 + 16 tokens were reserved; the provider said 3 in and 16 out: 17 are counted.
    assert node.detail["reported_tokens"] == {"input": 3, "output": 16}
    assert (node.input_tokens, node.output_tokens) == (3, 14)
    assert_usage_is_the_trace(result)
