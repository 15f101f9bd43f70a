"""The web page: a list of runs, and one run's tree of calls, updating while it runs.

Plain HTML and a little vanilla JavaScript from ``static/`` (no build step). The HTML is
public and holds no data; the script reads the JSON API with the key the user gives it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from .headers import SECURITY_HEADERS

__all__ = ["STATIC_DIR", "router", "static_files"]

STATIC_DIR = Path(__file__).parent / "static"

HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
"""The page's headers; `SecurityHeadersMiddleware` adds the security ones to every other
response too (static files, the API, errors)."""

router = APIRouter(tags=["page"])


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


@router.get("/", response_class=HTMLResponse)
async def index() -> Response:
    """The web page: the list of runs."""
    return FileResponse(STATIC_DIR / "index.html", headers=HEADERS)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
async def run_page(run_id: str) -> Response:
    """The web page of one run (its data comes from the API, with the caller's key)."""
    return FileResponse(STATIC_DIR / "run.html", headers=HEADERS)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
