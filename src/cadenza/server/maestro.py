"""The AI21 Maestro runs API, so that the `ai21` SDK works against cadenza unchanged:

    client = AI21Client(api_key=KEY, api_host="http://127.0.0.1:8000/studio/v1")
    run = client.beta.maestro.runs.create_and_poll(input=..., requirements=[...],
                                                   budget="low", include=["requirements_result"])

`POST /studio/v1/maestro/runs` starts a run and answers ``{id, status, ...}`` at once;
`GET /studio/v1/maestro/runs/{id}` reports it. cadenza's extensions (all optional):
numeric budgets, `threshold`, `judge_model`, `max_output_tokens`, `requirements[].weight`,
`requirements[].validator` (a registered validator's name), `output_schema` (a JSON Schema
the answer must match: the run then has an `output`, the validated JSON) and `usage` in
every answer. The SDK passes extensions as keyword arguments:
``runs.create_and_poll(input=..., output_schema={...})``.

Tools: ``file_search`` (the server's document library, `/studio/v1/library/files`) and
``web_search`` (when the operator configured a provider), with their options in the tool
or in ``tool_resources`` (`maestro_tools`). With ``include: ["data_sources"]`` a finished
run lists the passages it showed the model: ``data_sources.file_search[{text, file_id,
file_name, score, order}]`` and ``data_sources.web_search[{text, url, score}]``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ..result import DataSources, Usage
from ..store import RunRecord
from .callers import caller_of
from .maestro_tools import tools_from_request
from .runs import RunManager, RunSpec
from .schemas import (
    ERROR_RESPONSES,
    BudgetIn,
    BudgetPresetName,
    MessageIn,
    RequirementIn,
    RunError,
    budget_value,
    requirement_dicts,
    usage_of,
)
from .typed import check_output_schema, output_of

__all__ = ["MaestroRunCreate", "MaestroRunOut", "maestro_out", "router", "spec_from_maestro"]

router = APIRouter(tags=["maestro"], responses=ERROR_RESPONSES)

ModelName = Annotated[str, Field(min_length=1, max_length=200)]


class MaestroRunCreate(BaseModel):
    """The body of `POST /studio/v1/maestro/runs` (and of `POST /v1/runs`)."""

    model_config = ConfigDict(extra="forbid")

    input: str | list[MessageIn] = Field(
        description="The instruction, or a chat whose last message is the user's."
    )
    requirements: list[RequirementIn] = Field(default_factory=list, max_length=64)
    budget: BudgetPresetName | BudgetIn | None = Field(
        default=None,
        description="A preset (low, medium, high; default low) or numeric caps "
        "(max_tokens, max_usd, max_calls, max_seconds).",
    )
    models: list[ModelName] | None = Field(
        default=None,
        min_length=1,
        max_length=8,
        description="Names the server offers (listed at /v1/models without 'cadenza/'); "
        "default: the server's default models.",
    )
    tools: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=8,
        description="file_search and web_search (options as AI21's); http and mcp are "
        "refused with a 400.",
    )
    tool_resources: dict[str, Any] | None = Field(
        default=None,
        description="Options of the tools: {file_search: {labels, labels_filter_mode, "
        "file_ids, retrieval_similarity_threshold}, web_search: {urls, query_suffix}}.",
    )
    include: list[Literal["requirements_result", "data_sources"]] | None = None
    response_language: str | None = Field(default=None, max_length=64)
    system_prompt: str | None = Field(default=None, max_length=100_000)
    threshold: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="cadenza: stop once the overall score reaches this.",
    )
    judge_model: ModelName | None = Field(
        default=None,
        description="cadenza: the model for LLM judgements (a name the server offers).",
    )
    max_output_tokens: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="cadenza: cap on the tokens of one generation.",
    )
    output_schema: dict[str, Any] | None = Field(
        default=None,
        description="cadenza: a JSON Schema the answer must match; the run's `output` is "
        "then the validated JSON (null if no answer matched within the budget).",
    )


class MaestroRequirementOut(BaseModel):
    name: str
    description: str
    is_mandatory: bool
    score: float
    reason: str | None = None


class MaestroRequirementsResult(BaseModel):
    score: float
    finish_reason: str
    requirements: list[MaestroRequirementOut]


class MaestroRunOut(BaseModel):
    id: str
    status: Literal["in_progress", "completed", "failed"]
    result: str | None = None
    requirements_result: MaestroRequirementsResult | None = None
    data_sources: dict[str, Any] | None = None
    error: RunError | None = None
    usage: Usage = Field(description="cadenza: tokens, calls and cost so far.")
    output: Any = Field(
        default=None,
        description="cadenza: with an output_schema, the answer as validated JSON (null "
        "while in progress, or if no answer matched).",
    )


def spec_from_maestro(body: MaestroRunCreate, source: str, *, web_available: bool) -> RunSpec:
    tools = tools_from_request(body.tools, body.tool_resources, web_available=web_available)
    system = body.system_prompt
    language = (body.response_language or "").strip()
    if language and language.lower() not in ("unset", "auto"):
        note = f"Respond in {language}."
        system = f"{system}\n\n{note}" if system else note
    return RunSpec(
        source=source,
        input=body.input if isinstance(body.input, str) else [m.model_dump() for m in body.input],
        requirements=requirement_dicts(body.requirements),
        budget=budget_value(body.budget),
        threshold=body.threshold,
        models=list(body.models) if body.models else None,
        judge_model=body.judge_model,
        system_prompt=system,
        max_output_tokens=body.max_output_tokens,
        output_schema=(
            check_output_schema(body.output_schema, "output_schema")
            if body.output_schema is not None
            else None
        ),
        request=body.model_dump(mode="json", exclude_none=True),
        tools=tools,
    )


def maestro_data_sources(sources: DataSources | None) -> dict[str, Any]:
    """Maestro's shape of what a run retrieved (empty lists for a run without tools)."""
    if sources is None:
        return {"file_search": [], "web_search": [], "tool_calls": []}
    return {
        "file_search": [
            {
                "text": p.text,
                "file_id": p.file_id,
                "file_name": p.file_name,
                "score": p.score,
                "order": p.order,
            }
            for p in sources.file_search
        ],
        "web_search": [
            {"text": p.text, "url": p.url, "score": p.score} for p in sources.web_search
        ],
        "tool_calls": [],
    }


def maestro_out(record: RunRecord, data_sources: DataSources | None = None) -> MaestroRunOut:
    """The run as Maestro shows it; `data_sources`: what it retrieved (read from its
    trace by the caller, only when the request asked for them)."""
    include = set(record.request.get("include") or [])
    rr = record.requirements_result
    requirements_result = None
    if "requirements_result" in include and rr is not None:
        requirements_result = MaestroRequirementsResult(
            score=rr["score"],
            finish_reason=rr["finish_reason"],
            requirements=[
                MaestroRequirementOut(
                    name=r["name"],
                    description=r["description"],
                    is_mandatory=r["is_mandatory"],
                    score=r["score"],
                    reason=r.get("reason"),
                )
                for r in rr.get("requirements", [])
            ],
        )
    status: Literal["in_progress", "completed", "failed"] = (
        "completed" if record.status == "cancelled" else record.status
    )
    return MaestroRunOut(
        id=record.id,
        status=status,
        result=record.result,
        requirements_result=requirements_result,
        data_sources=(
            maestro_data_sources(data_sources)
            if "data_sources" in include and record.status != "in_progress"
            else None
        ),
        error=RunError(message=record.error) if record.error else None,
        usage=usage_of(record),
        output=output_of(record),
    )


def _manager(request: Request) -> RunManager:
    manager: RunManager = request.app.state.runs
    return manager


@router.post("/studio/v1/maestro/runs", response_model=MaestroRunOut)
async def create_run(body: MaestroRunCreate, request: Request) -> MaestroRunOut:
    """Start a run; poll `GET /studio/v1/maestro/runs/{id}` until it is not in progress."""
    spec = spec_from_maestro(body, "maestro", web_available=_web_available(request))
    record = await _manager(request).start(spec, caller_of(request))
    return maestro_out(record)


@router.get("/studio/v1/maestro/runs/{run_id}", response_model=MaestroRunOut)
async def retrieve_run(run_id: str, request: Request) -> MaestroRunOut:
    manager = _manager(request)
    record = await manager.require(run_id, caller_of(request))
    include = set(record.request.get("include") or [])
    sources = None
    if "data_sources" in include and record.status != "in_progress":
        sources = await manager.data_sources(run_id, caller_of(request))
    return maestro_out(record, sources)


def _web_available(request: Request) -> bool:
    return request.app.state.settings.web is not None
