from __future__ import annotations

import pytest

from cadenza import RunOptions
from cadenza.engine import CallSettings
from cadenza.planner import SearchSettings


@pytest.fixture
def fast_options() -> RunOptions:
    """No real backoff waits, no compiler (tests say which validator they mean)."""
    return RunOptions(
        calls=CallSettings(retries=2, backoff_s=0.001, timeout_s=5.0),
        search=SearchSettings(max_output_tokens=64),
        compile_requirements=False,
    )
