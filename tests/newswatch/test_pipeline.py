"""The whole pipeline (poll → fetch → extract → store → index) against real loopback servers,
on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fixtures.pages import BRIDGE, COMMENT, COOKIE, FERRY, article_page, rss

from core.models import SearchRequest
from core.runtime import Runtime
from newswatch.demo.catalog import load_articles
from newswatch.demo.server import Route, SiteServer
from newswatch.demo.site import COMMENT_MARKER, COOKIE_TEXT, DemoSite
from newswatch.pipeline import add_feed, run_once


@pytest.fixture
def gazette() -> Iterator[SiteServer]:
    """A one-outlet site of our own with two articles and an RSS feed."""
    with SiteServer() as s:
        s.set("/ferry.html", Route(article_page("Ferry timetable changes", FERRY).encode()))
        s.set("/bridge.html", Route(article_page("Bridge repairs delayed", BRIDGE).encode()))
        s.set("/feed.xml", Route(rss("Harbour Gazette", [
            {"title": "Ferry timetable changes", "link": s.url("/ferry.html")},
            {"title": "Bridge repairs delayed", "link": s.url("/bridge.html")},
        ]), "application/rss+xml"))
        yield s


def test_demo_site_end_to_end(rt: Runtime, demo: DemoSite) -> None:
    for url in demo.feed_urls():
        add_feed(rt, url)
    report = run_once(rt, force=True)
    articles = load_articles()
    assert report.feeds_polled == len(demo.feed_urls()) and report.feeds_failed == 0
    assert (report.new, report.failed, report.indexed) == (len(articles), 0, len(articles))
    assert rt.store.count_articles() == len(articles)
    for demo_article in articles:
        stored = rt.store.get_article(_id_for(rt, demo.article_url(demo_article)))
        assert stored.text.startswith(demo_article.paragraphs[0][:60]) or (
            demo_article.paragraphs[0] in stored.text
        ), demo_article.slug
        assert COOKIE_TEXT not in stored.text and COMMENT_MARKER not in stored.text
        assert stored.title == demo_article.title
        assert stored.published_at is not None
    assert rt.index.count() == len(articles)

    again = run_once(rt, force=True)
    assert (again.new, again.updated, again.failed, again.indexed) == (0, 0, 0, 0)
    assert {f.status for f in again.feeds} == {"not-modified"}
    assert rt.store.count_articles() == len(articles)
    assert rt.index.count() == len(articles)


def _id_for(rt: Runtime, url: str) -> str:
    from ingest.urls import canonicalize

    found = rt.store.article_id_for_url(canonicalize(url))
    assert found, f"no article stored for {url}"
    return found


def test_clean_text_and_conditional_get(rt: Runtime, gazette: SiteServer) -> None:
    add_feed(rt, gazette.url("/feed.xml"))
    report = run_once(rt, force=True)
    assert (report.new, report.failed) == (2, 0)
    ferry = rt.store.get_article(_id_for(rt, gazette.url("/ferry.html")))
    assert ferry.text.startswith(FERRY[0])
    assert all(p in ferry.text for p in FERRY)
    assert COOKIE not in ferry.text and COMMENT not in ferry.text
    assert "Bridge works delayed again" not in ferry.text  # related links stay out
    assert ferry.source == "Harbour Gazette"
    assert ferry.published_source == "feed"
    hits = rt.index.search(SearchRequest(query='"free bus link"'))
    assert [h.id for h in hits.hits] == [ferry.id]

    run_once(rt, force=True)
    feed_requests = [r for r in gazette.requests if r.path == "/feed.xml"]
    assert feed_requests[-1].headers.get("If-None-Match") and feed_requests[-1].status == 304
    assert gazette.hits("/ferry.html") == 1  # an unchanged entry is not fetched again


def test_changed_entry_becomes_a_revision(rt: Runtime, gazette: SiteServer) -> None:
    add_feed(rt, gazette.url("/feed.xml"))
    run_once(rt, force=True)
    corrected = [*FERRY[:2], "Correction: the later slot adds a second evening return on Saturdays."]
    gazette.set("/ferry.html", Route(article_page("Ferry timetable changes", corrected).encode()))
    gazette.set("/feed.xml", Route(rss("Harbour Gazette", [
        {"title": "Ferry timetable changes", "link": gazette.url("/ferry.html"),
         "description": "Updated with a correction"},
        {"title": "Bridge repairs delayed", "link": gazette.url("/bridge.html")},
    ]), "application/rss+xml"))
    report = run_once(rt, force=True)
    assert (report.new, report.updated, report.unchanged) == (0, 1, 1)
    ferry = rt.store.get_article(_id_for(rt, gazette.url("/ferry.html")))
    assert ferry.revision == 2 and "Saturdays" in ferry.text
    assert [r.revision for r in rt.store.revisions(ferry.id)] == [1, 2]
    assert rt.store.count_articles() == 2
    assert rt.index.search(SearchRequest(query="Saturdays")).total == 1
    assert rt.index.search(SearchRequest(query="Fridays")).total == 0


def test_two_urls_and_two_feeds_give_one_article(rt: Runtime, gazette: SiteServer) -> None:
    canonical = gazette.url("/ferry.html")
    gazette.set("/ferry-print.html", Route(
        article_page("Ferry timetable changes", FERRY, canonical=canonical).encode()
    ))
    gazette.set("/other.xml", Route(rss("Gazette Print Edition", [
        {"title": "Ferry (print)", "link": gazette.url("/ferry-print.html"), "guid": "p-1"},
        {"title": "Ferry again", "link": canonical + "?utm_source=newsletter#top", "guid": "p-2"},
    ]), "application/rss+xml"))
    add_feed(rt, gazette.url("/feed.xml"))
    add_feed(rt, gazette.url("/other.xml"))
    report = run_once(rt, force=True)
    assert report.new == 2  # ferry and bridge, whatever the route to them
    assert rt.store.count_articles() == 2
    article = rt.store.get_article(_id_for(rt, canonical))
    assert article.url == canonical
    assert _id_for(rt, gazette.url("/ferry-print.html")) == article.id
    assert rt.index.count() == 2


def test_guid_churn_is_not_new_articles(rt: Runtime, gazette: SiteServer) -> None:
    add_feed(rt, gazette.url("/feed.xml"))
    run_once(rt, force=True)
    gazette.set("/feed.xml", Route(rss("Harbour Gazette", [
        {"title": "Ferry timetable changes", "link": gazette.url("/ferry.html"), "guid": "new-1"},
        {"title": "Bridge repairs delayed", "link": gazette.url("/bridge.html"), "guid": "new-2"},
    ]), "application/rss+xml"))
    report = run_once(rt, force=True)
    assert (report.new, report.unchanged) == (0, 2)
    assert rt.store.count_articles() == 2


def test_bad_feeds_are_recorded_and_never_stop_the_others(
    open_rt: Callable[..., Runtime], gazette: SiteServer
) -> None:
    gazette.set("/500.xml", Route(b"boom", status=500))
    gazette.set("/html.xml", Route(b"<!DOCTYPE html><html><body>Home</body></html>"))
    gazette.set("/slow.xml", Route(b"<rss/>", delay=20))
    gazette.set("/loop.xml", Route(redirect_to="/loop.xml"))
    rt = open_rt(read_timeout=1.0, total_timeout=3.0)
    bad = ["/500.xml", "/html.xml", "/slow.xml", "/loop.xml"]
    for path in bad:
        add_feed(rt, gazette.url(path))
    add_feed(rt, "http://127.0.0.1:9/refused.xml")
    add_feed(rt, gazette.url("/feed.xml"))
    report = run_once(rt, force=True)
    assert report.new == 2 and report.feeds_failed == 5
    errors = {f.url.rsplit("/", 1)[-1]: f.last_error for f in rt.store.list_feeds()}
    assert errors["500.xml"] == "HTTP 500 Internal Server Error"
    assert "HTML page" in errors["html.xml"]
    assert "timed out" in errors["slow.xml"]
    assert "redirects" in errors["loop.xml"]
    assert "cannot connect" in errors["refused.xml"]
    assert errors["feed.xml"] == ""
    assert all(f.consecutive_failures == 1 for f in rt.store.list_feeds() if f.last_error)


def test_article_failures_are_reported_and_retried(
    open_rt: Callable[..., Runtime], gazette: SiteServer
) -> None:
    big = article_page("Huge", FERRY * 10).encode() + b"<!--" + b"x" * 200_000 + b"-->"
    gazette.set("/missing.html", Route(b"no", status=404))
    gazette.set("/report.pdf", Route(b"%PDF-1.7 ...", content_type="application/pdf"))
    gazette.set("/huge.html", Route(big))
    gazette.set("/feed.xml", Route(rss("Harbour Gazette", [
        {"title": "Ferry timetable changes", "link": gazette.url("/ferry.html")},
        {"title": "Missing", "link": gazette.url("/missing.html")},
        {"title": "A PDF", "link": gazette.url("/report.pdf")},
        {"title": "Huge", "link": gazette.url("/huge.html")},
    ]), "application/rss+xml"))
    rt = open_rt(max_response_bytes=100_000)
    add_feed(rt, gazette.url("/feed.xml"))
    report = run_once(rt, force=True)
    reasons = {f.url.rsplit("/", 1)[-1]: f.reason for f in report.failures}
    assert report.new == 1
    assert reasons == {
        "missing.html": "HTTP 404 Not Found",
        "report.pdf": "not an HTML page (content type application/pdf)",
        "huge.html": reasons["huge.html"],
    }
    assert "too large" in reasons["huge.html"]
    # the feed is unchanged (304), yet failed entries are retried on later runs, up to 3 times
    again = run_once(rt, force=True)
    assert again.failed == 3 and gazette.hits("/missing.html") == 2
    run_once(rt, force=True)
    assert run_once(rt, force=True).failed == 0 and gazette.hits("/missing.html") == 3
    gazette.set("/missing.html", Route(article_page("Found", BRIDGE).encode()))
    assert rt.store.count_articles() == 1


def test_feed_content_is_used_when_the_page_has_too_little_text(
    rt: Runtime, gazette: SiteServer
) -> None:
    gazette.set("/teaser.html", Route(article_page("Teaser", ["Subscribe to read more."]).encode()))
    full = "".join(f"<p>{p}</p>" for p in BRIDGE)
    gazette.set("/feed.xml", Route(rss("Harbour Gazette", [
        {"title": "Bridge repairs delayed", "link": gazette.url("/teaser.html"), "content": full},
    ]), "application/rss+xml"))
    add_feed(rt, gazette.url("/feed.xml"))
    assert run_once(rt, force=True).new == 1
    article = rt.store.get_article(_id_for(rt, gazette.url("/teaser.html")))
    assert article.method == "feed-content"
    assert article.text.startswith(BRIDGE[0])


def test_stale_validators_are_caught_by_our_own_hash(rt: Runtime, gazette: SiteServer) -> None:
    feed = gazette.routes["/feed.xml"]
    feed.stale_validators = True
    add_feed(rt, gazette.url("/feed.xml"))
    run_once(rt, force=True)
    again = run_once(rt, force=True)
    assert again.feeds[0].status == "not-modified"
    assert gazette.hits("/ferry.html") == 1


def test_wrongly_declared_encoding_is_still_read(rt: Runtime, gazette: SiteServer) -> None:
    text = ["Café owners on the quay say the new ferry times will cost them their busiest "
            "half hour, when commuters queue for crêpes and coffee before the 6:50 crossing.", *FERRY]
    page = article_page("Café owners worry", text, charset="utf-8").encode("utf-8")
    gazette.set("/cafe.html", Route(page, content_type="text/html; charset=iso-8859-1"))
    gazette.set("/feed.xml", Route(rss("Harbour Gazette", [
        {"title": "Café owners worry", "link": gazette.url("/cafe.html")},
    ]), "application/rss+xml"))
    add_feed(rt, gazette.url("/feed.xml"))
    assert run_once(rt, force=True).new == 1
    article = rt.store.get_article(_id_for(rt, gazette.url("/cafe.html")))
    assert "Café owners on the quay" in article.text and "crêpes" in article.text
