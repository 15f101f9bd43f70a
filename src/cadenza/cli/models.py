"""`cadenza models`: the models cadenza can reach from here."""

from __future__ import annotations

import dataclasses
import json

import click
from rich.console import Console
from rich.table import Table

from ..models.registry import available_models

__all__ = ["models_command"]


@click.command("models")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print a JSON list of {"name", "provider", "reachable", "detail"} objects.',
)
def models_command(as_json: bool) -> None:
    """List the models cadenza can reach, and how to reach the others."""
    rows = available_models()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(info) for info in rows], indent=2))
        return
    table = Table("model", "provider", "reachable", "detail")
    for info in rows:
        table.add_row(info.name, info.provider, "yes" if info.reachable else "no", info.detail)
    Console().print(table)
