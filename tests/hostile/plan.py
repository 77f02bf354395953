"""The hostile news site: good feeds mixed with every kind of bad input we know of.

``site_plan`` puts the routes on the servers and says what must happen to each input. The
servers listen on 127.0.0.2 and the run allows exactly ``127.0.0.2/32``: the SSRF guard is
on for everything else, including 127.0.0.1 where a "secret" server records any request
that gets through. Set ``NEWSWATCH_LONG_TESTS=1`` for the long variants (a second pass,
PostgreSQL, the feed corpus as published feeds).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fixtures.pages import BRIDGE, FERRY, article_page, rss
from hostile import streams
from hostile.streams import MiB, StreamServer

from core.models import Article, RunReport
from core.rows import EntryState
from core.runtime import Runtime
from core.settings import Settings, load_settings
from newswatch.demo.server import Route, SiteServer
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime

LONG = os.environ.get("NEWSWATCH_LONG_TESTS") == "1"
LONG_SKIP = pytest.mark.skipif(not LONG, reason="long variant: set NEWSWATCH_LONG_TESTS=1")


def long_only(test: F) -> F:
    """Mark ``test`` slow and run it only with NEWSWATCH_LONG_TESTS=1."""
    return pytest.mark.slow(LONG_SKIP(test))

F = TypeVar("F", bound=Callable[..., Any])
HOST = "127.0.0.2"  # where the hostile site lives; the only address the run may reach
TOTAL_TIMEOUT = 3.0
# What the gzip bombs would inflate to: 64 GiB, ~66 MB on the wire (one gzip layer), made
# only as fast as the client reads it.
BOMB_INFLATED = 64 * 1024 * MiB
BOMB_WIRE = BOMB_INFLATED // 1024  # at least this many compressed bytes in the whole bomb
HUGE = 50 * MiB
SLOW_LORIS_SECONDS = 60  # how long the header-dripping server keeps going

LIGHTHOUSE = [
    "The old lighthouse on the southern breakwater will be lit again next spring after a "
    "volunteer trust raised the money to replace its lantern glass and rewire the tower.",
    "Trust members said the light would be decorative rather than a working aid to "
    "navigation, and that the harbour master had approved a softer amber lamp for it.",
    "Guided climbs of the tower's ninety-two steps will run on summer weekends, with the "
    "proceeds going towards repainting the keeper's cottage at the foot of the breakwater.",
]
QUAY = [
    "Divers inspecting the east quay wall found that three of its granite blocks had "
    "shifted during the autumn storms, and the harbour board closed the berth beside it.",
    "Engineers will pump grout behind the wall from a barge over the next fortnight, "
    "working at low tide so that the repair can cure before the spring tides arrive.",
    "Fishing boats that normally land their catch at the east quay will use the fuel "
    "pontoon instead, and the board said it would waive the pontoon fees until March.",
]
MARKET = [
    "The covered fish market will open an hour earlier on Saturdays from next month, the "
    "traders' association said, to catch visitors arriving on the first morning ferry.",
    "Stallholders voted for the change after a trial in October brought in more buyers "
    "than any other weekend of the year, including the busy August bank holiday.",
    "The association is also asking the council for a second loading bay on the quayside "
    "road, where delivery vans now queue for space during the early morning rush.",
]

XSS_TITLE = '<script>alert("title")</script> Harbour lights <img src=x onerror=alert(2)>'
MARKUP_TITLE = "[bold red]FAKE[/] [link=https://evil.example]Tide tables[/link] [/]"
ESCAPE_TITLE = "\x1b[2J\x1b]0;pwned\x07Tide \x1b[31mtables\x1b[0m"
SCRIPT_MARK = 'alert("body")'
FEED_TITLE = "[bold]Links[/bold] [/] <script>alert(10)</script>"


@dataclass
class Case:
    """One hostile input and what must happen to it."""

    name: str
    url: str
    expect: str  # a fragment of the recorded error, or "" when it must be collected
    feed_level: bool = False
    guid: str = ""  # the feed entry's guid (page cases)


@dataclass
class HostileRun:
    settings: Settings
    report: RunReport
    seconds: float
    site: SiteServer
    streams: StreamServer
    secret: SiteServer
    cases: dict[str, Case]
    good_urls: list[str]
    feed_urls: dict[str, str] = field(default_factory=dict)

    def open(self) -> Runtime:
        return open_runtime(self.settings)


def at(server: SiteServer, path: str) -> str:
    return f"http://{HOST}:{server.port}{path}"


def page(title: str, paragraphs: list[str], **kw: str) -> bytes:
    return article_page(title, paragraphs, **kw).encode()


def _feed(title: str, items: list[tuple[str, str]]) -> Route:
    return Route(rss(title, [{"title": t, "link": link} for t, link in items]),
                 "application/rss+xml")


def billion_laughs() -> bytes:
    decls = "\n".join(['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)])
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n{decls}\n]>\n<rss version="2.0"><channel>'
            "<title>&lol9;</title><item><title>lol</title><link>/lol.html</link></item>"
            "</channel></rss>").encode()


def external_entities(secret_url: str, link: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY passwd SYSTEM "file:///etc/passwd">\n'
            f'<!ENTITY remote SYSTEM "{secret_url}">\n]>\n<rss version="2.0"><channel>'
            "<title>Leak &passwd; &remote;</title><item><title>&passwd;&remote;</title>"
            f"<link>{link}</link><description>&passwd;</description></item>"
            "</channel></rss>").encode()


def site_plan(site: SiteServer, s: StreamServer, secret: SiteServer, reuse: StreamServer
              ) -> tuple[dict[str, Case], list[str], dict[str, str]]:
    """Put every route on the servers; return the cases, the good article URLs and the
    feed URLs by name. ``reuse`` answers robots.txt on a kept-alive connection, then drips
    the page's headers on it (a client reusing connections must still cut it off)."""
    sp = secret.port
    secret.set("/secret", Route(page("Internal secret", LIGHTHOUSE)))
    secret.set("/secret.xml", _feed("Internal", [("secret", f"http://127.0.0.1:{sp}/secret")]))

    # -- good articles, in a good feed and mixed into the hostile ones ------------------
    good = {"/ferry.html": ("Ferry timetable changes", FERRY),
            "/bridge.html": ("Bridge repairs delayed", BRIDGE),
            "/lighthouse.html": ("Lighthouse to shine again", LIGHTHOUSE),
            "/market.html": ("Fish market opens earlier", MARKET)}
    for path, (title, text) in good.items():
        site.set(path, Route(page(title, text)))
    good_urls = [at(site, p) for p in good]

    cases: dict[str, Case] = {}

    def case(name: str, url: str, expect: str, feed_level: bool = False, guid: str = "") -> None:
        cases[name] = Case(name, url, expect, feed_level, guid or (url if not feed_level else ""))

    # -- malformed HTML ------------------------------------------------------------------
    unclosed = ("<html><head><title>Quay wall repairs begin</title><body><div><article><h1>Quay "
                "wall repairs begin<p>" + "<p><b>".join(escape(p) for p in QUAY)
                + "<div><i><table><tr><td>")
    site.set("/unclosed.html", Route(unclosed.encode()))
    title_only = "<html><head><title>Quay wall repairs begin<body><p>" + escape(QUAY[0])
    site.set("/unclosed-title.html", Route(title_only.encode()))  # all of it is the title
    rng = random.Random(7)
    site.set("/binary.html", Route(bytes(rng.randrange(256) for _ in range(30_000))))
    nul = page("Quay\x00 wall\x00 repairs", [p.replace(" ", " \x00", 5) for p in QUAY]) + b"\x00" * 64
    site.set("/nul.html", Route(nul))
    site.set("/utf16-lie.html", Route(page("Market hours", MARKET),
                                      content_type="text/html; charset=utf-16"))
    site.set("/no-such-charset.html", Route(page("Market hours", MARKET, charset="x-klingon"),
                                            content_type="text/html; charset=x-klingon"))
    site.set("/empty.html", Route(b""))
    site.set("/pdf.html", Route(b"%PDF-1.7\n" + bytes(range(256)) * 40,
                                content_type="application/pdf"))

    # -- size, compression, time ---------------------------------------------------------
    filler = b"<p>" + b"harbour news " * 40 + b"</p>\n"
    head = b"<html><head><title>Huge</title></head><body><article>"
    s.set("/huge.html", streams.Stream(streams.repeated(filler, HUGE), length=HUGE))
    s.set("/huge-chunked.html", streams.Stream(streams.repeated(filler, HUGE)))
    gz = {"Content-Encoding": "gzip"}
    s.set("/bomb.html", streams.Stream(streams.gzip_bomb(head, BOMB_INFLATED), headers=gz))
    s.set("/bomb2.html", streams.Stream(streams.gzip_bomb(head, BOMB_INFLATED, layers=2),
                                        headers={"Content-Encoding": "gzip, gzip"}))
    s.set("/slow-headers.html", streams.Stream(streams.repeated(b"x", 10), header_drip=0.2,
                                               drip_for=SLOW_LORIS_SECONDS))
    reuse.set("/robots.txt", streams.Stream(streams.repeated(b"User-agent: *\n", 14),
                                            "text/plain", length=14, keep_alive=True))
    reuse.set("/slow.html", streams.Stream(streams.repeated(b"x", 10), header_drip=0.2,
                                           drip_for=SLOW_LORIS_SECONDS))
    site.set("/loop.html", Route(redirect_to="/loop.html"))
    site.set("/drip.html", Route(page("Drip", QUAY) + b" " * 20_000, drip=0.5))
    site.set("/to-secret.html", Route(redirect_to=f"http://127.0.0.1:{sp}/secret"))
    site.set("/to-metadata.html", Route(redirect_to="http://169.254.169.254/latest/meta-data/"))

    # -- script and markup in titles and bodies -----------------------------------------
    xss_body = [
        FERRY[0], f"<script>{SCRIPT_MARK}</script>", "<img src=x onerror=alert(3)>",
        '<a href="javascript:alert(4)">Read more</a> <iframe src="javascript:alert(5)"></iframe>',
        "<svg onload=alert(6)></svg>", FERRY[1], FERRY[2],
    ]
    xss = (f'<!DOCTYPE html><html><head><title>{escape(XSS_TITLE)}</title>'
           '<link rel="canonical" href="javascript:alert(7)"></head><body><article>'
           f"<h1>{escape(XSS_TITLE)}</h1>" + "".join(f"<p>{p}</p>" for p in xss_body)
           + "</article></body></html>")
    site.set("/xss.html", Route(xss.encode()))
    site.set("/markup.html", Route(page(MARKUP_TITLE, MARKET)))
    site.set("/escape.html", Route(page(ESCAPE_TITLE, LIGHTHOUSE[:1] + QUAY)))

    hostile_pages = [
        ("unclosed", at(site, "/unclosed.html"), ""),
        ("unclosed-title", at(site, "/unclosed-title.html"), "no article text"),
        ("binary", at(site, "/binary.html"), "no article text"),
        ("nul", at(site, "/nul.html"), ""),
        ("utf16-lie", at(site, "/utf16-lie.html"), ""),
        ("no-such-charset", at(site, "/no-such-charset.html"), ""),
        ("empty", at(site, "/empty.html"), "no article text"),
        ("pdf", at(site, "/pdf.html"), "not an HTML page"),
        ("huge", s.url("/huge.html"), "too large"),
        ("huge-chunked", s.url("/huge-chunked.html"), "too large"),
        ("gzip-bomb", s.url("/bomb.html"), "too large"),
        ("gzip-bomb-2-layers", s.url("/bomb2.html"), "too large"),
        ("slow-headers", s.url("/slow-headers.html"), "took longer than"),
        ("slow-headers-kept-alive", reuse.url("/slow.html"), "took longer than"),
        ("redirect-loop", at(site, "/loop.html"), "more than 5 redirects"),
        ("slow-drip", at(site, "/drip.html"), "took longer than"),
        ("redirect-to-loopback", at(site, "/to-secret.html"), "non-public address 127.0.0.1"),
        ("redirect-to-metadata", at(site, "/to-metadata.html"), "non-public address 169.254"),
        ("xss", at(site, "/xss.html"), ""),
        ("markup", at(site, "/markup.html"), ""),
        ("escape", at(site, "/escape.html"), ""),
        ("markup-link", at(site, "/[/bold]missing.html"), "HTTP 404"),
    ]
    private = [
        ("ten-net", "http://10.0.0.1/news/1.html", "10.0.0.1"),
        ("metadata", "http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254"),
        ("hex", f"http://0x7f000001:{sp}/secret", "127.0.0.1"),
        ("decimal", f"http://2130706433:{sp}/secret", "127.0.0.1"),
        ("octal", f"http://0177.0.0.1:{sp}/secret", "127.0.0.1"),
        ("short", f"http://127.1:{sp}/secret", "127.0.0.1"),
        ("mapped-v6", f"http://[::ffff:127.0.0.1]:{sp}/secret", "::ffff:127.0.0.1"),
        ("mapped-v6-hex", f"http://[0:0:0:0:0:ffff:7f00:1]:{sp}/secret", "::ffff:127.0.0.1"),
        ("v6-loopback", f"http://[::1]:{sp}/secret", "::1"),
        ("localhost", f"http://localhost:{sp}/secret", "non-public address"),
        ("zero", f"http://0.0.0.0:{sp}/secret", "0.0.0.0"),
        ("unspecified-v6", f"http://[::]:{sp}/secret", "::"),
    ]
    for name, url, where in hostile_pages:
        case(name, url, where)
    for name, url, where in private:
        case(f"ssrf-{name}", url, "non-public address" if where == "non-public address"
             else f"non-public address {where}")
    bad_links = [("javascript-link", "javascript:alert(8)"), ("data-link", "data:text/html,<b>x"),
                 ("file-link", "file:///etc/passwd")]
    for name, link in bad_links:
        case(name, link, "no valid link", guid=f"urn:hostile:{name}")
    case("xxe-entry", at(site, "/leak.html"), "HTTP 404")

    site.set("/pages.xml", _feed("Harbour Hostile Pages", [
        *[(name, url) for name, url, _ in hostile_pages], ("Lighthouse", good_urls[2])]))
    site.set("/ssrf.xml", _feed("Harbour Private", [(name, url) for name, url, _ in private]))
    site.set("/links.xml", Route(rss(FEED_TITLE, [
        {"title": f"<script>alert(9)</script> {name}", "link": link, "guid": f"urn:hostile:{name}"}
        for name, link in bad_links]), "application/rss+xml"))
    site.set("/good.xml", _feed("Harbour Gazette", [
        ("Ferry timetable changes", good_urls[0]), ("Bridge repairs delayed", good_urls[1]),
        ("Fish market opens earlier", good_urls[3])]))

    # -- hostile feeds -------------------------------------------------------------------
    site.set("/laughs.xml", Route(billion_laughs(), "application/rss+xml"))
    site.set("/xxe.xml", Route(external_entities(f"http://127.0.0.1:{sp}/secret",
                                                 at(site, "/leak.html")), "application/rss+xml"))
    site.set("/garbage.xml", Route(bytes(rng.randrange(256) for _ in range(20_000)),
                                   "application/rss+xml"))
    site.set("/nul-feed.xml", Route(rss("Nul\x00 Gazette", [
        {"title": "Market\x00 hours", "link": at(site, "/market.html") + "?from=nul"}]),
        "application/rss+xml"))
    site.set("/deep.json", Route(b'{"version": "https://jsonfeed.org/version/1.1", "items": ['
                                 + b"[" * 100_000 + b"]}", "application/feed+json"))
    site.set("/feed-loop.xml", Route(redirect_to="/feed-loop.xml"))
    site.set("/feed-drip.xml", Route(b"<rss>" + b" " * 20_000 + b"</rss>", drip=0.5,
                                     content_type="application/rss+xml"))
    site.set("/feed-to-secret.xml", Route(redirect_to=f"http://127.0.0.1:{sp}/secret.xml"))
    rss_head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Bomb</title>'
    s.set("/feed-bomb.xml", streams.Stream(streams.gzip_bomb(rss_head, BOMB_INFLATED),
                                           "application/rss+xml", headers=gz))
    s.set("/feed-huge.xml", streams.Stream(streams.repeated(b"<!-- padding -->\n", HUGE),
                                           "application/rss+xml", length=HUGE))
    s.set("/feed-slow-headers.xml", streams.Stream(streams.repeated(b"x", 10),
                                                   header_drip=0.2, drip_for=SLOW_LORIS_SECONDS))
    feed_cases = [
        ("feed-billion-laughs", at(site, "/laughs.xml"), "entities would expand"),
        ("feed-garbage", at(site, "/garbage.xml"), "not"),
        ("feed-deep-json", at(site, "/deep.json"), "not"),
        ("feed-redirect-loop", at(site, "/feed-loop.xml"), "more than 5 redirects"),
        ("feed-slow-drip", at(site, "/feed-drip.xml"), "took longer than"),
        ("feed-redirect-to-loopback", at(site, "/feed-to-secret.xml"),
         "non-public address 127.0.0.1"),
        ("feed-gzip-bomb", s.url("/feed-bomb.xml"), "too large"),
        ("feed-huge", s.url("/feed-huge.xml"), "too large"),
        ("feed-slow-headers", s.url("/feed-slow-headers.xml"), "took longer than"),
        ("feed-metadata", "http://169.254.169.254/latest/meta-data/feed.xml",
         "non-public address 169.254.169.254"),
        ("feed-hex-loopback", f"http://0x7f000001:{sp}/secret.xml", "non-public address 127.0.0.1"),
        ("feed-mapped-v6", f"http://[::ffff:127.0.0.1]:{sp}/secret.xml",
         "non-public address ::ffff:127.0.0.1"),
    ]
    for name, url, expect in feed_cases:
        case(name, url, expect, feed_level=True)
    feeds = {name: at(site, f"/{name}.xml") for name in ("good", "pages", "ssrf", "links")}
    feeds["xxe"] = at(site, "/xxe.xml")
    feeds["nul-feed"] = at(site, "/nul-feed.xml")
    feeds.update({name: c.url for name, c in cases.items() if c.feed_level})
    return cases, good_urls, feeds


def hostile_settings(home: Path, database_url: str = "") -> Settings:
    """The tests' settings with the SSRF guard on for everything but the hostile site."""
    env = {
        "NEWSWATCH_HOME": str(home),
        "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": f"{HOST}/32",
        "NEWSWATCH_PER_HOST_DELAY": "0",
        "NEWSWATCH_PER_HOST_CONCURRENCY": "8",
        "NEWSWATCH_EXTRACT_PROCESSES": "1", "NEWSWATCH_ENRICH_PROCESSES": "1",
        "NEWSWATCH_READ_TIMEOUT": "2",
        "NEWSWATCH_TOTAL_TIMEOUT": str(TOTAL_TIMEOUT),
    }
    if database_url:
        env["NEWSWATCH_DATABASE_URL"] = database_url
    return load_settings(env=env)


@contextmanager
def hostile_run(home: Path, database_url: str = "") -> Iterator[HostileRun]:
    """Serve the hostile site, register all its feeds and run the pipeline once over them
    (every feed at once, as in production); the servers stay up until the block ends."""
    with SiteServer(host=HOST) as site, StreamServer(HOST) as stream, \
            StreamServer(HOST) as reuse, SiteServer() as secret:
        cases, good_urls, feeds = site_plan(site, stream, secret, reuse)
        settings = hostile_settings(home, database_url)
        rt = open_runtime(settings)
        try:
            for url in feeds.values():
                add_feed(rt, url)
            started = time.monotonic()
            report = run_once(rt, force=True)
            seconds = time.monotonic() - started
        finally:
            rt.close()
        yield HostileRun(settings, report, seconds, site, stream, secret, cases, good_urls, feeds)


def entry_states(rt: Runtime) -> dict[str, EntryState]:
    """Every stored entry by its guid."""
    found: dict[str, EntryState] = {}
    for feed in rt.store.list_feeds():
        found.update(rt.store.entry_states(feed.id))
    return found


def article_at(rt: Runtime, url: str) -> Article | None:
    from ingest.urls import canonicalize

    article_id = rt.store.article_id_for_url(canonicalize(url))
    return rt.store.get_article(article_id) if article_id else None
