"""What the user gets back: the answer, per-requirement scores, usage and the call tree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "DataSources",
    "FileSource",
    "FinishReason",
    "NodeKind",
    "NodeStatus",
    "RequirementResult",
    "RequirementsResult",
    "Result",
    "TraceNode",
    "Usage",
    "WebSource",
]

FinishReason = Literal[
    "all_requirements_met",
    "threshold_reached",
    "budget_exhausted",
    "no_further_improvement",
    "cancelled",
    "error",
]

NodeKind = Literal[
    "run", "generate", "revise", "repair", "judge", "check", "search", "fetch", "passage"
]
"""What a trace node is: a model call (``generate``, ``revise``, ``judge``), a code check
or repair, or retrieval: a ``search`` (one query to one tool), a ``fetch`` (one web page)
and a ``passage`` (one passage a search found; a child of its search)."""
NodeStatus = Literal["pending", "running", "ok", "failed", "cancelled"]


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    """Calls to a model with no known price: their cost is unknown, not zero."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class RequirementResult(BaseModel):
    name: str
    description: str
    is_mandatory: bool
    score: float = Field(ge=0.0, le=1.0)
    reason: str
    validator: str = ""
    """Who judged it: ``code:<name>`` or ``judge:<model>``."""
    weight: float = 1.0


class RequirementsResult(BaseModel):
    score: float = Field(ge=0.0, le=1.0)
    finish_reason: FinishReason
    finish_message: str = ""
    requirements: list[RequirementResult] = Field(default_factory=list)


class TraceNode(BaseModel):
    id: str
    parent: str | None
    kind: NodeKind
    model: str | None = None
    status: NodeStatus = "pending"
    candidate_id: str | None = None
    """For generate/revise: the candidate it produced; for judge/check: the one it scored."""
    requirement: str | None = None
    messages: list[dict[str, str]] = Field(default_factory=list)
    response: str | None = None
    temperature: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    latency_s: float = 0.0
    attempts: int = 0
    error: str | None = None
    scores: dict[str, float] = Field(default_factory=dict)
    detail: dict[str, Any] = Field(default_factory=dict)

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        """A short repr: what the node is and did, not the messages it carried."""
        yield "id", self.id
        yield "kind", self.kind
        yield "status", self.status
        if self.model:
            yield "model", self.model
        if self.candidate_id:
            yield "candidate_id", self.candidate_id
        if self.requirement:
            yield "requirement", self.requirement
        yield "tokens", self.input_tokens + self.output_tokens
        if self.response is not None:
            yield "response", _preview(self.response)
        if self.error:
            yield "error", _preview(self.error)


class FileSource(BaseModel):
    """A passage of the document library that the run showed the model."""

    id: str
    """The short id the model saw and cites: ``P1``, ``P2``, ..."""
    text: str
    file_id: str
    file_name: str
    score: float
    """The search's score (higher is better)."""
    order: int
    """Its place among the passages shown to the model, from 1 (``P<order>``)."""
    title: str = ""
    passage_id: str = ""
    """The library's stable id of the passage (`Library.passage` looks it up)."""
    query: str = ""
    """The search that found it."""
    cited: bool = False
    """Whether the answer cites it."""


class WebSource(BaseModel):
    """A web passage (a search result's snippet, or part of a fetched page) the run
    showed the model."""

    id: str
    text: str
    url: str
    score: float
    order: int
    title: str = ""
    query: str = ""
    cited: bool = False


class DataSources(BaseModel):
    """What retrieval found for the answer, and what it could not do."""

    file_search: list[FileSource] = Field(default_factory=list)
    web_search: list[WebSource] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    """What the searches could not do or found wrong: an empty library, filters that
    match no file, a search provider that failed (the run went on without it)."""
    empty_library: bool = False
    """A file search ran over a library (or a key's part of it) with no files."""
    unknown_file_ids: list[str] = Field(default_factory=list)
    """Requested file ids that name no file (none is an error)."""
    unmatched_labels: list[str] = Field(default_factory=list)
    """Requested labels that no file carries."""
    failed_searches: int = 0
    """Searches that failed (a provider down, slow or rate-limited): trace nodes with
    status ``failed``."""


class Result(BaseModel):
    """The outcome of a run. Same shape in Python, in the CLI's ``--json`` and over HTTP."""

    result: str
    output: Any = None
    """With an output type: the best answer as a validated value (a pydantic model, a
    list, a dict, ...); None when no answer matched the type, or without an output type."""
    requirements_result: RequirementsResult
    usage: Usage
    trace: list[TraceNode] = Field(default_factory=list)
    best_candidate_id: str | None = None
    models: list[str] = Field(default_factory=list)
    seconds: float = 0.0
    data_sources: DataSources | None = None
    """The passages retrieved and shown to the model, when the task had tools (file or
    web search); None otherwise."""

    @property
    def score(self) -> float:
        return self.requirements_result.score

    @property
    def finish_reason(self) -> FinishReason:
        return self.requirements_result.finish_reason

    def to_json(self, **kwargs: Any) -> str:
        return self.model_dump_json(**kwargs)

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        """A short repr (the trace alone can be thousands of characters): the answer's
        start, the score, why it stopped, the usage and the size of the trace."""
        yield "result", _preview(self.result)
        yield "score", round(self.score, 4)
        yield "finish_reason", self.finish_reason
        yield "usage", self.usage
        yield "nodes", len(self.trace)


def _preview(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
