"""Page fetching: limits, content types, main text, and the SSRF guard against hostile URLs.

No test sends a packet anywhere but loopback. Names resolve through a patched resolver,
and the network under the guard is `RoutingBackend`: it routes one pretend public address
to the loopback fake and refuses (and records) everything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from cadenza.errors import BlockedAddressError, FetchError
from cadenza.web import (
    GuardedBackend,
    PageFetcher,
    StaticSearchProvider,
    WebSearch,
    WebSearcher,
    WebSettings,
    blocked_reason,
    check_url,
)
from web_fakes import PUBLIC_IP, AppThread, RoutingBackend, page_app


@pytest.fixture(scope="module")
def pages() -> Iterator[AppThread]:
    with AppThread(page_app()) as server:
        yield server


class Resolver:
    """A patched DNS: names to addresses, answers changing per call when given a list."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        answer = self.table.get(host)
        if answer is None:
            raise OSError(f"no such name {host}")
        if isinstance(answer, list) and answer and isinstance(answer[0], list):
            return answer[min(len(self.calls) - 1, len(answer) - 1)]  # type: ignore[no-any-return]
        return answer  # type: ignore[no-any-return]


def guarded(
    pages: AppThread, table: dict[str, Any], **settings: Any
) -> tuple[PageFetcher, RoutingBackend, Resolver]:
    net = RoutingBackend(pages.port)
    resolver = Resolver(table)
    backend = GuardedBackend(resolver=resolver, inner=net)
    fetcher = PageFetcher(WebSettings(**settings), backend=backend)
    return fetcher, net, resolver


def fetch(fetcher: PageFetcher, url: str) -> Any:
    async def main() -> Any:
        try:
            return await fetcher.fetch(url)
        finally:
            await fetcher.aclose()

    return asyncio.run(main())


def local(pages: AppThread, **settings: Any) -> PageFetcher:
    """A fetcher the operator allowed to reach private addresses (the loopback fake)."""
    return PageFetcher(WebSettings(allow_private_addresses=True, **settings))


# --------------------------------------------------------------------------- pages


def test_html_page_main_text(pages: AppThread) -> None:
    page = fetch(local(pages), f"{pages.url}/page.html")
    assert page.title == "Tide tables explained" and page.content_type == "text/html"
    assert "Spring tides happen near the new and full moon" in page.text
    assert "Log in" not in page.text and "Cookie" not in page.text
    assert page.final_url == f"{pages.url}/page.html" and page.status == 200


def test_plain_text_and_pdf_pages(pages: AppThread) -> None:
    text = fetch(local(pages), f"{pages.url}/notes.txt")
    assert text.content_type == "text/plain" and text.text.startswith("Plain notes")
    pdf = fetch(local(pages), f"{pages.url}/report.pdf")
    assert pdf.content_type == "application/pdf" and pdf.document.pages == 2
    assert "Tide gauges" in pdf.text and pdf.title == "Gauges"


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/image.png", "content type 'image/png' is not a page"),
        ("/no-type", "content type 'missing'"),
        ("/big-declared", "20,013 bytes is over the limit of 10,000"),
        ("/big-streamed", "the body is over the limit of 10,000 bytes"),
        ("/missing", "HTTP 404 (not found)"),
        ("/loop", "more than 5 redirects"),
    ],
)
def test_pages_outside_the_limits_are_refused(pages: AppThread, path: str, says: str) -> None:
    with pytest.raises(FetchError) as info:
        fetch(local(pages, max_page_bytes=10_000), f"{pages.url}{path}")
    assert says in str(info.value) and not isinstance(info.value, BlockedAddressError)


def test_a_slow_body_hits_the_deadline(pages: AppThread) -> None:
    with pytest.raises(FetchError, match=r"no complete answer within 1 s"):
        fetch(local(pages, fetch_timeout=1.0), f"{pages.url}/slow")


def test_redirects_are_followed_and_checked(pages: AppThread) -> None:
    page = fetch(local(pages), f"{pages.url}/redirect?to=/notes.txt")
    assert page.final_url == f"{pages.url}/notes.txt" and page.url.endswith("to=/notes.txt")
    with pytest.raises(BlockedAddressError, match="only http and https"):
        fetch(local(pages), f"{pages.url}/redirect?to=file:///etc/passwd")


# --------------------------------------------------------------------------- the guard

HOSTILE = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.8/",
    "http://192.168.1.1/admin",
    "http://172.16.5.4/",
    "http://100.64.1.1/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:7f00:1::]/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://017700000001/",
    "http://0/",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_urls_are_refused_without_a_connection(pages: AppThread, url: str) -> None:
    fetcher, net, _ = guarded(pages, {"localhost": ["127.0.0.1", "::1"]})
    with pytest.raises(FetchError) as info:
        fetch(fetcher, url)
    assert isinstance(info.value, BlockedAddressError) or "Invalid" in str(info.value), info.value
    assert net.attempts == []  # refused before any connection was tried
    assert "refused" in str(info.value) or "not a valid URL" in str(info.value)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/", "file:///etc/passwd", "gopher://x/", "http://user:pw@example.org/"],
)
def test_other_schemes_and_credentials_are_refused(url: str) -> None:
    with pytest.raises(BlockedAddressError):
        check_url(url)


def test_a_name_resolving_to_a_private_address_is_refused(pages: AppThread) -> None:
    fetcher, net, resolver = guarded(pages, {"intranet.example.com": ["10.1.2.3"]})
    with pytest.raises(BlockedAddressError, match=r"intranet.example.com \(10.1.2.3\): a private"):
        fetch(fetcher, "http://intranet.example.com/")
    assert resolver.calls == ["intranet.example.com"] and net.attempts == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(pages: AppThread) -> None:
    fetcher, net, _ = guarded(pages, {"mixed.example.com": [PUBLIC_IP, "127.0.0.1"]})
    with pytest.raises(BlockedAddressError, match="loopback"):
        fetch(fetcher, "http://mixed.example.com/page.html")
    assert net.attempts == []


def test_a_public_name_is_fetched_through_the_checked_address(pages: AppThread) -> None:
    fetcher, net, _ = guarded(pages, {"news.example.com": [PUBLIC_IP]})
    page = fetch(fetcher, "http://news.example.com/page.html")
    assert page.title == "Tide tables explained"
    assert net.attempts == [(PUBLIC_IP, 80)]


def test_dns_rebinding_gains_nothing(pages: AppThread) -> None:
    """The name answers a public address first, loopback after: the connection goes to
    the address that was checked, and the name is not resolved a second time."""
    fetcher, net, resolver = guarded(pages, {"rebind.example.com": [[PUBLIC_IP], ["127.0.0.1"]]})
    page = fetch(fetcher, "http://rebind.example.com/notes.txt")
    assert page.text.startswith("Plain notes")
    assert resolver.calls == ["rebind.example.com"]
    assert net.attempts == [(PUBLIC_IP, 80)]
    assert fetcher.backend.connections == [("rebind.example.com", PUBLIC_IP, 80)]


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/notes.txt",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://intranet.example.com/",
        "http://2130706433/",
    ],
)
def test_every_redirect_hop_is_checked(pages: AppThread, target: str) -> None:
    fetcher, net, _ = guarded(
        pages, {"news.example.com": [PUBLIC_IP], "intranet.example.com": ["192.168.0.10"]}
    )
    hop = target.format(port=pages.port)
    with pytest.raises(BlockedAddressError, match="refused"):
        fetch(fetcher, f"http://news.example.com/redirect?to={hop}")
    assert net.attempts == [(PUBLIC_IP, 80)]  # the first hop only


def test_the_operator_may_allow_private_addresses(pages: AppThread) -> None:
    fetcher, net, _ = guarded(pages, {}, allow_private_addresses=True)
    page = fetch(fetcher, f"{pages.url}/notes.txt")
    assert page.text.startswith("Plain notes") and net.attempts == [("127.0.0.1", pages.port)]


def test_blocked_reasons() -> None:
    assert blocked_reason("8.8.8.8") is None and blocked_reason("2606:4700::1111") is None
    assert blocked_reason("127.0.0.2") == "loopback"
    assert blocked_reason("169.254.169.254") == "link-local"
    assert blocked_reason("::") == "unspecified"
    assert blocked_reason("ff02::1") == "multicast"
    assert blocked_reason("::ffff:10.0.0.1") == "private (inside an IPv6 address)"
    assert blocked_reason("192.0.2.1") is not None  # documentation range
    assert blocked_reason("not an address") == "not an IP address"


# --------------------------------------------------------------------------- web search


def test_web_search_with_sites_and_pages(pages: AppThread) -> None:
    provider = StaticSearchProvider(
        [
            ("Tide - Wikipedia", "https://en.wikipedia.org/wiki/Tide", "Tides rise and fall."),
            ("Tide blog", "https://blog.example.com/tide", "All about tides."),
        ]
    )
    searcher = WebSearcher(
        WebSettings(allow_private_addresses=True), provider=provider, fetcher=local(pages)
    )

    async def main() -> Any:
        try:
            tool = WebSearch(urls=("https://en.wikipedia.org/", f"{pages.url}/page.html"))
            return await searcher.search("spring tides moon", tool)
        finally:
            await searcher.aclose()

    result = asyncio.run(main())
    assert provider.queries[0][1][0].host == "en.wikipedia.org"  # a site: searched within
    assert [r.url for r in result.results] == ["https://en.wikipedia.org/wiki/Tide"]
    page_passages = [p for p in result.passages if p.source == "page"]
    assert page_passages and "Spring tides" in page_passages[0].text  # a page: fetched
    assert page_passages[0].url == f"{pages.url}/page.html"
    assert {p.source for p in result.passages} == {"snippet", "page"}
    assert all(len(p.id) == 8 for p in result.passages)


def test_web_search_keeps_going_when_a_page_fails(pages: AppThread) -> None:
    searcher = WebSearcher(WebSettings(), provider=StaticSearchProvider([]))

    async def main() -> Any:
        try:
            return await searcher.search("x", WebSearch(urls=("http://127.0.0.1/secret.html",)))
        finally:
            await searcher.aclose()

    result = asyncio.run(main())
    assert result.passages == () and len(result.errors) == 1
    assert isinstance(result.errors[0], BlockedAddressError)
    assert "could not be fetched" in result.notes[0]
