"""How one server is configured: where it listens, its database, keys, the models requests
may name, and what one client and one run may take."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import UsageError
from ..runner import RunOptions
from ..store import default_db_url

__all__ = [
    "ServerSettings",
    "host_name",
    "is_loopback",
    "keys_from_env",
    "parse_model_alias",
]

MiB = 1 << 20


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    db_url: str = field(default_factory=default_db_url)

    # -- who may call ---------------------------------------------------------------------
    api_keys: tuple[str, ...] = ()
    """Bearer keys, any of which grants access to the runs that key created; none (and no
    admin key) means no auth, which `cadenza serve` allows on loopback only."""
    admin_keys: tuple[str, ...] = ()
    """Bearer keys that see and cancel every run."""
    allowed_hosts: tuple[str, ...] = ()
    """Host names the server answers to (``api.example.com``, ``*.example.com``). Without
    keys: loopback names and these. With keys: these only, when given; any when not."""

    # -- which models a request may name --------------------------------------------------
    models: tuple[str, ...] = ()
    """The underlying model(s) of the model name ``cadenza`` and of runs that name none;
    empty means cadenza's own default (``local:smollm2``)."""
    judge_model: str | None = None
    allowed_models: tuple[str, ...] = ()
    """More model names requests may choose, besides `models` and `judge_model`."""
    model_aliases: Mapping[str, str] = field(default_factory=dict)
    """Names requests may use for a configured model, e.g. ``{"jamba-large":
    "openai:gpt-4.1-mini"}`` (AI21's names in Maestro requests)."""
    allow_fake_models: bool = False
    """Let requests name the scripted fake (``fake:<anything>``): demos and tests."""

    # -- what clients and runs may take ---------------------------------------------------
    max_body_bytes: int = MiB
    max_active_runs: int = 256
    """Runs in progress at once; past this, new runs get 429."""
    max_active_runs_per_key: int | None = None
    """Runs in progress at once for one key (without keys: for everyone together)."""
    max_runs_per_minute: int | None = None
    """Runs one key may start in any 60 seconds (without keys: everyone together)."""
    max_run_tokens: int | None = None
    """Ceiling on any run's budget: a request asking for more is refused; presets,
    defaults and caps a request leaves unset are lowered to it."""
    max_run_usd: float | None = None
    max_run_calls: int | None = None
    max_run_seconds: float | None = None

    shutdown_grace_s: float = 5.0
    retention_s: float | None = None
    """Delete runs that finished longer ago than this, periodically; None keeps them all."""
    options: RunOptions = field(default_factory=RunOptions)

    def __post_init__(self) -> None:
        for alias, target in self.model_aliases.items():
            if not alias.strip() or not target.strip():
                raise UsageError(f"model alias {alias!r}={target!r}: both sides need a name")
        for name, value in [
            ("max_active_runs", self.max_active_runs),
            ("max_active_runs_per_key", self.max_active_runs_per_key),
            ("max_runs_per_minute", self.max_runs_per_minute),
            ("max_run_tokens", self.max_run_tokens),
            ("max_run_usd", self.max_run_usd),
            ("max_run_calls", self.max_run_calls),
            ("max_run_seconds", self.max_run_seconds),
        ]:
            if value is not None and not value > 0:
                raise UsageError(f"{name} must be more than 0, not {value!r}")
        for given in self.allowed_hosts:
            if host_name(given.strip().removeprefix("*.")) is None:
                raise UsageError(
                    f"allowed host {given!r} is not a host name: write e.g. api.example.com, "
                    "*.example.com or 10.0.0.5"
                )

    @property
    def has_keys(self) -> bool:
        return bool(self.api_keys or self.admin_keys)


def parse_model_alias(text: str) -> tuple[str, str]:
    """``"jamba-large=openai:gpt-4.1-mini"`` -> ``("jamba-large", "openai:gpt-4.1-mini")``."""
    alias, sep, target = text.partition("=")
    if not sep or not alias.strip() or not target.strip():
        raise UsageError(
            f"model alias {text!r}: write NAME=MODEL, e.g. jamba-large=openai:gpt-4.1-mini"
        )
    return alias.strip(), target.strip()


def host_name(header: str) -> str | None:
    """The name in a Host header, lowercased, without port or trailing dot; None if the
    header is not a host (``example.com:8000`` -> ``example.com``, ``[::1]:80`` -> ``::1``)."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1 :]
        if end < 0 or (
            rest and not (rest[:1] == ":" and rest[1:].isascii() and rest[1:].isdigit())
        ):
            return None
        name = value[1:end]
    else:
        name, sep, port = value.partition(":")
        if sep and not (port.isascii() and port.isdigit()):
            return None
    name = name.rstrip(".")
    if not name or not name.isascii() or any(c in name for c in " /\\@?#[]"):
        return None
    return name


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def keys_from_env(
    environ: Mapping[str, str] | None = None, var: str = "CADENZA_API_KEYS"
) -> tuple[str, ...]:
    """Keys from ``CADENZA_API_KEYS`` (or `var`), comma-separated; blanks ignored."""
    raw = (environ if environ is not None else os.environ).get(var, "")
    return tuple(k.strip() for k in raw.split(",") if k.strip())
