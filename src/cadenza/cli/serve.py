"""`cadenza serve`: the HTTP server (Maestro runs API, OpenAI-compatible chat, web page)."""

from __future__ import annotations

import os
import sys

import click

from ..store import default_db_url, parse_duration
from ..task import DEFAULT_MODEL

__all__ = ["serve_command"]


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback needs an API key.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--db",
    "db_url",
    default=None,
    metavar="URL",
    help="sqlite:///path.db or postgresql://user@host/dbname  "
    "[default: $XDG_DATA_HOME/cadenza/cadenza.db]",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="KEY",
    help="A key clients send as 'Authorization: Bearer KEY'; repeat for several. "
    "Also read from CADENZA_API_KEYS (comma-separated).",
)
@click.option(
    "-m",
    "--model",
    "models",
    multiple=True,
    help=f"Default model(s) for runs that name none, and for the model 'cadenza' "
    f"of the OpenAI API; repeat for several.  [default: {DEFAULT_MODEL}]",
)
@click.option("--judge-model", default=None, help="Default model for LLM judgements.")
@click.option(
    "--max-body",
    "max_body_bytes",
    default=1 << 20,
    show_default=True,
    type=click.IntRange(1024),
    help="Largest request body, in bytes (413 above).",
)
@click.option(
    "--retention",
    default=None,
    metavar="DURATION",
    help="Delete runs that finished longer ago than this (30d, 12h, …), checking "
    "periodically.  [default: keep every run]",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def serve_command(
    host: str,
    port: int,
    db_url: str | None,
    api_keys: tuple[str, ...],
    models: tuple[str, ...],
    judge_model: str | None,
    max_body_bytes: int,
    retention: str | None,
    log_level: str,
) -> None:
    """Serve cadenza over HTTP: the AI21 Maestro runs API, OpenAI-compatible chat
    completions, cadenza's runs API and a web page of runs, at http://HOST:PORT/."""
    try:
        from ..server import ServerSettings, run_server
        from ..server.settings import is_loopback, keys_from_env
    except ImportError as exc:
        click.echo(
            f"Error: cadenza serve needs the server extra ({exc.name} is missing): "
            "pip install 'cadenza[server]'",
            err=True,
        )
        sys.exit(2)

    retention_s = parse_duration(retention) if retention else None
    keys = tuple(
        dict.fromkeys(
            [*(k.strip() for k in api_keys if k.strip()), *keys_from_env(dict(os.environ))]
        )
    )
    if not keys and not is_loopback(host):
        click.echo(
            f"Error: refusing to listen on {host} without an API key: anyone who can reach "
            "it could spend your model budget. Pass --api-key KEY (or set CADENZA_API_KEYS), "
            "or listen on 127.0.0.1.",
            err=True,
        )
        sys.exit(2)
    settings = ServerSettings(
        host=host,
        port=port,
        db_url=db_url or default_db_url(),
        api_keys=keys,
        models=models,
        judge_model=judge_model,
        max_body_bytes=max_body_bytes,
        retention_s=retention_s,
    )
    auth = f"{len(keys)} API key(s)" if keys else "no API key (loopback only)"
    click.echo(f"cadenza serving on http://{_url_host(host)}:{port}/ with {auth}", err=True)
    run_server(settings, log_level=log_level)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
