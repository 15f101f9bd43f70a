"""How one server is configured: where it listens, its database, keys and default models."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from ..runner import RunOptions
from ..store import default_db_url

__all__ = ["ServerSettings", "is_loopback", "keys_from_env"]

MiB = 1 << 20


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    db_url: str = field(default_factory=default_db_url)
    api_keys: tuple[str, ...] = ()
    """Bearer keys any of which grants access; none means no auth (loopback only)."""
    models: tuple[str, ...] = ()
    """The underlying model(s) of the model name ``cadenza`` and of runs that name none;
    empty means cadenza's own default (``local:smollm2``)."""
    judge_model: str | None = None
    max_body_bytes: int = MiB
    max_active_runs: int = 256
    """Runs in progress at once; past this, new runs get 429."""
    shutdown_grace_s: float = 5.0
    retention_s: float | None = None
    """Delete runs that finished longer ago than this, periodically; None keeps them all."""
    options: RunOptions = field(default_factory=RunOptions)


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def keys_from_env(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """Keys from ``CADENZA_API_KEYS`` (comma-separated; blanks ignored)."""
    raw = (environ if environ is not None else dict(os.environ)).get("CADENZA_API_KEYS", "")
    return tuple(k.strip() for k in raw.split(",") if k.strip())
