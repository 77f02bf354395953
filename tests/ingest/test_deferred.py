"""A page whose host is slow is not lost for the run: after the rest of the queue it is tried
again, and if it is still too slow it is deferred — counted in the run report and fetched on
the feed's next poll. Real runs against a loopback host that is slow to answer some pages
while many of its pages are queued."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import make_settings
from fixtures.pages import article_page, rss

from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime

LIMIT = 1.0  # each request's time limit in these runs
PAGES = 8


class Site:
    """Pages /p0.html … ; ``slow`` maps a page to how many more times it answers too late."""

    def __init__(self) -> None:
        self.slow: dict[str, int] = {}
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path
                if path == "/feed.xml":
                    items = [{"title": f"Ferry timetable change number {n}",
                              "link": site.url(f"/p{n}.html")} for n in range(PAGES)]
                    body, kind = rss("Harbour Gazette", items), "application/rss+xml"
                else:
                    with site.lock:
                        late = site.slow.get(path, 0)
                        if late:
                            site.slow[path] = late - 1
                    if late:
                        time.sleep(LIMIT * 2.5)
                    n = path.strip("/p.html")
                    paragraphs = [f"The harbour authority changed ferry timetable number {n} on "
                                  "Monday, moving the first crossing of the day to a quarter past "
                                  "seven after complaints from commuters about the early start.",
                                  f"Officials said change {n} would be reviewed in the spring."]
                    body, kind = article_page(f"Ferry timetable change number {n}", paragraphs).encode(), "text/html"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # a client that gave up has gone
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.server.shutdown()
    s.server.server_close()


def test_a_slow_page_is_retried_in_the_run_and_deferred_when_still_slow(tmp_path: Path, site: Site) -> None:
    settings = dataclasses.replace(make_settings(tmp_path / "home"), total_timeout=LIMIT,
                                   read_timeout=LIMIT, per_host_concurrency=1)
    site.slow = {"/p2.html": 1, "/p5.html": 5}  # p2: slow once; p5: slow for a while
    rt = open_runtime(settings)
    try:
        add_feed(rt, site.url("/feed.xml"))
        report = run_once(rt)
        assert report.pages_retried == 2 and report.pages_deferred == 1
        assert report.new == PAGES - 1  # p2 arrived on its second try, in the same run
        assert rt.store.article_id_for_url(site.url("/p2.html"))
        assert rt.store.article_id_for_url(site.url("/p5.html")) is None
        (failure,) = report.failures
        assert failure.url.endswith("/p5.html") and "deferred" in failure.reason
        assert report.as_dict()["articles"]["deferred"] == 1

        site.slow = {}  # the host has recovered: the next poll of the feed fetches it
        again = run_once(rt, force=True)
        assert again.pages_deferred == 0 and again.new == 1
        assert rt.store.article_id_for_url(site.url("/p5.html"))
    finally:
        rt.close()
