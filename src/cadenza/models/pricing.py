"""What a call costs: USD list prices per million input and output tokens.

    price_for("openai:gpt-4.1-mini")             # Price(input_per_mtok=0.4, output_per_mtok=1.6)
    price_for("openai:gpt-4.1-mini-2025-04-14")  # the same: dated snapshots match their family
    cost_usd("openai:gpt-4.1-mini", 1000, 200)   # 0.00072
    register_price("openai:my-finetune", 0.8, 3.2)

A model with no known price is *unpriced* (`None`), never free: the engine will not spend a
USD budget on it. Models on this machine (`local:*`) and the test double (`fake:*`) cost 0.
The built-in entries are public list prices (standard tier, no caching or batch discounts)
and go stale; `register_price` overrides them.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass

__all__ = ["Price", "cost_usd", "known_prices", "price_for", "register_price"]


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6


FREE = Price(0.0, 0.0)

_FREE_PREFIXES = ("local:", "fake:")
"""Models whose every name is free: they run on this machine or are test doubles."""

_lock = threading.Lock()
_prices: dict[str, Price] = {
    # OpenAI, https://openai.com/api/pricing
    "openai:gpt-4.1": Price(2.00, 8.00),
    "openai:gpt-4.1-mini": Price(0.40, 1.60),
    "openai:gpt-4.1-nano": Price(0.10, 0.40),
    "openai:gpt-4o": Price(2.50, 10.00),
    "openai:gpt-4o-mini": Price(0.15, 0.60),
    # Anthropic, https://www.anthropic.com/pricing
    "anthropic:claude-sonnet-4-5": Price(3.00, 15.00),
    "anthropic:claude-haiku-4-5": Price(1.00, 5.00),
    "anthropic:claude-opus-4-1": Price(15.00, 75.00),
}

_SNAPSHOT_SUFFIX = re.compile(r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-latest)")
"""What may follow a known name: a dated snapshot (``-2025-04-14``, ``-20250929``,
``@20250805``) or ``-latest``. Anything else is another model: ``claude-opus-4-5`` is
not priced as ``claude-opus-4``, nor ``gpt-4o-audio-preview`` as ``gpt-4o``."""

_OPENROUTER_VENDORS = ("openai", "anthropic")


def register_price(model_name: str, input_per_mtok: float, output_per_mtok: float) -> None:
    """Set the USD price per million input/output tokens of `model_name`.

    `model_name` is the name models are resolved by (``"openai:gpt-4.1"``,
    ``"ollama:llama3.2"``, ``"http://host:8000/v1#my-model"``). It also prices dated
    snapshots of that name (``"openai:gpt-4.1-2025-04-14"``) unless they have their own.
    """
    name = model_name.strip()
    if not name:
        raise ValueError("register_price needs a model name")
    for label, value in (("input_per_mtok", input_per_mtok), ("output_per_mtok", output_per_mtok)):
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{label} must be a finite number >= 0, not {value!r}")
    with _lock:
        _prices[name] = Price(float(input_per_mtok), float(output_per_mtok))


def price_for(model_name: str) -> Price | None:
    """The price of `model_name`, or None when it is unknown (never assume it is free)."""
    name = model_name.strip()
    with _lock:
        found = _lookup(name)
        if found is None and name.startswith("openrouter:"):
            # OpenRouter bills the provider's list price for "vendor/model" names.
            vendor, _, model = name.removeprefix("openrouter:").partition("/")
            if vendor in _OPENROUTER_VENDORS and model:
                # OpenRouter writes "claude-sonnet-4.5" for Anthropic's "claude-sonnet-4-5".
                found = _lookup(f"{vendor}:{model}") or _lookup(
                    f"{vendor}:{model.replace('.', '-')}"
                )
    if found is None and name.startswith(_FREE_PREFIXES):
        return FREE
    return found


def cost_usd(model_name: str, input_tokens: int, output_tokens: int) -> float | None:
    """What a call with these token counts costs in USD, or None when the model is unpriced."""
    price = price_for(model_name)
    return None if price is None else price.cost(input_tokens, output_tokens)


def known_prices() -> dict[str, Price]:
    """A copy of the price table."""
    with _lock:
        return dict(_prices)


def _lookup(name: str) -> Price | None:
    exact = _prices.get(name)
    if exact is not None:
        return exact
    # The longest known name that `name` extends by a snapshot suffix.
    best: str | None = None
    for key in _prices:
        if (
            name.startswith(key)
            and _SNAPSHOT_SUFFIX.fullmatch(name[len(key) :])
            and (best is None or len(key) > len(best))
        ):
            best = key
    return None if best is None else _prices[best]
