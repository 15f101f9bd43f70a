"""`cadenza eval jsonschema` and `cadenza run --schema`: rows, arms, resume, report, plot,
and the CLI's typed output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cadenza.errors import InvalidTaskError, UsageError
from cadenza.evals.jsonschema import JsonSchemaConfig, load_schemas, run_jsonschema
from cadenza.evals.plot import plot_coverage_by_subset
from cadenza.models.base import Model, ModelRequest
from cadenza.models.registry import register_provider
from cadenza.testing import ScriptedModel
from in_process_cli import run_cli

SCHEMAS: list[dict[str, Any]] = [
    {
        "id": "easy/person.json",
        "subset": "easy",
        "schema": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
        },
    },
    {
        "id": "easy/list.json",
        "subset": "easy",
        "schema": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
    },
    {
        "id": "hard/strict.json",
        "subset": "hard",
        "schema": {
            "type": "object",
            "properties": {"id": {"type": "string", "format": "uuid"}},
            "required": ["id"],
            "additionalProperties": False,
        },
    },
]
UUID = "12345678-1234-5678-1234-567812345678"


def _answer(request: ModelRequest) -> str:
    """Fenced JSON unconstrained; bare JSON under a constraint; a good id on revision."""
    prompt = request.messages[-1].content
    if "Rewrite your answer" in prompt:
        return json.dumps({"id": UUID})
    fmt = request.response_format
    schema = (fmt.schema if fmt else None) or {}
    text = "Give one example" in prompt and prompt
    if '"format":"uuid"' in (text or "") or "id" in schema.get("properties", {}):
        value: Any = {"id": "not-a-uuid", "extra": 1}
    elif '"minItems"' in (text or "") or schema.get("type") == "array":
        value = [1, 2]
    else:
        value = {"name": "Ann", "age": 3}
    if fmt is None:
        return f"Sure:\n```json\n{json.dumps(value)}\n```"
    return json.dumps(value)


def _provider(name: str, model: str) -> Model:
    if model == "plain":
        return ScriptedModel(name=name, default="no JSON here")
    return ScriptedModel(name=name, default=_answer, formats={"json_schema"})


register_provider("evalfake", _provider, forms=("evalfake:json: tests only",))


def write(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


# -- loading -----------------------------------------------------------------------------------
def test_bad_rows_are_skipped_naming_them(tmp_path: Path) -> None:
    data = write(
        tmp_path / "d.jsonl",
        [SCHEMAS[0], "not json", {"id": "x"}, {"id": "y", "schema": {"type": 3}}, SCHEMAS[1]],
    )
    rows, skipped = load_schemas(data)
    assert [r.id for r in rows] == ["easy/person.json", "easy/list.json"]
    assert len(skipped) == 3 and "line 4" in skipped[2] and "schema y" in skipped[2]


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidTaskError, match="unique"):
        load_schemas(write(tmp_path / "d.jsonl", [SCHEMAS[0], SCHEMAS[0]]))


# -- the arms and the report -------------------------------------------------------------------
async def test_arms_report_and_resume(tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", SCHEMAS)
    cfg = JsonSchemaConfig(
        data=data,
        out=tmp_path / "out",
        model="evalfake:json",
        budget={"max_calls": 8},
        arms=("free", "constrained", "cadenza", "cadenza_no_repair"),
        max_output_tokens=64,
    )
    ticks: list[tuple[int, int]] = []
    report = await run_jsonschema(cfg, on_progress=lambda d, t: ticks.append((d, t)))
    assert ticks[-1] == (12, 12)
    assert report["n_schemas"] == 3 and report["model"] == "evalfake:json"
    assert report["budget"] == {"max_calls": 8}
    arms = report["arms"]
    # free: fenced answers, valid only once unwrapped; the uuid one never is
    assert arms["free"]["coverage"] == pytest.approx(2 / 3)
    assert arms["free"]["coverage_without_repairs"] == 0.0
    # constrained: bare JSON; the bad uuid and the extra property fail
    assert arms["constrained"]["coverage"] == pytest.approx(2 / 3)
    assert arms["constrained"]["coverage_without_repairs"] == pytest.approx(2 / 3)
    assert arms["constrained"]["coverage_by_subset"] == {"easy": 1.0, "hard": 0.0}
    # cadenza revises with the validation errors and gets all three
    assert arms["cadenza"]["coverage"] == 1.0
    assert arms["cadenza"]["coverage_by_subset"] == {"easy": 1.0, "hard": 1.0}
    assert arms["cadenza_no_repair"]["coverage"] == 1.0
    for m in arms.values():
        assert set(m) >= {
            "coverage",
            "coverage_without_repairs",
            "coverage_by_subset",
            "tokens_per_schema",
            "calls_per_schema",
            "seconds_per_schema",
        }
        assert 0 <= m["coverage_without_repairs"] <= m["coverage"] <= 1
    assert arms["free"]["calls_per_schema"] == 1.0
    assert arms["cadenza"]["calls_per_schema"] > 1.0
    on_disk = json.loads((cfg.out / "report.json").read_text())
    assert on_disk["arms"]["cadenza"]["coverage"] == 1.0
    results = (cfg.out / "results.jsonl").read_text().splitlines()
    assert len(results) == 12
    # resuming: nothing left to run, the same report
    again = await run_jsonschema(cfg)
    assert again["arms"] == report["arms"]
    assert len((cfg.out / "results.jsonl").read_text().splitlines()) == 12
    # another budget in the same folder is refused, not mixed in
    with pytest.raises(InvalidTaskError, match="another budget"):
        await run_jsonschema(JsonSchemaConfig(data=data, out=cfg.out, model="evalfake:json"))
    path = plot_coverage_by_subset(report, tmp_path / "plot.png")
    assert path.stat().st_size > 1000


async def test_constrained_arm_needs_a_model_that_constrains(tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", SCHEMAS[:1])
    cfg = JsonSchemaConfig(data=data, out=tmp_path / "o", model="evalfake:plain")
    with pytest.raises(UsageError, match="--arms free,cadenza"):
        await run_jsonschema(cfg)


def test_cli_eval_jsonschema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(tmp_path / "d.jsonl", SCHEMAS)
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        monkeypatch,
        capsys,
        "eval",
        "jsonschema",
        "--data",
        str(data),
        "--model",
        "evalfake:json",
        "--budget",
        '{"max_calls": 6}',
        "--limit",
        "2",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert "JSON Schema coverage: 2 schemas" in stdout
    assert (out / "coverage_by_subset.png").exists()
    report = json.loads((out / "report.json").read_text())
    assert set(report["arms"]) == {"free", "constrained", "cadenza"}
    code, _, err = run_cli(
        monkeypatch, capsys, "eval", "jsonschema", "--data", str(data), "--out", str(out),
        "--arms", "free,bogus",
    )  # fmt: skip
    assert code == 2 and "bogus" in err


# -- cadenza run --schema ------------------------------------------------------------------------
def test_run_schema_prints_the_validated_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = write(tmp_path / "person.json", [SCHEMAS[0]["schema"]])
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "run",
        "Who is Ann?",
        "--model",
        "evalfake:json",
        "--schema",
        str(schema),
        "--max-calls",
        "6",
    )
    assert code == 0, err
    assert json.loads(out) == {"name": "Ann", "age": 3}  # stdout: the JSON alone
    assert "output_schema" in err or "Reply with only a JSON value" in err
    code, out, _ = run_cli(
        monkeypatch, capsys, "run", "Who?", "--model", "evalfake:json", "--schema", str(schema),
        "--max-calls", "6", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["output"] == {"name": "Ann", "age": 3}


def test_run_schema_without_a_match_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = write(tmp_path / "person.json", [SCHEMAS[0]["schema"]])
    code, out, err = run_cli(
        monkeypatch, capsys, "run", "Who?", "--model", "evalfake:plain", "--schema", str(schema),
        "--max-calls", "3",
    )  # fmt: skip
    assert code == 3 and out == ""
    assert "no answer matched the schema" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"type": "nope"}', "not a valid JSON Schema"),
        ("[1, 2]", "must be a JSON Schema object"),
        (None, "cannot read it"),
    ],
)
def test_run_schema_bad_file_is_a_usage_error_naming_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    message: str,
) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run_cli(
        monkeypatch, capsys, "run", "x", "--model", "evalfake:json", "--schema", str(path)
    )
    assert code == 2 and out == ""
    assert str(path) in err and message in err
