"""Politeness, scheduling and robots.txt in real runs, checked from the servers' own logs."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta

from fixtures.pages import BRIDGE, FERRY, article_page, rss

from core.runtime import Runtime
from newswatch.demo.server import RequestRecord, Route, SiteServer
from newswatch.pipeline import add_feed, run_once

HOSTS = 20
FEEDS_PER_HOST = 10


def _peak_in_flight(records: list[RequestRecord]) -> int:
    events = sorted([(r.started, 1) for r in records] + [(r.at, -1) for r in records])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def test_two_hundred_feeds_never_exceed_the_per_host_limits(
    open_sqlite_rt: Callable[..., Runtime],
) -> None:
    delay = 0.1
    with ExitStack() as stack:
        servers = [stack.enter_context(SiteServer()) for _ in range(HOSTS)]
        for h, server in enumerate(servers):
            for f in range(FEEDS_PER_HOST):
                page = f"/{f}.html"
                paragraphs = [f"Host {h} story {f}. " + FERRY[0], *FERRY[1:], *BRIDGE]
                server.set(page, Route(article_page(f"Story {h}-{f}", paragraphs).encode(),
                                       delay=0.02))
                server.set(f"/feed{f}.xml", Route(rss(f"Outlet {h}", [
                    {"title": f"Story {h}-{f}", "link": server.url(page)}
                ]), "application/rss+xml", delay=0.02))
        rt = open_sqlite_rt(per_host_delay=delay, per_host_concurrency=2, fetch_concurrency=8,
                     extract_processes=2)
        for server in servers:
            for f in range(FEEDS_PER_HOST):
                add_feed(rt, server.url(f"/feed{f}.xml"))
        report = run_once(rt)
        logs = [list(s.requests) for s in servers]
    assert report.feeds_polled == HOSTS * FEEDS_PER_HOST and report.feeds_failed == 0
    assert (report.new, report.failed) == (HOSTS * FEEDS_PER_HOST, 0)
    everything: list[RequestRecord] = []
    for records in logs:
        assert _peak_in_flight(records) <= 2
        # arrival times carry the network's jitter: compare spans of five consecutive starts
        starts = sorted(r.started for r in records)
        spans = [b - a for a, b in zip(starts, starts[4:], strict=False)]
        assert min(spans) >= 4 * delay - 0.06, "requests to one host came faster than allowed"
        assert sum(r.path == "/robots.txt" for r in records) == 1  # cached per host
        everything.extend(records)
    peak = _peak_in_flight(everything)
    assert 2 < peak <= 8  # really concurrent across hosts, within the global limit


def test_robots_txt_is_honoured_for_articles(open_sqlite_rt: Callable[..., Runtime]) -> None:
    with SiteServer() as site:
        site.set("/robots.txt", Route(b"User-agent: *\nDisallow: /private/\n", "text/plain"))
        site.set("/private/a.html", Route(article_page("Private", FERRY).encode()))
        site.set("/public/b.html", Route(article_page("Public", BRIDGE).encode()))
        site.set("/feed.xml", Route(rss("Gazette", [
            {"title": "Private", "link": site.url("/private/a.html")},
            {"title": "Public", "link": site.url("/public/b.html")},
        ]), "application/rss+xml"))
        rt = open_sqlite_rt()
        add_feed(rt, site.url("/feed.xml"))
        report = run_once(rt)
        assert report.new == 1
        assert [f.reason for f in report.failures] == ["disallowed by the site's robots.txt"]
        assert site.hits("/private/a.html") == 0


def test_unreadable_robots_txt_means_no_article_fetches(open_sqlite_rt: Callable[..., Runtime]) -> None:
    with SiteServer() as site:
        site.set("/robots.txt", Route(b"down", status=500))
        site.set("/a.html", Route(article_page("A", FERRY).encode()))
        site.set("/feed.xml", Route(rss("Gazette", [{"title": "A", "link": site.url("/a.html")}]),
                                    "application/rss+xml"))
        rt = open_sqlite_rt()
        add_feed(rt, site.url("/feed.xml"))
        report = run_once(rt)
        assert report.new == 0 and site.hits("/a.html") == 0


def test_retry_after_is_honoured(open_sqlite_rt: Callable[..., Runtime]) -> None:
    with SiteServer() as site, SiteServer() as down:
        busy = Route(b"slow down", status=429, headers={"Retry-After": "1"})
        site.set("/a.html", Route(script=[busy, Route(article_page("A", FERRY).encode())]))
        site.set("/feed.xml", Route(rss("Gazette", [{"title": "A", "link": site.url("/a.html")}]),
                                    "application/rss+xml"))
        down.set("/gone.xml", Route(b"maintenance", status=503, headers={"Retry-After": "7200"}))
        down.set("/b.html", Route(article_page("B", BRIDGE).encode()))
        down.set("/other.xml", Route(rss("Down", [{"title": "B", "link": down.url("/b.html")}]),
                                     "application/rss+xml"))
        rt = open_sqlite_rt()
        add_feed(rt, site.url("/feed.xml"))
        gone, _ = add_feed(rt, down.url("/gone.xml"))
        now = rt.clock()
        report = run_once(rt)
        assert (report.new, report.failed) == (1, 0)
        tries = [r for r in site.requests if r.path == "/a.html"]
        assert [r.status for r in tries] == [429, 200]
        assert tries[1].started - tries[0].started >= 0.95
        feed = rt.store.get_feed(gone.id)
        assert "HTTP 503" in feed.last_error and "7200" in feed.last_error
        wait = (feed.next_poll_at - now).total_seconds()
        assert 7200 * 0.89 <= wait <= 7200 * 1.11
        # the host asked for two hours: nothing else is sent there meanwhile, and no worker waits
        add_feed(rt, down.url("/other.xml"))
        later = run_once(rt, force=True)
        assert down.hits("/other.xml") == 0 and down.hits("/gone.xml") == 1
        assert any("deferred" in f.error for f in later.feeds)


def test_adaptive_schedule_and_backoff(open_sqlite_rt: Callable[..., Runtime]) -> None:
    with SiteServer() as site:
        site.set("/a.html", Route(article_page("A", FERRY).encode()))
        site.set("/feed.xml", Route(rss("Gazette", [{"title": "A", "link": site.url("/a.html")}]),
                                    "application/rss+xml"))
        rt = open_sqlite_rt()
        feed, _ = add_feed(rt, site.url("/feed.xml"))
        start = rt.clock()
        run_once(rt)
        polled = rt.store.get_feed(feed.id)
        assert polled.interval_seconds == 1800  # everything was new: poll more often
        assert rt.store.due_feeds(start) == []  # not due again yet
        assert run_once(rt).feeds_polled == 0
        later = polled.next_poll_at + timedelta(seconds=1)
        rt.clock = lambda: later
        assert run_once(rt).feeds[0].status == "not-modified"
        assert rt.store.get_feed(feed.id).interval_seconds == 2700  # nothing new: back off
        site.set("/feed.xml", Route(b"broken", status=500))
        waits = []
        for _ in range(3):
            report = run_once(rt, force=True)
            assert report.feeds_failed == 1
            f = rt.store.get_feed(feed.id)
            waits.append((f.next_poll_at - later).total_seconds())
        assert f.consecutive_failures == 3
        assert waits[0] < waits[1] < waits[2]
