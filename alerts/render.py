"""Turn an :class:`AlertContent` into a multipart (text + HTML) email. Pure: no I/O but templates.

Titles, snippets, outlet names and URLs come from the web and are untrusted: the HTML part is
rendered with autoescaping, only http(s) URLs become links, and everything that goes into a
header is flattened to one line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from alerts.content import AlertContent, AlertItem, DigestStory, digest_order

TEMPLATES = Path(__file__).parent / "templates"
SUBJECT_TITLE_CHARS = 150
SNIPPET_CHARS = 400
LIST_ITEMS = 5  # names per "new speakers: …" line
SENTENCES = 3  # new sentences quoted per article

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACE = re.compile(r"\s+")
_DOMAIN_CHARS = re.compile(r"[^A-Za-z0-9.-]")

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class RenderedEmail:
    message: EmailMessage
    subject: str
    message_id: str
    text: str
    html: str


def render_alert(
    alert: AlertContent,
    unsubscribe_url: str,
    settings_public_url: str,
    *,
    now: datetime | None = None,
) -> RenderedEmail:
    """The email for ``alert``. ``unsubscribe_url`` is the recipient's one-click link.

    The unsubscribe link is per recipient, so render one message per recipient (with an
    idempotency key that includes the recipient) rather than one for a list of them.
    """
    _check_url(unsubscribe_url, "unsubscribe URL")
    _check_url(settings_public_url, "public URL")
    base = settings_public_url.rstrip("/")
    subject = subject_for(alert)
    message_id = message_id_for(alert.idempotency_key, alert.mail_from)
    context = {
        "kind": alert.kind,
        "watch_name": one_line(alert.watch_name, 200),
        "heading": subject,
        "story": _story_view(
            DigestStory(
                alert.story_id, alert.story_title, alert.items, alert.outlets_count,
                alert.new_count,
            ),
            base,
            alert.kind,
        )
        if alert.kind != "digest"
        else None,
        "stories": [_story_view(s, base, "digest") for s in digest_order(alert.stories)],
        "unsubscribe_url": unsubscribe_url,
        "public_url": base,
    }
    text = _env.get_template("alert.txt").render(context)
    html = _env.get_template("alert.html").render(context)

    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = alert.mail_from
    msg["To"] = ", ".join(alert.recipients)
    msg["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(UTC), usegmt=True)
    msg["Message-ID"] = message_id
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return RenderedEmail(msg, subject, message_id, text, html)


def subject_for(alert: AlertContent) -> str:
    if alert.kind == "new-story":
        return f"New story: {one_line(alert.story_title, SUBJECT_TITLE_CHARS)}"
    if alert.kind == "follow-up":
        title = one_line(alert.story_title, SUBJECT_TITLE_CHARS)
        return f"Update: {title} ({counts(alert.outlets_count, alert.new_count)})"
    n = len(alert.stories)
    watch = one_line(alert.watch_name, 80)
    return f"Digest: {watch} — {n} {'story' if n == 1 else 'stories'} with new developments"


def message_id_for(idempotency_key: str, mail_from: str) -> str:
    """A Message-ID that depends only on the key and the sender's domain (stable on retry)."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    domain = _DOMAIN_CHARS.sub("", parseaddr(mail_from)[1].rpartition("@")[2]).strip(".")
    return f"<{digest}@{domain or 'newswatch.invalid'}>"


def counts(outlets: int, new: int, since: str = "") -> str:
    """"5 outlets, 2 new" (plus ``since``, e.g. "since your last digest")."""
    text = f"{outlets} outlet{'' if outlets == 1 else 's'}, {new} new"
    return f"{text} {since}" if since else text


def describe_additions(additions: dict[str, Any]) -> list[str]:
    """What an article added to its story, one short line per kind of addition."""
    if additions.get("new_story"):
        return ["first article of the story"]
    if additions.get("near_duplicate"):
        return ["nothing new (near-duplicate of an earlier article)"]
    lines = []
    if additions.get("new_outlet"):
        lines.append(f"new outlet: {one_line(str(additions['new_outlet']), 100)}")
    for key, label in (
        ("new_speakers", "new speakers"),
        ("new_entities", "new entities"),
        ("new_numbers", "new figures"),
    ):
        values = [one_line(str(v), 80) for v in additions.get(key) or []]
        if values:
            more = len(values) - LIST_ITEMS
            tail = f" and {more} more" if more > 0 else ""
            lines.append(f"{label}: {', '.join(values[:LIST_ITEMS])}{tail}")
    sentences = additions.get("new_sentence_count") or len(additions.get("new_sentences") or [])
    if sentences:
        lines.append(f"{sentences} new sentence{'' if sentences == 1 else 's'}")
    return lines


def one_line(text: str, limit: int) -> str:
    """``text`` without control characters or line breaks, cut to ``limit`` characters."""
    flat = _SPACE.sub(" ", _CONTROL.sub(" ", text or "")).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def safe_href(url: str) -> str:
    """``url`` when it is an absolute http(s) URL fit for a link; "" otherwise."""
    url = (url or "").strip()
    if _CONTROL.search(url) or " " in url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def _story_view(story: DigestStory, base: str, kind: str) -> dict[str, Any]:
    since = "since your last digest" if kind == "digest" else ""
    return {
        "title": one_line(story.story_title, 300) or "(untitled story)",
        "url": f"{base}/stories/{quote(story.story_id, safe='')}",
        "counts": counts(story.outlets_count, story.new_count, since),
        "articles": [_item_view(i, kind) for i in story.items],
    }


def _item_view(item: AlertItem, kind: str) -> dict[str, Any]:
    additions = item.additions or {}
    show_changes = kind != "new-story"
    return {
        "title": one_line(item.title, 300) or "(untitled)",
        "href": safe_href(item.url),
        "source": one_line(item.source, 100),
        "when": _when(item.published),
        "snippet": one_line(item.snippet, SNIPPET_CHARS),
        "changes": describe_additions(additions) if show_changes else [],
        "sentences": [
            one_line(str(s), 300) for s in (additions.get("new_sentences") or [])[:SENTENCES]
        ]
        if show_changes
        else [],
    }


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _check_url(url: str, what: str) -> None:
    if not safe_href(url):
        raise ValueError(f"the {what} must be an absolute http(s) URL: {url!r}")
