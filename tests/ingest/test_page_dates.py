"""A page's date comes only from what states it (meta tags, JSON-LD, <time>, a byline, the
URL); a page that states none gets its first-seen time, marked so — never 1 January of a year
its text mentions. Pages and feed written for these tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape

import lxml.html
import pytest

from core.runtime import Runtime
from ingest.dates import date_evidence, stated_date
from ingest.extract import extract_article
from ingest.urls import canonicalize
from newswatch.demo.server import Route, SiteServer
from newswatch.pipeline import add_feed, run_once

URL = "https://gazette.example/news/breakwater-approved"
TITLE = "Council approves the smaller breakwater"
PARAS = [
    "The council approved a smaller breakwater for the outer harbour on Tuesday evening, after "
    "two hours of debate in which fishermen, the ferry company and the sailing club all spoke.",
    "The harbour trust first proposed the wall in 2019, and the plans were cut back twice "
    "before this version, which stops short of the old lifeboat slipway, won a clear majority.",
    "Work is expected to start once the fishing season ends, and the trust says the wall will "
    "take about eighteen months to build if the weather on the exposed north side allows it.",
]
STATED = datetime(2024, 3, 5, 9, 15, tzinfo=UTC)


def _page(head: str = "", top: str = "", paras: list[str] = PARAS, aside: str = "") -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paras)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(TITLE)}"
        f" | Harbour Gazette</title>{head}</head><body><header><a href='/'>Harbour Gazette</a>"
        f"</header><main><article><h1>{escape(TITLE)}</h1>{top}{body}</article>{aside}</main>"
        "<footer><p>© 2019–2026 Harbour Gazette. All rights reserved.</p></footer></body></html>"
    )


META = '<meta property="article:published_time" content="2024-03-05T10:15:00+01:00">'
JSONLD = (
    '<script type="application/ld+json">'
    + json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": TITLE,
                  "datePublished": "2024-03-05T09:15:00Z"})
    + "</script>"
)
TIME = '<p class="byline">By Mara Quist, <time datetime="2024-03-05T09:15:00Z">5 March</time></p>'
RELATED = (
    "<aside class='sidebar'><h2>More from the harbour</h2><ul><li><a href='/old'>Slipway "
    "reopens</a> <time datetime='2019-06-01T08:00:00Z'>1 June 2019</time></li></ul></aside>"
)


@pytest.mark.parametrize(
    ("page", "url"),
    [
        (_page(), URL),  # "in 2019" in the body and a copyright line: no date stated
        (_page(top="<p>On 2019-03-05 the trust filed its first plan.</p>"), URL),
        (_page(paras=["By March 5, 2019, every ferry had to carry two lifejackets.", *PARAS]), URL),
        (_page(head='<meta itemprop="copyrightYear" content="2019">'), URL),
        (_page(aside=RELATED), URL),  # another page's date
        (_page(), "https://gazette.example/news/2019-budget-breakwater"),  # a year, not a date
    ],
    ids=["bare-year", "iso-date-in-text", "by-sentence", "copyright-year", "related", "url-year"],
)
def test_a_page_that_states_no_date_has_none(page: str, url: str) -> None:
    got = extract_article(page, url)
    assert got is not None and PARAS[1] in got.text
    assert got.published is None


@pytest.mark.parametrize(
    ("page", "url", "expected"),
    [
        (_page(head=META), URL, STATED),
        (_page(head=JSONLD), URL, STATED),
        (_page(top=TIME), URL, STATED),
        (_page(top="<p>By Mara Quist | 5 March 2024</p>"), URL, datetime(2024, 3, 5, tzinfo=UTC)),
        (_page(top="<p class='dateline'>Published 5 March 2024</p>"), URL,
         datetime(2024, 3, 5, tzinfo=UTC)),
        (_page(), "https://gazette.example/2024/03/05/breakwater.html",
         datetime(2024, 3, 5, tzinfo=UTC)),
        (_page(head=META, aside=RELATED), URL, STATED),
    ],
    ids=["meta", "json-ld", "time", "byline", "dateline", "url", "meta-beside-related"],
)
def test_a_stated_date_is_kept(page: str, url: str, expected: datetime) -> None:
    got = extract_article(page, url)
    assert got is not None and got.published == expected


def test_the_evidence_holds_what_states_a_date_and_nothing_of_the_text() -> None:
    tree = lxml.html.fromstring(_page(head=META, top=TIME, aside=RELATED))
    evidence = lxml.html.tostring(date_evidence(tree), encoding="unicode")
    assert "article:published_time" in evidence and "By Mara Quist" in evidence
    assert "2019" not in evidence and TITLE not in evidence
    assert stated_date(tree, URL) == STATED
    assert tree.find(".//time") is not None  # the page itself is left as it was


# -- through the pipeline, over loopback ------------------------------------------------------


def _rss(items: list[tuple[str, str]]) -> bytes:
    """A feed whose entries carry no dates, so the article's date is the page's or none."""
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link></item>"
        for title, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Harbour Gazette</title><link>https://gazette.example/</link>{entries}"
        "</channel></rss>"
    ).encode()


def test_undated_page_is_first_seen_and_stated_dates_are_the_pages(
    open_sqlite_rt: Callable[..., Runtime],
) -> None:
    rt = open_sqlite_rt()
    pages = {
        "/undated.html": (_page(), None),
        "/meta.html": (_page(head=META), STATED),
        "/jsonld.html": (_page(head=JSONLD), STATED),
        "/time.html": (_page(top=TIME), STATED),
        "/2024/03/05/breakwater.html": (_page(), datetime(2024, 3, 5, tzinfo=UTC)),
    }
    with SiteServer() as site:
        for path, (html, _) in pages.items():
            site.set(path, Route(html.encode()))
        items = [(f"{TITLE} ({path})", site.url(path)) for path in pages]
        site.set("/feed.xml", Route(_rss(items), "application/rss+xml"))
        add_feed(rt, site.url("/feed.xml"))
        started = datetime.now(UTC)
        report = run_once(rt, force=True)
        finished = datetime.now(UTC)
        assert (report.new, report.failed) == (len(pages), 0)
        for path, (_, expected) in pages.items():
            article_id = rt.store.article_id_for_url(canonicalize(site.url(path)))
            assert article_id, path
            article = rt.store.get_article(article_id)
            if expected is None:
                assert article.published_source == "first-seen", path
                assert article.published_at is not None
                assert started <= article.published_at <= finished, path  # when it was fetched
            else:
                assert (article.published_source, article.published_at) == ("page", expected), path
