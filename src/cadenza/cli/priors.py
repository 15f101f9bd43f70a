"""`cadenza priors`: what earlier runs learned (`show`), and forgetting it (`reset`)."""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict

import click
from rich.console import Console
from rich.table import Table

from ..store import default_db_url
from ..store.priors import open_prior_table

__all__ = ["priors_group"]

_DB_OPTION = click.option(
    "--db",
    "db_url",
    default=None,
    metavar="URL",
    help="sqlite:///path.db or postgresql://user@host/dbname  "
    "[default: $XDG_DATA_HOME/cadenza/cadenza.db]",
)


@click.group("priors")
def priors_group() -> None:
    """Priors learned across runs: per model, requirement kind and action kind, how often
    the action improved the requirement, and its tokens."""


@priors_group.command("show")
@_DB_OPTION
@click.option("--model", "models", multiple=True, help="Only this model (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def show_command(db_url: str | None, models: tuple[str, ...], as_json: bool) -> None:
    """The table: tried, improved, the rate, and tokens per try."""
    table = open_prior_table(db_url or default_db_url())
    try:
        rows = table.rows(models=list(models) or None)
        where = table.where
    finally:
        table.store.close()
    if as_json:
        out = [{**asdict(r), "rate": round(r.rate, 4)} for r in rows]
        click.echo(json.dumps({"db": where, "rows": out}, indent=2))
        return
    if not rows:
        click.echo(f"no priors recorded yet in {where}")
        return
    view = Table(
        "model",
        "requirement kind",
        "action",
        "tried",
        "improved",
        "rate",
        "tokens/try",
        "updated",
        title=f"priors in {where}",
    )
    for r in rows:
        updated = datetime.datetime.fromtimestamp(r.updated_at).isoformat(" ", "seconds")
        view.add_row(
            r.model,
            r.requirement_kind,
            r.action,
            str(r.tried),
            str(r.improved),
            f"{r.rate:.2f}",
            f"{r.tokens_per_try:.0f}",
            updated,
        )
    Console(width=160).print(view)


@priors_group.command("reset")
@_DB_OPTION
@click.option("--model", default=None, help="Forget only this model's counts.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset_command(db_url: str | None, model: str | None, yes: bool) -> None:
    """Forget the counts (runs then start from the defaults again)."""
    table = open_prior_table(db_url or default_db_url())
    try:
        what = f"the priors of {model}" if model else "all priors"
        if not yes:
            click.confirm(f"Forget {what} in {table.where}?", abort=True)
        deleted = table.reset(model=model)
    finally:
        table.store.close()
    click.echo(f"forgot {deleted} row(s) in {table.where}")
