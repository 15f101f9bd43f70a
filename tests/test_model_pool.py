"""The server's model pool: models resolved once, at most `max_models` kept, the least
recently used one that no run holds closed when a new one comes in."""

from __future__ import annotations

import asyncio

import pytest

from cadenza.errors import UnknownModelError
from cadenza.models.base import Model
from cadenza.server.model_pool import ModelPool
from cadenza.testing import ScriptedModel


class Tracked(ScriptedModel):
    closed: int = 0

    async def aclose(self) -> None:
        self.closed += 1


def resolver(made: dict[str, Tracked]) -> object:
    def resolve(name: str) -> Model:
        if name.startswith("bad"):
            raise UnknownModelError(f"unknown model {name!r}")
        made[name] = Tracked(name=name)
        return made[name]

    return resolve


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_the_pool_keeps_at_most_max_models_and_closes_the_rest() -> None:
    made: dict[str, Tracked] = {}
    pool = ModelPool(resolver(made), max_models=2)  # type: ignore[arg-type]
    first = await pool.get("m0")
    assert await pool.get("m0") is first  # resolved once
    for i in range(1, 6):
        await pool.get(f"m{i}")
    await settle()
    assert pool.names == ["m4", "m5"]
    assert [made[f"m{i}"].closed for i in range(6)] == [1, 1, 1, 1, 0, 0]
    await pool.get("m4")  # used again: now m5 is the least recently used
    await pool.get("m6")
    await settle()
    assert pool.names == ["m4", "m6"] and made["m5"].closed == 1
    await pool.aclose()
    assert made["m4"].closed == made["m6"].closed == 1


async def test_a_model_a_run_holds_is_never_closed() -> None:
    made: dict[str, Tracked] = {}
    pool = ModelPool(resolver(made), max_models=1)  # type: ignore[arg-type]
    held = await pool.acquire(["a", "judge"])
    assert [m.name for m in held] == ["a", "judge"]
    await pool.get("x")
    await settle()
    assert set(pool.names) == {"a", "judge"}  # over the limit while runs hold them
    assert made["a"].closed == made["judge"].closed == 0 and made["x"].closed == 1
    pool.release(["a", "judge"])
    await settle()
    assert len(pool.names) == 1
    assert made["a"].closed + made["judge"].closed == 1
    with pytest.raises(UnknownModelError):
        await pool.acquire(["fresh", "bad"])
    # "fresh", acquired before "bad" failed, was released: the next model pushes it out
    await pool.get("other")
    await settle()
    assert made["fresh"].closed == 1
    await pool.aclose()


def test_max_models_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ModelPool(max_models=0)
