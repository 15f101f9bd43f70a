"""The server's retention setting: finished runs older than it are deleted, periodically.

`cadenza serve --retention 30d` prunes at start-up and then every tenth of the retention
period (at least every second, at most every hour), in a thread and in small
transactions, so that runs and reads go on meanwhile.
"""

from __future__ import annotations

import asyncio
import logging

from ..store import Store, prune_older_than

__all__ = ["prune_every", "prune_periodically"]

log = logging.getLogger("cadenza.server")


def prune_every(retention_s: float) -> float:
    """Seconds between two prunes for a retention of `retention_s`."""
    return min(3600.0, max(1.0, retention_s / 10))


async def prune_periodically(store: Store, retention_s: float) -> None:
    """Prune runs that finished more than `retention_s` ago, now and then every
    `prune_every(retention_s)` seconds, until cancelled. A failed prune is logged and
    tried again next time."""
    while True:
        try:
            deleted = await asyncio.to_thread(prune_older_than, store, retention_s)
        except Exception as exc:
            log.warning("pruning old runs failed: %s: %s", type(exc).__name__, exc)
        else:
            if deleted:
                log.info("pruned %d run(s) that finished over %g s ago", deleted, retention_s)
        await asyncio.sleep(prune_every(retention_s))
