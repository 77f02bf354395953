from __future__ import annotations

import pytest

from core.errors import FeedParseError
from ingest.discover import discover_feeds
from ingest.opml import parse_opml, render_opml

HOME = b"""<!DOCTYPE html><html><head><title>Harbour Gazette</title>
<link rel="stylesheet" href="/s.css">
<link rel="alternate" type="application/atom+xml" title="Atom" href="/atom.xml">
<link rel="alternate" type="application/rss+xml" title="All stories" href="/feed.xml">
<link rel="alternate" hreflang="fr" href="/fr/">
<link rel="alternate" type="application/rss+xml" href="javascript:void(0)">
</head><body><p>Welcome</p></body></html>"""


def test_feeds_announced_by_a_page_best_type_first() -> None:
    found = discover_feeds(HOME, "https://gazette.example/index.html")
    assert found == [
        ("https://gazette.example/feed.xml", "All stories"),
        ("https://gazette.example/atom.xml", "Atom"),
    ]
    assert discover_feeds(b"<html><head></head><body>x</body></html>", "https://a.example/") == []


def test_opml_round_trip() -> None:
    feeds = [("https://a.example/feed.xml", "A & Co", "https://a.example/"),
             ("https://b.example/rss", "", "")]
    document = render_opml(feeds)
    assert document.startswith(b"<?xml")
    assert parse_opml(document) == [("https://a.example/feed.xml", "A & Co"),
                                    ("https://b.example/rss", "https://b.example/rss")]


@pytest.mark.parametrize(
    "bad",
    [b"<html/>", b"not xml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><opml/>'],
)
def test_bad_opml_is_a_clear_error(bad: bytes) -> None:
    with pytest.raises(FeedParseError):
        parse_opml(bad)
