"""Bad ports and IPv6 literals: refused at the door in one line, and anything that still
gets in (an old feed row, an item link, a redirect) fails only its own feed or entry."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import make_settings
from fixtures.pages import FERRY, article_page, rss

from core.errors import FetchError
from core.runtime import Runtime
from ingest.fetch import Fetcher
from ingest.urls import canonicalize, url_problem
from newswatch.demo.server import Route, SiteServer
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once

EXE = str(Path(sys.executable).parent / "newswatch")
BAD_PORT = "http://example.org:99999/feed"

# -- the pure check ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (BAD_PORT, "port 99999 is out of range 1-65535"),
        ("http://example.org:0/feed", "port 0 is out of range 1-65535"),
        ("http://example.org:http/", "port 'http' is not a number"),
        ("http://example.org:-1/", "port '-1' is not a number"),
        ("http://[::1/feed", "unclosed IPv6 literal '[::1' (missing ']')"),
        ("http://[zz::1]/", "invalid IPv6 literal [zz::1]"),
        ("http://[::1]8080/", "unexpected '8080' after the IPv6 literal"),
        ("http://::1/feed", "more than one ':' in '::1' (write an IPv6 address as [addr])"),
        ("http://ex]ample.org/", "misplaced bracket"),
        ("ftp://example.org/feed", "unsupported URL scheme 'ftp'"),
        ("example.org/feed", "not an absolute URL"),
        ("http:///feed", "no host"),
        ("http://user@/feed", "no host"),
        ("http://exa mple.org/", "contains spaces or control characters"),
        ("http://us[er@example.org/", "malformed URL"),
    ],
)
def test_url_problem_names_what_is_wrong(url: str, says: str) -> None:
    problem = url_problem(url)
    assert problem is not None and says in problem
    assert "\n" not in problem and len(problem) < 120
    with pytest.raises(ValueError, match="invalid URL"):
        canonicalize(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/feed", "HTTP://Example.ORG:80/a?b=1#c", "http://[::1]:8080/x",
        "http://[2001:db8::1]/", "http://127.0.0.1:65535/", "http://example.org:1/",
        "http://user:pw@example.org/", "http://example.org:/x", "https://ex.org?q=[1]",
    ],
)
def test_good_urls_pass(url: str) -> None:
    assert url_problem(url) is None
    canonicalize(url)


def test_whatever_passes_the_check_parses_without_errors() -> None:
    """Every URL the check lets through can have its host and port read (which is what
    raised deep inside before); the check itself never raises."""
    pieces = ["http://", "https://", "ftp://", "http:", ""]
    hosts = ["example.org", "[::1]", "[zz::1]", "[::1", "::1", "a]b", "", "u@h", "h h", "ex\uff03a"]
    ports = ["", ":", ":80", ":0", ":65535", ":65536", ":99999", ":x", ":٣", ":+1"]
    tails = ["", "/feed", "?a=[b]", "#x]"]
    for parts in itertools.product(pieces, hosts, ports, tails):
        url = "".join(parts)
        if url_problem(url) is None:
            split = urlsplit(url)
            assert split.hostname and split.port != 0, url
            canonicalize(url)


# -- the fetcher: a hop with a bad URL fails as a FetchError -------------------------------


def test_fetching_a_bad_url_is_a_fetch_error(tmp_path: Path) -> None:
    with Fetcher(make_settings(tmp_path)) as fetcher:
        for url in (BAD_PORT, "http://[::1/feed", "http://[zz::1]/"):
            with pytest.raises(FetchError, match="invalid URL: ") as info:
                fetcher.get(url)
            assert info.value.url == url


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ("http://127.0.0.1:99999/next", "port 99999 is out of range"),
        ("http://[::1/next", "port"),  # refused by httpx's own parser of the Location
        ("http://[zz::1]/next", "IPv6"),
    ],
)
def test_a_redirect_to_a_bad_url_fails_that_fetch(tmp_path: Path, location: str, says: str) -> None:
    with SiteServer({"/hop": Route(redirect_to=location)}) as site, Fetcher(
        make_settings(tmp_path)
    ) as fetcher, pytest.raises(FetchError, match="redirected to an invalid URL") as info:
        fetcher.get(site.url("/hop"))
    assert says in info.value.reason and info.value.url == site.url("/hop")


# -- the pipeline: what got in before fails only its own feed ------------------------------


def test_a_stored_bad_feed_url_fails_only_that_feed(
    open_sqlite_rt: Callable[..., Runtime], demo: DemoSite
) -> None:
    rt = open_sqlite_rt()
    good_url = demo.feed_urls()[0]
    good, _ = add_feed(rt, good_url)
    bad, _ = rt.store.add_feed("http://[::1/feed", rt.clock())  # as stored before the check
    port, _ = rt.store.add_feed(BAD_PORT, rt.clock())
    report = run_once(rt, force=True)
    by_url = {f.feed_url: f for f in report.feeds}
    assert by_url[good_url].status == "ok" and report.new >= 1
    assert by_url[bad.url].status == "failed" and "unclosed IPv6 literal" in by_url[bad.url].error
    assert "port 99999 is out of range" in by_url[BAD_PORT].error
    stored = {f.id: f for f in rt.store.list_feeds()}
    assert stored[port.id].last_error == "invalid URL: port 99999 is out of range 1-65535"
    assert stored[port.id].consecutive_failures == 1 and stored[good.id].last_error == ""


# -- the command line ----------------------------------------------------------------------


def newswatch(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update({"NEWSWATCH_HOME": str(home), "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
                "NEWSWATCH_PER_HOST_DELAY": "0", "COLUMNS": "80"})
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=120)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("url", [BAD_PORT, "http://[::1/feed", "http://[zz::1]/"])
@pytest.mark.parametrize("check", [[], ["--no-check"]])
def test_feeds_add_refuses_a_bad_url_in_one_line(tmp_path: Path, url: str, check: list[str]) -> None:
    done = newswatch(tmp_path, "feeds", "add", *check, url)
    assert done.returncode != 0
    lines = _lines(done.stderr)
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert "not a feed URL" in lines[0] and "Traceback" not in done.stderr
    assert "internal error" not in done.stderr
    listed = newswatch(tmp_path, "feeds", "list", "--json")
    assert json.loads(listed.stdout) == []


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite(base_port=0) as demo_site:
        yield demo_site


def test_import_skips_a_bad_entry_and_the_run_collects_the_good_feed(
    tmp_path: Path, site: DemoSite
) -> None:
    good = site.feed_urls()[0]
    opml = tmp_path / "list.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>'
        f'<outline text="bad" xmlUrl="{BAD_PORT}"/>'
        f'<outline text="good" xmlUrl="{good}"/></body></opml>'
    )
    home = tmp_path / "home"
    imported = newswatch(home, "feeds", "import", str(opml))
    assert imported.returncode == 0, imported.stderr
    skipped = _lines(imported.stderr)
    assert len(skipped) == 1 and skipped[0].startswith("skipped:"), imported.stderr
    assert "port 99999 is out of range 1-65535" in skipped[0]
    assert "2 feed(s)" in imported.stdout and "1 new" in imported.stdout
    assert [f["url"] for f in json.loads(newswatch(home, "feeds", "list", "--json").stdout)] == [good]

    ran = newswatch(home, "run", "--once", "--all", "--json")
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert report["feeds_failed"] == 0 and report["articles"]["new"] >= 1


def test_an_item_link_with_a_bad_port_fails_that_entry_only(tmp_path: Path) -> None:
    with SiteServer() as gazette:
        gazette.set("/ferry.html", Route(article_page("Ferry timetable changes", FERRY).encode()))
        gazette.set("/feed.xml", Route(rss("Harbour Gazette", [
            {"title": "Ferry timetable changes", "link": gazette.url("/ferry.html")},
            {"title": "Broken link", "link": "http://127.0.0.1:99999/story", "guid": "broken"},
        ]), "application/rss+xml"))
        home = tmp_path / "home"
        assert newswatch(home, "feeds", "add", gazette.url("/feed.xml")).returncode == 0
        ran = newswatch(home, "run", "--once", "--all", "--json")
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr and "internal error" not in ran.stderr
    report = json.loads(ran.stdout)
    assert report["feeds_failed"] == 0 and report["feeds"][0]["status"] == "ok"
    assert report["articles"]["new"] == 1 and report["articles"]["failed"] == 1
    assert report["failures"] == [
        {"url": "http://127.0.0.1:99999/story",
         "reason": "entry has no valid link (port 99999 is out of range 1-65535)"}
    ]
    health = json.loads(newswatch(home, "feeds", "health", "--json").stdout)
    assert health[0]["state"] == "ok" and health[0]["last_error"] == ""
