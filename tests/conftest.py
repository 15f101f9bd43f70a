from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cadenza import RunOptions
from cadenza.engine import CallSettings
from cadenza.planner import SearchSettings
from cadenza.store.priors import close_default_prior_tables


@pytest.fixture(autouse=True)
def _own_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Each test has its own user data directory: runs record their priors there, never
    in the home directory of whoever runs the tests, nor in another test's."""
    home = tmp_path_factory.mktemp("data-home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    yield home
    close_default_prior_tables()


@pytest.fixture
def fast_options() -> RunOptions:
    """No real backoff waits, no compiler (tests say which validator they mean)."""
    return RunOptions(
        calls=CallSettings(retries=2, backoff_s=0.001, timeout_s=5.0),
        search=SearchSettings(max_output_tokens=64),
        compile_requirements=False,
    )
