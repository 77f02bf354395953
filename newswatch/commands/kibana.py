"""``newswatch kibana setup``: import our Kibana data views, visualizations and dashboard.

The saved objects live in ``search/kibana/newswatch.ndjson`` (docs/kibana.md). They are sent
to Kibana's saved-objects import API, ``POST /api/saved_objects/_import?overwrite=true``, as
the multipart field ``file``, so running the command again updates them in place.

The Kibana URL is not checked against the SSRF guard of ``ingest/fetch.py``: that guard
protects against addresses that come from the outside world (feeds, pages, redirects); this
one is typed by the operator, who may point it wherever their own shell can reach, and it is
usually on loopback or a private network, exactly what the guard refuses. Redirects are not
followed, so credentials only ever go to the address given.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console

import search
from core import __version__
from core.errors import NewswatchError
from newswatch.console import escape

BUNDLED_NDJSON = Path(search.__file__).resolve().parent / "kibana" / "newswatch.ndjson"
BUNDLED_PREFIX = "newswatch"  # the data views in the bundled file point at newswatch-*
DASHBOARD_ID = "newswatch-dashboard"
IMPORT_PATH = "/api/saved_objects/_import"
SPACE_ID = re.compile(r"^[a-z0-9_-]+$")

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


@dataclass(frozen=True)
class ImportFailure:
    """One saved object Kibana did not import, and why."""

    type: str
    id: str
    title: str
    reason: str

    def __str__(self) -> str:
        title = f" ({self.title})" if self.title else ""
        return f"{self.type} {self.id}{title}: {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    """What Kibana answered to one import."""

    url: str  # Kibana's base URL, with the space
    sent: int  # saved objects in the file
    imported: int  # Kibana's successCount
    failures: tuple[ImportFailure, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures and self.imported == self.sent

    @property
    def dashboard_url(self) -> str:
        return f"{self.url}/app/dashboards#/view/{DASHBOARD_ID}"


def load_saved_objects(path: Path, prefix: str = BUNDLED_PREFIX) -> list[dict[str, Any]]:
    """The saved objects of an NDJSON export, data views renamed to ``prefix``-*."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise NewswatchError(f"cannot read {path}: {exc.strerror}") from None
    objects = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise NewswatchError(f"{path}:{number} is not JSON: {exc.msg}") from None
        if not isinstance(obj, dict) or not {"type", "id", "attributes"} <= obj.keys():
            raise NewswatchError(f"{path}:{number} is not a saved object (type, id, attributes)")
        objects.append(obj)
    if not objects:
        raise NewswatchError(f"{path} holds no saved objects")
    if prefix != BUNDLED_PREFIX:
        for obj in objects:
            title = obj["attributes"].get("title", "")
            if obj["type"] == "index-pattern" and title.startswith(BUNDLED_PREFIX + "-"):
                obj["attributes"]["title"] = prefix + title[len(BUNDLED_PREFIX):]
    return objects


def setup_kibana(
    url: str,
    ndjson_path: Path | None = None,
    *,
    username: str = "",
    password: str = "",
    api_key: str = "",
    space: str = "",
    prefix: str = BUNDLED_PREFIX,
    verify: bool = True,
    timeout: float = 30.0,
) -> ImportResult:
    """Import the saved objects in ``ndjson_path`` (default: ours) into the Kibana at ``url``,
    overwriting earlier copies. Raises ``NewswatchError`` when Kibana cannot be reached or
    answers with an error; objects Kibana refuses one by one are in ``result.failures``."""
    base, url_user, url_password = _base_url(url, space)
    if url_user and not (username or api_key):  # http://user:password@host/ works too
        username, password = url_user, url_password
    if api_key and (username or password):
        raise NewswatchError("give either --api-key or --username/--password, not both")
    if bool(username) != bool(password):
        raise NewswatchError("--username and --password go together (or use --api-key)")
    objects = load_saved_objects(ndjson_path or BUNDLED_NDJSON, prefix)
    body = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects).encode("utf-8")
    headers = {"kbn-xsrf": "true", "User-Agent": f"newswatch/{__version__}"}
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    auth = httpx.BasicAuth(username, password) if username else None
    endpoint = base + IMPORT_PATH
    try:
        with httpx.Client(
            timeout=timeout, verify=verify, auth=auth, follow_redirects=False
        ) as client:
            response = client.post(
                endpoint, params={"overwrite": "true"}, headers=headers,
                files={"file": ("newswatch.ndjson", body, "application/ndjson")},
            )
    except httpx.TimeoutException:
        raise NewswatchError(f"Kibana at {base} did not answer within {timeout:g}s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        hint = " (use --no-verify-certs for a self-signed certificate)" if (
            "CERTIFICATE_VERIFY_FAILED" in reason) else ""
        raise NewswatchError(f"cannot reach Kibana at {base}: {reason}{hint}") from None
    return _result(base, endpoint, len(objects), response)


def _base_url(url: str, space: str) -> tuple[str, str, str]:
    """Kibana's base URL with the space (no credentials: it appears in messages), and the
    user and password the URL carried, if any."""
    try:
        parts = httpx.URL(url.strip())
    except httpx.InvalidURL:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.host:
        raise NewswatchError(f"not a Kibana URL: {url!r} (expected http:// or https://)")
    user, password = parts.username, parts.password or ""
    clean = parts.copy_with(userinfo=b"", query=None, fragment=None)
    base = str(clean).rstrip("/")
    if space and space != "default":
        if not SPACE_ID.match(space):
            raise NewswatchError(f"not a Kibana space id: {space!r} (lower-case a-z, 0-9, _ and -)")
        base += f"/s/{space}"
    return base, user, password


def _result(base: str, endpoint: str, sent: int, response: httpx.Response) -> ImportResult:
    status = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    if response.is_redirect:
        where = response.headers.get("location", "elsewhere")
        raise NewswatchError(
            f"Kibana at {base} answered {status} to {where}; give Kibana's own address "
            "(with its base path, if it has one)"
        )
    data = _json(response)
    if response.status_code in (401, 403):
        raise NewswatchError(f"Kibana at {base} refused the request ({status}{_message(data)})")
    if response.status_code == 404:
        raise NewswatchError(
            f"no saved-objects import API at {endpoint} ({status}); is this Kibana, "
            "and does the space exist?"
        )
    if not response.is_success:
        raise NewswatchError(f"Kibana at {base} answered {status}{_message(data, response)}")
    if not isinstance(data, dict) or not isinstance(data.get("successCount"), int):
        raise NewswatchError(
            f"{endpoint} answered {status} but not like Kibana's import API "
            f"(no successCount in {_snippet(response)!r})"
        )
    failures = tuple(_failure(e) for e in data.get("errors") or [] if isinstance(e, dict))
    warnings = tuple(
        str(w.get("message", w)) if isinstance(w, dict) else str(w)
        for w in data.get("warnings") or []
    )
    return ImportResult(base, sent, data["successCount"], failures, warnings)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _message(data: Any, response: httpx.Response | None = None) -> str:
    message = data.get("message") if isinstance(data, dict) else None
    if not message and response is not None:
        message = _snippet(response)
    return f": {' '.join(str(message).split())}" if message else ""


def _snippet(response: httpx.Response) -> str:
    return " ".join(response.text[:200].split())


def _failure(error: dict[str, Any]) -> ImportFailure:
    meta: dict[str, Any] = error["meta"] if isinstance(error.get("meta"), dict) else {}
    title = str(meta.get("title") or error.get("title") or "")
    detail: dict[str, Any] = error["error"] if isinstance(error.get("error"), dict) else {}
    kind = str(detail.get("type") or "unknown")
    if kind == "missing_references":
        refs = ", ".join(
            f"{r.get('type')} {r.get('id')}" for r in detail.get("references") or []
            if isinstance(r, dict)
        )
        reason = f"missing references: {refs or 'unknown'}"
    elif kind == "conflict":
        reason = "conflicts with an existing object"
    elif kind == "ambiguous_conflict":
        reason = "conflicts with several existing objects"
    elif kind == "unsupported_type":
        reason = "this Kibana does not know this type of saved object"
    else:
        reason = str(detail.get("message") or kind)
    return ImportFailure(str(error.get("type", "?")), str(error.get("id", "?")), title,
                         " ".join(reason.split()))


@click.group("kibana")
def kibana() -> None:
    """Kibana dashboards over the Elasticsearch index (docs/kibana.md)."""


@kibana.command("setup")
@click.option("--url", default=None,
              help="Kibana's address, e.g. http://localhost:5601 [default: NEWSWATCH_KIBANA_URL].")
@click.option("--username", default=None, help="Basic-auth user [default: NEWSWATCH_KIBANA_USERNAME].")
@click.option("--password", default=None,
              help="Basic-auth password (better: the setting NEWSWATCH_KIBANA_PASSWORD).")
@click.option("--api-key", default=None,
              help="An encoded API key, sent as 'Authorization: ApiKey …' "
                   "[default: NEWSWATCH_KIBANA_API_KEY].")
@click.option("--space", default="", help="Kibana space id (default: the default space).")
@click.option("--prefix", default=None,
              help="Index prefix the data views point at [default: NEWSWATCH_ES_INDEX_PREFIX].")
@click.option("--file", "ndjson_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Import this NDJSON export instead of the bundled one.")
@click.option("--no-verify-certs", is_flag=True, help="Accept any TLS certificate.")
def setup(
    url: str | None, username: str | None, password: str | None, api_key: str | None,
    space: str, prefix: str | None, ndjson_path: Path | None, no_verify_certs: bool,
) -> None:
    """Import the newswatch data views and dashboard into Kibana (again: updates them)."""
    from core.settings import load_settings

    settings = load_settings()
    url = url or settings.kibana_url
    if not url:
        raise NewswatchError("give Kibana's address: --url URL (or the setting NEWSWATCH_KIBANA_URL)")
    username = settings.kibana_username if username is None else username
    password = settings.kibana_password if password is None else password
    api_key = settings.kibana_api_key if api_key is None else api_key
    if prefix is None:
        prefix = settings.es_index_prefix
    result = setup_kibana(
        url, ndjson_path, username=username, password=password, api_key=api_key, space=space,
        prefix=prefix, verify=not no_verify_certs,
    )
    stdout.print(f"Imported {result.imported} of {result.sent} saved object(s) into Kibana "
                 f"at {escape(result.url)}.")
    for warning in result.warnings:
        stderr.print(f"[yellow]warning:[/] {escape(warning)}")
    for failure in result.failures:
        stderr.print(f"[red]failed:[/] {escape(str(failure))}")
    if result.failures or result.imported < result.sent:
        raise NewswatchError(
            f"{result.sent - result.imported} of {result.sent} saved object(s) were not "
            f"imported into Kibana at {result.url}"
        )
    stdout.print(f"Dashboard: {escape(result.dashboard_url)}")
