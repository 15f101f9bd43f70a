"""The Host header check that defeats DNS rebinding.

A web page on ``attacker.example`` can point its own name at 127.0.0.1 and then talk to a
server on the visitor's loopback as if it were same-origin; the one thing it cannot
change is the Host header, which still says ``attacker.example``. So:

- without keys, the server answers only to loopback names (``localhost``, ``127.0.0.1``,
  ``[::1]``, any port) and to the names given with ``--allowed-host``;
- with keys, it answers to any name, or only to the ``--allowed-host`` names when given.

Anything else gets ``421 Misdirected Request`` with a JSON error saying what to do.
A name ``*.example.com`` allows every subdomain of example.com.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_body
from .settings import ServerSettings, host_name, is_loopback

__all__ = ["HostCheckMiddleware"]


class HostCheckMiddleware:
    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.loopback = not settings.has_keys
        self.open = settings.has_keys and not settings.allowed_hosts
        exact: set[str] = set()
        suffixes: list[str] = []
        for given in settings.allowed_hosts:
            wildcard = given.strip().startswith("*.")
            name = host_name(given.strip()[2:] if wildcard else given)
            if name is None:  # ServerSettings has refused it already
                continue
            if wildcard:
                suffixes.append("." + name)
            else:
                exact.add(name)
        self.exact = exact
        self.suffixes = tuple(suffixes)

    def allows(self, name: str) -> bool:
        if self.loopback and is_loopback(name):
            return True
        return name in self.exact or (bool(self.suffixes) and name.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.open:
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope.get("headers", []) if k == b"host"), None)
        name = host_name(raw.decode("latin-1")) if raw is not None else None
        if name is not None and self.allows(name):
            await self.app(scope, receive, send)
            return
        shown = raw.decode("latin-1")[:100] if raw is not None else None
        if self.loopback:
            fix = (
                "this server has no API key, so it answers only on loopback names "
                "(localhost, 127.0.0.1, [::1]); use one of them, or start it with "
                f"--allowed-host {name or 'NAME'} (or with --api-key)"
            )
        else:
            fix = f"start the server with --allowed-host {name or 'NAME'} to answer to it"
        what = "no Host header" if shown is None else f"host {shown!r} is not served here"
        body = json.dumps(error_body(421, f"{what}: {fix}", code="host_not_allowed")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 421,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
