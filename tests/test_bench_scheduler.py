"""bench/bench_scheduler.py: the critical path it divides the wall time by."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cadenza.result import TraceNode

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "bench_scheduler.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scheduler", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scheduler"] = module
    spec.loader.exec_module(module)
    return module


def node(id: str, kind: str, latency: float, **fields: Any) -> TraceNode:
    fields.setdefault("status", "ok")
    return TraceNode(id=id, kind=kind, latency_s=latency, **fields)


def test_the_critical_path_follows_revisions_through_their_parents_evaluation(
    bench: ModuleType,
) -> None:
    trace = [
        node("n0", "run", 9.0, parent=None),
        node("n1", "generate", 0.05, parent="n0", candidate_id="c1"),
        node("n2", "check", 0.001, parent="n1", candidate_id="c1"),
        node("n3", "judge", 0.05, parent="n1", candidate_id="c1"),
        node("n4", "judge", 0.08, parent="n1", candidate_id="c1"),  # parallel: the max counts
        node("n5", "revise", 0.05, parent="n1", candidate_id="c2"),
        node("n6", "check", 0.002, parent="n5", candidate_id="c2"),
        node("n7", "generate", 0.1, parent="n0", candidate_id="c3"),  # independent
        node("n8", "generate", 0.02, parent="n0", candidate_id="c1", detail={"duplicate_of": "c1"}),
    ]
    # n1 (0.05) + check (0.001) + slowest judge (0.08) + revise (0.05) + its check (0.002)
    assert bench.critical_path(trace) == pytest.approx(0.183)
    busy = 0.05 + 0.05 + 0.08 + 0.05 + 0.1 + 0.02  # the model calls, checks excluded
    assert bench.busy_bound(trace, slots=2) == pytest.approx(busy / 2)


def test_an_independent_long_call_can_be_the_critical_path(bench: ModuleType) -> None:
    trace = [
        node("n0", "run", 9.0, parent=None),
        node("n1", "generate", 0.05, parent="n0", candidate_id="c1"),
        node("n2", "repair", 0.001, parent="n1", candidate_id="c2"),
        node("n3", "generate", 0.4, parent="n0", candidate_id="c3", status="cancelled"),
    ]
    assert bench.critical_path(trace) == pytest.approx(0.4)
