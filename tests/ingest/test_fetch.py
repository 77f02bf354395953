"""The HTTP client against a real loopback server with fault switches."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_settings

from core.errors import BlockedAddressError, FetchError
from core.settings import Settings, load_settings
from ingest.fetch import Fetcher, address_allowed
from newswatch.demo.server import Route, SiteServer


@pytest.fixture
def server() -> Iterator[SiteServer]:
    with SiteServer() as s:
        yield s


@pytest.fixture
def fetch_settings(tmp_path: Path) -> Settings:
    s = make_settings(tmp_path)
    return dataclasses.replace(s, read_timeout=0.5, total_timeout=3.0, max_response_bytes=64_000)


def test_conditional_get_answers_not_modified(server: SiteServer, fetch_settings: Settings) -> None:
    server.set("/feed", Route(b"<rss/>", "application/rss+xml", last_modified="Tue, 10 Nov 2026 08:00:00 GMT"))
    with Fetcher(fetch_settings) as f:
        first = f.get(server.url("/feed"))
        assert first.status == 200 and first.content == b"<rss/>" and first.etag
        again = f.get(server.url("/feed"), etag=first.etag)
        assert again.not_modified and again.content == b""
        by_date = f.get(server.url("/feed"), last_modified=first.last_modified)
        assert by_date.not_modified
    assert server.requests[1].headers.get("If-None-Match") == first.etag
    assert "newswatch" in server.requests[0].headers["User-Agent"]


def test_redirects_are_followed_up_to_the_cap(server: SiteServer, fetch_settings: Settings) -> None:
    server.set("/old", Route(redirect_to="/new"))
    server.set("/new", Route(b"<p>moved</p>"))
    server.set("/loop", Route(redirect_to="/loop"))
    with Fetcher(fetch_settings) as f:
        moved = f.get(server.url("/old"))
        assert moved.final_url == server.url("/new") and moved.url == server.url("/old")
        with pytest.raises(FetchError, match="more than 5 redirects"):
            f.get(server.url("/loop"))
    assert server.hits("/loop") == 6


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (Route(b"oops", status=500), "HTTP 500"),
        (Route(b"gone", status=404), "HTTP 404"),
        (Route(b"x", delay=1.5), "timed out"),
        (Route(b"x" * 100_000), "too large"),
        (Route(b"\0" * 5_000_000, gzip=True), "too large"),  # a small gzip bomb
    ],
)
def test_failures_have_short_reasons(
    server: SiteServer, fetch_settings: Settings, route: Route, message: str
) -> None:
    server.set("/p", route)
    with Fetcher(fetch_settings) as f, pytest.raises(FetchError, match=message) as info:
        f.get(server.url("/p"))
    assert "\n" not in str(info.value)


def test_slow_drip_is_cut_at_the_total_time(server: SiteServer, fetch_settings: Settings) -> None:
    server.set("/drip", Route(b"y" * 20_000, drip=0.3))
    slow = dataclasses.replace(fetch_settings, total_timeout=1.0)
    with Fetcher(slow) as f, pytest.raises(FetchError, match="longer than 1s"):
        f.get(server.url("/drip"))


def test_refused_connection(fetch_settings: Settings) -> None:
    with SiteServer() as s:
        url = s.url("/gone")
    with Fetcher(fetch_settings) as f, pytest.raises(FetchError, match="cannot connect"):
        f.get(url)


def test_loopback_is_refused_unless_allowed(server: SiteServer, tmp_path: Path) -> None:
    server.set("/", Route(b"hi"))
    closed = load_settings(env={"NEWSWATCH_HOME": str(tmp_path)})
    with Fetcher(closed) as f, pytest.raises(BlockedAddressError, match=r"non-public address 127\.0\.0\.1"):
        f.get(server.url("/"))
    assert server.requests == []  # refused before connecting


def test_redirect_to_a_refused_address_is_blocked(server: SiteServer, tmp_path: Path) -> None:
    only_this = load_settings(
        env={"NEWSWATCH_HOME": str(tmp_path), "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "127.0.0.1/32"}
    )
    server.set("/hop", Route(redirect_to="http://127.0.0.2:9/internal"))
    with Fetcher(only_this) as f, pytest.raises(BlockedAddressError, match=r"127\.0\.0\.2"):
        f.get(server.url("/hop"))


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        ("8.8.8.8", True), ("127.0.0.1", False), ("10.1.2.3", False), ("192.168.0.1", False),
        ("169.254.169.254", False), ("::1", False), ("::ffff:127.0.0.1", False), ("0.0.0.0", False),
        ("2001:4860:4860::8888", True), ("fd00::1", False), ("100.64.0.1", False),
    ],
)
def test_address_policy(ip: str, allowed: bool) -> None:
    assert address_allowed(ip, ()) is allowed


def test_unsupported_scheme(fetch_settings: Settings) -> None:
    with Fetcher(fetch_settings) as f, pytest.raises(FetchError, match="unsupported URL scheme"):
        f.get("file:///etc/passwd")
