"""Refuse, before any of it reaches the app, a request body that is

- over the size limit (413),
- JSON that is not UTF-8, holds a lone surrogate (``"\\ud800"``, in a value or a key) or
  is nested deeper than 200 levels (422).

Such text would be stored and then break every later read of it (a lone surrogate cannot
be written out as UTF-8), or exhaust the parser's recursion. The body is parsed once here
by pydantic-core's JSON parser (in Rust, linear time, 200 levels at most) to find out.
"""

from __future__ import annotations

import json

import pydantic_core
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..json_text import lone_surrogate
from .errors import error_body

__all__ = ["MAX_JSON_DEPTH", "BodyLimitMiddleware", "json_body_problem"]

MAX_JSON_DEPTH = 200
"""pydantic-core's recursion limit: deeper JSON is refused."""


def json_body_problem(body: bytes) -> str | None:
    """Why `body` (JSON) must be refused, or None to let the app read it (the app reports
    plain syntax errors itself)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the body is not valid UTF-8 (byte {exc.start}): send JSON text encoded as UTF-8"
    try:
        pydantic_core.from_json(body)
    except ValueError as exc:
        if "recursion limit" in str(exc):
            return (
                f"the body is nested more than {MAX_JSON_DEPTH} levels deep: "
                "flatten its objects and lists"
            )
        found = lone_surrogate(text)
        if found is not None:
            return (
                f"the body holds a lone surrogate ({found}), which is not a character: "
                "text must be valid Unicode (escape a character outside the BMP as a pair)"
            )
    return None


class BodyLimitMiddleware:
    """Reads the whole body first (it is small by construction), then replays it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _refuse(send, 400, "the Content-Length header is not a number")
                    return
                if declared > self.max_bytes:
                    await _refuse(send, 413, self._too_big(declared))
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await _refuse(send, 413, self._too_big(size, at_least=True))
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _is_json(scope):
            problem = json_body_problem(body)
            if problem is not None:
                await _refuse(send, 422, problem)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_big(self, size: int, at_least: bool = False) -> str:
        more = "more than " if at_least else ""
        return (
            f"the request body is {more}{size} bytes; this server takes at most "
            f"{self.max_bytes} bytes"
        )


def _is_json(scope: Scope) -> bool:
    """Whether the app will read the body as JSON (it does when no type is given)."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            kind: bytes = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return True


async def _refuse(send: Send, status: int, message: str) -> None:
    code = {413: "request_too_large", 422: "invalid_body"}.get(status)
    body = json.dumps(error_body(status, message, code=code)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
