"""Anthropic's Messages API, through the official ``anthropic`` SDK (an optional extra:
``pip install 'cadenza[anthropic]'``).

System messages become the ``system`` parameter. The 2.x SDK has no sampling
temperature, so `ModelRequest.temperature` is not sent (responses say so in
``extra["temperature_ignored"]``).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from ..errors import PermanentProviderError, ProviderError, TransientProviderError, UsageError
from .base import Message, Model, ModelRequest, ModelResponse
from .openai import PerLoopClients, map_status, server_message

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import MessageParam

__all__ = ["DEFAULT_ANTHROPIC_URL", "AnthropicModel", "anthropic_installed"]

DEFAULT_ANTHROPIC_URL = "https://api.anthropic.com"

INSTALL_HINT = "the anthropic SDK is not installed: pip install 'cadenza[anthropic]'"

_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


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

    async def complete(self, request: ModelRequest) -> ModelResponse:
        import anthropic

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
            )
        except anthropic.AnthropicError as exc:
            raise self._map_error(exc, request.timeout) from exc
        text = "".join(block.text for block in message.content if block.type == "text")
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
            extra={"served_model": message.model, "temperature_ignored": True},
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
                f"{self.name}: Anthropic is overloaded ({server_message(exc)}); retry later",
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
            return map_status(
                self.name,
                where,
                exc.status_code,
                server_message(exc),
                model_id=self.model_id,
                api_key_env=self.api_key_env,
                not_found_hint="check the model name (e.g. anthropic:claude-sonnet-4-5)",
            )
        return PermanentProviderError(f"{self.name}: {type(exc).__name__}: {exc}")


def _to_anthropic(message: Message) -> MessageParam:
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


async def _close_anthropic(client: AsyncAnthropic) -> None:
    await client.close()
