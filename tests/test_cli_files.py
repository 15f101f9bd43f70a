"""`cadenza files add|ls|rm` and `cadenza run --file-search`: thin commands over the
library, the answer printed with its sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cadenza.models.base import ModelRequest
from cadenza.models.registry import register_provider
from cadenza.retrieval import HashingEmbedder
from cadenza.testing import ScriptedModel
from in_process_cli import run_cli


def _cite(request: ModelRequest) -> str:
    for line in request.messages[-1].content.splitlines():
        if "heron" in line.lower() and line.startswith("[P"):
            return f"fish and frogs [{line[1:3]}]"
    return "nothing found"


register_provider("clicite", lambda name, model: ScriptedModel(name=name, default=_cite))


@pytest.fixture(autouse=True)
def _small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr("cadenza.retrieval.library.default_embedder", lambda: HashingEmbedder())


def test_files_add_ls_rm_and_run_with_file_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'lib.db'}"
    good = tmp_path / "herons.md"
    good.write_text("# Herons\n\nThe grey heron eats fish and frogs.\n")
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7 not a pdf")
    code, out, err = run_cli(
        monkeypatch, capsys, "files", "add", str(good), str(bad), "--label", "birds", "--db", db
    )
    assert code == 1  # one file skipped, named; the other added
    assert "added " in out and "herons.md" in out and "broken.pdf" in err
    code, out, _ = run_cli(monkeypatch, capsys, "files", "ls", "--json", "--db", db)
    files = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [f["name"] for f in files] == ["herons.md"]
    assert files[0]["labels"] == ["birds"]

    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "run",
        "What does the grey heron eat?",
        "--model",
        "clicite:x",
        "--file-search",
        "--label",
        "birds",
        "--db",
        db,
        "--max-calls",
        "4",
    )
    assert code == 0, out
    assert "fish and frogs [P1]" in out
    assert "sources" in out and "herons.md" in out and "grey heron eats fish" in out

    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "run",
        "What does the grey heron eat?",
        "--model",
        "clicite:x",
        "--file-search",
        "--label",
        "reptiles",
        "--db",
        db,
        "--max-calls",
        "2",
        "--json",
    )
    ds = json.loads(out)["data_sources"]
    assert ds["unmatched_labels"] == ["reptiles"] and ds["file_search"] == []

    code, _, err = run_cli(monkeypatch, capsys, "files", "rm", files[0]["id"], "nope", "--db", db)
    assert code == 1 and "no file nope" in err
    code, out, _ = run_cli(monkeypatch, capsys, "files", "ls", "--db", db)
    assert "the library has no files" in out


def test_label_without_file_search_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "run", "q", "--label", "hr")
    assert code != 0 and "--file-search" in err


def test_serve_takes_the_upload_limit_and_the_operators_web_search(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from cadenza.cli.serve import serve_command

    started: list[object] = []
    monkeypatch.setattr("cadenza.server.run_server", lambda s, **kw: started.append(s))
    for var in ("CADENZA_SEARXNG_URL", "CADENZA_BRAVE_API_KEY", "CADENZA_TAVILY_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(serve_command, ["--db", db, "--max-upload", "4096"])
    assert result.exit_code == 0, result.output
    assert started[-1].max_upload_bytes == 4096 and started[-1].web is None  # type: ignore[attr-defined]
    result = CliRunner().invoke(serve_command, ["--db", db, "--web-search"])
    assert result.exit_code == 2 and "CADENZA_SEARXNG_URL" in result.output
    monkeypatch.setenv("CADENZA_SEARXNG_URL", "https://searx.example/")
    result = CliRunner().invoke(serve_command, ["--db", db, "--web-search"])
    assert result.exit_code == 0, result.output
    assert started[-1].web.chosen_provider() == "searxng"  # type: ignore[attr-defined]
