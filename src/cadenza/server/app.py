"""The ASGI app: the APIs, the page, auth, limits, and the store's life cycle.

    app = create_app(ServerSettings(db_url="sqlite:///runs.db", models=("fake:demo",)))
    uvicorn.run(app, host="127.0.0.1", port=8000)

`run_server` is what `cadenza serve` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI

from ..store import Store, StoreWriter, open_store, redact_url
from . import maestro, openai_compat, page, runs_api
from .auth import AuthMiddleware
from .errors import install_error_handlers
from .headers import SecurityHeadersMiddleware
from .hosts import HostCheckMiddleware
from .limits import BodyLimitMiddleware
from .model_pool import ModelPool, Resolver
from .retention import prune_periodically
from .runs import RunManager
from .settings import ServerSettings

__all__ = ["create_app", "run_server"]

log = logging.getLogger("cadenza.server")

DESCRIPTION = """\
cadenza's HTTP server: the AI21 Maestro runs API (`/studio/v1/maestro/runs`), an
OpenAI-compatible chat completions API (`/v1/chat/completions`, `/v1/models`) and
cadenza's own runs API (`/v1/runs`). Send `Authorization: Bearer <key>` when the server
has API keys: a key sees the runs it created (an admin key sees all). Requests name only
the models the server offers (`/v1/models`). Errors are
`{"error": {"message", "type", "param", "code"}}`.
"""


def create_app(
    settings: ServerSettings | None = None,
    *,
    resolver: Resolver | None = None,
    store_factory: Callable[[str], Store] | None = None,
) -> FastAPI:
    """The app for `settings`. `resolver` turns a model name into a `Model` (default:
    cadenza's registry); tests pass one that builds scripted fakes. `store_factory`
    opens the database at `settings.db_url` (default: `open_store`); tests pass one that
    wraps it in a `FlakyStore`."""
    settings = settings or ServerSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _load_builtin_validators()
        store = (store_factory or open_store)(settings.db_url)
        try:
            applied = store.migrate()
        except Exception:
            store.close()
            raise
        if applied:
            log.info("database %s: applied %s", redact_url(store.url), ", ".join(applied))
        writer = StoreWriter(store)
        writer.start()
        pool = ModelPool(resolver)
        manager = RunManager(store, writer, pool, settings)
        interrupted = await manager.startup()
        if interrupted:
            log.warning("marked %d run(s) left in progress as failed: interrupted", interrupted)
        app.state.store = store
        app.state.runs = manager
        app.state.started_at = time.time()
        pruning = (
            asyncio.create_task(prune_periodically(store, settings.retention_s))
            if settings.retention_s
            else None
        )
        try:
            yield
        finally:
            if pruning is not None:
                pruning.cancel()
                await asyncio.wait({pruning}, timeout=5.0)
            await manager.shutdown()
            await pool.aclose()
            store.close()

    from .. import __version__

    app = FastAPI(
        title="cadenza",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(maestro.router)
    app.include_router(runs_api.router)
    app.include_router(openai_compat.router)
    app.include_router(page.router)
    app.mount("/static", page.static_files(), name="static")
    # Added innermost first. A request goes through: security headers on whatever answers,
    # the Host check (DNS rebinding), the key, the body's size and text, then the routes.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(AuthMiddleware, keys=settings.api_keys, admin_keys=settings.admin_keys)
    app.add_middleware(HostCheckMiddleware, settings=settings)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def _load_builtin_validators() -> None:
    """Register cadenza's built-in checks so requests can name them from the start."""
    with contextlib.suppress(ImportError):
        importlib.import_module("cadenza.validators.ifeval")


def run_server(
    settings: ServerSettings,
    *,
    resolver: Resolver | None = None,
    log_level: str = "info",
    sock: socket.socket | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM finish the runs in progress as failed).

    `sock`: an already bound socket to serve on instead of `settings.host`/`port`."""
    import uvicorn

    config = uvicorn.Config(
        create_app(settings, resolver=resolver),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        ws="none",
        lifespan="on",
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
        # Longer than clients keep idle connections (httpx: 5 s), so that a client never
        # reuses a connection the server is just closing.
        timeout_keep_alive=75,
    )
    uvicorn.Server(config).run(sockets=[_tcp(sock)] if sock is not None else None)


def _tcp(sock: socket.socket) -> socket.socket:
    """`sock` with its protocol set to TCP: asyncio turns Nagle's algorithm off (TCP_NODELAY)
    only on sockets that say so, and a socket made with ``socket.socket()`` says 0. Left on,
    every small response waits ~40 ms for the client's delayed ACK."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock
