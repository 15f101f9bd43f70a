"""Models resolved once per server and shared by its runs (connections, loaded weights).

The pool keeps at most `max_models` models, dropping the least recently used one that no
run holds and closing it. A run holds its models from `acquire` to `release`, so a model
is never closed under a run that uses it; while every model is held, the pool may be
over its limit until runs end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence

from ..models.base import Model

__all__ = ["DEFAULT_MAX_MODELS", "ModelPool", "Resolver"]

log = logging.getLogger("cadenza.server")

Resolver = Callable[[str], Model]

DEFAULT_MAX_MODELS = 32


def _default_resolver(name: str) -> Model:
    from ..models.registry import resolve_model

    return resolve_model(name)


class ModelPool:
    def __init__(
        self, resolver: Resolver | None = None, *, max_models: int = DEFAULT_MAX_MODELS
    ) -> None:
        if max_models < 1:
            raise ValueError("max_models must be at least 1")
        self._resolve = resolver or _default_resolver
        self.max_models = max_models
        self._models: OrderedDict[str, Model] = OrderedDict()
        self._held: Counter[str] = Counter()
        self._lock = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()

    async def get(self, name: str) -> Model:
        """The model called `name`; raises `UnknownModelError` (a `UsageError`) if none.

        Not held: a model that no run holds may be closed once it is the least recently
        used of more than `max_models`. Use `acquire` to use it for a while."""
        model = self._models.get(name)
        if model is None:
            async with self._lock:
                model = self._models.get(name)
                if model is None:
                    model = await asyncio.to_thread(self._resolve, name)
                    self._models[name] = model
        self._models.move_to_end(name)
        self._evict()
        return model

    async def acquire(self, names: Sequence[str]) -> list[Model]:
        """The models called `names`, held (never closed) until `release(names)`."""
        models: list[Model] = []
        held: list[str] = []
        try:
            for name in names:
                self._held[name] += 1  # before resolving: its own eviction must skip it
                held.append(name)
                models.append(await self.get(name))
        except BaseException:
            self.release(held)
            raise
        return models

    def release(self, names: Sequence[str]) -> None:
        """Stop holding `names` (as many times as they were acquired)."""
        for name in names:
            self._held[name] -= 1
            if self._held[name] <= 0:
                del self._held[name]
        self._evict()

    def _evict(self) -> None:
        """Close the least recently used models no run holds, down to `max_models`."""
        if len(self._models) <= self.max_models:
            return
        for name in list(self._models):
            if len(self._models) <= self.max_models:
                break
            if self._held[name]:
                continue
            model = self._models.pop(name)
            log.debug("closing model %s: the pool keeps %d", name, self.max_models)
            task = asyncio.get_running_loop().create_task(_close(model))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    @property
    def names(self) -> list[str]:
        return list(self._models)

    async def aclose(self) -> None:
        models, self._models = list(self._models.values()), OrderedDict()
        for model in models:
            await _close(model)
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=5.0)


async def _close(model: Model) -> None:
    with contextlib.suppress(Exception):
        await model.aclose()
