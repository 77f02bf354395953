"""Feed parsing: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed by hand.

Pure: takes the bytes we fetched and returns a :class:`ParsedFeed`. Never touches the
network (feedparser is only ever given bytes).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import feedparser

from newswatch.errors import FeedParseError
from newswatch.models import FeedEntry, ParsedFeed

JSON_FEED_PREFIX = "https://jsonfeed.org/version/"


def parse_feed(content: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse a feed document fetched from ``url``; raises FeedParseError if it is none."""
    head = content.lstrip()[:1]
    if head == b"{" or "json" in content_type.lower():
        return _parse_json_feed(content, url)
    return _parse_xml_feed(content, url, content_type)


def _parse_xml_feed(content: bytes, url: str, content_type: str) -> ParsedFeed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(content, response_headers=headers, sanitize_html=True)
    except Exception as exc:  # feedparser is robust, but never let a feed crash a run
        raise FeedParseError(f"cannot parse feed: {type(exc).__name__}: {exc}") from None
    version = parsed.get("version") or ""
    if not version and not parsed.entries:
        reason = parsed.get("bozo_exception")
        if content.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
            raise FeedParseError("not a feed: the URL returned an HTML page")
        detail = f" ({_first_line(reason)})" if reason else ""
        raise FeedParseError(f"not an RSS, Atom or JSON feed{detail}")
    feed = parsed.feed
    entries = [_entry_from_feedparser(e) for e in parsed.entries]
    warning = _first_line(parsed.get("bozo_exception")) if parsed.get("bozo") else ""
    return ParsedFeed(
        url=url,
        title=_text(feed.get("title")),
        site_url=_text(feed.get("link")),
        format=version or "unknown",
        entries=[e for e in entries if e is not None],
        warning=warning,
    )


def _entry_from_feedparser(e: Any) -> FeedEntry | None:
    link = _text(e.get("link"))
    if not link:
        for candidate in e.get("links", []) or []:
            if candidate.get("href"):
                link = candidate["href"]
                break
    title = _text(e.get("title"))
    content = ""
    for part in e.get("content", []) or []:
        value = _text(part.get("value"))
        if len(value) > len(content):
            content = value
    summary = _text(e.get("summary"))
    published = _struct_to_datetime(e.get("published_parsed"))
    updated = _struct_to_datetime(dict.get(e, "updated_parsed"))  # no legacy fallback
    guid = _text(e.get("id")) or link or _digest(title, summary)
    if not guid or not (link or title or summary):
        return None
    return FeedEntry(
        guid=guid,
        link=link,
        title=title,
        summary=summary if summary != content else "",
        content=content,
        author=_text(e.get("author")),
        published=published or updated,
        updated=updated,
    )


def _parse_json_feed(content: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedParseError(f"not a valid JSON feed: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(JSON_FEED_PREFIX):
        raise FeedParseError("not a JSON Feed (no https://jsonfeed.org/version/ marker)")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedParseError("JSON Feed has no items list")
    entries: list[FeedEntry] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = _text(item.get("url") or item.get("external_url"))
        title = _text(item.get("title"))
        summary = _text(item.get("summary"))
        body = _text(item.get("content_html") or item.get("content_text"))
        guid = _text(item.get("id")) or link or _digest(title, summary)
        if not guid or not (link or title or summary):
            continue
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        author = ", ".join(_text(a.get("name")) for a in authors if isinstance(a, dict))
        published = _iso_datetime(item.get("date_published"))
        updated = _iso_datetime(item.get("date_modified"))
        entries.append(
            FeedEntry(
                guid=guid,
                link=link,
                title=title,
                summary=summary,
                content=body,
                author=author,
                published=published or updated,
                updated=updated,
            )
        )
    version = str(data["version"]).removeprefix(JSON_FEED_PREFIX)
    return ParsedFeed(
        url=url,
        title=_text(data.get("title")),
        site_url=_text(data.get("home_page_url")),
        format="json" + version.replace(".", ""),
        entries=entries,
    )


def entry_hash(entry: FeedEntry) -> str:
    """A fingerprint of what the feed says about an entry; it changes when the entry does."""
    parts = [entry.link, entry.title, entry.summary, entry.content]
    parts.append(entry.updated.isoformat() if entry.updated else "")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment from a feed (paragraphs kept as lines)."""
    if "<" not in fragment:
        return fragment.strip()
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # lxml raises several types on junk; the raw text is a fine answer
        return fragment.strip()
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    blocks = []
    for el in root.iter("p", "li", "h1", "h2", "h3", "h4"):
        text = " ".join(el.text_content().split())
        if text:
            blocks.append(text)
    if not blocks:
        return " ".join(root.text_content().split())
    return "\n".join(blocks)


def _struct_to_datetime(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _iso_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _digest(*parts: str) -> str:
    joined = "\x1f".join(parts)
    return "sha256:" + hashlib.sha256(joined.encode()).hexdigest() if joined.strip() else ""


def _first_line(value: Any) -> str:
    return str(value).splitlines()[0][:200] if value else ""
