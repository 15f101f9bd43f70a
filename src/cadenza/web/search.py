"""`WebSearch` (a search's options as one value) and `WebSearcher` (runs it).

Maestro's ``web_search`` tool takes ``urls``: search only within those sites, or read
exactly those pages. Here a URL whose path is empty or ends with ``/`` is a *site* (its
host, its subdomains and, if given, the path below it), and the search runs within the
sites; a URL naming a page (``https://example.org/report.html``) is a *page*, fetched
as is. A mix does both. Without ``urls``, the provider searches the whole web.

The outcome is a list of `WebPassage` — search-result snippets, and for fetched pages
their passages best matching the query — each with its URL, title, a short stable id to
cite and a score. A page that cannot be fetched is reported in ``errors`` and the rest
carries on; a provider that fails raises `SearchProviderError`.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..errors import FetchError, UsageError
from ..retrieval.chunking import chunk_document
from ..retrieval.index import query_terms, words
from ..retrieval.passages import passage_id
from .fetch import Page, PageFetcher
from .providers import SearchProvider, Site, WebResult, provider_from_settings
from .settings import WebSettings

__all__ = ["WebPassage", "WebSearch", "WebSearchResult", "WebSearcher", "split_urls"]

MAX_URLS = 20


@dataclass(frozen=True, slots=True)
class WebPassage:
    id: str
    """Short and stable for a URL and place: cite it."""
    text: str
    url: str
    title: str
    score: float
    """Higher is better: the provider's score (or 1/rank) for a snippet, BM25 for a
    passage of a fetched page."""
    source: Literal["snippet", "page"]
    kind: Literal["web"] = "web"


@dataclass(frozen=True)
class WebSearchResult:
    query: str
    passages: tuple[WebPassage, ...]
    results: tuple[WebResult, ...] = ()
    pages: tuple[Page, ...] = ()
    errors: tuple[FetchError, ...] = ()
    """Pages that could not be fetched (the search went on without them)."""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebSearch:
    """Search the web: within `urls` (sites, or exact pages) when given."""

    urls: tuple[str, ...] = ()
    limit: int = 5
    fetch_results: bool = False
    """Also fetch the result pages and use their best passages, not only the snippets."""
    query_suffix: str = ""
    """Words added to every query sent to the provider (Maestro's ``query_suffix``)."""
    kind: Literal["web_search"] = "web_search"

    def __post_init__(self) -> None:
        if isinstance(self.urls, str):
            raise UsageError("urls must be a list of URLs, not one string")
        object.__setattr__(self, "urls", tuple(self.urls))
        split_urls(self.urls)  # fails early on a bad one
        if not 1 <= self.limit <= 20:
            raise UsageError("limit must be between 1 and 20")
        if not isinstance(self.query_suffix, str) or len(self.query_suffix) > 200:
            raise UsageError("query_suffix must be a string of at most 200 characters")


def split_urls(urls: Sequence[str]) -> tuple[list[Site], list[str]]:
    """(sites to search within, pages to fetch) from Maestro-style ``urls``."""
    if len(urls) > MAX_URLS:
        raise UsageError(f"at most {MAX_URLS} urls, got {len(urls)}")
    sites: list[Site] = []
    pages: list[str] = []
    for raw in urls:
        if not isinstance(raw, str) or not raw.strip():
            raise UsageError("each of the urls must be a non-empty string")
        text = raw.strip()
        site = Site.parse(text)
        if site.path and not site.path.endswith("/"):
            pages.append(text if "://" in text else f"https://{text}")
        else:
            sites.append(site)
    return sites, pages


class WebSearcher:
    """Runs web searches with the operator's provider and fetcher."""

    def __init__(
        self,
        settings: WebSettings | None = None,
        *,
        provider: SearchProvider | None = None,
        fetcher: PageFetcher | None = None,
    ) -> None:
        self.settings = settings or WebSettings.from_env()
        self.provider = provider if provider is not None else provider_from_settings(self.settings)
        self.fetcher = fetcher or PageFetcher(self.settings)

    async def search(self, query: str, tool: WebSearch | None = None) -> WebSearchResult:
        tool = tool or WebSearch()
        sites, page_urls = split_urls(tool.urls)
        notes: list[str] = []
        results: list[WebResult] = []
        if sites or not page_urls:
            if self.provider is None:
                raise UsageError(
                    "no web search provider is configured: set CADENZA_SEARXNG_URL, "
                    "CADENZA_BRAVE_API_KEY or CADENZA_TAVILY_API_KEY"
                )
            asked = f"{query} {tool.query_suffix}".strip() if tool.query_suffix else query
            results = await self.provider.search(asked, limit=tool.limit, sites=sites)
            if not results:
                notes.append("the search found nothing" + (" within those sites" if sites else ""))
        to_fetch = list(page_urls)
        if tool.fetch_results:
            to_fetch += [r.url for r in results if r.url not in to_fetch]
        fetched = await asyncio.gather(
            *(self.fetcher.fetch(url) for url in to_fetch), return_exceptions=True
        )
        pages: list[Page] = []
        errors: list[FetchError] = []
        for url, outcome in zip(to_fetch, fetched, strict=True):
            if isinstance(outcome, FetchError):
                errors.append(outcome)
            elif isinstance(outcome, BaseException):
                errors.append(FetchError(f"{url}: {outcome}", url=url))
            else:
                pages.append(outcome)
        passages: list[WebPassage] = []
        fetched_urls = {p.url for p in pages}
        for r in results:
            if r.url in fetched_urls or not r.snippet:
                continue
            passages.append(
                WebPassage(
                    id=passage_id(r.url, -1),
                    text=r.snippet,
                    url=r.url,
                    title=r.title,
                    score=r.score if r.score is not None else 1.0 / r.rank,
                    source="snippet",
                )
            )
        for page in pages:
            passages.extend(_page_passages(page, query, per_page=3))
        if errors:
            notes.append(f"{len(errors)} page(s) could not be fetched")
        return WebSearchResult(
            query=query,
            passages=tuple(passages),
            results=tuple(results),
            pages=tuple(pages),
            errors=tuple(errors),
            notes=tuple(notes),
        )

    async def aclose(self) -> None:
        await self.fetcher.aclose()
        if self.provider is not None:
            await self.provider.aclose()


def _page_passages(page: Page, query: str, *, per_page: int) -> list[WebPassage]:
    chunks = chunk_document(page.document)
    scores = bm25_scores(query, [c.text for c in chunks])
    best = [i for i in sorted(range(len(chunks)), key=lambda i: (-scores[i], i)) if scores[i] > 0]
    best = best[:per_page] or [0]  # nothing matches: the page's opening passage
    return [
        WebPassage(
            id=passage_id(page.final_url, chunks[i].index),
            text=chunks[i].text,
            url=page.final_url,
            title=page.title,
            score=scores[i],
            source="page",
        )
        for i in best
    ]


def bm25_scores(
    query: str, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75
) -> list[float]:
    """Okapi BM25 of each text for `query`, over these texts alone (a page's passages)."""
    terms = query_terms(query)
    docs = [Counter(words(t)) for t in texts]
    n = len(docs)
    if not n or not terms:
        return [0.0] * n
    avg = sum(sum(d.values()) for d in docs) / n or 1.0
    df = {t: sum(1 for d in docs if t in d) for t in terms}
    out = []
    for d in docs:
        length = sum(d.values())
        score = 0.0
        for t in terms:
            tf = d.get(t, 0)
            if not tf:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg))
        out.append(score)
    return out
