"""A loopback news site that holds one kind of request (the feed, or the article pages) until
the test releases it: a run can be caught in the middle of polling or of fetching."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

Stall = Literal["feed", "pages"]


class HeldSite:
    """``stall`` requests wait for :meth:`release` (at most ``hold_seconds``); ``reached``
    is set once one of them has arrived."""

    def __init__(self, stall: Stall, items: int = 3, hold_seconds: float = 20.0) -> None:
        self.stall, self.items, self.hold_seconds = stall, items, hold_seconds
        self.reached = threading.Event()
        self._released = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, kind = site.answer(self.path, self.server.server_address[1])
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):  # a client that was killed
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.feed_url = f"http://127.0.0.1:{self._server.server_address[1]}/feed.xml"

    def answer(self, path: str, port: int) -> tuple[bytes, str]:
        base = f"http://127.0.0.1:{port}"
        if path == "/robots.txt":
            return b"User-agent: *\nAllow: /\n", "text/plain"
        if (path == "/feed.xml") == (self.stall == "feed"):
            self.reached.set()
            self._released.wait(self.hold_seconds)
        if path == "/feed.xml":
            items = "".join(
                f"<item><title>Dispatch {i} from the port</title><link>{base}/p{i}</link>"
                f"<guid>p{i}</guid></item>" for i in range(self.items))
            return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Port Desk</title>'
                    f"<link>{base}/</link><description>d</description>{items}</channel></rss>"
                    ).encode(), "application/rss+xml"
        return (f"<html><head><title>Dispatch {path}</title></head><body><article>"
                f"<h1>Dispatch {path}</h1><p>"
                f"{'Cargo ships loaded crates of shells at the port, officials said. ' * 20}"
                "</p></article></body></html>").encode(), "text/html"

    def release(self) -> None:
        self._released.set()

    @contextlib.contextmanager
    def serving(self) -> Iterator[HeldSite]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.release()
            self._server.shutdown()
            self._server.server_close()
