"""`cadenza run --schema FILE.json`: the schema file, and the typed answer on stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from ..errors import InvalidTaskError
from ..output import OutputSpec
from ..output.requirement import OUTPUT_REQUIREMENT
from ..result import Result
from .output import print_result

__all__ = ["load_schema", "print_typed_result", "valid"]

MAX_SCHEMA_BYTES = 10_000_000


def load_schema(path: Path) -> OutputSpec:
    """The output type a schema file holds; a usage error naming the file and the problem."""
    try:
        if path.stat().st_size > MAX_SCHEMA_BYTES:
            raise InvalidTaskError(f"--schema {path}: the file is larger than 10 MB")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidTaskError(f"--schema {path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise InvalidTaskError(f"--schema {path}: not UTF-8 text") from None
    try:
        schema: Any = json.loads(text)
    except ValueError as exc:
        raise InvalidTaskError(f"--schema {path}: not JSON ({exc})") from None
    if not isinstance(schema, dict | bool):
        raise InvalidTaskError(
            f"--schema {path}: must be a JSON Schema object, not a JSON {type(schema).__name__}"
        )
    return OutputSpec.of(schema, where=f"--schema {path}")


def print_typed_result(result: Result) -> None:
    """The validated JSON alone on stdout (so it pipes), the rest of the result on stderr."""
    if valid(result):
        click.echo(json.dumps(json.loads(result.result), indent=2, ensure_ascii=False))
    print_result(result, console=Console(stderr=True))


def valid(result: Result) -> bool:
    """Whether the run's answer matched its output type."""
    return any(
        r.name == OUTPUT_REQUIREMENT and r.score >= 1.0
        for r in result.requirements_result.requirements
    )
