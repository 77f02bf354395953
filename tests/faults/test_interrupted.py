"""Ctrl-C in the middle of fetching: nothing collected is lost, and a feed whose entries were
not all fetched stays due, so the next `run --once` (without --all) finishes the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.settings import Settings
from newswatch.pipeline import add_feed
from newswatch.resources import open_runtime

EXE = str(Path(sys.executable).parent / "newswatch")
PAGES = 4


class _SlowPages(BaseHTTPRequestHandler):
    release = threading.Event()
    fetching = threading.Event()  # the run has started fetching pages

    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/feed.xml":
            items = "".join(
                f"<item><title>Dispatch {i} from the port</title><link>{base}/p{i}</link>"
                f"<guid>p{i}</guid></item>" for i in range(PAGES))
            body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Port Desk</title>'
                    f"<link>{base}/</link><description>d</description>{items}</channel></rss>"
                    ).encode()
            kind = "application/rss+xml"
        elif self.path == "/robots.txt":
            body, kind = b"User-agent: *\nAllow: /\n", "text/plain"
        else:
            self.fetching.set()
            self.release.wait(20)
            body = (f"<html><head><title>Dispatch {self.path}</title></head><body><article>"
                    f"<h1>Dispatch {self.path}</h1>"
                    f"<p>{'Cargo ships loaded crates of shells at the port, officials said. ' * 20}"
                    "</p></article></body></html>").encode()
            kind = "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowPages)
    _SlowPages.release.clear()
    _SlowPages.fetching.clear()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    _SlowPages.release.set()
    server.shutdown()
    server.server_close()


def test_ctrl_c_mid_fetch_keeps_the_feed_due_and_the_next_run_finishes(
    settings: Settings, site: str
) -> None:
    rt = open_runtime(settings)
    feed, _ = add_feed(rt, site)
    rt.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update({"NEWSWATCH_HOME": str(settings.home),
                "NEWSWATCH_DATABASE_URL": settings.resolved_database_url,
                "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
                "NEWSWATCH_PER_HOST_DELAY": "0", "NEWSWATCH_EXTRACT_PROCESSES": "1"})
    run = subprocess.Popen([EXE, "run", "--once"], env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _SlowPages.fetching.wait(60), "the run never fetched a page"
        run.send_signal(signal.SIGINT)
        _SlowPages.release.set()  # the pages in flight finish; the rest are cancelled
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, err
    assert err.strip().splitlines()[-1].endswith("interrupted"), err
    rt = open_runtime(settings)
    try:
        assert feed.id in {f.id for f in rt.store.due_feeds(datetime.now(UTC))}
    finally:
        rt.close()
    done = subprocess.run([EXE, "run", "--once"], env=env, capture_output=True, text=True,
                          timeout=180)  # due, so polled again without --all
    assert done.returncode == 0, done.stderr
    rt = open_runtime(settings)
    try:
        assert rt.store.count_articles() == PAGES
        assert feed.id not in {f.id for f in rt.store.due_feeds(datetime.now(UTC))}
    finally:
        rt.close()
