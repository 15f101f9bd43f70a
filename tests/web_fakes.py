"""Local fakes for the web: search providers speaking their documented JSON, and a page
server with hostile habits. All on 127.0.0.1, run by uvicorn in a thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpcore2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from retrieval_files import HTML, pdf_bytes
from test_server_support import AppThread as ServedApp


class AppThread(ServedApp):
    """An ASGI app on 127.0.0.1 in a thread, without lifespan events; `url` is its base URL."""

    def __init__(self, app: Any) -> None:
        super().__init__(app, lifespan="off")


# --------------------------------------------------------------------------- providers

CORPUS = [
    (
        "Tide - Wikipedia",
        "https://en.wikipedia.org/wiki/Tide",
        "Tides are the rise and fall of sea levels caused by the Moon.",
    ),
    (
        "Tide tables | NOAA",
        "https://tidesandcurrents.noaa.gov/tide_predictions.html",
        "Tide predictions for US stations.",
    ),
    (
        "Spring tide explained",
        "https://www.example.org/blog/spring-tide",
        "Spring tides happen at new and full moon.",
    ),
    ("Moon facts", "https://science.nasa.gov/moon/facts/", "The Moon's gravity pulls the oceans."),
]


class ProviderFake:
    """Answers like SearxNG, Brave or Tavily; `mode` scripts faults; `requests` records
    what arrived (method, path, query params, headers, JSON body)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/search", self.searxng, methods=["GET"]),
                Route("/res/v1/web/search", self.brave, methods=["GET"]),
                Route("/tavily/search", self.tavily, methods=["POST"]),
            ]
        )

    async def _record(self, request: Request) -> dict[str, Any]:
        body = await request.body()
        entry = {
            "method": request.method,
            "path": request.url.path,
            "params": dict(request.query_params),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "json": None,
        }
        if body:
            import json

            entry["json"] = json.loads(body)
        self.requests.append(entry)
        return entry

    async def _fault(self) -> Response | None:
        if self.mode == "rate-limited":
            return JSONResponse(
                {"error": "too many"}, status_code=429, headers={"Retry-After": "30"}
            )
        if self.mode == "unauthorized":
            return JSONResponse({"error": "bad key"}, status_code=401)
        if self.mode == "down":
            return PlainTextResponse("upstream exploded", status_code=503)
        if self.mode == "not-json":
            return PlainTextResponse("<html>maintenance</html>", media_type="text/html")
        if self.mode == "slow":
            await asyncio.sleep(3)
        if self.mode == "forbidden":
            return PlainTextResponse("Forbidden", status_code=403)
        return None

    @staticmethod
    def _matches(query: str) -> list[tuple[str, str, str]]:
        words = [w for w in query.lower().split() if not w.startswith("site:")]
        sites = [w[5:] for w in query.lower().split() if w.startswith("site:")]
        hits = [c for c in CORPUS if any(w in (c[0] + " " + c[2]).lower() for w in words)]
        if sites:  # a real engine honours site: (most do); the client filters again anyway
            hits = [c for c in hits if any(s.split("/")[0] in c[1] for s in sites)]
        return hits

    async def searxng(self, request: Request) -> Response:
        entry = await self._record(request)
        fault = await self._fault()
        if fault is not None:
            return fault
        if entry["params"].get("format") != "json":
            return PlainTextResponse("html page", media_type="text/html")
        hits = self._matches(entry["params"]["q"])
        results = [
            {
                "url": url,
                "title": title,
                "content": snippet,
                "engine": "duckduckgo",
                "parsed_url": ["https", url.split("/")[2], "/", "", "", ""],
                "template": "default.html",
                "engines": ["duckduckgo", "bing"],
                "positions": [i + 1],
                "score": 2.0 / (i + 1),
                "category": "general",
            }
            for i, (title, url, snippet) in enumerate(hits)
        ]
        return JSONResponse(
            {
                "query": entry["params"]["q"],
                "number_of_results": len(results),
                "results": results,
                "answers": [],
                "corrections": [],
                "infoboxes": [],
                "suggestions": [],
                "unresponsive_engines": [],
            }
        )

    async def brave(self, request: Request) -> Response:
        entry = await self._record(request)
        if entry["headers"].get("x-subscription-token") != "brave-key":
            return JSONResponse(
                {"type": "ErrorResponse", "error": {"code": "SUBSCRIPTION_TOKEN_INVALID"}},
                status_code=401,
            )
        fault = await self._fault()
        if fault is not None:
            return fault
        count = int(entry["params"].get("count", 20))
        hits = self._matches(entry["params"]["q"])[:count]
        return JSONResponse(
            {
                "type": "search",
                "query": {"original": entry["params"]["q"], "more_results_available": False},
                "mixed": {"type": "mixed", "main": []},
                "web": {
                    "type": "search",
                    "results": [
                        {
                            "type": "search_result",
                            "subtype": "generic",
                            "title": title.replace("Tide", "<strong>Tide</strong>", 1),
                            "url": url,
                            "description": snippet,
                            "extra_snippets": ["More about the tides."],
                            "language": "en",
                            "family_friendly": True,
                            "meta_url": {"scheme": "https", "hostname": url.split("/")[2]},
                        }
                        for title, url, snippet in hits
                    ],
                    "family_friendly": True,
                },
            }
        )

    async def tavily(self, request: Request) -> Response:
        entry = await self._record(request)
        body = entry["json"] or {}
        auth = entry["headers"].get("authorization")
        if auth != "Bearer tvly-key" and body.get("api_key") != "tvly-key":
            return JSONResponse({"detail": {"error": "Unauthorized"}}, status_code=401)
        fault = await self._fault()
        if fault is not None:
            return fault
        hits = self._matches(body["query"])
        domains = body.get("include_domains") or []
        if domains:
            hits = [h for h in hits if any(d in h[1] for d in domains)]
        results = [
            {"title": t, "url": u, "content": s, "score": 0.9 - 0.1 * i, "raw_content": None}
            for i, (t, u, s) in enumerate(hits[: body.get("max_results", 5)])
        ]
        return JSONResponse(
            {
                "query": body["query"],
                "follow_up_questions": None,
                "answer": None,
                "images": [],
                "results": results,
                "response_time": 0.42,
            }
        )


# --------------------------------------------------------------------------- pages


def page_app() -> Starlette:
    pdf = pdf_bytes(["Tide gauges measure sea level.", "Second page."], title="Gauges")

    async def page(request: Request) -> Response:
        return Response(HTML.encode(), media_type="text/html; charset=utf-8")

    async def text(request: Request) -> Response:
        return PlainTextResponse("Plain notes about the harbour.\n\nSecond paragraph.")

    async def pdf_page(request: Request) -> Response:
        return Response(pdf, media_type="application/pdf")

    async def image(request: Request) -> Response:
        return Response(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, media_type="image/png")

    async def no_type(request: Request) -> Response:
        return Response(b"<html><body>x</body></html>", headers={"content-type": ""})

    async def big_declared(request: Request) -> Response:
        return Response(b"<html>" + b"a" * 20_000 + b"</html>", media_type="text/html")

    async def big_streamed(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"<html><body>"
            for _ in range(200):  # 200 x 1 KiB, no Content-Length
                yield b"x" * 1024

        return StreamingResponse(body(), media_type="text/html")

    async def slow(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"<html><body><p>"
            for _ in range(30):  # a byte every 0.2 s: each read is quick, the whole is not
                await asyncio.sleep(0.2)
                yield b"z"

        return StreamingResponse(body(), media_type="text/html")

    async def redirect(request: Request) -> Response:
        return Response(status_code=302, headers={"location": request.query_params["to"]})

    async def loop(request: Request) -> Response:
        return Response(status_code=301, headers={"location": "/loop"})

    async def missing(request: Request) -> Response:
        return PlainTextResponse("gone", status_code=404)

    return Starlette(
        routes=[
            Route("/page.html", page),
            Route("/notes.txt", text),
            Route("/report.pdf", pdf_page),
            Route("/image.png", image),
            Route("/no-type", no_type),
            Route("/big-declared", big_declared),
            Route("/big-streamed", big_streamed),
            Route("/slow", slow),
            Route("/redirect", redirect),
            Route("/loop", loop),
            Route("/missing", missing),
        ]
    )


PUBLIC_IP = "93.184.216.34"
"""A global address the tests pretend public names resolve to; connections to it are
routed to the loopback fake by `RoutingBackend`, so no packet leaves the machine."""


class RoutingBackend(httpcore2.AsyncNetworkBackend):
    """The network under the guard, for tests: connections to (PUBLIC_IP, 80) go to the
    loopback fake; any other address is refused and recorded (a tripwire: if the guard
    ever let a private address through, the test sees it here, and no packet is sent)."""

    def __init__(self, fake_port: int) -> None:
        self.fake_port = fake_port
        self.real = httpcore2.AnyIOBackend()
        self.attempts: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore2.AsyncNetworkStream:
        self.attempts.append((host, port))
        if (host, port) == (PUBLIC_IP, 80):
            return await self.real.connect_tcp("127.0.0.1", self.fake_port, timeout=timeout)
        if host == "127.0.0.1" and port == self.fake_port:
            return await self.real.connect_tcp(host, port, timeout=timeout)
        raise httpcore2.ConnectError(f"tripwire: the test network has no route to {host}:{port}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Any = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
