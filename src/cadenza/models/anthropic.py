"""Anthropic's Messages API, through the official ``anthropic`` SDK (an optional extra:
``pip install 'cadenza[anthropic]'``).

System messages become the ``system`` parameter. The 2.x SDK has no sampling
temperature, so `ModelRequest.temperature` is not sent (responses say so in
``extra["temperature_ignored"]``).

Constrained decoding: a JSON Schema becomes a strict tool whose ``input_schema`` is the
schema (rewritten for Anthropic's strict subset by `to_strict`; a schema whose root is not
an object is wrapped as ``{"value": ...}``), forced with ``tool_choice``; the tool's input,
as JSON, is the answer text. JSON mode is the same with an open object schema. Grammars
are not supported.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import PermanentProviderError, ProviderError, TransientProviderError, UsageError
from .base import Message, Model, ModelRequest, ModelResponse, ResponseFormat
from .per_loop import PerLoopClients
from .status import map_status, reason_for_bad_request, upstream_text
from .strict_schema import ANTHROPIC_STRICT, StrictSchema, to_strict

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import MessageParam, ToolChoiceToolParam, ToolParam

__all__ = ["DEFAULT_ANTHROPIC_URL", "AnthropicModel", "anthropic_installed"]

DEFAULT_ANTHROPIC_URL = "https://api.anthropic.com"

INSTALL_HINT = "the anthropic SDK is not installed: pip install 'cadenza[anthropic]'"

_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
    "tool_use": "stop",
}

TOOL_DESCRIPTION = "Give your answer as this tool's input."
WRAPPED = "value"
"""The property that carries a schema whose root is not an object."""


@dataclass(frozen=True)
class _Tool:
    """The forced tool that carries one response format."""

    param: dict[str, Any]
    wrapped: bool
    gaps: tuple[str, ...]


def _tool_for(fmt: ResponseFormat) -> _Tool | None:
    """The tool for `fmt`, or None when Anthropic cannot enforce it."""
    name = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in fmt.name)
    name = name[:64] or "output"
    if fmt.kind == "json_object":
        schema: dict[str, Any] = {"type": "object"}
        plain: dict[str, Any] = {
            "name": name,
            "description": TOOL_DESCRIPTION,
            "input_schema": schema,
        }
        return _Tool(plain, False, ())
    if fmt.kind != "json_schema" or not fmt.strict or fmt.schema is None:
        return None
    original = dict(fmt.schema)
    wrapped = original.get("type") != "object" and "properties" not in original
    if wrapped:
        inner = {k: v for k, v in original.items() if k not in ("$defs", "definitions")}
        original = {
            "type": "object",
            "properties": {WRAPPED: inner},
            "required": [WRAPPED],
            **{k: v for k, v in original.items() if k in ("$defs", "definitions")},
        }
    strict = to_strict(original, ANTHROPIC_STRICT)
    if not isinstance(strict, StrictSchema):
        return None
    param: dict[str, Any] = {
        "name": name,
        "description": TOOL_DESCRIPTION,
        "input_schema": strict.schema,
        "strict": True,
    }
    return _Tool(param, wrapped, strict.gaps)


def anthropic_installed() -> bool:
    return importlib.util.find_spec("anthropic") is not None


class AnthropicModel(Model):
    """A Claude model. `model_id` is Anthropic's name, e.g. ``claude-sonnet-4-5``."""

    def __init__(
        self,
        name: str,
        model_id: str,
        api_key: str,
        max_concurrency: int = 4,
        *,
        base_url: str | None = None,
        api_key_env: str | None = "ANTHROPIC_API_KEY",
    ) -> None:
        if not anthropic_installed():
            raise UsageError(f"{name}: {INSTALL_HINT}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, not {max_concurrency}")
        self.name = name
        self.model_id = model_id
        self.api_key = api_key
        self.base_url = (base_url or DEFAULT_ANTHROPIC_URL).rstrip("/")
        self.max_concurrency = max_concurrency
        self.api_key_env = api_key_env
        self._clients: PerLoopClients[AsyncAnthropic] = PerLoopClients(_close_anthropic)

    def supports(self, response_format: ResponseFormat) -> bool:
        return _tool_for(response_format) is not None

    async def complete(self, request: ModelRequest) -> ModelResponse:
        import anthropic

        tool: _Tool | None = None
        if request.response_format is not None:
            tool = _tool_for(request.response_format)
            if tool is None:
                raise ValueError(
                    f"{self.name} cannot enforce a {request.response_format.kind} response format"
                )
        client = await self._clients.get(self._new_client)
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        messages = [_to_anthropic(m) for m in request.messages if m.role != "system"]
        if not messages:
            raise PermanentProviderError(
                f"{self.name}: Anthropic needs a user message, not only a system prompt"
            )
        try:
            message = await client.messages.create(
                model=self.model_id,
                max_tokens=request.max_tokens,
                messages=messages,
                system=system if system else anthropic.omit,
                timeout=request.timeout if request.timeout is not None else anthropic.not_given,
                tools=[_tool_param(tool.param)] if tool else anthropic.omit,
                tool_choice=_tool_choice(tool.param["name"]) if tool else anthropic.omit,
            )
        except anthropic.AnthropicError as exc:
            raise self._map_error(exc, request.timeout) from exc
        try:
            text = _answer_text(message.content, tool)
        except (TypeError, ValueError, KeyError) as exc:
            raise PermanentProviderError(
                f"{self.name}: {self.base_url} sent an answer cadenza cannot read"
            ) from exc
        usage = message.usage
        input_tokens = (
            usage.input_tokens
            + (usage.cache_creation_input_tokens or 0)
            + (usage.cache_read_input_tokens or 0)
        )
        stop = message.stop_reason or "end_turn"
        return ModelResponse(
            text=text,
            input_tokens=input_tokens,
            output_tokens=usage.output_tokens,
            finish_reason=_STOP_REASONS.get(stop, stop),
            model=self.name,
            extra={
                "served_model": message.model,
                "temperature_ignored": True,
                **({"constraint_gaps": list(tool.gaps)} if tool and tool.gaps else {}),
            },
        )

    async def aclose(self) -> None:
        await self._clients.aclose()

    async def _new_client(self) -> AsyncAnthropic:
        from anthropic import AsyncAnthropic

        return AsyncAnthropic(api_key=self.api_key, base_url=self.base_url, max_retries=0)

    def _map_error(self, exc: Exception, timeout: float | None) -> ProviderError:
        import anthropic

        where = self.base_url
        overloaded: tuple[type[Exception], ...] = tuple(
            cls for cls in (getattr(anthropic, "OverloadedError", None),) if cls is not None
        )
        if overloaded and isinstance(exc, overloaded):
            return TransientProviderError(
                f"{self.name}: Anthropic is overloaded (HTTP 529); retry later",
                status_code=getattr(exc, "status_code", None),
            )
        if isinstance(exc, anthropic.APITimeoutError):
            after = f" within {timeout:g} s" if timeout is not None else ""
            return TransientProviderError(f"{self.name}: no answer from {where}{after}")
        if isinstance(exc, anthropic.APIConnectionError):
            return TransientProviderError(
                f"{self.name}: could not reach {where}: check your network, or use "
                "--model local:smollm2"
            )
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            return map_status(
                self.name,
                where,
                status,
                model_id=self.model_id,
                api_key_env=self.api_key_env,
                not_found_hint="check the model name (e.g. anthropic:claude-sonnet-4-5)",
                bad_request=(
                    reason_for_bad_request(upstream_text(exc)) if 400 <= status < 500 else None
                ),
            )
        return PermanentProviderError(
            f"{self.name}: {where} sent an answer cadenza cannot read ({type(exc).__name__})"
        )


def _answer_text(content: Any, tool: _Tool | None) -> str:
    if tool is None:
        return "".join(block.text for block in content if block.type == "text")
    for block in content:
        if block.type == "tool_use" and block.name == tool.param["name"]:
            data = block.input
            if tool.wrapped:
                data = data[WRAPPED]
            return json.dumps(data, ensure_ascii=False)
    return ""  # no tool call (e.g. cut at max_tokens): a failed candidate, not a crash


def _tool_param(param: dict[str, Any]) -> ToolParam:
    return param  # type: ignore[return-value]  # built to ToolParam's shape


def _tool_choice(name: str) -> ToolChoiceToolParam:
    return {"type": "tool", "name": name}


def _to_anthropic(message: Message) -> MessageParam:
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


async def _close_anthropic(client: AsyncAnthropic) -> None:
    await client.close()
