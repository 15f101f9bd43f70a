"""Request and response bodies shared by the APIs; the OpenAPI schema is built from these.

Requests are strict (unknown fields are refused with a 422 naming them) and bounded, so
that anything the schema allows is a request cadenza can run or refuse with a 4xx.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..result import DataSources, RequirementResult, TraceNode, Usage
from ..store import RunRecord, RunStatus, RunSummary
from .typed import output_of

__all__ = [
    "BudgetIn",
    "BudgetPresetName",
    "MessageIn",
    "RequirementIn",
    "RunError",
    "RunListOut",
    "RunOut",
    "RunSummaryOut",
    "TraceOut",
    "budget_value",
    "requirement_dicts",
    "run_out",
    "run_summary_out",
]

BudgetPresetName = Literal["low", "medium", "high"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequirementIn(_Strict):
    """One requirement. Checked by the LLM judge, or by a registered code validator."""

    name: str | None = Field(default=None, max_length=200)
    description: str = Field(min_length=1, max_length=20_000)
    is_mandatory: bool = False
    weight: float = Field(default=1.0, gt=0, le=1000, allow_inf_nan=False)
    validator: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The name of a validator registered on the server (never code).",
    )
    validator_args: dict[str, Any] = Field(default_factory=dict)


class BudgetIn(_Strict):
    """Numeric caps; at least one of max_tokens, max_usd, max_calls (or a preset)."""

    preset: BudgetPresetName | None = None
    max_tokens: int | None = Field(default=None, gt=0, le=1_000_000_000)
    max_usd: float | None = Field(default=None, gt=0, le=1_000_000, allow_inf_nan=False)
    max_calls: int | None = Field(default=None, gt=0, le=100_000)
    max_seconds: float | None = Field(default=None, gt=0, le=86_400, allow_inf_nan=False)


class MessageIn(_Strict):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=1_000_000)


def budget_value(budget: BudgetPresetName | BudgetIn | None) -> str | dict[str, Any] | None:
    if isinstance(budget, BudgetIn):
        return budget.model_dump(exclude_none=True)
    return budget


def requirement_dicts(reqs: list[RequirementIn]) -> list[dict[str, Any]]:
    out = []
    for r in reqs:
        d = r.model_dump(exclude_none=True)
        if not d.get("name"):
            d.pop("name", None)
        if not d.get("validator_args"):
            d.pop("validator_args", None)
        out.append(d)
    return out


class RunError(BaseModel):
    message: str


class RunOut(BaseModel):
    """A run as `/v1/runs` shows it: the Maestro fields and everything else cadenza knows."""

    id: str
    object: Literal["run"] = "run"
    source: str
    status: RunStatus
    created_at: float
    updated_at: float
    finished_at: float | None = None
    request: dict[str, Any]
    result: str | None = None
    output: Any = Field(
        default=None,
        description="With an output_schema: the answer as validated JSON (null if none).",
    )
    requirements_result: dict[str, Any] | None = Field(
        default=None,
        description="score, finish_reason, finish_message and one entry per requirement "
        "(name, description, is_mandatory, score, reason, validator, weight).",
    )
    usage: Usage
    error: RunError | None = None
    models: list[str] = Field(default_factory=list)
    seconds: float | None = None
    best_candidate_id: str | None = None
    data_sources: DataSources | None = Field(
        default=None,
        description="For a finished run with tools (file_search, web_search): the passages "
        "shown to the model (file_search[], web_search[]) and what the searches could not do "
        "(notes). Null for a run without tools or in progress.",
    )


class RunSummaryOut(BaseModel):
    """A run as a list shows it: small whatever its size. `GET /v1/runs/{id}` has the rest
    (the request, the answer, the per-requirement results)."""

    id: str
    object: Literal["run"] = "run"
    source: str
    status: RunStatus
    created_at: float
    updated_at: float
    finished_at: float | None = None
    models: list[str] = Field(default_factory=list)
    input_preview: str = Field(
        default="",
        description="The start of the input (at most 200 characters); messages as "
        "'role: content' lines.",
    )
    score: float | None = None
    finish_reason: str | None = None
    usage: Usage
    seconds: float | None = None


class RunListOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[RunSummaryOut]
    has_more: bool
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page (older runs)."
    )


class TraceOut(BaseModel):
    run_id: str
    status: RunStatus
    nodes: list[TraceNode]


def usage_of(record: RunRecord) -> Usage:
    return Usage.model_validate(record.usage or {})


def run_out(record: RunRecord) -> RunOut:
    return RunOut(
        id=record.id,
        source=record.source,
        status=record.status,
        created_at=record.created_at,
        updated_at=record.updated_at,
        finished_at=record.finished_at,
        request=record.request,
        result=record.result,
        output=output_of(record),
        requirements_result=record.requirements_result,
        usage=usage_of(record),
        error=RunError(message=record.error) if record.error else None,
        models=record.models,
        seconds=record.seconds,
        best_candidate_id=record.best_candidate_id,
    )


def run_summary_out(summary: RunSummary) -> RunSummaryOut:
    return RunSummaryOut(
        id=summary.id,
        source=summary.source,
        status=summary.status,
        created_at=summary.created_at,
        updated_at=summary.updated_at,
        finished_at=summary.finished_at,
        models=summary.models,
        input_preview=summary.input_preview,
        score=summary.score,
        finish_reason=summary.finish_reason,
        usage=Usage.model_validate(summary.usage or {}),
        seconds=summary.seconds,
    )


def requirement_results(record: RunRecord) -> list[RequirementResult]:
    rr = record.requirements_result or {}
    return [RequirementResult.model_validate(r) for r in rr.get("requirements", [])]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorOut(BaseModel):
    """Every error: OpenAI's shape, so any client shows `error.message`."""

    error: ErrorDetail
    detail: list[dict[str, Any]] | None = Field(
        default=None, description="For 422: pydantic's errors, one per field."
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": what}
    for code, what in [
        (400, "Unsupported request (a model the server does not offer, a tool, a content type)"),
        (401, "Missing or invalid API key"),
        (404, "No such run (or another key's) or model"),
        (409, "The run is not in progress"),
        (413, "Request body too large"),
        (421, "A Host name this server does not answer to"),
        (422, "Invalid body or parameters; the message names the field"),
        (429, "Too many runs in progress, or started this minute; see Retry-After"),
        (500, "Internal error; the message gives a request id to find it in the server log"),
        (503, "Shutting down, the database is unavailable, or a model cannot be set up"),
    ]
}
