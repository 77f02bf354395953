"""OPML reading: the feed URLs (and titles) listed in an outline file. Pure."""

from __future__ import annotations

from xml.etree import ElementTree

from newswatch.errors import FeedParseError


def parse_opml(content: bytes) -> list[tuple[str, str]]:
    """``(feed_url, title)`` for every outline with an ``xmlUrl``, in document order."""
    if b"<!ENTITY" in content[:4096]:
        raise FeedParseError("OPML files with entity declarations are refused")
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise FeedParseError(f"not a valid OPML file: {exc}") from None
    if root.tag.lower() != "opml":
        raise FeedParseError(f"not an OPML file (root element is <{root.tag}>)")
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url and url not in seen:
            seen.add(url)
            found.append((url, (outline.get("title") or outline.get("text") or "").strip()))
    return found
