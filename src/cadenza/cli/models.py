"""`cadenza models`: the models cadenza can reach from here."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from ..models.registry import available_models

__all__ = ["models_command"]


@click.command("models")
def models_command() -> None:
    """List the models cadenza can reach, and how to reach the others."""
    table = Table("model", "provider", "reachable", "detail")
    for info in available_models():
        table.add_row(info.name, info.provider, "yes" if info.reachable else "no", info.detail)
    Console().print(table)
