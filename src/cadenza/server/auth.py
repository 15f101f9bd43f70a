"""API keys: ``Authorization: Bearer <key>`` on every API route, compared in constant time.

Keys come from ``--api-key`` or ``CADENZA_API_KEYS`` (comma-separated); admin keys, which
see every run, from ``--admin-key`` or ``CADENZA_ADMIN_KEYS``. With no key the server is
open, which `cadenza serve` allows on loopback only. The web page's HTML and static files
are public (they hold no data); the page sends the key it is given.

Keys are compared as the bytes the client sent against each key's UTF-8 bytes, so a key
may hold any character (a header is bytes; decoding it as latin-1 would never match).
The request's `Caller` (the key's id, admin or not) is left in the ASGI scope for the API.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from .callers import CALLER_SCOPE_KEY, NOBODY, OPEN, Caller, key_id
from .errors import error_body

__all__ = ["PUBLIC_PATHS", "AuthMiddleware", "key_matches"]

PUBLIC_PATHS = ("/", "/healthz", "/favicon.ico", "/openapi.json", "/docs", "/redoc")
PUBLIC_PREFIXES = ("/static/", "/runs/", "/docs/")


def key_matches(given: str | bytes, keys: tuple[bytes, ...]) -> bool:
    """Whether `given` is one of `keys`; every key is compared, each in constant time."""
    return _match(given, keys) is not None


def _match(given: str | bytes, keys: tuple[bytes, ...]) -> int | None:
    candidate = given if isinstance(given, bytes) else given.encode("utf-8", "surrogateescape")
    found: int | None = None
    for i, key in enumerate(keys):
        if hmac.compare_digest(candidate, key) and found is None:
            found = i
    return found


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class AuthMiddleware:
    def __init__(
        self, app: ASGIApp, keys: tuple[str, ...], admin_keys: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        every = tuple(dict.fromkeys([*admin_keys, *keys]))
        self.keys = tuple(k.encode("utf-8") for k in every)
        self.callers = tuple(Caller(key_id(k), admin=k in admin_keys) for k in every)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.keys:
            scope[CALLER_SCOPE_KEY] = OPEN
            await self.app(scope, receive, send)
            return
        if is_public(scope.get("path", "")):
            scope[CALLER_SCOPE_KEY] = NOBODY
            await self.app(scope, receive, send)
            return
        header = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                header = value
                break
        scheme, _, token = header.partition(b" ")
        token = token.strip()
        match = None
        if not header:
            message = "missing API key: send the header 'Authorization: Bearer <key>'"
        elif scheme.lower() != b"bearer" or not token:
            message = "malformed Authorization header: use 'Authorization: Bearer <key>'"
        else:
            match = _match(token, self.keys)
            message = "invalid API key"
        if match is not None:
            scope[CALLER_SCOPE_KEY] = self.callers[match]
            await self.app(scope, receive, send)
            return
        body = json.dumps(error_body(401, message, code="invalid_api_key")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="cadenza"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
