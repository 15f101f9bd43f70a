"""Web search and safe page fetching.

settings.py   the operator's settings (environment variables): provider, keys, limits
providers.py  SearxNG, Brave and Tavily behind one interface; a static test double
addresses.py  the SSRF guard: public addresses only, after DNS, on every hop, pinned
fetch.py      fetching a page within limits and reading its main text
search.py     `WebSearch` (Maestro's ``urls``: sites or pages) and `WebSearcher`
"""

from .addresses import GuardedBackend, blocked_reason, check_url
from .fetch import Page, PageFetcher
from .providers import (
    BraveProvider,
    SearchProvider,
    SearxngProvider,
    Site,
    StaticSearchProvider,
    TavilyProvider,
    WebResult,
    provider_from_settings,
)
from .search import WebPassage, WebSearch, WebSearcher, WebSearchResult, split_urls
from .settings import WebSettings

__all__ = [
    "BraveProvider",
    "GuardedBackend",
    "Page",
    "PageFetcher",
    "SearchProvider",
    "SearxngProvider",
    "Site",
    "StaticSearchProvider",
    "TavilyProvider",
    "WebPassage",
    "WebResult",
    "WebSearch",
    "WebSearchResult",
    "WebSearcher",
    "WebSettings",
    "blocked_reason",
    "check_url",
    "provider_from_settings",
    "split_urls",
]
