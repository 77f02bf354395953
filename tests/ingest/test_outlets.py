"""An article's outlet is its feed's title or its site's name, never a headline or a
host:port. Feeds and pages written for these tests, served on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape

import lxml.html
import pytest

from core.runtime import Runtime
from ingest.extract import extract_article
from ingest.outlets import choose_outlet, feed_name, readable_host, site_name
from ingest.urls import canonicalize
from newswatch.demo.catalog import OUTLETS
from newswatch.demo.server import Route, SiteServer
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once

PARAS = [
    "The harbour regulator will require a second lifejacket check on every ferry crossing from "
    "the spring, after an inspection found that two boats had sailed with too few on board.",
    "Operators said the check would add about four minutes to each departure, and the ferry "
    "company has asked for the morning timetable to be moved to absorb the delay.",
]
HEADLINE = "U.S. regulator tightens ferry rules"


def _page(title: str, head: str = "") -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in PARAS)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}"
        f"</title>{head}</head><body><main><article><h1>{escape(title.split(' | ')[0])}</h1>"
        f"{body}</article></main></body></html>"
    )


def _og(name: str) -> str:
    return f'<meta property="og:site_name" content="{escape(name)}">'


def _rss(title: str | None, items: list[tuple[str, str]]) -> bytes:
    channel = f"<title>{escape(title)}</title>" if title is not None else ""
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link></item>" for t, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"{channel}<link>https://gazette.example/</link>{entries}</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Harbour Gazette", "Harbour Gazette"),
        ("  Harbour\n Gazette ", "Harbour Gazette"),
        ("Harbour Gazette RSS", "Harbour Gazette"),
        ("Harbour Gazette - RSS Feed", "Harbour Gazette"),
        ("Harbour Gazette: Atom feed", "Harbour Gazette"),
        ("Harbour Gazette » Feed", "Harbour Gazette"),
        ("Harbour Gazette Feed", "Harbour Gazette"),
        ("The Feed", "The Feed"),  # a name, not boilerplate
        ("RSS", ""),
        ("Comments on: Ferry rules tighten", ""),
        ("127.0.0.1:8765", ""),
        ("https://gazette.example/feed", ""),
        ("The regulator said on Tuesday that every ferry crossing from the spring will need "
         "a second lifejacket check before departure", ""),
    ],
)
def test_feed_titles_as_outlet_names(title: str, name: str) -> None:
    assert feed_name(title) == name


def test_choose_outlet_prefers_the_feed_then_the_site_then_the_host() -> None:
    url = "http://127.0.0.1:8765/ferry.html"
    assert choose_outlet("Harbour Gazette RSS", "The Gazette", url) == "Harbour Gazette"
    assert choose_outlet("", "The Gazette", url) == "The Gazette"
    assert choose_outlet("", "", url) == "127.0.0.1"
    # a feed or site "name" that is the article's own headline is no name
    assert choose_outlet(HEADLINE, HEADLINE, url, HEADLINE) == "127.0.0.1"
    assert choose_outlet(HEADLINE, "The Gazette", url, "", HEADLINE) == "The Gazette"
    # section feeds of one site are one outlet
    site = "Harbour Gazette"
    assert choose_outlet("Harbour Gazette - Local news", site, url) == site
    assert choose_outlet("Sport | Harbour Gazette", site, url) == site
    assert choose_outlet("Harbour Gazetteer", site, url) == "Harbour Gazetteer"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:8765/a", "127.0.0.1"),
        ("http://[::1]:8765/a", "::1"),
        ("https://www.example.org/a", "example.org"),
        ("https://news.example.co.uk:8443/a", "example.co.uk"),
        ("http://localhost:8000/a", "localhost"),
        ("https://gazette.example/a", "gazette.example"),
    ],
)
def test_readable_host_has_no_port_and_no_www(url: str, host: str) -> None:
    assert readable_host(url) == host


def _ld(*items: dict[str, object]) -> str:
    data = {"@context": "https://schema.org", "@graph": list(items)}
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (_og("Harbour Gazette"), "Harbour Gazette"),
        (_og("the Harbour Gazette"), "The Harbour Gazette"),
        (_og("http://127.0.0.1:8765") + _og("Harbour Gazette"), "Harbour Gazette"),
        (_ld({"@type": "Organization", "name": "News you can trust"},
             {"@type": "WebSite", "name": "Harbour Gazette"}), "Harbour Gazette"),
        (_ld({"@type": "NewsArticle", "headline": HEADLINE,
              "publisher": {"@type": "Organization", "name": "Harbour Gazette"}}),
         "Harbour Gazette"),
        ('<meta name="application-name" content="Harbour Gazette">', "Harbour Gazette"),
        ('<meta name="twitter:site" content="@gazette">', ""),
        (_og("127.0.0.1:8765"), ""),
    ],
)
def test_site_name_only_from_what_names_the_site(head: str, name: str) -> None:
    assert site_name(lxml.html.fromstring(_page(f"{HEADLINE} | Gazette", head))) == name


def test_a_headline_in_the_page_title_is_not_the_site_name() -> None:
    got = extract_article(_page(f"{HEADLINE} | Harbour Gazette"), "http://127.0.0.1:8765/a.html")
    assert got is not None and PARAS[0] in got.text
    assert got.sitename == ""  # not the dotted headline, not "127.0.0.1:8765"


def test_outlets_over_loopback(open_sqlite_rt: Callable[..., Runtime]) -> None:
    rt = open_sqlite_rt()
    feeds = {  # feed path: (feed title, page head, outlet expected)
        "/boilerplate.xml": ("Harbour Gazette - RSS Feed", "", "Harbour Gazette"),
        "/headline.xml": (HEADLINE, "", "127.0.0.1"),  # the feed "title" is the headline
        "/untitled.xml": (None, _og("Valley Courier"), "Valley Courier"),
        "/section.xml": ("Island Times - Local news", _og("Island Times"), "Island Times"),
    }
    with SiteServer() as site:
        for path, (title, head, _) in feeds.items():
            page = path.replace(".xml", ".html")
            site.set(page, Route(_page(f"{HEADLINE} ({page}) | Gazette", head).encode()))
            entries = [(HEADLINE if title == HEADLINE else f"{HEADLINE} ({page})", site.url(page))]
            site.set(path, Route(_rss(title, entries), "application/rss+xml"))
            add_feed(rt, site.url(path))
        report = run_once(rt, force=True)
        assert (report.new, report.failed) == (len(feeds), 0)
        for path, (_, _, outlet) in feeds.items():
            article_id = rt.store.article_id_for_url(
                canonicalize(site.url(path.replace(".xml", ".html")))
            )
            assert article_id, path
            assert rt.store.get_article(article_id).source == outlet, path


def test_demo_articles_carry_their_outlets_names(
    open_sqlite_rt: Callable[..., Runtime], demo: DemoSite
) -> None:
    rt = open_sqlite_rt()
    for url in demo.feed_urls():
        add_feed(rt, url)
    run_once(rt, force=True)
    sources = {a.source for a in rt.store.iter_articles()}
    assert sources == {o.name for o in OUTLETS}
