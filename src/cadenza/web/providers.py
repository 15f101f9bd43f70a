"""Web search providers behind one interface: SearxNG, Brave and Tavily.

    provider = provider_from_settings(WebSettings.from_env())
    results = await provider.search("pgvector hnsw", limit=5, sites=["github.com"])

Each speaks its service's documented JSON API:

- SearxNG (self-hosted): ``GET {base}/search?q=...&format=json`` (the instance must have
  ``json`` among its ``search.formats``); results carry ``url``, ``title``, ``content``
  and ``score``.
- Brave Search API: ``GET https://api.search.brave.com/res/v1/web/search?q=...&count=N``
  with the key in ``X-Subscription-Token``; results in ``web.results[]`` with ``url``,
  ``title``, ``description`` (and ``extra_snippets``).
- Tavily: ``POST https://api.tavily.com/search`` with a JSON body (``query``,
  ``max_results``, ``include_domains``) and the key as ``Authorization: Bearer`` (and,
  for older accounts, ``api_key`` in the body); results carry ``url``, ``title``,
  ``content`` and ``score``.

`sites` restricts a search to sites (``example.org`` or ``example.org/docs/``): Tavily
takes them as ``include_domains``; SearxNG and Brave get one ``site:`` query per site. In
every case the results are filtered again here, so nothing from another site slips
through. A provider that is down, slow, rate-limited or answers nonsense raises
`SearchProviderError` saying which and whether trying later may help.

`StaticSearchProvider` is the test double: it answers from a list you give it.
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx2

from ..errors import SearchProviderError, UsageError
from .settings import BRAVE_URL, TAVILY_URL, WebSettings

__all__ = [
    "BraveProvider",
    "SearchProvider",
    "SearxngProvider",
    "Site",
    "StaticSearchProvider",
    "TavilyProvider",
    "WebResult",
    "provider_from_settings",
]

MAX_SITES = 10
MAX_RESPONSE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class WebResult:
    """One search hit."""

    title: str
    url: str
    snippet: str
    """The provider's excerpt of the page."""
    provider: str
    rank: int
    """1-based, in the provider's order."""
    score: float | None = None
    """The provider's relevance score, when it gives one."""
    kind: Literal["web_result"] = "web_result"


@dataclass(frozen=True, slots=True)
class Site:
    """A site to search within: a host (and its subdomains) and, optionally, a path."""

    host: str
    path: str = ""

    @classmethod
    def parse(cls, text: str) -> Site:
        raw = text.strip()
        if not raw:
            raise UsageError("a site to search within must not be empty")
        try:
            url = httpx2.URL(raw if "://" in raw else f"https://{raw}")
        except (httpx2.InvalidURL, ValueError, TypeError):
            raise UsageError(f"not a site or URL: {raw[:100]!r}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise UsageError(f"not an http(s) site: {raw[:100]!r}")
        host = url.host.lower().removeprefix("www.")
        path = url.path if url.path not in ("", "/") else ""
        return cls(host, path)

    @property
    def query_operator(self) -> str:
        return f"site:{self.host}{self.path.rstrip('/')}"

    def contains(self, url: str) -> bool:
        try:
            parsed = httpx2.URL(url)
        except (httpx2.InvalidURL, ValueError, TypeError):
            return False
        host = parsed.host.lower().removeprefix("www.")
        if host != self.host and not host.endswith("." + self.host):
            return False
        return not self.path or parsed.path.startswith(self.path)


class SearchProvider(ABC):
    """Searches the web. Implementations keep one HTTP client; close them when done."""

    name: str

    @abstractmethod
    async def _search(self, query: str, limit: int, sites: Sequence[Site]) -> list[WebResult]:
        """At most `limit` results, best first (restricted to `sites` when given)."""

    async def search(
        self, query: str, *, limit: int = 5, sites: Sequence[str | Site] = ()
    ) -> list[WebResult]:
        """The best `limit` (1-20) results for `query`, within `sites` when given."""
        query = " ".join(str(query).split())
        if not query:
            raise UsageError("the web search query is empty")
        if len(query) > 400:
            raise UsageError("the web search query is over 400 characters: shorten it")
        if not 1 <= limit <= 20:
            raise UsageError("limit must be between 1 and 20")
        parsed = [s if isinstance(s, Site) else Site.parse(s) for s in sites]
        if len(parsed) > MAX_SITES:
            raise UsageError(f"at most {MAX_SITES} sites to search within, got {len(parsed)}")
        results = await self._search(query, limit, parsed)
        if parsed:
            results = [r for r in results if any(s.contains(r.url) for s in parsed)]
        return _renumber(_dedupe(results)[:limit])

    async def aclose(self) -> None:
        return None


class _HttpProvider(SearchProvider):
    def __init__(self, *, timeout: float, client: httpx2.AsyncClient | None) -> None:
        self.timeout = timeout
        self._own_client = client is None
        self._client = client or httpx2.AsyncClient(
            timeout=httpx2.Timeout(timeout), trust_env=False, follow_redirects=False
        )

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """The decoded JSON answer; every failure as a SearchProviderError."""
        try:
            async with asyncio.timeout(self.timeout):
                async with self._client.stream(
                    method, url, params=params, json=json_body, headers=headers
                ) as response:
                    status = response.status_code
                    body = bytearray()
                    async for part in response.aiter_bytes():
                        body.extend(part)
                        if len(body) > MAX_RESPONSE_BYTES:
                            raise self._error(
                                f"answer over {MAX_RESPONSE_BYTES:,} bytes", transient=False
                            )
        except TimeoutError:
            raise self._error(f"no answer within {self.timeout:g} s", transient=True) from None
        except httpx2.TimeoutException:
            raise self._error(f"no answer within {self.timeout:g} s", transient=True) from None
        except httpx2.HTTPError as exc:
            raise self._error(f"unreachable: {exc or type(exc).__name__}", transient=True) from None
        if status >= 400:
            raise self._status_error(status, bytes(body), response.headers)
        try:
            return json.loads(body)
        except ValueError:
            raise self._error("answered something that is not JSON", transient=False) from None

    def _error(
        self, what: str, *, transient: bool, status: int | None = None
    ) -> SearchProviderError:
        return SearchProviderError(
            f"web search provider {self.name}: {what}",
            provider=self.name,
            status_code=status,
            transient=transient,
        )

    def _status_error(
        self, status: int, body: bytes, headers: httpx2.Headers
    ) -> SearchProviderError:
        if status == 429:
            retry = headers.get("retry-after")
            later = f"; retry after {retry[:20]} s" if retry else ""
            return self._error(f"rate-limited (HTTP 429){later}", transient=True, status=status)
        if status in (401, 403):
            return self._error(
                f"refused the credentials or the request (HTTP {status}): {self._auth_hint()}",
                transient=False,
                status=status,
            )
        if status >= 500:
            return self._error(f"failed (HTTP {status})", transient=True, status=status)
        return self._error(f"rejected the request (HTTP {status})", transient=False, status=status)

    def _auth_hint(self) -> str:
        return "check the provider's settings"

    async def _per_site(self, query: str, limit: int, sites: Sequence[Site]) -> list[WebResult]:
        """One search per site (with a ``site:`` operator), merged turn by turn."""
        if not sites:
            return await self._one(query, limit)
        lists = await asyncio.gather(
            *(self._one(f"{query} {site.query_operator}", limit) for site in sites)
        )
        merged: list[WebResult] = []
        for i in range(max(len(x) for x in lists)):
            merged.extend(x[i] for x in lists if i < len(x))
        return merged

    async def _one(self, query: str, limit: int) -> list[WebResult]:
        raise NotImplementedError


class SearxngProvider(_HttpProvider):
    """A SearxNG instance's JSON API (self-hosted; enable ``json`` in its formats)."""

    name = "searxng"

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 15.0,
        client: httpx2.AsyncClient | None = None,
        language: str | None = None,
    ) -> None:
        super().__init__(timeout=timeout, client=client)
        self.base_url = base_url.rstrip("/")
        self.language = language

    async def _search(self, query: str, limit: int, sites: Sequence[Site]) -> list[WebResult]:
        return await self._per_site(query, limit, sites)

    async def _one(self, query: str, limit: int) -> list[WebResult]:
        params: dict[str, Any] = {"q": query, "format": "json", "pageno": 1}
        if self.language:
            params["language"] = self.language
        data = await self._call("GET", f"{self.base_url}/search", params=params)
        return _scored_results(_list_at(data, "results", self), self.name)[:limit]

    def _status_error(
        self, status: int, body: bytes, headers: httpx2.Headers
    ) -> SearchProviderError:
        if status == 403:
            return self._error(
                "refused the JSON format (HTTP 403): add 'json' to search.formats in the "
                "instance's settings.yml",
                transient=False,
                status=status,
            )
        return super()._status_error(status, body, headers)


class _KeyedProvider(_HttpProvider):
    """A provider whose API takes a key (Brave, Tavily): without one it is refused at
    once, and when the API refuses it (HTTP 401/403) the error names where it comes from."""

    default_base_url: str
    key_variable: str
    """The environment variable the key is read from (`WebSettings`)."""
    missing_key: str
    """What the error says when no key is given (before ``: set KEY_VARIABLE``)."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout: float = 15.0,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        if not api_key:
            raise UsageError(f"{self.missing_key}: set {self.key_variable}")
        super().__init__(timeout=timeout, client=client)
        self._key = api_key
        self.base_url = self.default_base_url if base_url is None else base_url

    def _auth_hint(self) -> str:
        return f"check {self.key_variable}"


class BraveProvider(_KeyedProvider):
    """The Brave Search API (web search endpoint)."""

    name = "brave"
    default_base_url = BRAVE_URL
    key_variable = "CADENZA_BRAVE_API_KEY"
    missing_key = "the Brave Search API needs a key"

    async def _search(self, query: str, limit: int, sites: Sequence[Site]) -> list[WebResult]:
        return await self._per_site(query, limit, sites)

    async def _one(self, query: str, limit: int) -> list[WebResult]:
        data = await self._call(
            "GET",
            self.base_url,
            params={"q": query, "count": min(limit, 20)},
            headers={"X-Subscription-Token": self._key, "Accept": "application/json"},
        )
        web = data.get("web") if isinstance(data, dict) else None
        results = _list_at(web or {"results": []}, "results", self)
        out: list[WebResult] = []
        for item in results:
            url, title = _text(item, "url"), _text(item, "title")
            if not url:
                continue
            snippet = _strip_tags(_text(item, "description"))
            extra = item.get("extra_snippets") if isinstance(item, dict) else None
            if isinstance(extra, list):
                more = " ".join(_strip_tags(x) for x in extra if isinstance(x, str))
                snippet = f"{snippet} {more}".strip()
            out.append(
                WebResult(
                    title=_strip_tags(title) or url,
                    url=url,
                    snippet=snippet,
                    provider=self.name,
                    rank=len(out) + 1,
                )
            )
            if len(out) >= limit:
                break
        return out


class TavilyProvider(_KeyedProvider):
    """The Tavily search API."""

    name = "tavily"
    default_base_url = TAVILY_URL
    key_variable = "CADENZA_TAVILY_API_KEY"
    missing_key = "Tavily needs an API key"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout: float = 15.0,
        client: httpx2.AsyncClient | None = None,
        search_depth: Literal["basic", "advanced"] = "basic",
    ) -> None:
        super().__init__(api_key, base_url=base_url, timeout=timeout, client=client)
        self.search_depth = search_depth

    def _status_error(
        self, status: int, body: bytes, headers: httpx2.Headers
    ) -> SearchProviderError:
        if status in (432, 433):
            return self._error(
                f"the account's usage limit is reached (HTTP {status})",
                transient=False,
                status=status,
            )
        return super()._status_error(status, body, headers)

    async def _search(self, query: str, limit: int, sites: Sequence[Site]) -> list[WebResult]:
        body: dict[str, Any] = {
            "api_key": self._key,
            "query": query,
            "max_results": min(limit, 20),
            "search_depth": self.search_depth,
            "include_answer": False,
            "include_raw_content": False,
            "include_images": False,
        }
        if sites:
            body["include_domains"] = sorted({s.host for s in sites})
        data = await self._call(
            "POST",
            self.base_url,
            json_body=body,
            headers={"Authorization": f"Bearer {self._key}"},
        )
        return _scored_results(_list_at(data, "results", self), self.name)


class StaticSearchProvider(SearchProvider):
    """A test double: answers every search from `results` (title, url, snippet), ranked
    by how many of the query's words each contains. Records the queries it was asked."""

    name = "static"

    def __init__(self, results: Sequence[WebResult | tuple[str, str, str]]) -> None:
        self.results = [
            r if isinstance(r, WebResult) else WebResult(r[0], r[1], r[2], self.name, i + 1)
            for i, r in enumerate(results)
        ]
        self.queries: list[tuple[str, tuple[Site, ...]]] = []

    async def _search(self, query: str, limit: int, sites: Sequence[Site]) -> list[WebResult]:
        self.queries.append((query, tuple(sites)))
        words = set(query.lower().split())

        def overlap(r: WebResult) -> int:
            return len(words & set(f"{r.title} {r.snippet}".lower().split()))

        ranked = sorted(self.results, key=lambda r: (-overlap(r), r.rank))
        return [r for r in ranked if overlap(r) > 0]


def provider_from_settings(
    settings: WebSettings, *, client: httpx2.AsyncClient | None = None
) -> SearchProvider | None:
    """The provider the operator configured, or None when none is."""
    chosen = settings.chosen_provider()
    if chosen == "searxng":
        assert settings.searxng_url is not None
        return SearxngProvider(settings.searxng_url, timeout=settings.search_timeout, client=client)
    if chosen == "brave":
        assert settings.brave_api_key is not None
        return BraveProvider(
            settings.brave_api_key,
            base_url=settings.brave_url,
            timeout=settings.search_timeout,
            client=client,
        )
    if chosen == "tavily":
        assert settings.tavily_api_key is not None
        return TavilyProvider(
            settings.tavily_api_key,
            base_url=settings.tavily_url,
            timeout=settings.search_timeout,
            client=client,
        )
    return None


def _scored_results(items: list[Any], provider: str) -> list[WebResult]:
    """Results shaped ``{url, title, content, score}`` (SearxNG's and Tavily's), ranked in
    their order; items without a URL are skipped."""
    out: list[WebResult] = []
    for item in items:
        url, title = _text(item, "url"), _text(item, "title")
        if not url:
            continue
        score = item.get("score") if isinstance(item, dict) else None
        out.append(
            WebResult(
                title=title or url,
                url=url,
                snippet=_text(item, "content"),
                provider=provider,
                rank=len(out) + 1,
                score=float(score) if isinstance(score, int | float) else None,
            )
        )
    return out


def _list_at(data: Any, key: str, provider: SearchProvider) -> list[Any]:
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise SearchProviderError(
            f"web search provider {provider.name}: the answer has no '{key}' list",
            provider=provider.name,
            transient=False,
        )
    return list(data[key])


def _text(item: Any, key: str) -> str:
    if not isinstance(item, dict):
        return ""
    value = item.get(key)
    return " ".join(value.split())[:4000] if isinstance(value, str) else ""


def _strip_tags(text: str) -> str:
    """Brave marks query words with <strong>; keep the words."""
    for tag in ("<strong>", "</strong>", "<b>", "</b>"):
        text = text.replace(tag, "")
    return text


def _dedupe(results: list[WebResult]) -> list[WebResult]:
    seen: set[str] = set()
    out: list[WebResult] = []
    for r in results:
        key = r.url.rstrip("/")
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _renumber(results: list[WebResult]) -> list[WebResult]:
    return [
        WebResult(r.title, r.url, r.snippet, r.provider, i + 1, r.score, r.kind)
        for i, r in enumerate(results)
    ]
