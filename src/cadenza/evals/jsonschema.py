"""`cadenza eval jsonschema`: JSONSchemaBench's empirical coverage, on any model.

Each row is a JSON Schema; the task is to produce one JSON value that validates against it
(checked with `jsonschema`, the draft the schema declares, formats as the benchmark counts
them: see `cadenza.output.schema`). Arms:

- ``free``: one greedy call, the schema in the prompt, no constraint;
- ``constrained``: the same call with the provider's constrained decoding on the schema as
  given (on the embedded model: the "llama.cpp engine" figure of the benchmark);
- ``cadenza``: a cadenza run with the schema as its output type (constrained where the
  model supports it, tightened when answers run long, revised with the validation errors);
- ``cadenza_no_repair``: the same without deterministic repairs (optional).

Honesty: every value of a counted instance comes from the model. The only changes cadenza
makes itself remove text (a Markdown fence, properties the schema forbids); each outcome
records whether its instance needed one, and the report gives coverage with and without.
For ``cadenza``, "without" counts the runs whose returned instance needed no repair (a
run stops at its first valid instance, repaired or not: ``cadenza_no_repair`` measures the
run with repairs off).

Progress is kept in ``DIR/results.jsonl`` (one line per schema and arm), so an interrupted
evaluation resumes; ``DIR/config.json`` keeps a resumed run from mixing settings.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine import BudgetExhausted, CallFailed
from ..errors import CadenzaError, InvalidTaskError, UsageError
from ..models.base import Message, Model, ResponseFormat
from ..models.constraints import FORMAT_DROPPED
from ..models.registry import resolve_model
from ..output import OutputSpec
from ..output.requirement import OUTPUT_REQUIREMENT, output_instruction
from ..planner import SearchSettings
from ..runner import RunOptions, arun_task
from ..task import Budget, make_task
from .resume import Progress
from .runs import (
    by_arm,
    check_arms,
    direct_calls,
    load_jsonl,
    record_settings,
    run_arms,
    skipped_fields,
    write_report,
)

__all__ = [
    "ARMS",
    "DEFAULT_ARMS",
    "INSTRUCTION",
    "JsonSchemaConfig",
    "SchemaOutcome",
    "SchemaRow",
    "load_schemas",
    "run_jsonschema",
    "summarize",
]

ARMS = ("free", "constrained", "cadenza", "cadenza_no_repair")
DEFAULT_ARMS = ("free", "constrained", "cadenza")
INSTRUCTION = "Give one example of a JSON value for the given JSON Schema."
"""The task of every arm; the schema (or, under a constraint, a request for bare JSON)
follows it, as `cadenza.output` words it for any run."""


@dataclass(frozen=True)
class SchemaRow:
    id: str
    subset: str
    schema: dict[str, Any] | bool
    spec: OutputSpec = field(repr=False, compare=False)


@dataclass
class SchemaOutcome:
    id: str
    arm: str
    subset: str
    response: str
    valid: bool
    """The instance the arm returns validates (after any allowed repair)."""
    valid_without_repairs: bool
    """It validates as the model wrote it."""
    tokens: int
    calls: int
    seconds: float
    finish_reason: str = ""
    problem: str = ""
    """Why it is not valid (the validation errors, or the call's failure)."""
    constraint: str = ""
    """For ``constrained``: ``enforced``, ``partial`` (the engine left parts of the schema
    to validation), ``dropped`` (the engine refused the schema at call time: the call ran
    unconstrained) or ``refused`` (the model says it cannot take the schema: no call)."""
    concurrency: int = 1
    """Schemas evaluated at once when this one was (its seconds include the waiting)."""


@dataclass(frozen=True)
class JsonSchemaConfig:
    data: Path
    out: Path
    model: str = "local:smollm2"
    budget: str | dict[str, Any] = "low"
    limit: int | None = None
    arms: tuple[str, ...] = DEFAULT_ARMS
    max_output_tokens: int = 512
    concurrency: int = 1
    """Schemas evaluated at once (their seconds then include waiting for each other)."""


# -- loading --------------------------------------------------------------------------------
def load_schemas(path: Path, *, limit: int | None = None) -> tuple[list[SchemaRow], list[str]]:
    """Rows ``{"id", "subset", "schema"}``; a bad row (or an unusable schema) is skipped
    with a message naming it."""
    rows, skipped = load_jsonl(
        path, _parse_schema, limit=limit, errors=(ValueError, TypeError, CadenzaError)
    )
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids):
        raise InvalidTaskError(f"{path.name}: row ids must be unique (results are kept by id)")
    return rows, skipped


def _parse_schema(data: Any, n: int) -> SchemaRow:
    if not isinstance(data, dict) or "schema" not in data:
        raise ValueError("a row must be an object with id, subset and schema")
    rid = str(data.get("id") or f"line-{n}")
    spec = OutputSpec.of(data["schema"], where=f"schema {rid}")
    return SchemaRow(rid, str(data.get("subset") or "all"), data["schema"], spec)


# -- the arms ---------------------------------------------------------------------------------
async def _one_call(
    row: SchemaRow, arm: str, cfg: JsonSchemaConfig, model: Model, started: float
) -> SchemaOutcome:
    """``free`` and ``constrained``: one greedy call, the schema in the prompt."""
    ledger, calls = direct_calls(1)
    prompt = f"{INSTRUCTION}\n\n{output_instruction(row.spec, constrained=False)}"
    fmt = None
    if arm == "constrained":
        # The schema as given: what the provider's own constrained decoding does with it.
        fmt = ResponseFormat("json_schema", schema=_as_mapping(row.schema), name=row.spec.name)
    text, finish, problem, constraint = "", "", "", ""
    try:
        if fmt is not None and not model.supports(fmt):
            constraint = "refused"
            raise CallFailed(
                f"{model.name} cannot constrain decoding to this schema", permanent=True
            )
        response, node = await calls.call(
            kind="generate",
            parent=None,
            model=model,
            messages=(Message("user", prompt),),
            max_tokens=cfg.max_output_tokens,
            temperature=0.0,
            response_format=fmt,
        )
        text, finish = response.text, response.finish_reason
        if fmt is not None:
            gaps = [str(g) for g in node.detail.get("constraint_gaps", [])]
            dropped = FORMAT_DROPPED in gaps
            constraint = "dropped" if dropped else "partial" if gaps else "enforced"
    except (BudgetExhausted, CallFailed) as exc:
        finish, problem = "error", str(exc)
    raw = row.spec.check(text)
    valid = raw.ok
    if not valid and text:
        repaired = row.spec.repair(text)
        valid = repaired is not None and row.spec.check(repaired.text).ok
    return SchemaOutcome(
        row.id,
        arm,
        row.subset,
        text,
        valid,
        raw.ok,
        ledger.usage.total_tokens,
        ledger.usage.calls,
        time.monotonic() - started,
        finish,
        problem or ("" if valid else raw.reason),
        constraint,
        cfg.concurrency,
    )


def _as_mapping(schema: dict[str, Any] | bool) -> dict[str, Any]:
    return schema if isinstance(schema, dict) else ({} if schema else {"not": {}})


async def _cadenza(
    row: SchemaRow, arm: str, cfg: JsonSchemaConfig, model: Model, started: float
) -> SchemaOutcome:
    task = make_task(INSTRUCTION, budget=cfg.budget, models=[model.name], output_type=row.spec)
    settings = SearchSettings(max_output_tokens=cfg.max_output_tokens, repairs=arm == "cadenza")
    result = await arun_task(task, models=[model], options=RunOptions(search=settings))
    verdict = next(
        (r for r in result.requirements_result.requirements if r.name == OUTPUT_REQUIREMENT),
        None,
    )
    valid = verdict is not None and verdict.score >= 1.0
    repaired = any(
        n.kind == "repair" and n.candidate_id == result.best_candidate_id for n in result.trace
    )
    return SchemaOutcome(
        row.id,
        arm,
        row.subset,
        result.result,
        valid,
        valid and not repaired,
        result.usage.total_tokens,
        result.usage.calls,
        time.monotonic() - started,
        result.requirements_result.finish_reason,
        "" if valid else (verdict.reason if verdict else result.requirements_result.finish_message),
        concurrency=cfg.concurrency,
    )


async def _run_arm(row: SchemaRow, arm: str, cfg: JsonSchemaConfig, model: Model) -> SchemaOutcome:
    started = time.monotonic()
    if arm in ("free", "constrained"):
        return await _one_call(row, arm, cfg, model, started)
    return await _cadenza(row, arm, cfg, model, started)


# -- the whole evaluation ---------------------------------------------------------------------
async def run_jsonschema(
    cfg: JsonSchemaConfig, *, on_progress: Progress | None = None
) -> dict[str, Any]:
    """Run every arm on every schema (resuming from ``out/results.jsonl``); write
    ``report.json`` and return it."""
    check_arms(cfg.arms, ARMS)
    Budget.coerce(cfg.budget)
    rows, skipped = load_schemas(cfg.data, limit=cfg.limit)
    if not rows:
        raise InvalidTaskError(f"{cfg.data} has no usable schema rows")
    model = resolve_model(cfg.model)
    if "constrained" in cfg.arms and not any(
        model.supports(ResponseFormat("json_schema", schema=_as_mapping(r.schema))) for r in rows
    ):
        raise UsageError(
            f"{cfg.model} does not constrain decoding to a JSON Schema, so the constrained "
            "arm cannot run; leave it out with --arms free,cadenza"
        )
    cfg.out.mkdir(parents=True, exist_ok=True)
    record_settings(cfg)
    outcomes = await run_arms(
        rows,
        cfg.arms,
        lambda row, arm: _run_arm(row, arm, cfg, model),
        cfg.out,
        item_key=lambda row: row.id,
        outcome_key=lambda o: o.id,
        parse=lambda d: SchemaOutcome(**d),
        on_progress=on_progress,
        concurrency=cfg.concurrency,
    )
    return write_report(cfg.out, summarize(outcomes, cfg, [r.subset for r in rows], skipped))


def summarize(
    outcomes: Iterable[SchemaOutcome],
    cfg: JsonSchemaConfig,
    subsets: Sequence[str],
    skipped: Sequence[str],
) -> dict[str, Any]:
    order = list(dict.fromkeys(subsets))
    arms: dict[str, dict[str, Any]] = {}
    for arm, rows in by_arm(outcomes, cfg.arms).items():
        n = len(rows)
        by_subset: dict[str, list[SchemaOutcome]] = {}
        for o in rows:
            by_subset.setdefault(o.subset, []).append(o)
        arms[arm] = {
            "coverage": sum(o.valid for o in rows) / n,
            "coverage_without_repairs": sum(o.valid_without_repairs for o in rows) / n,
            "coverage_by_subset": {
                s: sum(o.valid for o in by_subset[s]) / len(by_subset[s])
                for s in order
                if s in by_subset
            },
            "coverage_without_repairs_by_subset": {
                s: sum(o.valid_without_repairs for o in by_subset[s]) / len(by_subset[s])
                for s in order
                if s in by_subset
            },
            "tokens_per_schema": sum(o.tokens for o in rows) / n,
            "calls_per_schema": sum(o.calls for o in rows) / n,
            "seconds_per_schema": sum(o.seconds for o in rows) / n,
            "n": n,
            "concurrency": max(o.concurrency for o in rows),
        }
        constraints = [o.constraint for o in rows if o.constraint]
        if constraints:
            arms[arm]["constraint"] = {c: constraints.count(c) for c in sorted(set(constraints))}
    return {
        "arms": arms,
        "n_schemas": len(subsets),
        "subsets": {s: subsets.count(s) for s in order},
        "model": cfg.model,
        "budget": cfg.budget,
        "max_output_tokens": cfg.max_output_tokens,
        **skipped_fields(skipped),
    }
