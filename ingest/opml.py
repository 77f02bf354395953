"""OPML reading: the feed URLs (and titles) listed in an outline file. Pure."""

from __future__ import annotations

from xml.etree import ElementTree

from core.errors import FeedParseError

MAX_OPML_BYTES = 32 * 1024 * 1024  # ~400,000 outlines; larger lists are refused (split them)


def parse_opml(content: bytes) -> list[tuple[str, str]]:
    """``(feed_url, title)`` for every outline with an ``xmlUrl``, in document order."""
    if len(content) > MAX_OPML_BYTES:
        raise FeedParseError(
            f"the OPML file is {len(content) / 1e6:.1f} MB; files over "
            f"{MAX_OPML_BYTES / 1e6:.0f} MB are refused (split it into smaller files)"
        )
    if b"<!ENTITY" in content[:4096]:
        raise FeedParseError("OPML files with entity declarations are refused")
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise FeedParseError(f"not a valid OPML file: {exc}") from None
    except (ValueError, LookupError) as exc:  # an encoding Python does not know or cannot read
        raise FeedParseError(f"not a readable OPML file: {exc}") from None
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


def render_opml(feeds: list[tuple[str, str, str]], title: str = "newswatch feeds") -> bytes:
    """An OPML 2.0 document listing ``(feed_url, title, site_url)`` triples."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    body = ElementTree.SubElement(root, "body")
    for url, feed_title, site_url in feeds:
        attrs = {"type": "rss", "text": feed_title or url, "xmlUrl": url}
        if feed_title:
            attrs["title"] = feed_title
        if site_url:
            attrs["htmlUrl"] = site_url
        ElementTree.SubElement(body, "outline", attrs)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
