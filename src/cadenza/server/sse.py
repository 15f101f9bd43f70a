"""Server-sent events: framing, and the headers that keep proxies from buffering them."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["SSE_HEADERS", "comment", "event"]

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event(name: str | None, data: Any) -> bytes:
    """One event; `data` is sent as JSON on a single line (JSON escapes newlines)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {text}\n\n".encode()


def comment(text: str) -> bytes:
    """A comment line: clients ignore it; it keeps the connection alive and shows progress."""
    return "".join(f": {line}\n" for line in text.splitlines() or [""]).encode() + b"\n"
