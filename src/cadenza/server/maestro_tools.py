"""Maestro's ``tools`` and ``tool_resources``, as the `ai21` SDK sends them, read into
cadenza's `FileSearch` and `WebSearch`.

    "tools": [{"type": "file_search", "labels": ["hr"]}, {"type": "web_search"}],
    "tool_resources": {"file_search": {"file_ids": ["..."]},
                       "web_search": {"urls": ["https://example.org/"]}}

A tool's options may sit in the tool itself or under ``tool_resources`` (what the tool
leaves out, the resource gives); a resource without its tool in ``tools`` turns the tool
on all the same. ``http`` and ``mcp`` tools are refused (400 ``unsupported_tool``), and
so is ``web_search`` on a server whose operator configured no search provider. Options
cadenza cannot honour are refused, never ignored, except three that only tune AI21's
own engine and change nothing about what may be searched: ``max_neighbors``,
``rephrase_query`` and ``use_cached_pages`` (accepted, without effect).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import UsageError
from ..retrieval import FileSearch
from ..web import WebSearch
from .run_errors import RunRequestError, ToolNotAvailable

__all__ = ["FileSearchOptions", "WebSearchOptions", "tools_from_request"]

Label = Annotated[str, Field(min_length=1, max_length=200)]


class FileSearchOptions(BaseModel):
    """The ``file_search`` tool's options (AI21's names)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["file_search"] = "file_search"
    labels: list[Label] | None = Field(default=None, max_length=100)
    labels_filter_mode: Literal["AND", "OR", "and", "or"] | None = None
    labels_filter: dict[str, Any] | None = Field(
        default=None, description="Not supported: use labels and labels_filter_mode."
    )
    file_ids: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, max_length=1000
    )
    retrieval_similarity_threshold: float | None = Field(
        default=None, ge=-1.0, le=1.0, allow_inf_nan=False
    )
    retrieval_strategy: Literal["segments", "default"] | None = None
    max_neighbors: int | None = Field(default=None, ge=0, le=100)
    path: str | None = Field(
        default=None, max_length=1024, description="cadenza: only files under this path prefix."
    )


class WebSearchOptions(BaseModel):
    """The ``web_search`` tool's options (AI21's names)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["web_search"] = "web_search"
    urls: list[Annotated[str, Field(min_length=1, max_length=2048)]] | None = Field(
        default=None, max_length=20
    )
    query_suffix: str | None = Field(default=None, max_length=200)
    rephrase_query: bool | None = None
    use_cached_pages: bool | None = None


_FUTURE = "cadenza runs file_search and web_search; http and mcp tools are future work"


def tools_from_request(
    tools: list[dict[str, Any]] | None,
    resources: dict[str, Any] | None,
    *,
    web_available: bool,
) -> list[FileSearch | WebSearch]:
    """The run's tools, or a `RunRequestError` naming the field to fix."""
    given: dict[str, tuple[str, dict[str, Any]]] = {}
    for i, tool in enumerate(tools or []):
        kind = tool.get("type") if isinstance(tool, dict) else None
        where = f"tools.{i}"
        if kind in ("http", "mcp"):
            raise ToolNotAvailable(
                f"{where}: tool type {kind!r} is not supported: {_FUTURE}; remove it",
                param=f"{where}.type",
            )
        if kind not in ("file_search", "web_search"):
            raise ToolNotAvailable(
                f"{where}: unknown tool type {kind!r}: use file_search or web_search",
                param=f"{where}.type",
            )
        if kind in given:
            raise RunRequestError(
                f"{where}: {kind} is listed twice; give it once", param=where, code="invalid_tool"
            )
        given[kind] = (where, {k: v for k, v in tool.items() if v is not None})
    for name, value in (resources or {}).items():
        where = f"tool_resources.{name}"
        if name in ("http", "mcp"):
            if value:
                raise ToolNotAvailable(
                    f"{where}: {name!r} is not supported: {_FUTURE}; remove it", param=where
                )
            continue
        if name not in ("file_search", "web_search"):
            raise ToolNotAvailable(
                f"{where}: unknown tool {name!r}: use file_search or web_search", param=where
            )
        if value is None:
            continue
        if not isinstance(value, dict):
            raise RunRequestError(
                f"{where} must be an object of the tool's options", param=where, code="invalid_tool"
            )
        tool_where, options = given.get(name, (where, {"type": name}))
        merged = {**{k: v for k, v in value.items() if v is not None}, **options}
        given[name] = (tool_where, merged)
    out: list[FileSearch | WebSearch] = []
    for kind, (where, options) in given.items():
        if kind == "file_search":
            out.append(_file_search(where, options))
        else:
            if not web_available:
                raise ToolNotAvailable(
                    f"{where}: web_search is not available on this server: its operator has "
                    "configured no search provider; remove the tool or use file_search",
                    param=where,
                )
            out.append(_web_search(where, options))
    return out


def _invalid(where: str, exc: ValidationError) -> RunRequestError:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    return RunRequestError(
        f"{where}.{field}: {err['msg']}", param=f"{where}.{field}", code="invalid_tool"
    )


def _file_search(where: str, options: dict[str, Any]) -> FileSearch:
    try:
        o = FileSearchOptions.model_validate(options)
    except ValidationError as exc:
        raise _invalid(where, exc) from None
    if o.labels_filter:
        raise RunRequestError(
            f"{where}.labels_filter is not supported: filter with labels and "
            "labels_filter_mode (AND or OR)",
            param=f"{where}.labels_filter",
            code="invalid_tool",
        )
    try:
        return FileSearch(
            labels=tuple(o.labels or ()),
            label_mode="AND" if (o.labels_filter_mode or "OR").upper() == "AND" else "OR",
            file_ids=tuple(o.file_ids or ()),
            path_prefix=o.path,
            threshold=o.retrieval_similarity_threshold,
        )
    except UsageError as exc:
        raise RunRequestError(f"{where}: {exc}", param=where, code="invalid_tool") from None


def _web_search(where: str, options: dict[str, Any]) -> WebSearch:
    try:
        o = WebSearchOptions.model_validate(options)
    except ValidationError as exc:
        raise _invalid(where, exc) from None
    try:
        return WebSearch(urls=tuple(o.urls or ()), query_suffix=(o.query_suffix or "").strip())
    except UsageError as exc:
        raise RunRequestError(f"{where}: {exc}", param=where, code="invalid_tool") from None
