"""``newswatch serve``: the HTTP search API (api/) with uvicorn."""

from __future__ import annotations

from typing import Any

import click

from core.errors import NewswatchError
from core.settings import load_settings


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on [default: NEWSWATCH_API_HOST].")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port to listen on [default: NEWSWATCH_API_PORT].")
def serve(host: str | None, port: int | None) -> None:
    """Serve the HTTP search API (search, articles, stories, entities, health)."""
    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["api_host"] = host
    if port is not None:
        overrides["api_port"] = port
    settings = load_settings(overrides=overrides)
    try:
        from api.app import serve as run_api
    except ImportError as exc:
        raise NewswatchError(
            f"the API needs the api extra ({exc.name} is missing): pip install 'newswatch[api]'"
        ) from None
    if not settings.api_key and settings.api_read_requires_key:
        click.echo("warning: NEWSWATCH_API_READ_REQUIRES_KEY is set but NEWSWATCH_API_KEY is "
                   "empty; every read will be refused (503)", err=True)
    click.echo(f"Serving the search API on http://{settings.api_host}:{settings.api_port} "
               "(OpenAPI at /openapi.json, docs at /docs); Ctrl-C stops it.", err=True)
    run_api(settings)
