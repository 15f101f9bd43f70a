"""Server-sent events: framing, and the headers that keep proxies from buffering them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

__all__ = ["KEEPALIVE", "KEEPALIVE_S", "SSE_HEADERS", "comment", "drain", "event"]

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEPALIVE_S = 15.0
KEEPALIVE = "keep-alive"

T = TypeVar("T")


async def drain(queue: asyncio.Queue[T | None] | None) -> AsyncIterator[T | bytes]:
    """Each item of `queue` until its closing None; a keep-alive comment (bytes) after
    every `KEEPALIVE_S` seconds of silence."""
    while queue is not None:
        try:
            item = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
        except TimeoutError:
            yield comment(KEEPALIVE)
            continue
        if item is None:
            return
        yield item


def event(name: str | None, data: Any) -> bytes:
    """One event; `data` is sent as JSON on a single line (JSON escapes newlines)."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {text}\n\n".encode()


def comment(text: str) -> bytes:
    """A comment line: clients ignore it; it keeps the connection alive and shows progress."""
    return "".join(f": {line}\n" for line in text.splitlines() or [""]).encode() + b"\n"
