"""`cadenza files`: the document library — add files, list them, remove them.

    cadenza files add handbook.pdf notes/*.md --label hr
    cadenza files ls [--label hr] [--json]
    cadenza files rm 3f0c...  (a file id from `ls`)

The library lives in the same database as runs (`--db`, default the user's cadenza.db);
`cadenza run --file-search` and `cadenza serve` search it.
"""

from __future__ import annotations

import datetime
import json
import sys
from dataclasses import asdict
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..retrieval import Library

__all__ = ["files_group"]

DB_OPTION = click.option(
    "--db",
    "db_url",
    default=None,
    metavar="URL",
    help="sqlite:///path.db or postgresql://user@host/dbname  "
    "[default: $XDG_DATA_HOME/cadenza/cadenza.db]",
)


@click.group("files")
def files_group() -> None:
    """The document library that file search reads: add, list and remove files."""


@files_group.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-l", "--label", "labels", multiple=True, help="A label for every file; repeat.")
@click.option("--path", "folder", help="A folder-like path for the files, e.g. policies/2024.")
@DB_OPTION
def add_command(
    paths: tuple[Path, ...], labels: tuple[str, ...], folder: str | None, db_url: str | None
) -> None:
    """Add files (text, Markdown, HTML, PDF, DOCX). A file that cannot be read is named
    and skipped; the others are added (exit code 1 if any was skipped)."""
    with Library(db_url) as library:
        report = library.add_many(list(paths), labels=list(labels), path=folder)
    for record in report.added:
        click.echo(f"added {record.id}  {record.name}  ({record.chunks} passages)")
    for error in report.errors:
        click.echo(f"skipped {error.file_name}: {error}", err=True)
    if report.errors:
        sys.exit(1)


@files_group.command("ls")
@click.option("-l", "--label", "labels", multiple=True, help="Only files with this label; repeat.")
@click.option("--path", "prefix", help="Only files whose path starts with this.")
@click.option("-n", "--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@DB_OPTION
def ls_command(
    labels: tuple[str, ...], prefix: str | None, limit: int, as_json: bool, db_url: str | None
) -> None:
    """The files in the library, oldest first."""
    with Library(db_url) as library:
        records = library.list(labels=list(labels) or None, path_prefix=prefix, limit=limit)
    if as_json:
        for r in records:
            click.echo(json.dumps(asdict(r)))
        return
    if not records:
        click.echo("the library has no files" + (" matching that" if labels or prefix else ""))
        return
    table = Table("id", "name", "title", "passages", "labels", "path", "added")
    for r in records:
        added = datetime.datetime.fromtimestamp(r.created_at).isoformat(" ", "seconds")
        table.add_row(
            r.id, r.name, r.title, str(r.chunks), ", ".join(r.labels), r.path or "", added
        )
    Console().print(table)


@files_group.command("rm")
@click.argument("file_ids", nargs=-1, required=True)
@DB_OPTION
def rm_command(file_ids: tuple[str, ...], db_url: str | None) -> None:
    """Remove files (and their passages) by id. An id that names no file is reported
    (exit code 1); the others are removed."""
    missing = []
    with Library(db_url) as library:
        for file_id in file_ids:
            if library.delete(file_id):
                click.echo(f"removed {file_id}")
            else:
                missing.append(file_id)
    for file_id in missing:
        click.echo(f"no file {file_id} in the library", err=True)
    if missing:
        sys.exit(1)
