"""Each web search provider against a local fake speaking its documented wire format."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from cadenza.errors import SearchProviderError, UsageError
from cadenza.web import (
    BraveProvider,
    SearchProvider,
    SearxngProvider,
    Site,
    StaticSearchProvider,
    TavilyProvider,
    WebSettings,
    provider_from_settings,
)
from web_fakes import AppThread, ProviderFake


@pytest.fixture(scope="module")
def fake_server() -> Iterator[tuple[ProviderFake, str]]:
    fake = ProviderFake()
    with AppThread(fake.app) as server:
        yield fake, server.url


@pytest.fixture
def fake(fake_server: tuple[ProviderFake, str]) -> tuple[ProviderFake, str]:
    fake, url = fake_server
    fake.mode = "ok"
    fake.requests.clear()
    return fake, url


def make(kind: str, url: str, **kw: Any) -> SearchProvider:
    if kind == "searxng":
        return SearxngProvider(url, **kw)
    if kind == "brave":
        return BraveProvider("brave-key", base_url=f"{url}/res/v1/web/search", **kw)
    return TavilyProvider("tvly-key", base_url=f"{url}/tavily/search", **kw)


def search(provider: SearchProvider, query: str, **kw: Any) -> Any:
    async def main() -> Any:
        try:
            return await provider.search(query, **kw)
        finally:
            await provider.aclose()

    return asyncio.run(main())


PROVIDERS = ["searxng", "brave", "tavily"]


@pytest.mark.parametrize("kind", PROVIDERS)
def test_search_returns_ranked_results(kind: str, fake: tuple[ProviderFake, str]) -> None:
    _server, url = fake
    results = search(make(kind, url), "tide moon", limit=3)
    assert 1 <= len(results) <= 3
    assert [r.rank for r in results] == list(range(1, len(results) + 1))
    assert all(r.provider == kind and r.url.startswith("https://") for r in results)
    assert results[0].title and results[0].snippet
    assert "<strong>" not in results[0].title  # Brave's highlighting is stripped


def test_searxng_wire_format(fake: tuple[ProviderFake, str]) -> None:
    server, url = fake
    results = search(make("searxng", url), "tide", limit=2)
    request = server.requests[-1]
    assert (request["method"], request["path"]) == ("GET", "/search")
    assert request["params"]["q"] == "tide" and request["params"]["format"] == "json"
    assert results[0].score == 2.0


def test_brave_wire_format(fake: tuple[ProviderFake, str]) -> None:
    server, url = fake
    results = search(make("brave", url), "tide", limit=2)
    request = server.requests[-1]
    assert (request["method"], request["path"]) == ("GET", "/res/v1/web/search")
    assert request["params"] == {"q": "tide", "count": "2"}
    assert request["headers"]["x-subscription-token"] == "brave-key"
    assert request["headers"]["accept"] == "application/json"
    assert results[0].title == "Tide - Wikipedia"
    assert results[0].snippet.endswith("More about the tides.")  # extra_snippets kept


def test_tavily_wire_format(fake: tuple[ProviderFake, str]) -> None:
    server, url = fake
    results = search(make("tavily", url), "tide", limit=2, sites=["en.wikipedia.org"])
    request = server.requests[-1]
    assert (request["method"], request["path"]) == ("POST", "/tavily/search")
    assert request["headers"]["authorization"] == "Bearer tvly-key"
    body = request["json"]
    assert body["query"] == "tide" and body["max_results"] == 2
    assert body["include_domains"] == ["en.wikipedia.org"] and body["api_key"] == "tvly-key"
    assert [r.url for r in results] == ["https://en.wikipedia.org/wiki/Tide"]
    assert results[0].score == pytest.approx(0.9)


@pytest.mark.parametrize("kind", ["searxng", "brave"])
def test_sites_become_site_queries_and_results_are_filtered(
    kind: str, fake: tuple[ProviderFake, str]
) -> None:
    server, url = fake
    results = search(
        make(kind, url), "tide moon", sites=["https://science.nasa.gov/moon/", "en.wikipedia.org"]
    )
    queries = sorted(r["params"]["q"] for r in server.requests)
    assert queries == ["tide moon site:en.wikipedia.org", "tide moon site:science.nasa.gov/moon"]
    assert {r.url for r in results} == {
        "https://en.wikipedia.org/wiki/Tide",
        "https://science.nasa.gov/moon/facts/",
    }


def test_results_outside_the_sites_are_dropped_even_if_the_engine_ignores_site() -> None:
    provider = StaticSearchProvider(
        [
            ("Tide", "https://en.wikipedia.org/wiki/Tide", "tide tide"),
            ("Evil", "https://en.wikipedia.org.evil.com/tide", "tide"),
            ("Other", "https://example.com/tide", "tide"),
        ]
    )
    results = search(provider, "tide", sites=["wikipedia.org"])
    assert [r.url for r in results] == ["https://en.wikipedia.org/wiki/Tide"]
    assert Site.parse("https://www.Example.org/docs/").contains("https://example.org/docs/a")
    assert not Site.parse("example.org/docs/").contains("https://example.org/blog/a")


@pytest.mark.parametrize("kind", PROVIDERS)
@pytest.mark.parametrize(
    ("mode", "transient", "status", "says"),
    [
        ("rate-limited", True, 429, "rate-limited (HTTP 429); retry after 30 s"),
        ("down", True, 503, "failed (HTTP 503)"),
        ("unauthorized", False, 401, "refused the credentials"),
        ("not-json", False, None, "not JSON"),
    ],
)
def test_provider_faults_are_clear_errors(
    kind: str,
    mode: str,
    transient: bool,
    status: int | None,
    says: str,
    fake: tuple[ProviderFake, str],
) -> None:
    server, url = fake
    server.mode = mode
    with pytest.raises(SearchProviderError) as info:
        search(make(kind, url), "tide")
    err = info.value
    assert err.provider == kind and err.transient is transient and err.status_code == status
    assert says in str(err) and f"web search provider {kind}" in str(err)


def test_a_wrong_key_names_the_setting(fake: tuple[ProviderFake, str]) -> None:
    _, url = fake
    with pytest.raises(SearchProviderError, match="CADENZA_BRAVE_API_KEY"):
        search(BraveProvider("wrong", base_url=f"{url}/res/v1/web/search"), "tide")


@pytest.mark.parametrize(
    ("provider", "variable", "url"),
    [
        (BraveProvider, "CADENZA_BRAVE_API_KEY", "https://api.search.brave.com/res/v1/web/search"),
        (TavilyProvider, "CADENZA_TAVILY_API_KEY", "https://api.tavily.com/search"),
    ],
)
def test_a_keyed_provider_refuses_no_key_and_defaults_to_its_api(
    provider: type[BraveProvider | TavilyProvider], variable: str, url: str
) -> None:
    with pytest.raises(UsageError, match=f"set {variable}"):
        provider("")
    assert provider("k").base_url == url


def test_searxng_without_json_format_says_how_to_fix(fake: tuple[ProviderFake, str]) -> None:
    server, url = fake
    server.mode = "forbidden"
    with pytest.raises(SearchProviderError, match=r"search\.formats"):
        search(make("searxng", url), "tide")


@pytest.mark.parametrize("kind", PROVIDERS)
def test_a_slow_provider_times_out(kind: str, fake: tuple[ProviderFake, str]) -> None:
    server, url = fake
    server.mode = "slow"
    with pytest.raises(SearchProviderError, match=r"no answer within 0.5 s") as info:
        search(make(kind, url, timeout=0.5), "tide")
    assert info.value.transient


@pytest.mark.parametrize("kind", PROVIDERS)
def test_a_provider_that_is_down_is_unreachable(kind: str) -> None:
    from test_server_support import bound_socket

    with bound_socket() as sock:  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(SearchProviderError, match="unreachable") as info:
            search(make(kind, url), "tide")
    assert info.value.transient


def test_bad_queries_are_usage_errors() -> None:
    provider = StaticSearchProvider([])
    with pytest.raises(UsageError):
        search(provider, "   ")
    with pytest.raises(UsageError):
        search(provider, "x", limit=50)
    with pytest.raises(UsageError):
        search(provider, "x", sites=["ftp://example.org"])


def test_settings_come_from_the_operator() -> None:
    env = {"CADENZA_SEARXNG_URL": "http://127.0.0.1:8888", "CADENZA_WEB_TIMEOUT": "3"}
    settings = WebSettings.from_env(env)
    provider = provider_from_settings(settings)
    assert isinstance(provider, SearxngProvider) and provider.timeout == 3.0
    assert provider_from_settings(WebSettings.from_env({})) is None
    both = {"CADENZA_BRAVE_API_KEY": "b", "CADENZA_TAVILY_API_KEY": "t"}
    with pytest.raises(UsageError, match="choose one"):
        WebSettings.from_env(both).chosen_provider()
    chosen = provider_from_settings(WebSettings.from_env({**both, "CADENZA_WEB_SEARCH": "tavily"}))
    assert isinstance(chosen, TavilyProvider)
    with pytest.raises(UsageError, match="CADENZA_BRAVE_API_KEY"):
        WebSettings.from_env({"CADENZA_WEB_SEARCH": "brave"}).chosen_provider()
    with pytest.raises(UsageError, match="unknown web search provider"):
        WebSettings.from_env({"CADENZA_WEB_SEARCH": "google"})
    assert "secret-token" not in repr(WebSettings(brave_api_key="secret-token"))
    assert WebSettings.from_env({"CADENZA_WEB_ALLOW_PRIVATE": "1"}).allow_private_addresses
