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

import asyncio
import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Generic, TypeVar

from ..errors import PermanentProviderError, ProviderError, TransientProviderError
from .base import Message, Model, ModelRequest, ModelResponse

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

__all__ = ["OpenAICompatibleModel", "PerLoopClients", "map_status", "server_message"]

C = TypeVar("C")

TRANSIENT_STATUS = frozenset({408, 409, 425, 429})
"""4xx statuses worth retrying (every 5xx is): timeout, conflict, too early, rate limit."""


class OpenAICompatibleModel(Model):
    """A chat model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    - `name`: the full user-facing name (``openai:gpt-4.1-mini``), used in traces and prices.
    - `model_id`: the ``model`` field sent to the server; None asks the server (``GET
      /models``) on first use and takes the first model it lists.
    - `base_url`: the API root, ending in ``/v1`` for most servers.
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
        self._clients: PerLoopClients[AsyncOpenAI] = PerLoopClients(_close_openai)
        # Adapted on the server's word: newer OpenAI models take only `max_completion_tokens`
        # and some reasoning models reject a `temperature`.
        self._token_param = "max_tokens"
        self._send_temperature = True

    # -- the Model interface ------------------------------------------------------------

    async def complete(self, request: ModelRequest) -> ModelResponse:
        import openai

        client = await self._client()
        model_id = await self._resolve_model_id(client)
        messages = [_to_openai(m) for m in request.messages]
        for _ in range(3):
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
                )
                break
            except openai.BadRequestError as exc:
                what = server_message(exc).lower()
                if token_param == "max_tokens" and "max_completion_tokens" in what:
                    self._token_param = "max_completion_tokens"
                    continue
                if send_temperature and "temperature" in what and "unsupported" in what:
                    self._send_temperature = False
                    continue
                raise self._map_error(exc, request.timeout) from exc
            except openai.OpenAIError as exc:
                raise self._map_error(exc, request.timeout) from exc
        else:  # pragma: no cover - the loop breaks or raises within three tries
            raise PermanentProviderError(f"{self.name}: the server keeps rejecting the request")
        return await self._to_response(completion, request, send_temperature)

    async def aclose(self) -> None:
        """Close this event loop's connections (other loops' close when those loops end)."""
        await self._clients.aclose()

    # -- hooks for subclasses -------------------------------------------------------------

    async def _resolve_base_url(self) -> str:
        """The API root to talk to; `LocalModel` starts its server here."""
        return self.base_url

    def _explain_bad_request(self, message: str) -> str:
        return message

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
        except openai.OpenAIError as exc:
            raise self._map_error(exc, None) from exc
        if not page.data:
            raise PermanentProviderError(
                f"{self.name}: {self.base_url} lists no models; name one as {self.base_url}#<model>"
            )
        self.model_id = page.data[0].id
        return self.model_id

    async def _to_response(
        self, completion: ChatCompletion, request: ModelRequest, sent_temperature: bool
    ) -> ModelResponse:
        if not completion.choices:
            raise PermanentProviderError(f"{self.name}: {self.base_url} returned no choices")
        choice = completion.choices[0]
        text = choice.message.content or ""
        finish = str(choice.finish_reason or "stop")
        extra: dict[str, object] = {"served_model": completion.model}
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
            return self._map_status(exc.status_code, server_message(exc))
        return PermanentProviderError(f"{self.name}: {type(exc).__name__}: {exc}")

    def _map_status(self, status: int, detail: str) -> ProviderError:
        return map_status(
            self.name,
            self.base_url,
            status,
            detail,
            model_id=self.model_id,
            api_key_env=self.api_key_env,
            not_found_hint=self.not_found_hint,
            explain_bad_request=self._explain_bad_request,
        )


class PerLoopClients(Generic[C]):
    """One SDK client per event loop, closed when that loop shuts down.

    HTTP connections belong to the loop that opened them, and a model resolved once is
    shared by every ``cadenza.run`` (each runs its own loop), so each loop gets its own
    client. A "keeper" async generator started on the loop is finalized by the loop's
    ``shutdown_asyncgens()`` (``asyncio.run`` and pytest-asyncio call it), and closes the
    client while its loop can still do so.
    """

    def __init__(self, close: Callable[[C], Awaitable[None]]) -> None:
        self._close = close
        self._lock = threading.Lock()
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[C, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()

    async def get(self, make: Callable[[], Awaitable[C]]) -> C:
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._clients.get(loop)
        if entry is not None:
            return entry[0]
        client = await make()
        with self._lock:
            entry = self._clients.get(loop)
            if entry is None:
                keeper = self._keeper(client)
                self._clients[loop] = (client, keeper)
        if entry is not None:  # another task of this loop got there first
            await self._close(client)
            return entry[0]
        await keeper.__anext__()  # runs to its `yield` at once: no other task sees it unstarted
        return client

    async def aclose(self) -> None:
        """Close the running loop's client (the others close as their loops end)."""
        with self._lock:
            entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()

    async def _keeper(self, client: C) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await self._close(client)


def map_status(
    name: str,
    where: str,
    status: int,
    detail: str,
    *,
    model_id: str | None,
    api_key_env: str | None,
    not_found_hint: str,
    explain_bad_request: Callable[[str], str] | None = None,
) -> ProviderError:
    """The cadenza error for an HTTP error status from a provider (shared by providers)."""
    said = f": {detail}" if detail else ""
    if status == 429:
        return TransientProviderError(
            f"{name}: rate limited by {where} (429){said}; wait, or lower the concurrency",
            status_code=status,
        )
    if status >= 500:
        return TransientProviderError(
            f"{name}: server error {status} at {where}{said}", status_code=status
        )
    if status in TRANSIENT_STATUS:
        return TransientProviderError(
            f"{name}: HTTP {status} from {where}{said}", status_code=status
        )
    if status == 401:
        fix = f"set {api_key_env} to a valid key" if api_key_env else "check the API key"
        return PermanentProviderError(
            f"{name}: {where} rejected the API key (401){said}; {fix}", status_code=status
        )
    if status == 403:
        return PermanentProviderError(
            f"{name}: permission denied by {where} (403){said}; check that your key may use "
            f"{model_id or 'this model'}",
            status_code=status,
        )
    if status == 404:
        what = f"model {model_id!r}" if model_id else "the endpoint"
        return PermanentProviderError(
            f"{name}: {where} could not find {what} (404){said}; {not_found_hint}",
            status_code=status,
        )
    if status == 400 and explain_bad_request is not None:
        detail = explain_bad_request(detail)
        said = f": {detail}" if detail else ""
    return PermanentProviderError(
        f"{name}: {where} rejected the request ({status}){said}", status_code=status
    )


def server_message(exc: Exception) -> str:
    """The server's own words from an SDK error body, else the SDK's message."""
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            message = inner.get("message")
            if isinstance(message, str) and message:
                return message
        elif isinstance(inner, str) and inner:
            return inner
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
    elif isinstance(body, str) and body:
        return body[:500]
    return str(getattr(exc, "message", "") or exc)


async def _close_openai(client: AsyncOpenAI) -> None:
    await client.close()


def _to_openai(message: Message) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}
