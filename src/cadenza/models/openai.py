"""Any server that speaks the OpenAI chat-completions API: OpenAI, OpenRouter, Ollama,
vLLM, llama.cpp (including the embedded one, see `local.py`).

Built on the official ``openai`` SDK (``AsyncOpenAI``) with its retries turned off: the
engine retries, so a provider makes exactly one attempt and says whether another may help
(`TransientProviderError`) or not (`PermanentProviderError`).

One `OpenAICompatibleModel` can be shared by runs on different event loops (each
``cadenza.run`` call has its own): it keeps one SDK client per loop and closes it when
that loop shuts down.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import PermanentProviderError, ProviderError, TransientProviderError
from .base import Message, Model, ModelRequest, ModelResponse, ResponseFormat
from .constraints import (
    FORMAT_DROPPED,
    JSON_OBJECT_NOTE,
    NO_CONSTRAINTS,
    ConstraintDialect,
    WireConstraint,
)
from .per_loop import PerLoopClients
from .status import (
    FORMAT_REFUSED,
    BadRequestReason,
    map_status,
    reason_for_bad_request,
    upstream_text,
)

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

__all__ = ["OpenAICompatibleModel"]


class OpenAICompatibleModel(Model):
    """A chat model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    - `name`: the full user-facing name (``openai:gpt-4.1-mini``), used in traces and prices.
    - `model_id`: the ``model`` field sent to the server; None asks the server (``GET
      /models``) on first use and takes the first model it lists.
    - `base_url`: the API root, ending in ``/v1`` for most servers.
    - `constraints`: how this server constrains decoding (see `cadenza.models.constraints`);
      the default, none, makes `supports` say no to every response format.
    - `api_key_env`, `unreachable_hint`, `not_found_hint`: make error messages say what to do.
    """

    def __init__(
        self,
        name: str,
        model_id: str | None,
        base_url: str,
        api_key: str = "EMPTY",
        max_concurrency: int = 4,
        *,
        default_headers: Mapping[str, str] | None = None,
        api_key_env: str | None = None,
        unreachable_hint: str = "check the URL",
        not_found_hint: str = "check the model name and that the URL is the API root (…/v1)",
        constraints: ConstraintDialect = NO_CONSTRAINTS,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, not {max_concurrency}")
        self.name = name
        self.model_id = model_id
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.max_concurrency = max_concurrency
        self.default_headers = dict(default_headers or {})
        self.api_key_env = api_key_env
        self.unreachable_hint = unreachable_hint
        self.not_found_hint = not_found_hint
        self.constraints = constraints
        self._clients: PerLoopClients[AsyncOpenAI] = PerLoopClients(_close_openai)
        # Adapted on the server's word: newer OpenAI models take only `max_completion_tokens`
        # and some reasoning models reject a `temperature`.
        self._token_param = "max_tokens"
        self._send_temperature = True

    # -- the Model interface ------------------------------------------------------------

    def supports(self, response_format: ResponseFormat) -> bool:
        return self.constraints.supports(response_format)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        import openai

        client = await self._client()
        model_id = await self._resolve_model_id(client)
        messages = [_to_openai(m) for m in request.messages]
        wire: WireConstraint | None = None
        if request.response_format is not None:
            wire = self.constraints.wire(request.response_format)
            if wire.needs_json_word and not any(
                "json" in m.content.lower() for m in request.messages
            ):
                messages.insert(0, {"role": "system", "content": JSON_OBJECT_NOTE})
        gaps = wire.gaps if wire else ()
        for _ in range(4):
            token_param = self._token_param
            send_temperature = self._send_temperature
            try:
                completion = await client.chat.completions.create(
                    model=model_id,
                    messages=messages,
                    max_tokens=request.max_tokens if token_param == "max_tokens" else openai.omit,
                    max_completion_tokens=(
                        request.max_tokens if token_param != "max_tokens" else openai.omit
                    ),
                    temperature=request.temperature if send_temperature else openai.omit,
                    seed=request.seed if request.seed is not None else openai.omit,
                    timeout=request.timeout if request.timeout is not None else openai.not_given,
                    response_format=(
                        _response_format(wire.response_format)
                        if wire is not None and wire.response_format is not None
                        else openai.omit
                    ),
                    extra_body=wire.extra_body if wire is not None and wire.extra_body else None,
                )
                break
            except openai.BadRequestError as exc:
                said = upstream_text(exc).lower()  # read to adapt, never repeated
                if token_param == "max_tokens" and "max_completion_tokens" in said:
                    self._token_param = "max_completion_tokens"
                    continue
                if send_temperature and "temperature" in said and "unsupported" in said:
                    self._send_temperature = False
                    continue
                if wire is not None and reason_for_bad_request(said) is FORMAT_REFUSED:
                    # The call still runs, unconstrained; cadenza validates the answer.
                    wire, gaps = None, (FORMAT_DROPPED,)
                    continue
                raise self._map_error(exc, request.timeout) from exc
            except openai.OpenAIError as exc:
                raise self._map_error(exc, request.timeout) from exc
        else:  # pragma: no cover - the loop breaks or raises within four tries
            raise PermanentProviderError(f"{self.name}: the server keeps rejecting the request")
        try:
            response = await self._to_response(completion, request, send_temperature)
        except ProviderError:
            raise
        except Exception as exc:  # a body the SDK let through but that is not a completion
            raise PermanentProviderError(
                f"{self.name}: {self.base_url} sent an answer that is not a chat completion; "
                "check that the URL is an OpenAI-compatible API root (…/v1)"
            ) from exc
        if gaps:
            response.extra["constraint_gaps"] = list(gaps)
        return response

    async def aclose(self) -> None:
        """Close this event loop's connections (other loops' close when those loops end)."""
        await self._clients.aclose()

    # -- hooks for subclasses -------------------------------------------------------------

    async def _resolve_base_url(self) -> str:
        """The API root to talk to; `LocalModel` starts its server here."""
        return self.base_url

    def _bad_request_reason(self, upstream: str) -> BadRequestReason | None:
        """Our reason for a 400, read from (never quoting) the server's message."""
        return reason_for_bad_request(upstream)

    # -- internals --------------------------------------------------------------------

    async def _client(self) -> AsyncOpenAI:
        return await self._clients.get(self._new_client)

    async def _new_client(self) -> AsyncOpenAI:
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            api_key=self.api_key,
            base_url=await self._resolve_base_url(),
            max_retries=0,
            default_headers=self.default_headers or None,
        )

    async def _resolve_model_id(self, client: AsyncOpenAI) -> str:
        if self.model_id is not None:
            return self.model_id
        import openai

        try:
            page = await client.models.list()
            ids = [str(m.id) for m in page.data if getattr(m, "id", None)]
        except openai.OpenAIError as exc:
            raise self._map_error(exc, None) from exc
        except Exception as exc:  # a body that is not a model list
            raise PermanentProviderError(
                f"{self.name}: {self.base_url} did not list its models; "
                f"name one as {self.base_url}#<model>"
            ) from exc
        if not ids:
            raise PermanentProviderError(
                f"{self.name}: {self.base_url} lists no models; name one as {self.base_url}#<model>"
            )
        self.model_id = ids[0]
        return self.model_id

    async def _to_response(
        self, completion: ChatCompletion, request: ModelRequest, sent_temperature: bool
    ) -> ModelResponse:
        if not completion.choices:
            raise PermanentProviderError(f"{self.name}: {self.base_url} returned no choices")
        choice = completion.choices[0]
        text = choice.message.content or ""
        if not isinstance(text, str):
            raise TypeError("the message content is not text")
        finish = str(choice.finish_reason or "stop")
        extra: dict[str, object] = {"served_model": str(completion.model)[:200]}
        usage = completion.usage
        if usage is not None and usage.prompt_tokens is not None:
            input_tokens = int(usage.prompt_tokens)
            output_tokens = int(usage.completion_tokens or 0)
        else:
            # No usage reported: bound it from above so budgets stay safe.
            input_tokens = await self.count_input_tokens(request.messages)
            output_tokens = (
                request.max_tokens
                if finish == "length"
                else min(request.max_tokens, len(text.encode("utf-8")) + 1)
            )
            extra["usage_estimated"] = True
        if not sent_temperature:
            extra["temperature_ignored"] = True
        return ModelResponse(
            text=text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            finish_reason=finish,
            model=self.name,
            extra=extra,
        )

    def _map_error(self, exc: Exception, timeout: float | None) -> ProviderError:
        import openai

        where = self.base_url
        if isinstance(exc, openai.APITimeoutError):
            after = f" within {timeout:g} s" if timeout is not None else ""
            return TransientProviderError(f"{self.name}: no answer from {where}{after}")
        if isinstance(exc, openai.APIConnectionError):
            return TransientProviderError(
                f"{self.name}: could not reach {where}: is the server running? "
                f"{self.unreachable_hint}"
            )
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            return map_status(
                self.name,
                where,
                status,
                model_id=self.model_id,
                api_key_env=self.api_key_env,
                not_found_hint=self.not_found_hint,
                bad_request=(
                    self._bad_request_reason(upstream_text(exc)) if 400 <= status < 500 else None
                ),
            )
        return PermanentProviderError(
            f"{self.name}: {where} sent an answer cadenza cannot read ({type(exc).__name__}); "
            "check that the URL is an OpenAI-compatible API root (…/v1)"
        )


def _response_format(fields: dict[str, Any]) -> Any:
    """The SDK types `response_format` as a union of TypedDicts; ours is built to match."""
    return fields


async def _close_openai(client: AsyncOpenAI) -> None:
    await client.close()


def _to_openai(message: Message) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}
