"""`cadenza run INSTRUCTION -r REQUIREMENT ...`, and what its exit code says."""

from __future__ import annotations

import asyncio
import sys
from enum import IntEnum
from pathlib import Path
from typing import Any

import click

from ..errors import InvalidTaskError
from ..planner import SearchSettings
from ..result import Result
from ..retrieval import FileSearch
from ..runner import RunOptions, arun
from ..sources.tools import Tool
from ..task import Budget
from ..web import WebSearch
from .output import Progress, print_result
from .schema import load_schema, print_typed_result, valid

__all__ = ["ExitCode", "exit_code", "run_command"]


class ExitCode(IntEnum):
    """What `cadenza run` exits with (the result is printed, with --json too, in every case)."""

    MET = 0
    """An answer that reaches the threshold, with every mandatory requirement met."""
    BELOW_THRESHOLD = 1
    """An answer, but below the threshold or with a mandatory requirement unmet."""
    USAGE_ERROR = 2
    """The command line or the task cannot work; nothing ran (the message says why)."""
    NO_ANSWER = 3
    """No usable answer (nothing produced, or an empty one), or the run failed."""


def exit_code(result: Result, threshold: float) -> ExitCode:
    """The exit code for `result` of a run asked to reach `threshold`."""
    rr = result.requirements_result
    if rr.finish_reason == "error" or not result.result.strip():
        return ExitCode.NO_ANSWER
    if any(r.is_mandatory and r.score < 1.0 for r in rr.requirements):
        return ExitCode.BELOW_THRESHOLD
    return ExitCode.MET if rr.score >= threshold else ExitCode.BELOW_THRESHOLD


EPILOG = """\b
Examples:
  cadenza run 'Write a haiku about the sea.' -r 'Use only lowercase letters'
  cadenza run 'Describe the offer.' -r '!Mention the price' --json
  echo 'Summarise this: ...' | cadenza run - -r 'At most 50 words'
  cadenza run 'What is our parental leave?' --file-search --label hr
(Single quotes: in interactive bash, '!' inside double quotes expands history.)

\b
Exit codes:
  0  the threshold was reached and every mandatory requirement is met
  1  an answer, but below the threshold or a mandatory requirement is unmet
  2  usage error: nothing ran (the message says what to change)
  3  no usable answer (with --schema: none matched it), or the run failed (its best
     candidate and trace still print)
"""


@click.command("run", epilog=EPILOG)
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
    "--file-search",
    is_flag=True,
    help="Answer from the document library (`cadenza files add`), citing its passages.",
)
@click.option(
    "-l", "--label", "labels", multiple=True, help="With --file-search: only files with this label."
)
@click.option(
    "--web-search",
    is_flag=True,
    help="Answer from a web search (the provider in CADENZA_SEARXNG_URL, ..._BRAVE_API_KEY or "
    "..._TAVILY_API_KEY).",
)
@click.option(
    "--url",
    "urls",
    multiple=True,
    help="With --web-search: search only this site (ending in /) or read this page; repeat.",
)
@click.option("--db", "db_url", metavar="URL", help="The library's database (with --file-search).")
@click.option(
    "--no-constrain",
    is_flag=True,
    help="Never sample under a grammar of the exact requirements (on models that enforce "
    "grammars, e.g. local:smollm2); every answer is written free.",
)
@click.option(
    "--no-priors",
    is_flag=True,
    help="Neither use nor record what earlier runs learned (`cadenza priors show`).",
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
    file_search: bool,
    labels: tuple[str, ...],
    web_search: bool,
    urls: tuple[str, ...],
    db_url: str | None,
    no_constrain: bool,
    no_priors: bool,
    schema_file: Path | None,
    as_json: bool,
) -> None:
    """Run INSTRUCTION, improving the answer until it meets every requirement.

    INSTRUCTION '-' reads the instruction from standard input."""
    if instruction == "-":
        instruction = sys.stdin.read()
        if not instruction.strip():
            raise InvalidTaskError("standard input was empty; pipe the instruction in")
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
    if (labels or db_url) and not file_search:
        raise InvalidTaskError("--label and --db go with --file-search: add --file-search")
    if urls and not web_search:
        raise InvalidTaskError("--url goes with --web-search: add --web-search")
    tools: list[Tool] = []
    if file_search:
        tools.append(FileSearch(labels=labels))
    if web_search:
        tools.append(WebSearch(urls=urls))
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
                compile_requirements=not no_compile,
                search=SearchSettings(repairs=not no_repair, constrain=not no_constrain),
                priors=not no_priors,
            ),
            on_event=progress.on_event if progress else None,
            tools=tools or None,
            library=db_url,
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
    code = exit_code(result, threshold)
    if output_type is not None and not valid(result):
        code = ExitCode.NO_ANSWER  # stdout stays empty: nothing usable was printed
        if not as_json:
            click.echo("Error: no answer matched the schema within the budget", err=True)
    elif code == ExitCode.NO_ANSWER and not as_json:
        click.echo(f"Error: {result.requirements_result.finish_message}", err=True)
    sys.exit(int(code))
