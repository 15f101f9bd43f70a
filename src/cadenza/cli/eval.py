"""`cadenza eval ifeval|jsonschema|hotpotqa ...`: benchmark runs and scoring of existing outputs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypedDict, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
from rich.progress import Progress as ProgressBar
from rich.table import Table

from ..errors import InvalidTaskError
from ..evals import hotpotqa as hq
from ..evals import jsonschema as js
from ..evals.ifeval import ARMS, DEFAULT_ARMS, EvalConfig, load_rows, run_ifeval, score_responses
from ..evals.plot import plot_accuracy_vs_tokens, plot_coverage_by_subset, plot_f1_vs_tokens
from ..evals.resume import Progress
from ..evals.runs import check_arms

__all__ = ["eval_group"]

F = TypeVar("F", bound=Callable[..., Any])


def _data_options(data_help: str, unit: str) -> Callable[[F], F]:
    """The options every eval shares: the data file, a limit, the model and the budget."""

    def apply(command: F) -> F:
        for option in reversed(
            [
                click.option(
                    "--data", type=click.Path(path_type=Path), required=True, help=data_help
                ),
                click.option(
                    "--limit", type=click.IntRange(min=1), help=f"Only the first N {unit}."
                ),
                click.option("--model", default="local:smollm2", show_default=True),
                click.option(
                    "--budget",
                    default="low",
                    show_default=True,
                    help="Budget of each cadenza run: low|medium|high or a JSON object of caps.",
                ),
            ]
        ):
            command = option(command)
        return command

    return apply


def _arms_option(default: Sequence[str], known: Sequence[str]) -> Callable[[F], F]:
    return click.option(
        "--arms",
        default=",".join(default),
        show_default=True,
        help=f"Comma-separated arms to run, of: {', '.join(known)}.",
    )


def _out_option(help_text: str) -> Callable[[F], F]:
    return click.option("--out", type=click.Path(path_type=Path), required=True, help=help_text)


_RESUMABLE_OUT = "Folder for results.jsonl, report.json and the plot; rerun to resume."


@click.group("eval")
def eval_group() -> None:
    """Run benchmarks."""


@eval_group.command("ifeval")
@_data_options("IFEval-format JSONL: key, prompt, instruction_id_list, kwargs.", "prompts")
@click.option("--mode", type=click.Choice(["code", "judge"]), default="code", show_default=True)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="K of the oracle best-of-K arm.",
)
@_arms_option(DEFAULT_ARMS, ARMS)
@click.option(
    "--responses",
    type=click.Path(path_type=Path),
    help="Score these responses ({key, response} rows) instead of generating.",
)
@_out_option("Folder for results.jsonl, report.json and the plot.")
@click.option(
    "--no-priors",
    is_flag=True,
    help="cadenza's runs neither use nor record priors learned across runs.",
)
@click.option(
    "--priors-record-only",
    is_flag=True,
    help="cadenza's runs record priors but start from the defaults (a pass to compare with).",
)
def ifeval_command(
    data: Path,
    limit: int | None,
    model: str,
    budget: str,
    mode: str,
    samples: int,
    arms: str,
    responses: Path | None,
    out: Path,
    no_priors: bool,
    priors_record_only: bool,
) -> None:
    """Reproduce the Maestro IFEval experiment: baseline, cadenza and oracle arms."""
    if responses is not None:
        _score_only(data, responses, out)
        return
    check_arms(_arm_names(arms), ARMS)
    cfg = EvalConfig(
        **_shared_settings(data, out, model, budget, limit, arms),
        mode=mode,
        samples=samples,
        priors=not no_priors,
        priors_record_only=priors_record_only,
    )
    _run_eval(
        "prompts x arms",
        lambda tick: run_ifeval(cfg, on_progress=tick),
        lambda report: plot_accuracy_vs_tokens(report, out / "accuracy_vs_tokens.png"),
        _print_report,
    )


def _arm_names(arms: str) -> tuple[str, ...]:
    """The arms of a comma-separated ``--arms`` value, blanks dropped."""
    return tuple(a.strip() for a in arms.split(",") if a.strip())


class _SharedSettings(TypedDict):
    """The fields every benchmark's config takes from the options every eval shares."""

    data: Path
    out: Path
    model: str
    budget: str | dict[str, Any]
    limit: int | None
    arms: tuple[str, ...]


def _shared_settings(
    data: Path, out: Path, model: str, budget: str, limit: int | None, arms: str
) -> _SharedSettings:
    """`_data_options`, ``--arms`` and ``--out`` as a config's fields: the budget parsed,
    the arms split."""
    return {
        "data": data,
        "out": out,
        "model": model,
        "budget": _parse_budget(budget),
        "limit": limit,
        "arms": _arm_names(arms),
    }


Report = dict[str, Any]


def _run_eval(
    label: str,
    start: Callable[[Progress], Coroutine[Any, Any, Report]],
    plot: Callable[[Report], Path],
    show: Callable[[Report], None],
) -> None:
    """Run an evaluation with a progress bar on stderr, plot its report, show it on
    stdout, and name on stderr the data rows it skipped."""
    console = Console(stderr=True)
    with ProgressBar(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(label, total=None)
        report = asyncio.run(
            start(lambda done, total: bar.update(task, completed=done, total=total))
        )
    plot(report)
    show(report)
    for line in report["skipped_rows"]:
        console.print(f"[yellow]skipped[/yellow] {line}")


def _parse_budget(budget: str) -> str | dict[str, Any]:
    if not budget.strip().startswith("{"):
        return budget
    try:
        value = json.loads(budget)
    except ValueError as exc:
        raise InvalidTaskError(f"--budget: not a JSON object ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidTaskError("--budget: give low|medium|high or a JSON object of caps")
    return value


def _score_only(data: Path, responses: Path, out: Path) -> None:
    rows, skipped = load_rows(data)
    resp = []
    for n, line in enumerate(responses.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                resp.append(json.loads(line))
            except ValueError as exc:
                raise InvalidTaskError(f"{responses.name} line {n}: not JSON ({exc})") from None
    verdicts = score_responses(rows, resp)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "verdicts.jsonl").open("w", encoding="utf-8") as f:
        for v in verdicts:
            f.write(json.dumps(v) + "\n")
    n_ok = sum(all(i["strict"] for i in v["instructions"]) for v in verdicts)
    click.echo(
        f"{len(verdicts)} responses scored, {n_ok} meet every instruction (strict); "
        f"wrote {out / 'verdicts.jsonl'}"
        + (f"; {len(skipped)} bad prompt rows skipped" if skipped else "")
    )


def _print_report(report: dict[str, object]) -> None:
    table = Table(
        "arm",
        "prompt strict",
        "prompt loose",
        "instr strict",
        "instr loose",
        "tokens/prompt",
        "calls/prompt",
        "s/prompt",
        title=f"IFEval: {report['n_prompts']} prompts, {report['model']}, "
        f"mode {report['mode']}, budget {report['budget']}",
    )
    arms = report["arms"]
    assert isinstance(arms, dict)
    for arm, m in arms.items():
        table.add_row(
            arm,
            *(
                f"{100 * m[k]:.1f} %"
                for k in (
                    "prompt_strict",
                    "prompt_loose",
                    "instruction_strict",
                    "instruction_loose",
                )
            ),
            f"{m['tokens_per_prompt']:.0f}",
            f"{m['calls_per_prompt']:.1f}",
            f"{m['seconds_per_prompt']:.1f}",
        )
    Console().print(table)


@eval_group.command("jsonschema")
@_data_options("JSONL of JSON Schemas: one {id, subset, schema} object a line.", "schemas")
@_arms_option(js.DEFAULT_ARMS, js.ARMS)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="Schemas evaluated at once (their seconds then include waiting for each other).",
)
@_out_option(_RESUMABLE_OUT)
def jsonschema_command(
    data: Path, limit: int | None, model: str, budget: str, arms: str, concurrency: int, out: Path
) -> None:
    """JSONSchemaBench coverage: free, constrained and cadenza arms, per subset."""
    cfg = js.JsonSchemaConfig(
        **_shared_settings(data, out, model, budget, limit, arms), concurrency=concurrency
    )
    _run_eval(
        "schemas x arms",
        lambda tick: js.run_jsonschema(cfg, on_progress=tick),
        lambda report: plot_coverage_by_subset(report, out / "coverage_by_subset.png"),
        _print_coverage,
    )


def _print_coverage(report: dict[str, Any]) -> None:
    """Two tables, so that both fit a terminal: the arms, then coverage per subset."""
    arms: dict[str, dict[str, Any]] = report["arms"]
    table = Table(
        "arm",
        "coverage",
        "without repairs",
        "tokens/schema",
        "calls/schema",
        "s/schema",
        title=f"JSON Schema coverage: {report['n_schemas']} schemas, {report['model']}, "
        f"budget {report['budget']}",
    )
    for arm, m in arms.items():
        table.add_row(
            arm,
            f"{100 * m['coverage']:.1f} %",
            f"{100 * m['coverage_without_repairs']:.1f} %",
            f"{m['tokens_per_schema']:.0f}",
            f"{m['calls_per_schema']:.1f}",
            f"{m['seconds_per_schema']:.1f}",
        )
    console = Console()
    console.print(table)
    subsets = list(report["subsets"])
    by_subset = Table("subset", "schemas", *arms, title="coverage per subset")
    for s in subsets:
        by_subset.add_row(
            s,
            str(report["subsets"][s]),
            *(
                f"{100 * m['coverage_by_subset'][s]:.0f} %" if s in m["coverage_by_subset"] else "-"
                for m in arms.values()
            ),
        )
    console.print(by_subset)


@eval_group.command("hotpotqa")
@_data_options(
    "HotpotQA JSONL: id, question, answers, paragraphs (title, text, is_supporting).", "questions"
)
@_arms_option(hq.ARMS, hq.ARMS)
@click.option(
    "--library",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The pooled library's SQLite file (default OUT/library.db); reused when present.",
)
@_out_option(_RESUMABLE_OUT)
def hotpotqa_command(
    data: Path,
    limit: int | None,
    model: str,
    budget: str,
    arms: str,
    library: Path | None,
    out: Path,
) -> None:
    """HotpotQA over one pooled library: closed_book, naive_rag and cadenza arms."""
    cfg = hq.HotpotConfig(
        **_shared_settings(data, out, model, budget, limit, arms), library=library
    )
    _run_eval(
        "questions x arms",
        lambda tick: hq.run_hotpotqa(cfg, on_progress=tick),
        lambda report: plot_f1_vs_tokens(report, out / "f1_vs_tokens.png"),
        _print_hotpotqa,
    )


def _print_hotpotqa(report: dict[str, Any]) -> None:
    table = Table(
        "arm",
        "EM",
        "F1",
        "supporting shown",
        "citation precision",
        "tokens/q",
        "calls/q",
        "s/q",
        title=f"HotpotQA: {report['n_questions']} questions, {report['model']}, "
        f"budget {report['budget']}",
    )
    for arm, m in report["arms"].items():
        cp = m["citation_precision"]
        table.add_row(
            arm,
            f"{100 * m['em']:.1f} %",
            f"{100 * m['f1']:.1f}",
            f"{100 * m['supporting_recall']:.1f} %",
            "-" if cp is None else f"{100 * cp:.1f} %",
            f"{m['tokens_per_question']:.0f}",
            f"{m['calls_per_question']:.1f}",
            f"{m['seconds_per_question']:.1f}",
        )
    Console().print(table)
