"""How long finished runs are kept: durations as people write them, and pruning by age.

prune_older_than(store, parse_duration("30d"))   # deletes runs finished 30+ days ago
"""

from __future__ import annotations

import time

from ..errors import UsageError
from .base import Store

__all__ = ["parse_duration", "prune_older_than"]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or
    ``1d12h``; a `UsageError` saying what is accepted for anything else."""
    spec = text.strip().lower()
    total = 0.0
    number = ""
    for char in spec:
        if char.isdigit() or char == ".":
            number += char
            continue
        if char not in _UNITS or not number or number.count(".") > 1 or number == ".":
            total = -1.0
            break
        total += float(number) * _UNITS[char]
        number = ""
    if number or total <= 0 or len(spec) > 32:
        raise UsageError(
            f"{text!r} is not a duration: write a number and a unit, s m h d or w "
            "(e.g. 30d, 12h, 90m, 1d12h), greater than zero"
        )
    return total


def prune_older_than(store: Store, seconds: float, *, now: float | None = None) -> int:
    """Delete the runs of `store` that finished more than `seconds` ago (never a run in
    progress), with their trace nodes and messages; return how many."""
    if seconds <= 0:
        raise UsageError("the age of the runs to prune must be greater than zero")
    return store.prune((time.time() if now is None else now) - seconds)
