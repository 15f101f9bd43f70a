"""`cadenza run INSTRUCTION -r REQUIREMENT ...`"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click

from ..planner import SearchSettings
from ..runner import RunOptions, arun
from ..task import Budget
from .output import Progress, print_result
from .schema import load_schema, print_typed_result, valid

__all__ = ["run_command"]


@click.command("run")
@click.argument("instruction")
@click.option(
    "-r",
    "--requirement",
    "requirements",
    multiple=True,
    help="A requirement in plain language; repeat for several. Prefix with '!' "
    "to make it mandatory.",
)
@click.option(
    "-m",
    "--model",
    "models",
    multiple=True,
    help="Model to generate with, e.g. local:smollm2, openai:gpt-4.1-mini, "
    "ollama:llama3.2; repeat for several.  [default: local:smollm2]",
)
@click.option("--judge-model", help="Model for LLM judgements (default: the first model).")
@click.option(
    "--budget",
    "preset",
    type=click.Choice(["low", "medium", "high"]),
    help="Budget preset (default: low); numeric caps below override it.",
)
@click.option("--max-tokens", type=int, help="Cap on all tokens, input and output, of every call.")
@click.option("--max-usd", type=float, help="Cap on cost in US dollars.")
@click.option("--max-calls", type=int, help="Cap on the number of model calls.")
@click.option("--max-seconds", type=float, help="Cap on wall-clock time.")
@click.option(
    "--threshold",
    type=float,
    default=1.0,
    show_default=True,
    help="Stop once the overall score reaches this (0..1).",
)
@click.option("--system", "system_prompt", help="A system prompt for generations.")
@click.option(
    "--no-compile",
    is_flag=True,
    help="Judge every requirement with the LLM; attach no code checks.",
)
@click.option(
    "--no-repair",
    is_flag=True,
    help="Never apply deterministic repairs (e.g. lowercasing); only the model fixes.",
)
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A JSON Schema file: the answer must be JSON that validates against it; the "
    "validated JSON is printed on stdout, the rest on stderr.",
)
@click.option("--json", "as_json", is_flag=True, help="Print only the result object as JSON.")
def run_command(
    instruction: str,
    requirements: tuple[str, ...],
    models: tuple[str, ...],
    judge_model: str | None,
    preset: str | None,
    max_tokens: int | None,
    max_usd: float | None,
    max_calls: int | None,
    max_seconds: float | None,
    threshold: float,
    system_prompt: str | None,
    no_compile: bool,
    no_repair: bool,
    schema_file: Path | None,
    as_json: bool,
) -> None:
    """Run INSTRUCTION, improving the answer until it meets every requirement."""
    caps = {
        "max_tokens": max_tokens,
        "max_usd": max_usd,
        "max_calls": max_calls,
        "max_seconds": max_seconds,
    }
    hard_cap = any(v is not None for v in (max_tokens, max_usd, max_calls))
    budget: dict[str, Any] = {"preset": preset or (None if hard_cap else "low"), **caps}
    Budget.coerce(budget)  # fail early, before any model loads
    output_type = load_schema(schema_file) if schema_file is not None else None
    reqs: list[dict[str, Any]] = [
        {"description": r[1:], "is_mandatory": True} if r.startswith("!") else {"description": r}
        for r in requirements
    ]
    progress = None if as_json else Progress()
    result = asyncio.run(
        arun(
            instruction,
            reqs,
            budget=budget,
            threshold=threshold,
            models=list(models) or None,
            judge_model=judge_model,
            system_prompt=system_prompt,
            output_type=output_type,
            options=RunOptions(
                compile_requirements=not no_compile, search=SearchSettings(repairs=not no_repair)
            ),
            on_event=progress.on_event if progress else None,
        )
    )
    if progress:
        progress.stop()
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    elif output_type is not None:
        print_typed_result(result)
    else:
        print_result(result)
    if result.requirements_result.finish_reason == "error":
        if not as_json:
            click.echo(f"Error: {result.requirements_result.finish_message}", err=True)
        sys.exit(1)
    if output_type is not None and not valid(result):
        if not as_json:
            click.echo("Error: no answer matched the schema within the budget", err=True)
        sys.exit(1)
