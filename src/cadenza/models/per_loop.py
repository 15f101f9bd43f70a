"""One SDK client per event loop, shared by the provider adapters (OpenAI, Anthropic).

HTTP connections belong to the loop that opened them, and a model resolved once is shared
by every ``cadenza.run`` (each runs its own loop), so each loop gets its own client.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["PerLoopClients"]

C = TypeVar("C")


class PerLoopClients(Generic[C]):
    """One SDK client per event loop, closed when that loop shuts down.

    A "keeper" async generator started on the loop is finalized by the loop's
    ``shutdown_asyncgens()`` (``asyncio.run`` and pytest-asyncio call it), and closes the
    client while its loop can still do so.
    """

    def __init__(self, close: Callable[[C], Awaitable[None]]) -> None:
        self._close = close
        self._lock = threading.Lock()
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[C, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()

    async def get(self, make: Callable[[], Awaitable[C]]) -> C:
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._clients.get(loop)
        if entry is not None:
            return entry[0]
        client = await make()
        with self._lock:
            entry = self._clients.get(loop)
            if entry is None:
                keeper = self._keeper(client)
                self._clients[loop] = (client, keeper)
        if entry is not None:  # another task of this loop got there first
            await self._close(client)
            return entry[0]
        await keeper.__anext__()  # runs to its `yield` at once: no other task sees it unstarted
        return client

    async def aclose(self) -> None:
        """Close the running loop's client (the others close as their loops end)."""
        with self._lock:
            entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()

    async def _keeper(self, client: C) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await self._close(client)
