"""The library benchmarks run end to end at a tiny size (their figures are not checked:
timings belong to the benchmark runs, not to unit tests)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

import cadenza

BENCH = Path(__file__).resolve().parents[1] / "bench"
HOTPOT = Path("/work/shared/benchmarks/hotpotqa/dev.jsonl")


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """The HotpotQA dev file when it is here, else three questions in its format."""
    if HOTPOT.exists():
        return HOTPOT
    rows = []
    for q in range(3):
        paragraphs = [
            {
                "title": f"Title {q}-{i}",
                "text": f"Paragraph {i} of question {q} mentions river {i} and town {q}. "
                "It has a second sentence about the harbour.",
                "is_supporting": i < 2,
            }
            for i in range(10)
        ]
        rows.append(
            {
                "id": str(q),
                "question": f"Which town {q} river?",
                "answers": ["x"],
                "paragraphs": paragraphs,
            }
        )
    path = tmp_path / "dev.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_library_100k_at_a_tiny_size(
    tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load("library_100k")
    out = tmp_path / "figures.jsonl"
    bench.main(
        [
            "all",
            "--db",
            str(tmp_path / "lib.db"),
            "--data",
            str(data),
            "--chunks",
            "300",
            "--vectors",
            "hashing",
            "--queries",
            "12",
            "--out",
            str(out),
        ]
    )
    figures = json.loads(out.read_text().splitlines()[-1])
    assert figures["build"]["chunks"] == 300 and figures["build"]["embedded"] == 300
    for mode in ("bm25", "vector", "hybrid", "hybrid_label_filter", "hybrid_path_prefix"):
        assert figures["query"][mode]["p50_ms"] > 0
    assert "target_hybrid_p50_under_50ms" in figures["query"]
    assert '"chunks_per_second"' in capsys.readouterr().out


def test_hotpotqa_retrieval_at_a_tiny_size(tmp_path: Path, data: Path) -> None:
    bench = load("hotpotqa_retrieval")
    out = tmp_path / "hotpot.json"
    bench.main(
        [
            "--data",
            str(data),
            "--db",
            str(tmp_path / "h.db"),
            "--limit",
            "3",
            "--vectors",
            "hashing",
            "--out",
            str(out),
        ]
    )
    figures = json.loads(out.read_text())
    assert figures["questions"] == 3 and figures["paragraphs"] == 30
    for mode in ("bm25", "vector", "hybrid"):
        top10 = figures[mode]["top10"]
        assert 0 <= top10["both"] <= top10["any"] <= 1


def test_public_names() -> None:
    for name in (
        "Library",
        "Passage",
        "FileSearch",
        "WebSearch",
        "DocumentError",
        "SearchProviderError",
        "FetchError",
        "BlockedAddressError",
    ):
        assert name in cadenza.__all__ and getattr(cadenza, name) is not None
    assert issubclass(cadenza.DocumentTooLargeError, cadenza.UsageError)
    assert issubclass(cadenza.BlockedAddressError, cadenza.ProviderError)
