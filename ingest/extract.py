"""Article extraction: clean text and metadata from a page with trafilatura. Pure."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ingest.feeds import html_to_text
from newswatch.models import Extracted, FeedEntry

# Ask htmldate for the full timestamp when the page states one.
_DATE_PARAMS = {"extensive_search": True, "original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}
_LANG_RE = re.compile(r"^[a-zA-Z]{2,3}")


def extract_article(html: bytes | str, url: str) -> Extracted | None:
    """Main text and metadata of an article page, or None when nothing usable is found."""
    from trafilatura import bare_extraction
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        return None
    canonical = _first_attr(tree, "//link[@rel='canonical']/@href")
    lang = _first_attr(tree, "/html/@lang") or _first_attr(tree, "//meta[@http-equiv='content-language']/@content")
    try:
        doc: Any = bare_extraction(
            tree,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params=_DATE_PARAMS,
        )
    except Exception:  # trafilatura can trip over pathological markup: treat as empty
        doc = None
    if doc is None or not (doc.text or "").strip():
        return None
    match = _LANG_RE.match(doc.language or lang or "")
    title = (doc.title or "").strip()
    return Extracted(
        text=_drop_headline(_clean(doc.text or ""), title),
        title=title,
        author=(doc.author or "").strip(),
        published=parse_page_date(doc.date),
        sitename=(doc.sitename or "").strip(),
        language=match.group(0).lower() if match else "",
        canonical_url=canonical.strip(),
        method="trafilatura",
    )


def fallback_from_feed(entry: FeedEntry) -> Extracted | None:
    """Text from the feed itself: its full content if any, else its summary."""
    for method, fragment in (("feed-content", entry.content), ("feed-summary", entry.summary)):
        text = html_to_text(fragment) if fragment else ""
        if text:
            return Extracted(
                text=text, title=entry.title, author=entry.author, published=entry.published,
                method=method,
            )
    return None


def choose_text(page: Extracted | None, entry: FeedEntry | None, min_chars: int) -> Extracted | None:
    """The page's extraction, unless it is shorter than ``min_chars`` and the feed has more."""
    if page is not None and len(page.text) >= min_chars:
        return page
    feed = fallback_from_feed(entry) if entry is not None else None
    if feed is None:
        return page
    if page is None or len(feed.text) > len(page.text):
        if page is not None:  # keep what the page knew about itself
            return Extracted(
                text=feed.text,
                title=page.title or feed.title,
                author=page.author or feed.author,
                published=page.published,
                sitename=page.sitename,
                language=page.language,
                canonical_url=page.canonical_url,
                method=feed.method,
            )
        return feed
    return page


def parse_page_date(value: str | None) -> datetime | None:
    """A tz-aware UTC datetime from htmldate's output (full timestamp or a bare date)."""
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def _first_attr(tree: Any, xpath: str) -> str:
    found = tree.xpath(xpath)
    return str(found[0]) if found else ""


def _drop_headline(text: str, title: str) -> str:
    """Start the text after the headline when extraction kept it (and a kicker above it)."""
    if not title:
        return text
    lines = text.split("\n")
    wanted = " ".join(title.split()).casefold()
    for i, line in enumerate(lines[:3]):
        if line.casefold() == wanted and i + 1 < len(lines):
            return "\n".join(lines[i + 1 :])
    return text


def _clean(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
