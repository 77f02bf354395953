"""``newswatch serve``: the web app (web/) and the HTTP search API (api/) with uvicorn."""

from __future__ import annotations

from typing import Any

import click

from core.errors import NewswatchError
from core.settings import Settings, load_settings


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on [default: NEWSWATCH_API_HOST].")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port to listen on [default: NEWSWATCH_API_PORT].")
def serve(host: str | None, port: int | None) -> None:
    """Serve the web app (/web/) and the HTTP search API (search, articles, stories,
    entities, watches, health) on one address."""
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
    base = local_url(settings)
    click.echo(f"newswatch is at {base}/web/ (the web app: open it in a browser)", err=True)
    click.echo(f"The search API is at {base} (docs at {base}/docs, OpenAPI at "
               f"{base}/openapi.json); Ctrl-C stops both.", err=True)
    if not settings.api_key:
        click.echo("Reading needs no key; to merge or split stories and manage watches in the "
                   "web app, set NEWSWATCH_API_KEY and sign in with it.", err=True)
    run_api(settings)


def local_url(settings: Settings) -> str:
    """Where a browser on this machine reaches the server: the public URL when one is set,
    else the address it listens on (a wildcard address as loopback)."""
    if settings.public_url:
        return settings.resolved_public_url
    host = settings.api_host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{settings.api_port}"
