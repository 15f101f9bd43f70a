"""The CLI, in-process: output shapes, exit codes, clear messages without tracebacks."""

from __future__ import annotations

import json

import pytest

import cadenza
from cadenza.cli.output import print_result
from cadenza.testing import ScriptedModel
from in_process_cli import run_cli


def test_run_json_prints_only_the_result_object(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "run",
        "Say hi",
        "-r",
        "Be polite",
        "-r",
        "!Be short",
        "--model",
        "fake:cli",
        "--max-calls",
        "6",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= {"result", "requirements_result", "usage", "trace"}
    reqs = data["requirements_result"]["requirements"]
    assert [r["description"] for r in reqs] == ["Be polite", "Be short"]
    assert reqs[1]["is_mandatory"] is True
    assert all(0 <= r["score"] <= 1 and r["reason"] for r in reqs)
    assert data["usage"]["calls"] <= 6
    assert len(data["trace"]) > 1


def test_run_human_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "run",
        "Say hi",
        "-r",
        "Be polite",
        "--model",
        "fake:cli",
        "--max-calls",
        "4",
    )
    assert code == 0
    assert "Be polite" in out and "usage:" in out and "score" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "   ", "--model", "fake:x"], "input is empty"),
        (["run", "hi", "--model", "fake:x", "--threshold", "1.5"], "threshold"),
        (["run", "hi", "--model", "fake:x", "--max-tokens", "-3"], "max_tokens"),
        (["run", "hi", "--model", "nosuch:thing"], "nosuch"),
        (["run", "hi", "--budget", "huge"], "huge"),
        (["run"], "INSTRUCTION"),
    ],
)
def test_usage_errors_exit_2_without_traceback(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    needle: str,
) -> None:
    code, out, err = run_cli(monkeypatch, capsys, *args)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err + out


def test_models_lists_something(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "models")
    assert code == 0
    assert "local:smollm2" in out


def test_unreachable_endpoint_fails_the_run_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "run",
        "hi",
        "--model",
        "http://127.0.0.1:9/v1#x",
        "--max-calls",
        "8",
        "--json",
    )
    assert code == 3  # no usable answer: the run failed
    data = json.loads(out)
    assert data["requirements_result"]["finish_reason"] == "error"
    message = data["requirements_result"]["finish_message"]
    assert "127.0.0.1:9" in message
    assert data["result"] == ""
    assert [n for n in data["trace"] if n["kind"] == "generate" and n["status"] == "failed"]
    assert "Traceback" not in err


def test_human_output_says_when_the_answer_was_repaired(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = cadenza.run(
        "Say hi",
        ["Your whole reply must be lowercase"],
        models=[ScriptedModel(default="Hello There")],
        budget={"max_calls": 4},
    )
    print_result(result)
    out = capsys.readouterr().out
    assert "hello there" in out
    assert "repaired:" in out and "change_case:english_lowercase" in out
