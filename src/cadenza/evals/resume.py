"""What every benchmark runner shares: results kept one JSON line per (item, arm) in
``DIR/results.jsonl`` as each finishes, so an interrupted evaluation resumes where it
stopped, and a progress callback ``(done, total)``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..errors import InvalidTaskError

__all__ = ["Progress", "check_config", "read_results", "run_resumable"]

T = TypeVar("T")
J = TypeVar("J")
Progress = Callable[[int, int], None]


def read_results(path: Path, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    """The outcomes in a results file; a line an interruption cut short is skipped."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(parse(json.loads(line)))
        except (ValueError, TypeError, KeyError):
            continue
    return out


def check_config(out: Path, config: Mapping[str, Any]) -> None:
    """Record what the results in `out` were made with; refuse to mix in results made
    with something else (another model, budget or data file)."""
    path = out / "config.json"
    if path.exists():
        try:
            before = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            before = None
        if isinstance(before, dict):
            changed = sorted(k for k in config if k in before and before[k] != config[k])
            if changed:
                raise InvalidTaskError(
                    f"{out} holds results made with another {', '.join(changed)} "
                    f"({', '.join(f'{k}={before[k]!r}' for k in changed)}); resume with the "
                    "same settings or choose another --out folder"
                )
    path.write_text(json.dumps(dict(config), indent=2), encoding="utf-8")


async def run_resumable(
    jobs: Sequence[J],
    run_one: Callable[[J], Awaitable[T]],
    results: Path,
    *,
    total: int,
    on_progress: Progress | None = None,
    concurrency: int = 1,
) -> list[T]:
    """Run `jobs` (at most `concurrency` at once), appending each outcome to `results` as
    it finishes. `total` counts the jobs finished before as well, for the progress."""
    finished = total - len(jobs)
    if on_progress:
        on_progress(finished, total)
    outcomes: list[T] = []
    queue = list(reversed(jobs))
    with results.open("a", encoding="utf-8") as sink:

        async def worker() -> None:
            nonlocal finished
            while queue:
                outcome = await run_one(queue.pop())
                row = asdict(outcome) if is_dataclass(outcome) else outcome  # type: ignore[arg-type]
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                outcomes.append(outcome)
                finished += 1
                if on_progress:
                    on_progress(finished, total)

        async with asyncio.TaskGroup() as group:  # one failing job stops the others
            for _ in range(max(1, concurrency)):
                group.create_task(worker())
    return outcomes
