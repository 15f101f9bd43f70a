"""API keys, each bound to the origin it was configured for.

A key is only ever sent to its own base URL's origin (scheme, host and port):

| key | goes only to |
|---|---|
| ``OPENAI_API_KEY`` | ``OPENAI_BASE_URL``, else https://api.openai.com |
| ``ANTHROPIC_API_KEY`` | ``ANTHROPIC_BASE_URL``, else https://api.anthropic.com |
| ``OPENROUTER_API_KEY`` | https://openrouter.ai |
| ``CADENZA_API_KEY`` | ``CADENZA_BASE_URL`` (nowhere when it is not set) |

A model named by URL (``http://host:port/v1#model``) gets the key configured for that
URL's origin, or none ("EMPTY"): naming a URL never sends it a key configured elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import UsageError

__all__ = [
    "KEY_BINDINGS",
    "LOCAL_FALLBACK",
    "NO_KEY",
    "KeyBinding",
    "env",
    "key_for_url",
    "origin",
    "require_key",
]

NO_KEY = "EMPTY"
"""What an OpenAI-compatible client sends when no key is configured for the server."""

LOCAL_FALLBACK = "--model local:smollm2, which runs on this machine"

Origin = tuple[str, str, int]


@dataclass(frozen=True)
class KeyBinding:
    """An API key variable and the base URL it belongs to."""

    key_env: str
    base_url_env: str | None
    default_base_url: str | None

    def base_url(self) -> str | None:
        configured = env(self.base_url_env) if self.base_url_env else ""
        return configured or self.default_base_url


KEY_BINDINGS = (
    KeyBinding("OPENAI_API_KEY", "OPENAI_BASE_URL", "https://api.openai.com/v1"),
    KeyBinding("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
    KeyBinding("OPENROUTER_API_KEY", None, "https://openrouter.ai/api/v1"),
    KeyBinding("CADENZA_API_KEY", "CADENZA_BASE_URL", None),
)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def env(var: str) -> str:
    return os.environ.get(var, "").strip()


def origin(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL, lowercased, default port filled in; or None."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def key_for_url(url: str) -> tuple[str, str] | None:
    """``(key, variable)`` of the key configured for `url`'s origin, or None."""
    target = origin(url)
    if target is None:
        return None
    for binding in KEY_BINDINGS:
        key = env(binding.key_env)
        base = binding.base_url()
        if key and base and origin(base) == target:
            return key, binding.key_env
    return None


def require_key(var: str, name: str) -> str:
    """The key in `var`, or a UsageError saying to set it."""
    key = env(var)
    if not key:
        raise UsageError(f"{name} needs an API key: set {var} (or use {LOCAL_FALLBACK})")
    return key
