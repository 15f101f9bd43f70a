"""The `cadenza` command: one small module per subcommand, each a thin layer over the library."""

from __future__ import annotations

import sys

import click

from ..errors import UsageError
from .eval import eval_group
from .files import files_group
from .models import models_command
from .priors import priors_group
from .run import run_command
from .runs import runs_group
from .serve import serve_command

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cadenza")
def cli() -> None:
    """cadenza: meet your requirements with a tree of LLM calls, within a budget."""


cli.add_command(run_command)
cli.add_command(models_command)
cli.add_command(eval_group)
cli.add_command(serve_command)
cli.add_command(runs_group)
cli.add_command(files_group)
cli.add_command(priors_group)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except UsageError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
