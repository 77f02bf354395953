"""A request's time limit counts from when it is sent, not from when it was queued: many
pages of one slow host, fetched one at a time for politeness, all arrive although together
they take far longer than one request's limit."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import make_settings

from core.errors import FetchError
from ingest.fetch import Fetcher

ANSWER_SECONDS = 0.6


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(ANSWER_SECONDS)
        body = b"<html><body><p>slow but fine</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # a client that gave up has closed the socket
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_pages_queued_behind_a_slow_host_are_not_timed_out_by_the_queue(
    tmp_path: object, slow_host: str
) -> None:
    settings = dataclasses.replace(
        make_settings(tmp_path), total_timeout=1.5, read_timeout=1.5,  # type: ignore[arg-type]
        per_host_concurrency=1, per_host_delay=0.0)
    pages = [f"{slow_host}/page/{n}" for n in range(6)]  # 6 × 0.6 s in a row: 3.6 s > 1.5 s
    with Fetcher(settings) as fetcher, ThreadPoolExecutor(len(pages)) as pool:
        started = time.monotonic()
        results = list(pool.map(lambda url: _try(fetcher, url), pages))
        took = time.monotonic() - started
    assert took > settings.total_timeout  # the queue really was longer than one limit
    assert results == ["ok"] * len(pages), results


def test_a_request_that_itself_takes_too_long_still_fails(tmp_path: object, slow_host: str) -> None:
    settings = dataclasses.replace(make_settings(tmp_path), total_timeout=0.3,  # type: ignore[arg-type]
                                   read_timeout=5.0)
    with Fetcher(settings) as fetcher:
        assert "took longer than 0.3s" in _try(fetcher, f"{slow_host}/one")


def _try(fetcher: Fetcher, url: str) -> str:
    try:
        fetcher.get(url)
    except FetchError as exc:
        return exc.reason
    return "ok"
