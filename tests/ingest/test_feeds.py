from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core.errors import FeedParseError
from ingest.feeds import entry_hash, html_to_text, parse_feed

RSS20 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Harbour Gazette</title><link>https://gazette.example/</link>
<item><title>Ferry timetable changes from Monday</title>
<link>https://gazette.example/2026/ferry.html?utm_source=rss</link>
<guid isPermaLink="false">gazette-1001</guid>
<pubDate>Tue, 10 Nov 2026 08:30:00 GMT</pubDate>
<description>&lt;p&gt;The morning crossing moves to 7:15.&lt;/p&gt;</description></item>
<item><title>Relative link item</title><link>/2026/relative.html</link></item>
</channel></rss>"""

RSS091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old Style</title>
<link>http://old.example/</link><description>d</description>
<item><title>Plain item</title><link>http://old.example/a</link><description>Text</description></item>
</channel></rss>"""

RSS10 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://rdf.example/"><title>RDF Daily</title><link>http://rdf.example/</link>
<description>x</description></channel>
<item rdf:about="http://rdf.example/one"><title>One</title><link>http://rdf.example/one</link>
<dc:date>2026-11-12T09:00:00Z</dc:date></item>
</rdf:RDF>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Wire Desk</title>
<link href="https://wire.example/"/><id>urn:wire</id><updated>2026-11-11T10:00:00Z</updated>
<entry><title>Port strike ends</title><id>urn:wire:77</id>
<link rel="alternate" href="https://wire.example/77"/>
<published>2026-11-11T09:45:00+01:00</published><updated>2026-11-11T10:00:00Z</updated>
<author><name>Desk Editor</name></author>
<content type="html">&lt;p&gt;Dock workers returned on Wednesday.&lt;/p&gt;&lt;p&gt;Second para.&lt;/p&gt;</content>
</entry></feed>"""


def test_rss20_entries_with_dates_and_relative_links_resolved() -> None:
    feed = parse_feed(RSS20, "https://gazette.example/feed.xml", "application/rss+xml")
    assert feed.title == "Harbour Gazette"
    assert feed.format == "rss20"
    first, second = feed.entries
    assert first.guid == "gazette-1001"
    assert first.link.startswith("https://gazette.example/2026/ferry.html")
    assert first.published == datetime(2026, 11, 10, 8, 30, tzinfo=UTC)
    assert "7:15" in first.summary
    assert second.link == "https://gazette.example/2026/relative.html"
    assert second.guid == second.link  # no guid: the link stands in


def test_rss091_and_rss10() -> None:
    old = parse_feed(RSS091, "http://old.example/rss")
    assert old.format.startswith("rss09") and old.entries[0].link == "http://old.example/a"
    rdf = parse_feed(RSS10, "http://rdf.example/rss.rdf")
    assert rdf.format == "rss10"
    assert rdf.entries[0].published == datetime(2026, 11, 12, 9, 0, tzinfo=UTC)


def test_atom_content_author_and_timezone() -> None:
    feed = parse_feed(ATOM, "https://wire.example/atom.xml")
    entry = feed.entries[0]
    assert feed.format == "atom10"
    assert entry.guid == "urn:wire:77"
    assert entry.author == "Desk Editor"
    assert entry.published == datetime(2026, 11, 11, 8, 45, tzinfo=UTC)
    assert html_to_text(entry.content) == "Dock workers returned on Wednesday.\nSecond para."


def test_json_feed() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Farm Feed",
        "home_page_url": "https://farm.example/",
        "items": [
            {"id": "1", "url": "https://farm.example/1", "title": "Hello",
             "content_html": "<p>Body</p>", "date_published": "2026-11-13T12:00:00Z",
             "authors": [{"name": "A. Writer"}]},
            {"id": "2"},  # nothing usable: dropped
            "junk",
        ],
    }
    feed = parse_feed(json.dumps(doc).encode(), "https://farm.example/feed.json")
    assert feed.format == "json11"
    assert [e.guid for e in feed.entries] == ["1"]
    assert feed.entries[0].author == "A. Writer"
    assert feed.entries[0].published == datetime(2026, 11, 13, 12, tzinfo=UTC)


def test_malformed_but_recoverable_feed_keeps_entries_with_a_warning() -> None:
    broken = RSS20.replace(b"</channel></rss>", b"<item><title>Unclosed & bad</title></channel>")
    feed = parse_feed(broken, "https://gazette.example/feed.xml")
    assert feed.entries and feed.entries[0].guid == "gazette-1001"
    assert feed.warning


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<!DOCTYPE html><html><body>Welcome</body></html>", "HTML page"),
        (b"\x00\x01\x02 binary junk", "not an RSS"),
        (b"", "not an RSS"),
        (b'{"version": "1", "items": []}', "not a JSON Feed"),
        (b"{not json", "not a valid JSON"),
    ],
)
def test_non_feeds_raise_a_clear_error(content: bytes, message: str) -> None:
    with pytest.raises(FeedParseError, match=message):
        parse_feed(content, "https://x.example/feed")


def test_entry_hash_changes_with_the_entry() -> None:
    entry = parse_feed(ATOM, "https://wire.example/atom.xml").entries[0]
    changed = parse_feed(ATOM.replace(b"Port strike ends", b"Port strike is over"), "u").entries[0]
    assert entry_hash(entry) == entry_hash(parse_feed(ATOM, "https://wire.example/atom.xml").entries[0])
    assert entry_hash(entry) != entry_hash(changed)
