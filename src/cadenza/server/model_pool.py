"""Models resolved once per server and shared by its runs (connections, loaded weights)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from ..models.base import Model

__all__ = ["ModelPool", "Resolver"]

Resolver = Callable[[str], Model]


def _default_resolver(name: str) -> Model:
    from ..models.registry import resolve_model

    return resolve_model(name)


class ModelPool:
    def __init__(self, resolver: Resolver | None = None) -> None:
        self._resolve = resolver or _default_resolver
        self._models: dict[str, Model] = {}
        self._lock = asyncio.Lock()

    async def get(self, name: str) -> Model:
        """The model called `name`; raises `UnknownModelError` (a `UsageError`) if none."""
        model = self._models.get(name)
        if model is not None:
            return model
        async with self._lock:
            model = self._models.get(name)
            if model is None:
                model = await asyncio.to_thread(self._resolve, name)
                self._models[name] = model
            return model

    @property
    def names(self) -> list[str]:
        return list(self._models)

    async def aclose(self) -> None:
        models, self._models = list(self._models.values()), {}
        for model in models:
            with contextlib.suppress(Exception):
                await model.aclose()
