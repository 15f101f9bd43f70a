"""API keys: ``Authorization: Bearer <key>`` on every API route, compared in constant time.

Keys come from ``--api-key`` or ``CADENZA_API_KEYS`` (comma-separated). With no key the
server is open, which `cadenza serve` allows on loopback only. The web page's HTML and
static files are public (they hold no data); the page sends the key it is given.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_body

__all__ = ["PUBLIC_PATHS", "AuthMiddleware", "key_matches"]

PUBLIC_PATHS = ("/", "/healthz", "/favicon.ico", "/openapi.json", "/docs", "/redoc")
PUBLIC_PREFIXES = ("/static/", "/runs/", "/docs/")


def key_matches(given: str, keys: tuple[bytes, ...]) -> bool:
    """Whether `given` is one of `keys`; every key is compared, each in constant time."""
    candidate = given.encode("utf-8", "surrogateescape")
    found = False
    for key in keys:
        found |= hmac.compare_digest(candidate, key)
    return found


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class AuthMiddleware:
    def __init__(self, app: ASGIApp, keys: tuple[str, ...]) -> None:
        self.app = app
        self.keys = tuple(k.encode("utf-8") for k in keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys or is_public(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        header = ""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        scheme, _, token = header.partition(" ")
        if not header:
            message = "missing API key: send the header 'Authorization: Bearer <key>'"
        elif scheme.lower() != "bearer" or not token.strip():
            message = "malformed Authorization header: use 'Authorization: Bearer <key>'"
        elif not key_matches(token.strip(), self.keys):
            message = "invalid API key"
        else:
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
