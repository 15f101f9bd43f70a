"""`cadenza runs`: the runs a server stored (`ls`), and deleting old ones (`prune`)."""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict

import click
from rich.console import Console
from rich.table import Table

from ..store import RUN_STATUSES, RunStatus, default_db_url, opened_store, parse_duration
from ..store import prune_older_than as _prune

__all__ = ["runs_group"]

_DB_OPTION = click.option(
    "--db",
    "db_url",
    default=None,
    metavar="URL",
    help="sqlite:///path.db or postgresql://user@host/dbname  "
    "[default: $XDG_DATA_HOME/cadenza/cadenza.db]",
)


@click.group("runs")
def runs_group() -> None:
    """The runs `cadenza serve` stored: list them, delete old ones."""


@runs_group.command("ls")
@_DB_OPTION
@click.option("--status", type=click.Choice(RUN_STATUSES), default=None)
@click.option("-n", "--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def ls_command(db_url: str | None, status: RunStatus | None, limit: int, as_json: bool) -> None:
    """The newest runs: id, status, when, score, why it stopped, the input's start."""
    with opened_store(db_url or default_db_url()) as store:
        runs = store.list_runs(status=status, limit=limit)
    if as_json:
        for run in runs:
            click.echo(json.dumps(asdict(run)))
        return
    table = Table("id", "status", "source", "created", "score", "finish", "input")
    for run in runs:
        created = datetime.datetime.fromtimestamp(run.created_at).isoformat(" ", "seconds")
        score = "" if run.score is None else f"{run.score:.2f}"
        preview = " ".join(run.input_preview.split())
        preview = preview[:60] + ("…" if len(preview) > 60 else "")
        table.add_row(
            run.id, run.status, run.source, created, score, run.finish_reason or "", preview
        )
    Console().print(table)


@runs_group.command("prune")
@_DB_OPTION
@click.option(
    "--older-than",
    "older_than",
    required=True,
    metavar="DURATION",
    help="Delete runs that finished longer ago than this: 30d, 12h, 90m, 2w, 1d12h.",
)
def prune_command(db_url: str | None, older_than: str) -> None:
    """Delete finished runs older than DURATION, with their trace (never a run in progress)."""
    seconds = parse_duration(older_than)
    with opened_store(db_url or default_db_url()) as store:
        deleted = _prune(store, seconds)
    click.echo(f"deleted {deleted} run(s) that finished over {older_than} ago")
