"""OpenAI-compatible chat completions: any OpenAI client gets cadenza by its base URL.

    client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key=KEY)
    reply = client.chat.completions.create(
        model="cadenza",                      # or "cadenza/<name>" for a name /v1/models lists
        messages=[{"role": "user", "content": "Write a haiku about the sea."}],
        extra_body={"cadenza": {"requirements": [{"description": "all lowercase"}],
                                "budget": {"max_calls": 12}, "threshold": 1.0}},
    )
    reply.choices[0].message.content, reply.cadenza["requirements"]

``response_format`` ``json_object`` or ``json_schema`` (strict or not; what
``client.chat.completions.parse(response_format=MyModel)`` sends) makes the answer a typed
result: cadenza validates every candidate against the schema (constraining decoding where
the model can), and the reply's content is the validated JSON; if no answer matched
within the budget, ``message.refusal`` says why (and ``parse`` gives ``parsed=None``).

Each completion is a cadenza run (stored, listed at /v1/runs, shown on the web page).
With ``stream=True`` progress comes as SSE comments while the run goes on, then the
answer as ``chat.completion.chunk`` deltas, the per-requirement results on the last one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..store import RunRecord
from . import sse
from .callers import Caller, caller_of
from .errors import ApiError, error_body
from .model_catalog import ModelCatalog
from .runs import RunManager, RunSpec, RunUpdate
from .schemas import (
    ERROR_RESPONSES,
    BudgetIn,
    BudgetPresetName,
    RequirementIn,
    budget_value,
    requirement_dicts,
    usage_of,
)
from .typed import output_of, refusal_of, schema_of_format

__all__ = ["ChatCompletionRequest", "router"]

router = APIRouter(prefix="/v1", tags=["openai"], responses=ERROR_RESPONSES)

MODEL = "cadenza"
CHUNK_CHARS = 256


# -- requests -------------------------------------------------------------------------
class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class CadenzaOptions(BaseModel):
    """The ``cadenza`` extension field (``extra_body={"cadenza": {...}}`` in the SDK)."""

    model_config = ConfigDict(extra="forbid")
    requirements: list[RequirementIn] = Field(default_factory=list, max_length=64)
    budget: BudgetPresetName | BudgetIn | None = None
    threshold: float = Field(default=1.0, ge=0.0, le=1.0, allow_inf_nan=False)
    judge_model: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A name the server offers (see /v1/models, without 'cadenza/').",
    )


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool | None = None


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; sampling fields (temperature, top_p, seed, ...) are accepted and
    left to cadenza's search."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(
        min_length=1,
        max_length=200,
        description="`cadenza` (the server's default models) or `cadenza/<name>` for a "
        "name the server offers (see /v1/models)",
    )
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=1000)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    n: int | None = Field(default=None, ge=1, le=128)
    max_tokens: int | None = Field(default=None, ge=1, le=100_000)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=100_000)
    tools: list[dict[str, Any]] | None = None
    response_format: dict[str, Any] | None = None
    cadenza: CadenzaOptions | None = None


# -- responses ------------------------------------------------------------------------
class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: str | None = None
    """With a response_format: why no answer matched the schema (the content is then the
    best answer found, which does not)."""


class Choice(BaseModel):
    index: int = 0
    message: ChatMessageOut
    logprobs: None = None
    finish_reason: Literal["stop"] = "stop"


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletionOut(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[Choice]
    usage: CompletionUsage
    cadenza: dict[str, Any] = Field(
        description="run_id, status, score, finish_reason, finish_message, requirements "
        "(name, description, is_mandatory, score, reason, validator, weight), usage, models."
    )


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "cadenza"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


# -- endpoints ------------------------------------------------------------------------
def _manager(request: Request) -> RunManager:
    manager: RunManager = request.app.state.runs
    return manager


@router.post(
    "/chat/completions",
    response_model=None,
    responses={
        200: {
            "model": ChatCompletionOut,
            "content": {"text/event-stream": {}},
            "description": "A chat completion, or with stream=true its chunks.",
        }
    },
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request
) -> ChatCompletionOut | StreamingResponse:
    manager = _manager(request)
    caller = caller_of(request)
    record = await manager.start(_spec(body, manager.catalog), caller)
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            _stream(manager, record, body.model, include_usage, caller),
            media_type="text/event-stream",
            headers={**sse.SSE_HEADERS, "X-Cadenza-Run-Id": record.id},
        )
    final = await manager.wait(record.id, caller)
    if final.status == "failed" and not final.result:
        raise ApiError(502, f"run {final.id} failed: {final.error}", code="run_failed")
    return _completion(final, body.model)


@router.get("/models", response_model=ModelList)
async def list_models(request: Request) -> ModelList:
    """Exactly the model names a request may use: `cadenza` (the server's default models)
    and `cadenza/<name>` for each name the server offers (the same names, without
    `cadenza/`, go in a run's `models` and `judge_model`)."""
    created = int(request.app.state.started_at)
    ids = _model_ids(_manager(request).catalog)
    return ModelList(data=[ModelOut(id=m, created=created) for m in ids])


@router.get("/models/{model_id:path}", response_model=ModelOut)
async def get_model(model_id: str, request: Request) -> ModelOut:
    catalog = _manager(request).catalog
    name = model_id.removeprefix(MODEL + "/")
    if model_id != MODEL and (name == model_id or not catalog.allows(name)):
        raise ApiError(
            404,
            f"no model {model_id[:200]!r}: {_names_hint(catalog)}",
            param="model",
            code="model_not_found",
        )
    return ModelOut(id=model_id, created=int(request.app.state.started_at))


def _model_ids(catalog: ModelCatalog) -> list[str]:
    return [MODEL, *(f"{MODEL}/{name}" for name in catalog.names)]


def _names_hint(catalog: ModelCatalog) -> str:
    names = ", ".join(repr(i) for i in _model_ids(catalog))
    fake = f" or any '{MODEL}/fake:<name>'" if catalog.fake_allowed else ""
    return f"use {names}{fake}"


# -- helpers --------------------------------------------------------------------------
def _spec(body: ChatCompletionRequest, catalog: ModelCatalog) -> RunSpec:
    models = _underlying(body.model, catalog)
    if body.n not in (None, 1):
        raise ApiError(400, "n: cadenza returns one answer per request; use n=1", param="n")
    if body.tools:
        raise ApiError(
            400,
            "tools: function calling is not supported by cadenza yet",
            param="tools",
            code="unsupported_tool",
        )
    output_schema = schema_of_format(body.response_format)
    options = body.cadenza or CadenzaOptions()
    return RunSpec(
        source="openai",
        input=_messages(body),
        requirements=requirement_dicts(options.requirements),
        budget=budget_value(options.budget),
        threshold=options.threshold,
        models=models,
        judge_model=options.judge_model,
        max_output_tokens=body.max_completion_tokens or body.max_tokens,
        output_schema=output_schema,
        request=body.model_dump(mode="json", exclude_none=True),
        models_param="model",
    )


def _underlying(model: str, catalog: ModelCatalog) -> list[str] | None:
    """The model names of a request for `model` (None: the server's defaults); checked
    against the catalog by name, before anything resolves them."""
    if model == MODEL:
        return None
    name = model.removeprefix(MODEL + "/")
    if name != model and catalog.allows(name):
        return [name]
    raise ApiError(
        400,
        f"model {model[:200]!r} is not one this server offers: {_names_hint(catalog)}",
        param="model",
        code="model_not_allowed",
    )


def _messages(body: ChatCompletionRequest) -> list[dict[str, str]]:
    out = []
    for i, m in enumerate(body.messages):
        if m.role in ("tool", "function"):
            raise ApiError(
                400,
                f"messages.{i}.role: {m.role!r} messages are not supported "
                "(cadenza has no tools yet)",
                param=f"messages.{i}.role",
            )
        role = "system" if m.role == "developer" else m.role
        if isinstance(m.content, list):
            texts = []
            for j, part in enumerate(m.content):
                if part.type != "text" or part.text is None:
                    raise ApiError(
                        400,
                        f"messages.{i}.content.{j}: content of type {part.type!r} is not "
                        "supported; send text",
                        param=f"messages.{i}.content.{j}",
                    )
                texts.append(part.text)
            content = "\n".join(texts)
        else:
            content = m.content or ""
        out.append({"role": role, "content": content})
    return out


def _extension(record: RunRecord) -> dict[str, Any]:
    rr = record.requirements_result or {}
    return {
        "run_id": record.id,
        "status": record.status,
        "score": rr.get("score"),
        "finish_reason": rr.get("finish_reason"),
        "finish_message": rr.get("finish_message"),
        "requirements": rr.get("requirements", []),
        "usage": usage_of(record).model_dump(),
        "models": record.models,
        "seconds": record.seconds,
        "error": record.error,
        "output": output_of(record),
    }


def _usage(record: RunRecord) -> CompletionUsage:
    u = usage_of(record)
    return CompletionUsage(
        prompt_tokens=u.input_tokens,
        completion_tokens=u.output_tokens,
        total_tokens=u.input_tokens + u.output_tokens,
    )


def _completion(record: RunRecord, model: str) -> ChatCompletionOut:
    return ChatCompletionOut(
        id=f"chatcmpl-{record.id}",
        created=int(record.created_at),
        model=model,
        choices=[
            Choice(message=ChatMessageOut(content=record.result or "", refusal=refusal_of(record)))
        ],
        usage=_usage(record),
        cadenza=_extension(record),
    )


def _progress(update: RunUpdate) -> str | None:
    if update.event == "best_changed":
        return f"cadenza best_score={update.data.get('best_score')}"
    if update.event == "node_finished":
        n = update.data["node"]
        return f"cadenza {n['kind']} {n['id']} {n['status']} model={n.get('model')}"
    if update.event == "message":
        return f"cadenza {update.data.get('message', '')}"
    return None


async def _stream(
    manager: RunManager, record: RunRecord, model: str, include_usage: bool, caller: Caller
) -> AsyncIterator[bytes]:
    base = {
        "id": f"chatcmpl-{record.id}",
        "object": "chat.completion.chunk",
        "created": int(record.created_at),
        "model": model,
        "system_fingerprint": None,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return sse.event(None, {**base, "choices": [choice], **extra})

    ended = False
    try:
        async with manager.subscribe(record.id, caller) as (_, _nodes, queue):
            yield chunk({"role": "assistant", "content": ""})
            async for update in sse.drain(queue):
                if isinstance(update, bytes):
                    yield update
                    continue
                note = _progress(update)
                if note:
                    yield sse.comment(note)
        final = await manager.require(record.id, caller)
        ended = True
        if final.status == "failed" and not final.result:
            body = error_body(502, f"run {final.id} failed: {final.error}", code="run_failed")
            yield sse.event(None, body)
        else:
            text = final.result or ""
            for start in range(0, len(text), CHUNK_CHARS):
                yield chunk({"content": text[start : start + CHUNK_CHARS]})
            refusal = refusal_of(final)
            if refusal:
                yield chunk({"refusal": refusal})
            yield chunk({}, "stop", cadenza=_extension(final))
            if include_usage:
                yield sse.event(None, {**base, "choices": [], "usage": _usage(final).model_dump()})
        yield b"data: [DONE]\n\n"
    finally:
        if not ended:  # the client went away: stop spending on an answer nobody reads
            live = manager.live(record.id)
            if live is not None:
                live.control.cancel()
