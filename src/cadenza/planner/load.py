"""How busy each model is: the calls in flight (or queued for a slot), per model name.

The search starts a new branch only while its model has a free slot, counting the
judge calls in flight when the judge is the same model, and wakes up whenever that
count drops or a branch ends.
"""

from __future__ import annotations

import asyncio
from collections import Counter

__all__ = ["ModelLoad"]


class ModelLoad:
    def __init__(self) -> None:
        self._busy: Counter[str] = Counter()
        self.changed = asyncio.Event()
        """Set whenever a call ends (or a branch does); the search clears it to wait."""

    def busy(self, model: str) -> int:
        return self._busy[model]

    def add(self, model: str, n: int = 1) -> None:
        self._busy[model] += n

    def remove(self, model: str, n: int = 1) -> None:
        self._busy[model] = max(0, self._busy[model] - n)
        self.changed.set()
