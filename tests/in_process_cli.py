"""Run the `cadenza` command line in the test's own process."""

from __future__ import annotations

import pytest

from cadenza.cli import main

__all__ = ["run_cli"]


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """``cadenza ARGS...``: its exit code, what it printed on stdout and on stderr."""
    monkeypatch.setattr("sys.argv", ["cadenza", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
