"""A server that accepts connections and never answers: one outlet's feed, and separately
one article page of another outlet. The run must finish in bounded time (the fetcher's
total timeout), collect, index and alert everything else, record the hanging feed as failed
with a clear timeout error, and collect what hung once the server answers again."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from faults.invariants import check_consistent
from faults.publishing import served_urls
from faults.runs import fault_env, settings_of
from fixtures.smtp import SmtpServer

from alerts.watches import add_watch
from ingest.urls import canonicalize
from newswatch.demo.catalog import OUTLETS
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime

pytest.importorskip("spacy", reason="the fault tests run the whole pipeline (nlp extra)")

TOTAL_TIMEOUT = 2.0  # seconds the fetcher gives one request, all included
HANG = 120.0  # the hanging routes answer after this long: never, for the test


def feeds_health(env: dict[str, str]) -> dict[str, dict[str, object]]:
    """``newswatch feeds health --json``, by feed URL."""
    done = subprocess.run([sys.executable, "-m", "newswatch.cli", "feeds", "health", "--json"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return {h["url"]: h for h in json.loads(done.stdout)}


def test_hanging_feed_and_page_cost_one_timeout_and_are_collected_later(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    env = fault_env(tmp_path / "home", smtp_port=smtp.port, total_timeout=str(TOTAL_TIMEOUT))
    settings = settings_of(env)
    with DemoSite(base_port=0) as site:
        hung_outlet, other = OUTLETS[1], OUTLETS[0]
        feed_server = site.servers[hung_outlet.slug]
        feed_route = feed_server.routes[hung_outlet.feed_path]
        page = site.articles_of(other.slug)[-1]
        page_server = site.servers[other.slug]
        page_route = page_server.routes[page.path()]
        feed_server.set(hung_outlet.feed_path, dataclasses.replace(feed_route, delay=HANG))
        page_server.set(page.path(), dataclasses.replace(page_route, delay=HANG))
        hung_feed = feed_server.url(hung_outlet.feed_path)
        hung_page = canonicalize(site.article_url(page))

        rt = open_runtime(settings)
        try:
            for url in site.feed_urls():
                add_feed(rt, url)
            add_watch(rt, "everything", ["desk@example.org"], language="en", min_novelty=0.0)
            began = time.monotonic()
            report = run_once(rt)
            seconds = time.monotonic() - began

            # bounded: the hanging requests cost one total timeout each, in parallel
            assert report.stage_seconds["fetch"] < 3 * TOTAL_TIMEOUT + 4, report.stage_seconds
            failed = [f for f in report.feeds if f.status == "failed"]
            assert [f.feed_url for f in failed] == [hung_feed]
            assert f"took longer than {TOTAL_TIMEOUT:g}s" in failed[0].error
            assert [canonicalize(f.url) for f in report.failures] == [hung_page]
            assert f"took longer than {TOTAL_TIMEOUT:g}s" in report.failures[0].reason
            everything_else = [a for a in site.articles
                               if a.outlet != hung_outlet.slug and a is not page]
            assert report.new == report.indexed == len(everything_else)
            assert report.alerts > 0 and report.sent == len(smtp.messages) > 0
            health = feeds_health(env)[hung_feed]
            assert health["consecutive_failures"] == 1
            assert f"took longer than {TOTAL_TIMEOUT:g}s" in str(health["last_error"])
            assert rt.store.article_id_for_url(hung_page) is None

            # the server answers again; the next runs, when the feeds are due, collect it all
            feed_server.set(hung_outlet.feed_path, feed_route)
            page_server.set(page.path(), page_route)
            due = max(f.next_poll_at for f in rt.store.list_feeds() if f.next_poll_at)
            later = due + timedelta(seconds=1)
            rt.clock = lambda: later
            recovered = run_once(rt)
            assert recovered.feeds_failed == 0 and not recovered.failures
            assert recovered.new == len(site.articles) - len(everything_else)
        finally:
            rt.close()
        assert feeds_health(env)[hung_feed]["consecutive_failures"] == 0
        tally = check_consistent(settings, served_urls(site, site.articles), smtp.messages)
    assert tally.articles == len(site.articles)
    print(f"\nhanging feed and page: first run {seconds:.1f} s (fetch "
          f"{report.stage_seconds['fetch']:.1f} s, total timeout {TOTAL_TIMEOUT:g} s); "
          f"recovered run collected {recovered.new}")
