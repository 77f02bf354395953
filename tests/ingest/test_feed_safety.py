"""parse_feed on hostile and odd input: entity expansion, external entities, encodings,
response headers, and "nothing but FeedParseError ever escapes". All documents are ours."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from core.errors import FeedParseError
from ingest.feeds import _repaired, entry_hash, parse_feed

URL = "https://news.example/feed.xml"


def rss(items: str, channel: str = "<title>Harbour Gazette</title>", prolog: str = "") -> bytes:
    return f'{prolog}<rss version="2.0"><channel>{channel}{items}</channel></rss>'.encode()


ITEM = "<item><title>Quay reopens</title><link>https://news.example/quay</link></item>"


# ---- entities ---------------------------------------------------------------------------
def billion_laughs(one_line: bool) -> bytes:
    sep = "" if one_line else "\n"
    decls = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    prolog = f'<?xml version="1.0"?>\n<!DOCTYPE rss [{sep}{sep.join(decls)}{sep}]>\n'
    return rss(ITEM, "<title>&lol9;</title>", prolog)


def quadratic_blowup(one_line: bool) -> bytes:
    sep = "" if one_line else "\n"
    prolog = f'<!DOCTYPE rss [{sep}<!ENTITY a "{"x" * 50_000}">{sep}]>\n'
    return rss(ITEM, f"<title>{'&a;' * 20_000}</title>", prolog)


@pytest.mark.parametrize("one_line", [False, True])
@pytest.mark.parametrize("make", [billion_laughs, quadratic_blowup])
def test_entity_expansion_attacks_are_refused_quickly(
    make: Callable[[bool], bytes], one_line: bool
) -> None:
    # before the guard, the multi-line quadratic blow-up made feedparser's loose parser build a
    # 1,000,000,000-character title (27 s, 2.9 GB); expat alone stops at its amplification limit
    started = time.perf_counter()
    with pytest.raises(FeedParseError, match="entities would expand"):
        parse_feed(make(one_line), URL)
    assert time.perf_counter() - started < 2


def test_ordinary_internal_entities_still_expand() -> None:
    prolog = '<!DOCTYPE rss [\n<!ENTITY desk "Harbour desk">\n<!ENTITY nbsp "&#160;">\n]>\n'
    feed = parse_feed(rss(ITEM, "<title>&desk;&nbsp;news</title>", prolog), URL)
    assert feed.title == "Harbour desk\xa0news"
    assert [e.title for e in feed.entries] == ["Quay reopens"]


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server recording every request it gets."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            body = b'<!ENTITY leak "NETWORK-LEAK">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", requests
    server.shutdown()
    server.server_close()


def external_entity_documents(secret: Path, base: str) -> dict[str, bytes]:
    """Documents that would pull in ``secret`` or a URL under ``base`` if entities loaded."""
    file_uri = secret.as_uri()
    prologs = {
        "system-file": f'<!DOCTYPE rss [\n<!ENTITY ext SYSTEM "{file_uri}">\n]>\n',
        "system-file-one-line": f'<!DOCTYPE rss [<!ENTITY ext SYSTEM "{file_uri}">]>',
        "system-http": f'<!DOCTYPE rss [\n<!ENTITY ext SYSTEM "{base}/e">\n]>\n',
        "public-http": f'<!DOCTYPE rss [\n<!ENTITY ext PUBLIC "-//X//EN" "{base}/p">\n]>\n',
        "parameter-http": f'<!DOCTYPE rss [\n<!ENTITY % pe SYSTEM "{base}/pe">\n%pe;\n]>\n',
        "external-dtd": f'<!DOCTYPE rss SYSTEM "{base}/d.dtd">',
        "external-dtd-file": f'<!DOCTYPE rss SYSTEM "{file_uri}">',
    }
    use = "<title>T &ext; &leak;</title>"
    return {name: rss(ITEM, use, prolog) for name, prolog in prologs.items()}


def test_external_entities_and_dtds_are_never_loaded(
    tmp_path: Path, http_server: tuple[str, list[str]]
) -> None:
    base, requests = http_server
    secret = tmp_path / "secret.txt"
    secret.write_text("LOCAL-SECRET")
    for name, document in external_entity_documents(secret, base).items():
        try:
            feed = parse_feed(document, URL)
        except FeedParseError:
            continue  # refusing is fine too
        seen = feed.title + "".join(e.title + e.summary + e.content for e in feed.entries)
        assert "LOCAL-SECRET" not in seen, name
        assert "NETWORK-LEAK" not in seen, name
    assert requests == []


def test_the_lxml_repair_fallback_loads_nothing_either(
    tmp_path: Path, http_server: tuple[str, list[str]]
) -> None:
    base, requests = http_server
    secret = tmp_path / "secret.txt"
    secret.write_text("LOCAL-SECRET")
    for document in external_entity_documents(secret, base).values():
        repaired = _repaired(document)
        assert b"LOCAL-SECRET" not in repaired and b"NETWORK-LEAK" not in repaired
    assert requests == []


def test_content_that_looks_like_a_file_name_is_not_read(tmp_path: Path) -> None:
    # feedparser.parse(bytes) tries the bytes as a path first; we must never do that
    local = tmp_path / "local.xml"
    local.write_bytes(rss(ITEM))
    with pytest.raises(FeedParseError):
        parse_feed(str(local).encode(), URL)


def test_thousands_of_attributes_are_refused_quickly() -> None:
    attributes = " ".join(f'a{i}="x"' for i in range(50_000))  # 25 s in feedparser otherwise
    started = time.perf_counter()
    with pytest.raises(FeedParseError, match="attributes"):
        parse_feed(rss(f"<item {attributes}><title>x</title></item>"), URL)
    assert time.perf_counter() - started < 2


# ---- encodings ----------------------------------------------------------------------------
CAFE = "<title>Café “Ørsted” 東京</title>"
SHIFT_JIS = b'<?xml version="1.0" encoding="Shift_JIS"?>'


@pytest.mark.parametrize(
    ("document", "content_type"),
    [
        (rss(ITEM, CAFE), ""),  # no declaration, no header: UTF-8 (was read as ISO-8859-1)
        (rss(ITEM, CAFE), "text/xml"),  # RFC 3023 would say US-ASCII
        (rss(ITEM, CAFE), "application/rss+xml; charset=ISO-8859-1"),  # a mislabelled server
        ("\ufeff".encode() + rss(ITEM, CAFE), "text/xml; charset=windows-1252"),  # BOM wins
        (rss(ITEM, CAFE).decode().encode("utf-16"), ""),  # UTF-16 with BOM
        (rss(ITEM, CAFE).decode().encode("utf-16-be"), ""),  # UTF-16 without BOM
        (rss(ITEM, CAFE).decode().encode("utf-32"), "application/xml"),
        (SHIFT_JIS + rss(ITEM, CAFE).decode().encode("cp932", "replace"), ""),
    ],
)
def test_encodings(document: bytes, content_type: str) -> None:
    feed = parse_feed(document, URL, content_type)
    assert "Café" in feed.title or "東京" in feed.title, feed.title
    assert [e.title for e in feed.entries] == ["Quay reopens"]


def test_declared_and_header_charsets_are_honoured() -> None:
    latin = rss(ITEM, "<title>Café “quoted”</title>").decode().encode("cp1252")
    declared = b'<?xml version="1.0" encoding="windows-1252"?>' + latin
    assert parse_feed(declared, URL).title == "Café “quoted”"
    assert parse_feed(latin, URL, "text/xml; charset=windows-1252").title == "Café “quoted”"
    assert parse_feed(latin, URL).title == "Café “quoted”"  # not UTF-8: windows-1252 fallback


# ---- headers, titles, entries -------------------------------------------------------------
def test_content_location_is_the_base_for_relative_links() -> None:
    document = rss("<item><title>a</title><link>/2026/a.html</link></item>", "<link>/</link>")
    absolute = parse_feed(document, URL, headers={"Content-Location": "https://mirror.example/x/"})
    assert absolute.entries[0].link == "https://mirror.example/2026/a.html"
    relative = parse_feed(document, URL, headers={"content-location": "/other/feed"})
    assert relative.site_url == "https://news.example/"
    unsafe = parse_feed(document, URL, headers={"Content-Location": "javascript:alert(1)"})
    assert unsafe.entries[0].link == "https://news.example/2026/a.html"
    assert parse_feed(document, URL).entries[0].link == "https://news.example/2026/a.html"


def test_content_type_may_come_from_the_headers() -> None:
    document = rss(ITEM, "<title>Café</title>").decode().encode("latin-1")
    feed = parse_feed(document, URL, headers={"Content-Type": "text/xml; charset=iso-8859-1"})
    assert feed.title == "Café"


def test_titles_are_plain_text() -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom">
    <title type="html">Q&amp;amp;A &lt;b&gt;live&lt;/b&gt;</title>
    <entry><id>urn:1</id><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      Port <em>strike</em> ends</div></title></entry>
    <entry><id>urn:2</id><title type="text">Why &lt;div&gt; beats &lt;table&gt;</title></entry>
    </feed>"""
    feed = parse_feed(atom, URL)
    assert feed.title == "Q&A live"
    assert [e.title for e in feed.entries] == ["Port strike ends", "Why <div> beats <table>"]


def test_entries_with_only_an_id_content_or_date_are_kept() -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom">
    <entry><id>urn:only-id</id></entry>
    <entry><content type="html">&lt;p&gt;Just text&lt;/p&gt;</content></entry>
    <entry><updated>2026-11-11T10:00:00Z</updated></entry>
    <entry></entry></feed>"""
    entries = parse_feed(atom, URL).entries
    assert len(entries) == 3 and entries[0].guid == "urn:only-id"
    assert "Just text" in entries[1].content and entries[1].guid.startswith("sha256:")
    assert entries[2].published == datetime(2026, 11, 11, 10, tzinfo=UTC)


def test_cdf_channel_without_items_is_a_feed() -> None:
    feed = parse_feed(b'<CHANNEL HREF="http://cdf.example/"><TITLE>Old push</TITLE></CHANNEL>', URL)
    assert (feed.title, feed.site_url, feed.entries) == ("Old push", "http://cdf.example/", [])


def test_bad_character_references_do_not_lose_the_feed() -> None:
    channel = "<title>Smile &#xD83D;&#xDE00; &#0; &#1114112; &#55357;</title>"
    feed = parse_feed(rss(ITEM, channel), URL)
    assert feed.title == "Smile \U0001f600 \ufffd \ufffd \ufffd"
    assert feed.entries


def test_unstorable_characters_are_cleaned() -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1" + "-x" * 20, "title": "T\ud800\x00",
           "items": [{"id": "1", "url": "/a", "title": "A\x00"}]}  # fmt: skip
    feed = parse_feed(json.dumps(doc).encode(), "https://json.example/feed.json")
    assert feed.title == "T?" and feed.entries[0].title == "A"
    assert feed.entries[0].link == "https://json.example/a"
    assert len(feed.format) <= 16  # the feeds.format column
    entry_hash(feed.entries[0])


def test_json_content_type_with_an_xml_body_is_parsed_as_xml() -> None:
    assert parse_feed(rss(ITEM), URL, "application/json").entries


@pytest.mark.parametrize(
    "document",
    [
        b'{"version": "https://jsonfeed.org/version/1", "items": [{"id": 1, "authors": 5}]}',
        b"{" * 100_000,
        b'{"version": "https://jsonfeed.org/version/1", "items": [' + b"[" * 50_000 + b"]}",
        b"\xff\xfe\x00\x00" + b"\xff" * 64,
        b'<?xml version="1.0" encoding="rot13"?>' + rss(ITEM),
        b'<?xml version="1.0" encoding="base64"?>' + rss(ITEM),
        rss(ITEM.replace("https://news.example/quay", "http://[::1")),
        b"<rss><channel><item><title>x</title><link>http://[zz</link></item>",
    ],
)
def test_odd_documents_raise_nothing_but_feed_parse_error(document: bytes) -> None:
    try:
        parse_feed(document, URL, headers={"Content-Location": "http://[::1"})
    except FeedParseError as exc:
        assert "\n" not in str(exc)


def test_random_mutations_raise_nothing_but_feed_parse_error() -> None:
    rnd = random.Random(20261121)
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title type="html">'
        b"&lt;b&gt;x&lt;/b&gt;</title><updated>2026-01-01T00:00:00Z</updated></entry></feed>"
    )
    seeds = [rss(ITEM, CAFE), billion_laughs(False)[:300] + rss(ITEM), atom]
    junk = [b"\x00", b"&#xD800;", b"<", b"&", b"]]>", b"<![CDATA[", b"\xff\xfe", b"<!ENTITY a 'b'>"]
    for _ in range(1500):
        data = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 5)):
            pos = rnd.randint(0, len(data))
            if rnd.random() < 0.5:
                data[pos:pos] = rnd.choice(junk)
            else:
                del data[pos : pos + rnd.randint(1, 20)]
        try:
            feed = parse_feed(bytes(data), URL, rnd.choice(["", "text/xml", "application/json"]))
        except FeedParseError as exc:
            assert "\n" not in str(exc)
        else:
            for entry in feed.entries:
                (entry.guid + entry.title + entry.link + entry_hash(entry)).encode("utf-8")
