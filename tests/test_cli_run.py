"""`cadenza run` tells by its exit code how the run went; it reads the instruction from
stdin; `cadenza models --json`; short reprs; one system message (issue 9 items 13, 18)."""

from __future__ import annotations

import io
import json
import socket

import pytest

import cadenza
from cadenza.cli.run import ExitCode
from cadenza.testing import ScriptedModel
from in_process_cli import run_cli


def closed_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["-r", "Be polite"], ExitCode.MET),
        (["-r", "!Write at least 300 words"], ExitCode.BELOW_THRESHOLD),
        (["-r", "Write at least 300 words", "-r", "Be polite"], ExitCode.BELOW_THRESHOLD),
        (
            ["-r", "Write at least 300 words", "-r", "Be polite", "--threshold", "0.4"],
            ExitCode.MET,
        ),
        (
            ["-r", "!Write at least 300 words", "-r", "Be polite", "--threshold", "0.0"],
            ExitCode.BELOW_THRESHOLD,
        ),
        (["-r", "Be polite", "--max-tokens", "5"], ExitCode.NO_ANSWER),
    ],
)
def test_exit_codes_say_how_the_run_went(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: ExitCode,
) -> None:
    for as_json in (True, False):
        base = ["run", "Say hi", "--model", "fake:cli", "--max-calls", "4", *args]
        got, out, err = run_cli(monkeypatch, capsys, *base, *(["--json"] if as_json else []))
        assert got == code, (args, out, err)
        if as_json:  # the result object is printed whatever the code
            data = json.loads(out)
            assert (data["result"] == "") == (code == ExitCode.NO_ANSWER)
        elif code == ExitCode.NO_ANSWER:
            assert "(no answer)" in out and "Error:" in err


def test_a_failed_run_exits_3_with_its_result(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = f"http://127.0.0.1:{closed_port()}/v1#x"
    code, out, err = run_cli(monkeypatch, capsys, "run", "hi", "--model", model, "--json")
    assert code == ExitCode.NO_ANSWER == 3
    assert json.loads(out)["requirements_result"]["finish_reason"] == "error"
    assert "Traceback" not in err


def test_help_documents_exit_codes_and_single_quotes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "run", "--help")
    assert code == 0
    assert "Exit codes:" in out and "-r '!Mention the price'" in out
    assert "cadenza run -" in out
    for n in "0123":
        assert f"\n    {n}  " in out


def test_instruction_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Say hi from stdin\n"))
    code, out, err = run_cli(
        monkeypatch, capsys, "run", "-", "--model", "fake:cli", "--max-calls", "2", "--json"
    )
    assert code == 0, err
    generate = next(n for n in json.loads(out)["trace"] if n["kind"] == "generate")
    assert generate["messages"][-1]["content"].startswith("Say hi from stdin")

    monkeypatch.setattr("sys.stdin", io.StringIO("  \n"))
    code, _, err = run_cli(monkeypatch, capsys, "run", "-", "--model", "fake:cli")
    assert code == ExitCode.USAGE_ERROR and "standard input was empty" in err


def test_models_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "models", "--json")
    assert code == 0
    rows = json.loads(out)
    assert all(set(r) == {"name", "provider", "reachable", "detail"} for r in rows)
    assert "local:smollm2" in [r["name"] for r in rows]


def test_result_and_node_reprs_are_short() -> None:
    fake = ScriptedModel(default=" ".join(["word"] * 300))
    result = cadenza.run("Write " * 400, ["Be polite", "Be kind"], models=[fake])
    assert len(result.trace) > 3 and len(result.model_dump_json()) > 5000
    text = repr(result)
    assert len(text) < 400 and len(str(result)) < 400
    assert "finish_reason='all_requirements_met'" in text and f"nodes={len(result.trace)}" in text
    assert "score=1.0" in text and "usage=Usage(" in text
    node = repr(result.trace[1])
    assert len(node) < 300 and "messages" not in node and "kind='generate'" in node


async def test_system_prompt_and_system_messages_make_one_system_message() -> None:
    fake = ScriptedModel(default="arr")
    await cadenza.arun(
        [
            {"role": "system", "content": "You are a pirate."},
            {"role": "user", "content": "Say hi"},
        ],
        system_prompt="Be terse.",
        models=[fake],
        budget={"max_calls": 1},
    )
    messages = fake.requests[0].messages
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[0].content == "Be terse.\n\nYou are a pirate."
