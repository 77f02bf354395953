"""Pages from our Jinja2 templates (``web/templates``), autoescaped: every value a page
shows is escaped, whatever it holds (titles and outlet names come from the web). The few
filters that produce markup escape their input first (:func:`marks`, :func:`highlight`).

Every page is sent with a Content-Security-Policy that runs our own script only
(``/web/static/web.js``), no inline script or style and nothing from elsewhere."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from alerts.render import format_figure, one_line, safe_href
from core import __version__

TEMPLATES = Path(__file__).with_name("templates")
STATIC_URL = "/web/static"
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages carry CSRF tokens and, signed in, watch addresses
}
_MARK = re.compile(r"\*\*(.+?)\*\*")
_SENTENCE_GAP = re.compile(r"\s+")


def environment() -> Environment:
    """The template environment of one application (built by ``web.app.add_web``)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=when, day=day, marks=marks, highlight=highlight, figure=figure,
                       href=safe_href, line=one_line, percent=percent, signed=signed)
    env.globals.update(static=STATIC_URL, version=__version__, url_with=url_with)
    return env


def render(request: Request, template: str, status: int = 200,
           headers: Mapping[str, str] | None = None, **context: Any) -> HTMLResponse:
    """``template`` with ``context`` plus what every page needs (who is viewing, the
    current path), sent with the page headers."""
    env: Environment = request.app.state.web_templates
    viewer = getattr(request.state, "viewer", None)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = env.get_template(template).render(
        request=request, viewer=viewer, here=here, params=dict(request.query_params),
        **context)
    return HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


# ---------------------------------------------------------------------------------------
# Filters


def when(value: date | str | None) -> str:
    """``2026-11-10 05:30 UTC``; "" for no time."""
    value = _time(value)
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def day(value: date | str | None) -> str:
    """``10 Nov 2026``."""
    value = _time(value)
    return f"{value.day} {value:%b %Y}" if value else ""


def _time(value: date | str | None) -> datetime | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def marks(snippet: str) -> Markup:
    """A search snippet with the backends' ``**word**`` markers as ``<mark>``: the text is
    escaped first, so nothing in it becomes markup."""
    escaped = str(escape(one_line(snippet or "", 1000)))
    return Markup(_MARK.sub(r"<mark>\1</mark>", escaped))


def highlight(text: str, sentences: Iterable[str]) -> Markup:
    """An article's text as paragraphs, the ``sentences`` it added to its story marked
    (``<mark class="new">``). Each piece is escaped on its own."""
    wanted = [s.strip() for s in sentences if s and s.strip()]
    paragraphs = []
    for paragraph in (text or "").split("\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        spans = _spans(paragraph, wanted)
        parts, at = [], 0
        for start, end in spans:
            parts.append(str(escape(paragraph[at:start])))
            parts.append(f'<mark class="new">{escape(paragraph[start:end])}</mark>')
            at = end
        parts.append(str(escape(paragraph[at:])))
        paragraphs.append(f"<p>{''.join(parts)}</p>")
    return Markup("\n".join(paragraphs))


def _spans(paragraph: str, sentences: list[str]) -> list[tuple[int, int]]:
    """Where in ``paragraph`` the ``sentences`` stand (spaces matched loosely), in order,
    never overlapping."""
    found: list[tuple[int, int]] = []
    for sentence in sentences:
        pattern = r"\s+".join(re.escape(w) for w in _SENTENCE_GAP.split(sentence) if w)
        if not pattern:
            continue
        m = re.search(pattern, paragraph)
        if m and not any(m.start() < e and s < m.end() for s, e in found):
            found.append((m.start(), m.end()))
    return sorted(found)


def figure(value: Any) -> str:
    return format_figure(one_line(str(value), 80))


def percent(value: float | None) -> str:
    return "" if value is None else f"{round(100 * float(value))}%"


def signed(value: float) -> str:
    return f"{float(value):+.2f}"


def url_with(path: str, params: Mapping[str, str], **changes: str | int | None) -> str:
    """``path`` with the query ``params`` changed: a value of ``None`` or "" drops the
    parameter; changing a filter goes back to page 1."""
    merged = {k: v for k, v in params.items() if v not in (None, "")}
    if "page" not in changes:
        merged.pop("page", None)
    for name, value in changes.items():
        if value in (None, ""):
            merged.pop(name, None)
        else:
            merged[name] = str(value)
    return f"{path}?{urlencode(merged)}" if merged else path
