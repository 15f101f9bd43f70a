"""The operator's web settings: which search provider, its key, and the fetching limits.

Set by whoever runs cadenza — environment variables or a `WebSettings` value — and never
by a request: a request may narrow a search (its ``urls``), not point cadenza at another
endpoint or lift a limit.

    CADENZA_WEB_SEARCH            searxng | brave | tavily (default: the one configured)
    CADENZA_SEARXNG_URL           e.g. http://127.0.0.1:8888 (a self-hosted SearxNG)
    CADENZA_BRAVE_API_KEY         a Brave Search API subscription token
    CADENZA_TAVILY_API_KEY        a Tavily API key
    CADENZA_WEB_TIMEOUT           seconds for one search or one page fetch (default 15)
    CADENZA_WEB_MAX_PAGE_BYTES    the largest page body read (default 5 MiB)
    CADENZA_WEB_ALLOW_PRIVATE     1 to let fetching reach private and loopback addresses
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..errors import UsageError

__all__ = ["PROVIDERS", "ProviderName", "WebSettings"]

ProviderName = Literal["searxng", "brave", "tavily"]
PROVIDERS: tuple[ProviderName, ...] = ("searxng", "brave", "tavily")

BRAVE_URL = "https://api.search.brave.com/res/v1/web/search"
TAVILY_URL = "https://api.tavily.com/search"


@dataclass(frozen=True)
class WebSettings:
    provider: ProviderName | None = None
    """Which provider searches; None picks the only one configured (or none)."""
    searxng_url: str | None = None
    brave_api_key: str | None = field(default=None, repr=False)
    brave_url: str = BRAVE_URL
    tavily_api_key: str | None = field(default=None, repr=False)
    tavily_url: str = TAVILY_URL
    search_timeout: float = 15.0
    """Seconds one search request may take, all in."""
    fetch_timeout: float = 15.0
    """Seconds one page fetch may take, all redirects and the whole body included."""
    max_page_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    allow_private_addresses: bool = False
    """Let fetching reach private, loopback, link-local... addresses. Off unless the
    operator needs it (an intranet, a test server on loopback)."""
    user_agent: str = "cadenza/0.1 (+https://github.com/cadenza; retrieval)"

    def __post_init__(self) -> None:
        if self.provider is not None and self.provider not in PROVIDERS:
            raise UsageError(
                f"unknown web search provider {self.provider!r}: use one of {', '.join(PROVIDERS)}"
            )
        for name in ("search_timeout", "fetch_timeout"):
            if not 0 < getattr(self, name) <= 600:
                raise UsageError(f"{name} must be between 0 and 600 seconds")
        if not 1024 <= self.max_page_bytes <= 1024**3:
            raise UsageError("max_page_bytes must be between 1 KiB and 1 GiB")
        if not 0 <= self.max_redirects <= 20:
            raise UsageError("max_redirects must be between 0 and 20")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebSettings:
        env = os.environ if env is None else env
        provider = (env.get("CADENZA_WEB_SEARCH") or "").strip().lower() or None

        def number(name: str, default: float) -> float:
            raw = env.get(name)
            if raw is None or not raw.strip():
                return default
            try:
                return float(raw)
            except ValueError:
                raise UsageError(f"{name} must be a number, got {raw!r}") from None

        return cls(
            provider=provider,  # type: ignore[arg-type]  # checked in __post_init__
            searxng_url=env.get("CADENZA_SEARXNG_URL") or None,
            brave_api_key=env.get("CADENZA_BRAVE_API_KEY") or None,
            tavily_api_key=env.get("CADENZA_TAVILY_API_KEY") or None,
            search_timeout=number("CADENZA_WEB_TIMEOUT", 15.0),
            fetch_timeout=number("CADENZA_WEB_TIMEOUT", 15.0),
            max_page_bytes=int(number("CADENZA_WEB_MAX_PAGE_BYTES", 5 * 1024 * 1024)),
            allow_private_addresses=(env.get("CADENZA_WEB_ALLOW_PRIVATE") or "").strip().lower()
            in ("1", "true", "yes", "on"),
        )

    def configured(self) -> list[ProviderName]:
        """The providers these settings have what they need for."""
        out: list[ProviderName] = []
        if self.searxng_url:
            out.append("searxng")
        if self.brave_api_key:
            out.append("brave")
        if self.tavily_api_key:
            out.append("tavily")
        return out

    def chosen_provider(self) -> ProviderName | None:
        """The provider to use: the one named, else the only one configured."""
        if self.provider is not None:
            if self.provider not in self.configured():
                need = {
                    "searxng": "CADENZA_SEARXNG_URL",
                    "brave": "CADENZA_BRAVE_API_KEY",
                    "tavily": "CADENZA_TAVILY_API_KEY",
                }[self.provider]
                raise UsageError(f"web search provider {self.provider!r} needs {need}")
            return self.provider
        configured = self.configured()
        if len(configured) > 1:
            raise UsageError(
                f"several web search providers are configured ({', '.join(configured)}): "
                "choose one with CADENZA_WEB_SEARCH"
            )
        return configured[0] if configured else None
