"""What the benchmark runners (``ifeval``, ``jsonschema``, ``hotpotqa``) share around their
arms: the data file's rows, the arm names, the settings a resumed run must keep, a runner
for an arm's direct calls, the (item, arm) pairs still to run, and the report's per-arm
grouping, skipped rows and ``report.json``. The results file itself is `resume`'s.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ..engine import BudgetLedger, CallRunner, CallSettings
from ..errors import CadenzaError, InvalidTaskError
from ..task import Budget
from ..trace import TraceRecorder
from .resume import Progress, check_config, read_results, run_resumable

__all__ = [
    "ROW_ERRORS",
    "HasArm",
    "RunSettings",
    "by_arm",
    "check_arms",
    "direct_calls",
    "load_jsonl",
    "record_settings",
    "run_arms",
    "skipped_fields",
    "write_report",
]


class HasArm(Protocol):
    """An outcome of one arm on one item."""

    @property
    def arm(self) -> str: ...


class RunSettings(Protocol):
    """The settings of a benchmark run that its results depend on."""

    @property
    def data(self) -> Path: ...
    @property
    def out(self) -> Path: ...
    @property
    def model(self) -> str: ...
    @property
    def budget(self) -> str | dict[str, Any]: ...
    @property
    def max_output_tokens(self) -> int: ...


T = TypeVar("T")
Item = TypeVar("Item")
Outcome = TypeVar("Outcome", bound=HasArm)

ROW_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, KeyError, CadenzaError)
"""What a row parser raises for a row it refuses."""


# -- the data file --------------------------------------------------------------------------
def load_jsonl(
    path: Path,
    parse: Callable[[Any, int], T],
    *,
    limit: int | None = None,
    errors: tuple[type[Exception], ...] = ROW_ERRORS,
) -> tuple[list[T], list[str]]:
    """The rows of a JSONL file, each line's value parsed by ``parse(value, line_number)``,
    up to `limit` rows; a row it refuses (raising one of `errors`) is skipped with a
    message naming its line. An unreadable file raises InvalidTaskError."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidTaskError(f"cannot read {path}: {exc.strerror or exc}") from None
    rows: list[T] = []
    skipped: list[str] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(parse(json.loads(line), n))
        except errors as exc:
            skipped.append(f"{path.name} line {n}: {exc}")
        if limit is not None and len(rows) >= limit:
            break
    return rows, skipped


# -- the run ----------------------------------------------------------------------------------
def check_arms(arms: Sequence[str], known: Sequence[str]) -> None:
    """Refuse an empty choice of arms or one `known` does not hold."""
    unknown = [a for a in arms if a not in known]
    if unknown or not arms:
        raise InvalidTaskError(f"unknown arm(s) {unknown}; choose from {', '.join(known)}")


def record_settings(cfg: RunSettings) -> None:
    """Keep ``cfg.out`` from mixing results made with another data file, model, budget or
    output cap (`resume.check_config`)."""
    check_config(
        cfg.out,
        {
            "data": str(cfg.data),
            "model": cfg.model,
            "budget": cfg.budget,
            "max_output_tokens": cfg.max_output_tokens,
        },
    )


def direct_calls(max_calls: int) -> tuple[BudgetLedger, CallRunner]:
    """A call runner for an arm's own calls outside a cadenza run (at most `max_calls`),
    and the ledger that counts them."""
    ledger = BudgetLedger(Budget(max_calls=max_calls))
    return ledger, CallRunner(ledger, TraceRecorder(), CallSettings())


async def run_arms(
    items: Sequence[Item],
    arms: Sequence[str],
    run_one: Callable[[Item, str], Awaitable[Outcome]],
    out: Path,
    *,
    item_key: Callable[[Item], str],
    outcome_key: Callable[[Outcome], str],
    parse: Callable[[dict[str, Any]], Outcome],
    on_progress: Progress | None = None,
    concurrency: int = 1,
) -> list[Outcome]:
    """Run every arm on every item whose outcome ``out/results.jsonl`` does not hold yet
    (appending each as it finishes, so an interrupted run resumes); return the outcomes of
    `items`, those found in the file first, leaving out the file's other items."""
    results = out / "results.jsonl"
    done = {(outcome_key(o), o.arm): o for o in read_results(results, parse)}
    todo = [(item, arm) for item in items for arm in arms if (item_key(item), arm) not in done]

    async def one(job: tuple[Item, str]) -> Outcome:
        return await run_one(*job)

    for outcome in await run_resumable(
        todo,
        one,
        results,
        total=len(items) * len(arms),
        on_progress=on_progress,
        concurrency=concurrency,
    ):
        done[(outcome_key(outcome), outcome.arm)] = outcome
    keys = {item_key(item) for item in items}
    return [o for (key, _), o in done.items() if key in keys]


# -- the report -------------------------------------------------------------------------------
def by_arm(outcomes: Iterable[Outcome], arms: Sequence[str]) -> dict[str, list[Outcome]]:
    """The outcomes of each of `arms` that has any, in the order of `arms`."""
    grouped: dict[str, list[Outcome]] = {}
    for o in outcomes:
        grouped.setdefault(o.arm, []).append(o)
    return {arm: grouped[arm] for arm in arms if grouped.get(arm)}


def skipped_fields(skipped: Sequence[str]) -> dict[str, Any]:
    """The report's last fields: how many rows of the data file were skipped, and why."""
    return {"skipped": len(skipped), "skipped_rows": list(skipped)}


def write_report(out: Path, report: dict[str, Any]) -> dict[str, Any]:
    """Write ``out/report.json``; return the report."""
    (out / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report
