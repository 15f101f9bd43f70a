"""How the engine and the IFEval checks are put together (issue 9 item 21): the call path in
named steps, the checks split by what they hold, no HTTP in the service layer."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import cadenza
from cadenza.engine.calls import CallRunner

SRC = Path(cadenza.__file__).parent


def test_a_model_call_is_reserve_attempt_settle() -> None:
    for step in ("_reserve", "_attempt", "_send", "_settle", "_settle_failed"):
        assert callable(getattr(CallRunner, step, None)), step
    lines, _ = inspect.getsourcelines(CallRunner.call)
    assert len(lines) <= 60, f"CallRunner.call is {len(lines)} lines: keep its steps apart"


def test_ifeval_checks_are_split_by_what_they_hold() -> None:
    folder = SRC / "validators" / "ifeval"
    for module in ("tokenizers", "language", "args", "checks", "spec", "repairs"):
        assert (folder / f"{module}.py").is_file(), module
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in folder.glob("*.py")}
    assert max(sizes.values()) <= 600, sizes


def test_the_runs_service_raises_no_http_errors() -> None:
    tree = ast.parse((SRC / "server" / "runs.py").read_text(encoding="utf-8"))
    names = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    } | {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert "HTTPException" not in names
    web = ("fastapi", "starlette")
    assert not any(
        isinstance(node, ast.ImportFrom) and (node.module or "").startswith(web)
        for node in ast.walk(tree)
    )
