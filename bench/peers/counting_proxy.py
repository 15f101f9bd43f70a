"""A counting proxy in front of an OpenAI-compatible model server, for the peers benchmark.

Every arm of `run.py` talks to the model through this proxy, so every arm's tokens are
counted the same way, at the server, whatever the library in front does with them:

    POST /t/<tag>/v1/chat/completions   forwarded; the response's usage is added to <tag>
    ANY  /t/<tag>/<path>                forwarded uncounted (/v1/models, /apply-template,
                                        /tokenize: no tokens are generated)
    POST /score                         {"key", "response"} -> the scorer's verdict (the
                                        peers' reward: cadenza's exact IFEval checks)

A tag names one arm on one prompt (``dspy_bon4.1.1000``), so the driver reads what that
attempt cost with `CountingProxy.take`. Tokens are what the server reports:
``prompt_tokens`` + ``completion_tokens`` of each response. One correction: llama.cpp's
server, asked for several choices at once (``n`` > 1, as optillm's ``bon`` does), reports
the completion tokens of one choice only; the proxy then counts each choice itself with
the server's own tokenizer (the text's tokens, plus the end-of-sequence token when the
choice stopped by itself), and marks the call ``recounted``. The prompt is counted once
per request, as the server reports it (and as OpenAI bills ``n``).

Runs in cadenza's environment (Starlette from the ``server`` extra, httpx2 from openai).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["CountingProxy", "Usage", "serve"]

TAG = re.compile(r"[A-Za-z0-9._-]{1,120}")
MAX_BODY = 8 * 1024 * 1024
HOP_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "accept-encoding"}
)

Scorer = Callable[[str, str], Mapping[str, Any]]
"""``scorer(key, response) -> JSON verdict``; raises KeyError for an unknown key."""


@dataclass
class Usage:
    """What one tag cost at the model server."""

    calls: int = 0
    """Chat-completion requests answered (successfully or not)."""
    choices: int = 0
    """Completions returned (a request with ``n`` = 4 returns 4)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: int = 0
    """Requests the server refused or failed (no tokens counted for them)."""
    recounted: int = 0
    """Requests whose completion tokens the proxy counted itself (``n`` > 1)."""
    cancelled: int = 0
    """Requests the client gave up on before the answer: the proxy cancels them upstream
    (llama.cpp then stops generating) and counts their prompt tokens, as cadenza's own
    ledger does for a call it cancels."""

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "tokens": self.tokens}


class CountingProxy:
    """Forward to `upstream` (the server's root, without ``/v1``), counting per tag.

    `transport` replaces the network (tests pass an `httpx2.ASGITransport` to a fake
    server); `scorer` answers ``POST /score``.
    """

    def __init__(
        self,
        upstream: str,
        *,
        scorer: Scorer | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.scorer = scorer
        self._transport = transport
        self._timeout_s = timeout_s
        self._client: httpx2.AsyncClient | None = None
        self._usage: dict[str, Usage] = {}
        self._inflight: dict[str, int] = {}
        self._settled = asyncio.Event()
        self.app = Starlette(
            routes=[
                Route("/score", self._score, methods=["POST"]),
                Route("/t/{tag}/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/t/{tag}/{path:path}", self._passthrough, methods=["GET", "POST"]),
            ],
            lifespan=self._lifespan,
        )

    # -- what the driver reads ----------------------------------------------------------

    def usage(self, tag: str) -> Usage:
        """The usage counted for `tag` so far (a zero Usage if none)."""
        return self._usage.get(tag, Usage())

    def take(self, tag: str) -> Usage:
        """The usage counted for `tag`, forgetting it."""
        return self._usage.pop(tag, Usage())

    async def drain(self, tag: str, timeout_s: float = 30.0) -> None:
        """Wait until no request of `tag` is still being counted (a client that gave up
        has its answer already; the proxy may still be counting what it cost)."""
        async with asyncio.timeout(timeout_s):
            while self._inflight.get(tag):
                self._settled.clear()
                await self._settled.wait()

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- the routes ---------------------------------------------------------------------

    async def _chat_completions(self, request: Request) -> Response:
        tag = request.path_params["tag"]
        if not TAG.fullmatch(tag):
            return _error(400, "a tag is 1-120 letters, digits, '.', '_' or '-'")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, f"request body over {MAX_BODY} bytes")
        try:
            sent = json.loads(body)
        except ValueError:
            return _error(400, "the request body is not JSON")
        if not isinstance(sent, dict):
            return _error(400, "the request body must be a JSON object")
        if sent.get("stream"):
            return _error(400, "the counting proxy does not forward streamed completions")
        usage = self._usage.setdefault(tag, Usage())
        self._inflight[tag] = self._inflight.get(tag, 0) + 1
        try:
            return await self._count_completion(request, body, sent, usage)
        finally:
            self._inflight[tag] -= 1
            if not self._inflight[tag]:
                del self._inflight[tag]
            self._settled.set()

    async def _count_completion(
        self, request: Request, body: bytes, sent: dict[str, Any], usage: Usage
    ) -> Response:
        upstream = await _unless_disconnected(
            request, self._forward(request, "v1/chat/completions", body)
        )
        usage.calls += 1
        if upstream is None:  # the client gave up; the upstream request is cancelled
            usage.cancelled += 1
            usage.prompt_tokens += await self._prompt_tokens(request, sent)
            return _error(499, "the client closed the request")
        if upstream.status_code != 200:
            usage.errors += 1
            return _relay(upstream)
        try:
            answer = upstream.json()
            choices = answer["choices"]
            assert isinstance(choices, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            usage.errors += 1
            return _relay(upstream)
        reported = answer.get("usage") or {}
        usage.choices += len(choices)
        usage.prompt_tokens += int(reported.get("prompt_tokens") or 0)
        if len(choices) > 1 or "completion_tokens" not in reported:
            usage.completion_tokens += await self._count_choices(request, choices)
            usage.recounted += 1
        else:
            usage.completion_tokens += int(reported.get("completion_tokens") or 0)
        return _relay(upstream)

    async def _passthrough(self, request: Request) -> Response:
        tag, path = request.path_params["tag"], request.path_params["path"]
        if not TAG.fullmatch(tag):
            return _error(400, "a tag is 1-120 letters, digits, '.', '_' or '-'")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, f"request body over {MAX_BODY} bytes")
        return _relay(await self._forward(request, path, body))

    async def _score(self, request: Request) -> Response:
        if self.scorer is None:
            return _error(404, "this proxy has no scorer")
        try:
            sent = json.loads(await request.body())
            key, response = sent["key"], sent["response"]
        except (ValueError, KeyError, TypeError):
            return _error(400, 'send {"key": "...", "response": "..."}')
        if not isinstance(response, str):
            return _error(400, "'response' must be a string")
        try:
            verdict = self.scorer(str(key), response)
        except KeyError:
            return _error(404, f"no prompt with key {key!r}")
        return JSONResponse(dict(verdict))

    # -- forwarding ---------------------------------------------------------------------

    async def _forward(self, request: Request, path: str, body: bytes) -> httpx2.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        try:
            return await self._http().request(
                request.method,
                f"{self.upstream}/{path}",
                params=request.query_params.multi_items(),
                content=body,
                headers=headers,
            )
        except httpx2.HTTPError as exc:
            text = json.dumps({"error": {"message": f"upstream unreachable: {exc}"}})
            return httpx2.Response(502, content=text.encode())

    async def _prompt_tokens(self, request: Request, sent: dict[str, Any]) -> int:
        """The prompt's tokens as the server counts them: its chat template, its tokenizer."""
        try:
            body = json.dumps({"messages": sent.get("messages", [])}).encode()
            templated = await self._forward(request, "apply-template", body)
            prompt = templated.json()["prompt"]
            body = json.dumps({"content": prompt, "add_special": True}).encode()
            return len((await self._forward(request, "tokenize", body)).json()["tokens"])
        except (ValueError, KeyError, TypeError):
            return 0

    async def _count_choices(self, request: Request, choices: list[Any]) -> int:
        total = 0
        for choice in choices:
            message = choice.get("message") or {}
            text = message.get("content") or ""
            if text:
                tokenized = await self._forward(
                    request, "tokenize", json.dumps({"content": text}).encode()
                )
                total += len(tokenized.json().get("tokens", []))
            if choice.get("finish_reason") == "stop":
                total += 1  # the end-of-sequence token the server generated, not in the text
        return total

    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = httpx2.AsyncClient(
                transport=self._transport,
                timeout=self._timeout_s,
                limits=httpx2.Limits(max_connections=64, max_keepalive_connections=16),
            )
        return self._client


async def _unless_disconnected(
    request: Request, forward: Awaitable[httpx2.Response]
) -> httpx2.Response | None:
    """The upstream's answer; or None, the upstream request cancelled, if the client
    disconnects first (a cancelled cadenza call: llama.cpp stops generating too)."""
    answer = asyncio.ensure_future(forward)
    gone = asyncio.ensure_future(_disconnect(request))
    await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
    gone.cancel()
    if answer.done():
        return answer.result()
    answer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await answer
    return None


async def _disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _relay(upstream: httpx2.Response) -> Response:
    media = upstream.headers.get("content-type", "application/json")
    return Response(upstream.content, status_code=upstream.status_code, media_type=media)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message}}, status_code=status)


async def serve(app: Any) -> tuple[str, asyncio.Task[None], Callable[[], None]]:
    """Serve `app` with uvicorn on a free loopback port, in this event loop.

    Returns the root URL, the serving task, and a function that asks it to stop.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
        await asyncio.sleep(0.01)

    def stop() -> None:
        server.should_exit = True

    return f"http://127.0.0.1:{port}", task, stop
