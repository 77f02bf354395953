"""A watch's alerts as an Atom feed (RFC 4287), for people who read alerts in a feed reader.

Pure: built with ElementTree, so every title, snippet and URL from the web is escaped by the
serialiser, and only http(s) URLs become links.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote
from xml.etree import ElementTree as ET

from alerts.content import AlertContent
from alerts.render import describe_additions, one_line, safe_href, subject_for

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class FeedAlert:
    key: str
    created_at: datetime
    content: AlertContent


def render_atom(
    watch_id: str, watch_name: str, alerts: Sequence[FeedAlert], self_url: str, public_url: str,
    updated: datetime,
) -> bytes:
    """The feed document; entries newest first, as given."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", f"urn:newswatch:watch:{watch_id}")
    _text(feed, "title", f"newswatch: {one_line(watch_name, 200)}")
    _text(feed, "updated", _iso(alerts[0].created_at if alerts else updated))
    _link(feed, self_url, "self", "application/atom+xml")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "newswatch")
    base = public_url.rstrip("/")
    for alert in alerts:
        content = alert.content
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"urn:newswatch:alert:{quote(alert.key, safe=':')}")
        _text(entry, "title", subject_for(content))
        _text(entry, "updated", _iso(alert.created_at))
        story_url = f"{base}/stories/{quote(content.story_id, safe='')}"
        first = content.items[0] if content.items else None
        href = safe_href(first.url) if first else ""
        _link(entry, href or story_url, "alternate", "text/html")
        _link(entry, story_url, "related", "application/json")
        lines = []
        for item in content.items:
            lines.append(f"{one_line(item.title, 300)} ({one_line(item.source, 100)})")
            if content.kind == "follow-up":
                lines += [f"- {line}" for line in describe_additions(item.additions)]
                lines += [f"  “{one_line(str(s), 300)}”"
                          for s in (item.additions.get("new_sentences") or [])[:3]]
            elif item.snippet:
                lines.append(one_line(item.snippet, 400))
        summary = ET.SubElement(entry, f"{{{ATOM}}}summary", {"type": "text"})
        summary.text = "\n".join(lines)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = text


def _link(parent: ET.Element, href: str, rel: str, type_: str) -> None:
    if href:
        ET.SubElement(parent, f"{{{ATOM}}}link", {"href": href, "rel": rel, "type": type_})


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
