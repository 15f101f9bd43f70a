"""`cadenza serve`: the HTTP server (Maestro runs API, OpenAI-compatible chat, web page).

Options become a `ServerSettings`; docs/server.md explains each.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..errors import UsageError
from ..store import default_db_url, parse_duration
from ..task import DEFAULT_MODEL

__all__ = ["serve_command"]

_COUNT = click.IntRange(1)


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
    help="A key clients send as 'Authorization: Bearer KEY'; it sees the runs it created. "
    "Repeat for several. Also read from CADENZA_API_KEYS (comma-separated).",
)
@click.option(
    "--admin-key",
    "admin_keys",
    multiple=True,
    metavar="KEY",
    help="A key that sees and cancels every run; repeatable. Also read from "
    "CADENZA_ADMIN_KEYS (comma-separated).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="HOST",
    help="A Host name to answer to (e.g. api.example.com, *.example.com); repeatable. "
    "Without keys the server answers only to loopback names and these; with keys, to "
    "these only when given (421 otherwise).",
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
    "--allow-model",
    "allowed_models",
    multiple=True,
    metavar="NAME",
    help="Another model requests may name (besides -m and --judge-model); repeatable. "
    "Requests can name no other model.",
)
@click.option(
    "--model-alias",
    "model_aliases",
    multiple=True,
    metavar="NAME=MODEL",
    help="Let requests name MODEL as NAME, e.g. jamba-large=openai:gpt-4.1-mini; repeatable.",
)
@click.option(
    "--allow-fake-models",
    is_flag=True,
    help="Let requests name the scripted fake model (fake:<anything>): demos and tests.",
)
@click.option(
    "--max-active-runs",
    default=256,
    show_default=True,
    type=_COUNT,
    help="Runs in progress at once; more get 429.",
)
@click.option(
    "--max-active-runs-per-key",
    default=None,
    type=_COUNT,
    metavar="N",
    help="Runs in progress at once for one key (without keys: for all clients together).",
)
@click.option(
    "--max-runs-per-minute",
    default=None,
    type=_COUNT,
    metavar="N",
    help="Runs one key may start in any 60 s (without keys: all clients together).",
)
@click.option(
    "--max-run-tokens",
    default=None,
    type=_COUNT,
    metavar="N",
    help="Ceiling on any run's max_tokens: more is refused (422); presets and unset caps "
    "are lowered to it.",
)
@click.option(
    "--max-run-usd",
    default=None,
    type=click.FloatRange(0, min_open=True),
    metavar="USD",
    help="Ceiling on any run's max_usd (as --max-run-tokens).",
)
@click.option(
    "--max-run-calls",
    default=None,
    type=_COUNT,
    metavar="N",
    help="Ceiling on any run's max_calls (as --max-run-tokens).",
)
@click.option(
    "--max-run-seconds",
    default=None,
    type=click.FloatRange(0, min_open=True),
    metavar="S",
    help="Ceiling on any run's max_seconds (as --max-run-tokens).",
)
@click.option(
    "--max-body",
    "max_body_bytes",
    default=1 << 20,
    show_default=True,
    type=click.IntRange(1024),
    help="Largest request body, in bytes (413 above).",
)
@click.option(
    "--max-upload",
    "max_upload_bytes",
    default=20 << 20,
    show_default=True,
    type=click.IntRange(1024),
    help="Largest file /studio/v1/library/files takes, in bytes (413 above).",
)
@click.option(
    "--web-search",
    "web_search",
    is_flag=True,
    help="Let runs search the web (Maestro's web_search tool) with the provider in "
    "CADENZA_SEARXNG_URL, CADENZA_BRAVE_API_KEY or CADENZA_TAVILY_API_KEY. Off by default: "
    "a request never chooses a provider.",
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
def serve_command(log_level: str, **options: Any) -> None:
    """Serve cadenza over HTTP: the AI21 Maestro runs API, OpenAI-compatible chat
    completions, cadenza's runs API and a web page of runs, at http://HOST:PORT/."""
    try:
        from ..server import ServerSettings, run_server
        from ..server.settings import is_loopback, keys_from_env, parse_model_alias
    except ImportError as exc:
        click.echo(
            f"Error: cadenza serve needs the server extra ({exc.name} is missing): "
            "pip install 'cadenza[server]'",
            err=True,
        )
        sys.exit(2)

    env = dict(os.environ)
    for name, var in [("api_keys", "CADENZA_API_KEYS"), ("admin_keys", "CADENZA_ADMIN_KEYS")]:
        given = [k.strip() for k in options[name] if k.strip()]
        options[name] = tuple(dict.fromkeys([*given, *keys_from_env(env, var)]))
    host = options["host"]
    if not (options["api_keys"] or options["admin_keys"]) and not is_loopback(host):
        click.echo(
            f"Error: refusing to listen on {host} without an API key: anyone who can reach "
            "it could spend your model budget. Pass --api-key KEY (or set CADENZA_API_KEYS), "
            "or listen on 127.0.0.1.",
            err=True,
        )
        sys.exit(2)
    try:
        options["model_aliases"] = dict(parse_model_alias(a) for a in options["model_aliases"])
        options["db_url"] = options["db_url"] or default_db_url()
        if options.pop("web_search"):
            from ..web import WebSettings

            web = WebSettings.from_env()
            if web.chosen_provider() is None:
                raise UsageError(
                    "--web-search needs a provider: set CADENZA_SEARXNG_URL, "
                    "CADENZA_BRAVE_API_KEY or CADENZA_TAVILY_API_KEY"
                )
            options["web"] = web
        retention = options.pop("retention")
        options["retention_s"] = parse_duration(retention) if retention else None
        settings = ServerSettings(**options)
    except UsageError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    keys = len(settings.api_keys) + len(settings.admin_keys)
    auth = f"{keys} API key(s)" if keys else "no API key (loopback only)"
    click.echo(
        f"cadenza serving on http://{_url_host(host)}:{options['port']}/ with {auth}", err=True
    )
    run_server(settings, log_level=log_level)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
