"""Fetching a web page safely and reading its main text.

    fetcher = PageFetcher(WebSettings.from_env())
    page = await fetcher.fetch("https://example.org/article")
    print(page.title, page.text[:200])

Limits, all the operator's (`WebSettings`): one deadline for the whole fetch (every
redirect and the whole body: a server that trickles bytes cannot hold it longer), a body
size (announced lengths are refused before reading, streamed bodies cut off at the limit),
content types (HTML, plain text, PDF; anything else is refused), a number of redirects,
each followed by hand and checked like the first URL. Connections only reach public
addresses (`addresses`), unless the operator allows private ones.

The page's text comes from the document readers (`cadenza.retrieval.documents`):
trafilatura keeps an HTML page's main text, pypdf reads a PDF. They need the ``files``
extra. Every failure is a `FetchError` (a refused address: `BlockedAddressError`) naming
the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from email.message import Message
from typing import Literal

import httpx2

from ..errors import DocumentError, FetchError
from ..retrieval.documents import ParsedDocument, parse_document
from .addresses import GuardedBackend, GuardedTransport, Resolver, as_fetch_error, check_url
from .settings import WebSettings

__all__ = ["CONTENT_TYPES", "Page", "PageFetcher"]

CONTENT_TYPES: dict[str, Literal["html", "text", "pdf"]] = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
    "application/pdf": "pdf",
}
"""The content types fetched pages may have, and how each is read."""

_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Page:
    """A fetched page, read."""

    url: str
    """The URL asked for."""
    final_url: str
    """Where it was found, after redirects."""
    status: int
    content_type: str
    title: str
    text: str
    """The main text (HTML: without navigation, ads, footers)."""
    document: ParsedDocument
    """The text with its blocks (headings, paragraphs, pages), for cutting into passages."""
    size_bytes: int
    seconds: float
    kind: Literal["page"] = "page"


class PageFetcher:
    """Fetches pages within the operator's limits. Reuse one; close it when done."""

    def __init__(
        self,
        settings: WebSettings | None = None,
        *,
        resolver: Resolver | None = None,
        backend: GuardedBackend | None = None,
    ) -> None:
        self.settings = settings or WebSettings()
        self.backend = backend or GuardedBackend(resolver=resolver)
        self.backend.allow_private = self.settings.allow_private_addresses  # settings rule
        self._client = httpx2.AsyncClient(
            transport=GuardedTransport(self.backend),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx2.Timeout(self.settings.fetch_timeout),
            headers={
                "User-Agent": self.settings.user_agent,
                "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,application/pdf;q=0.8",
            },
        )

    async def fetch(self, url: str) -> Page:
        """The page at `url`, read. Raises `FetchError` (or `BlockedAddressError`)."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.settings.fetch_timeout):
                return await self._fetch(url, started)
        except TimeoutError:
            raise FetchError(
                f"{url[:200]}: no complete answer within {self.settings.fetch_timeout:g} s",
                url=url[:200],
            ) from None

    async def _fetch(self, url: str, started: float) -> Page:
        allow_private = self.settings.allow_private_addresses
        current = check_url(url, allow_private=allow_private)
        for _ in range(self.settings.max_redirects + 1):
            try:
                async with self._client.stream("GET", current) as response:
                    if response.status_code in _REDIRECTS:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError(
                                f"{current}: redirect ({response.status_code}) without a Location",
                                url=url,
                                status_code=response.status_code,
                            )
                        current = check_url(current.join(location), allow_private=allow_private)
                        continue
                    return await self._read(url, current, response, started)
            except (httpx2.HTTPError, OSError) as exc:
                raise as_fetch_error(str(current), exc) from None
        raise FetchError(
            f"{url[:200]}: more than {self.settings.max_redirects} redirects", url=url[:200]
        )

    async def _read(
        self, url: str, final: httpx2.URL, response: httpx2.Response, started: float
    ) -> Page:
        status = response.status_code
        if status >= 400:
            what = {429: "rate-limited", 404: "not found", 403: "forbidden"}.get(status, "error")
            raise FetchError(f"{final}: HTTP {status} ({what})", url=url, status_code=status)
        if status != 200:
            raise FetchError(f"{final}: HTTP {status}, not a page", url=url, status_code=status)
        media_type, charset = _content_type(response.headers.get("content-type"))
        kind = CONTENT_TYPES.get(media_type)
        if kind is None:
            raise FetchError(
                f"{final}: content type {media_type or 'missing'!r} is not a page "
                f"(fetched: {', '.join(CONTENT_TYPES)})",
                url=url,
            )
        limit = self.settings.max_page_bytes
        declared = response.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            raise FetchError(
                f"{final}: {int(declared):,} bytes is over the limit of {limit:,}", url=url
            )
        body = bytearray()
        async for part in response.aiter_bytes():
            body.extend(part)
            if len(body) > limit:
                raise FetchError(f"{final}: the body is over the limit of {limit:,} bytes", url=url)
        data = bytes(body)
        if kind != "pdf" and charset is not None:
            # on failure the readers detect the encoding themselves
            with contextlib.suppress(LookupError, UnicodeDecodeError):
                data = data.decode(charset).encode("utf-8")
        name = _name_for(final, kind)
        try:
            document = parse_document(data, name, media_type=media_type)
        except DocumentError as exc:
            raise FetchError(f"{final}: {exc}", url=url) from None
        return Page(
            url=url,
            final_url=str(final),
            status=status,
            content_type=media_type,
            title=document.title,
            text=document.text,
            document=document,
            size_bytes=len(body),
            seconds=time.monotonic() - started,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> PageFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _content_type(header: str | None) -> tuple[str, str | None]:
    if not header:
        return "", None
    msg = Message()
    msg["content-type"] = header
    charset = msg.get_param("charset")
    return msg.get_content_type().lower(), charset if isinstance(charset, str) else None


def _name_for(url: httpx2.URL, kind: str) -> str:
    last = url.path.rstrip("/").rsplit("/", 1)[-1] or url.host or "page"
    suffix = {"html": ".html", "text": ".txt", "pdf": ".pdf"}[kind]
    return last if last.lower().endswith(suffix) else f"{last}{suffix}"
