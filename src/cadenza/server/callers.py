"""Who is asking: the id of the key a request came with, and whether it is an admin key.

A run records the id of the key that created it (``owner``); a key sees and cancels its
own runs, an admin key every run. Without keys the server is open (and on loopback only):
every request is `OPEN`, which sees every run.

The id is derived from the key (a SHA-256 prefix), so that the database never holds a key:

    key_id("k1")            # 'key_8f25...' (16 hex digits)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from starlette.requests import HTTPConnection

__all__ = ["CALLER_SCOPE_KEY", "NOBODY", "OPEN", "Caller", "caller_of", "key_id"]

CALLER_SCOPE_KEY = "cadenza.caller"


def key_id(key: str) -> str:
    """A stable, short id for `key` that does not reveal it."""
    digest = hashlib.sha256(b"cadenza-api-key\x00" + key.encode("utf-8")).hexdigest()
    return f"key_{digest[:16]}"


@dataclass(frozen=True)
class Caller:
    key_id: str | None
    """The id of the caller's key; None on a server without keys."""
    admin: bool = False

    def sees(self, owner: str | None) -> bool:
        """Whether this caller may see (and cancel) a run created by `owner`."""
        return self.admin or (self.key_id is not None and owner == self.key_id)

    @property
    def owner_filter(self) -> str | None:
        """What to filter run lists on: None for every run."""
        return None if self.admin else (self.key_id or "")


OPEN = Caller(key_id=None, admin=True)
"""Every request on a server without keys."""

NOBODY = Caller(key_id=None, admin=False)
"""A request no key vouched for (on a public path): it sees no run."""


def caller_of(connection: HTTPConnection) -> Caller:
    """The caller `AuthMiddleware` recorded for this request."""
    caller = connection.scope.get(CALLER_SCOPE_KEY)
    return caller if isinstance(caller, Caller) else NOBODY
