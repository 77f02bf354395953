"""Feed discovery: the feeds a web page announces with ``<link rel="alternate">``. Pure."""

from __future__ import annotations

from urllib.parse import urljoin

FEED_TYPES = {
    "application/rss+xml": 0,
    "application/atom+xml": 1,
    "application/feed+json": 2,
    "application/json": 3,
    "application/rdf+xml": 4,
    "text/xml": 5,
    "application/xml": 5,
}


def discover_feeds(html: bytes | str, base_url: str) -> list[tuple[str, str]]:
    """``(feed_url, title)`` for each feed link in the page's head, best types first."""
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        return []
    found: list[tuple[int, int, str, str]] = []
    seen: set[str] = set()
    for i, link in enumerate(tree.iter("link")):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";", 1)[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" not in rel or kind not in FEED_TYPES or not href:
            continue
        url = urljoin(base_url, href)
        if url.startswith(("http://", "https://")) and url not in seen:
            seen.add(url)
            found.append((FEED_TYPES[kind], i, url, (link.get("title") or "").strip()))
    return [(url, title) for _rank, _i, url, title in sorted(found)]
