"""The web page: a list of runs, and one run's tree of calls, updating while it runs.

Plain HTML and a little vanilla JavaScript from ``static/`` (no build step). The HTML is
public and holds no data; the script reads the JSON API with the key the user gives it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "router", "static_files"]

STATIC_DIR = Path(__file__).parent / "static"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


@router.get("/")
async def index() -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers=HEADERS)


@router.get("/runs/{run_id}")
async def run_page(run_id: str) -> Response:
    return FileResponse(STATIC_DIR / "run.html", headers=HEADERS)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
