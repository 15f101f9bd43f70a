from __future__ import annotations

from collections.abc import Iterator

import pytest

from cadenza.models import pricing
from cadenza.models.pricing import Price, cost_usd, price_for, register_price


@pytest.fixture(autouse=True)
def restore_prices() -> Iterator[None]:
    saved = dict(pricing._prices)
    yield
    pricing._prices.clear()
    pricing._prices.update(saved)


def test_known_prices() -> None:
    assert price_for("openai:gpt-4.1-mini") == Price(0.40, 1.60)
    assert price_for("openai:gpt-4.1") == Price(2.00, 8.00)
    assert price_for("openai:gpt-4o-mini") == Price(0.15, 0.60)
    assert price_for("anthropic:claude-sonnet-4-5") == Price(3.00, 15.00)
    assert price_for("anthropic:claude-opus-4-1") == Price(15.00, 75.00)


def test_dated_snapshots_match_the_longest_known_name() -> None:
    assert price_for("openai:gpt-4.1-mini-2025-04-14") == price_for("openai:gpt-4.1-mini")
    assert price_for("openai:gpt-4.1-2025-04-14") == price_for("openai:gpt-4.1")
    assert price_for("openai:gpt-4o-mini-2024-07-18") == price_for("openai:gpt-4o-mini")
    assert price_for("anthropic:claude-sonnet-4-5-20250929") == Price(3.00, 15.00)
    assert price_for("anthropic:claude-haiku-4-5-20251001") == Price(1.00, 5.00)


def test_other_models_are_not_priced_as_their_prefix() -> None:
    assert price_for("openai:gpt-4.1-minimal") is None
    assert price_for("openai:gpt-4o-audio-preview") is None
    assert price_for("anthropic:claude-opus-4-5") is None


def test_unknown_is_none_not_free() -> None:
    assert price_for("openai:gpt-99") is None
    assert price_for("ollama:llama3.2") is None
    assert price_for("http://host:8000/v1#m") is None
    assert cost_usd("openai:gpt-99", 1000, 1000) is None


def test_local_and_fake_are_free() -> None:
    assert price_for("local:smollm2") == Price(0.0, 0.0)
    assert price_for("local:/models/x.gguf") == Price(0.0, 0.0)
    assert price_for("fake:scripted") == Price(0.0, 0.0)
    assert cost_usd("local:smollm2", 10**6, 10**6) == 0.0


def test_cost() -> None:
    cost = cost_usd("openai:gpt-4.1-mini", 1000, 200)
    assert cost == pytest.approx((1000 * 0.40 + 200 * 1.60) / 1e6)


def test_openrouter_names_take_the_vendor_price() -> None:
    assert price_for("openrouter:openai/gpt-4.1-mini") == Price(0.40, 1.60)
    assert price_for("openrouter:anthropic/claude-sonnet-4.5") == Price(3.00, 15.00)
    assert price_for("openrouter:meta-llama/llama-3.1-8b-instruct") is None


def test_register_price_adds_and_overrides() -> None:
    register_price("ollama:llama3.2", 0, 0)
    assert price_for("ollama:llama3.2") == Price(0.0, 0.0)
    register_price("openai:my-finetune", 0.8, 3.2)
    assert cost_usd("openai:my-finetune", 10**6, 10**6) == pytest.approx(4.0)
    assert price_for("openai:my-finetune-2025-01-01") == Price(0.8, 3.2)
    register_price("openai:gpt-4.1-mini", 1.0, 2.0)
    assert price_for("openai:gpt-4.1-mini-2025-04-14") == Price(1.0, 2.0)
    register_price("local:paid", 1.0, 1.0)  # an explicit price beats "local is free"
    assert price_for("local:paid") == Price(1.0, 1.0)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_register_price_rejects_nonsense(bad: float) -> None:
    with pytest.raises(ValueError):
        register_price("openai:x", bad, 1.0)
    with pytest.raises(ValueError):
        register_price("openai:x", 1.0, bad)


def test_register_price_needs_a_name() -> None:
    with pytest.raises(ValueError):
        register_price("  ", 1.0, 1.0)


def test_top_level_export() -> None:
    import cadenza

    assert cadenza.register_price is register_price
