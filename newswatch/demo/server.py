"""A small real HTTP server on loopback that serves a table of routes.

The demo news site runs on it, and the tests use it with fault switches: slow answers,
errors, redirects, oversized or malformed bodies, wrong content types and encodings. It
honours conditional GET (ETag / If-None-Match, Last-Modified / If-Modified-Since) and keeps
a log of every request so tests can assert what a client really did.
"""

from __future__ import annotations

import gzip as gzip_module
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Body = bytes | Callable[[], bytes]


@dataclass
class Route:
    """How one path answers. ``body`` may be a callable, evaluated per request."""

    body: Body = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (for timeouts)
    drip: float = 0.0  # seconds to wait between 1 KiB chunks of the body (slow drip)
    redirect_to: str | None = None  # answer 302 with this Location
    etag: bool = True  # send an ETag and honour If-None-Match
    last_modified: str | None = None  # send and honour Last-Modified
    gzip: bool = False  # send the body gzip-encoded
    stale_validators: bool = False  # send a fresh ETag every time, never answer 304
    script: list[Route] | None = None  # answer with these in turn, then keep the last

    def render(self) -> bytes:
        return self.body() if callable(self.body) else self.body


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    headers: dict[str, str]
    at: float  # when the answer was complete
    status: int
    started: float = 0.0  # when the request arrived


class SiteServer:
    """Serve ``routes`` on a loopback port (0 picks a free one) in a background thread."""

    def __init__(
        self, routes: dict[str, Route] | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.site = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def set(self, path: str, route: Route) -> None:
        with self._lock:
            self.routes[path] = route

    def remove(self, path: str) -> None:
        with self._lock:
            self.routes.pop(path, None)

    def route_for(self, path: str) -> Route | None:
        with self._lock:
            route = self.routes.get(path) or self.routes.get(path.split("?", 1)[0])
            if route is not None and route.script:
                return route.script.pop(0) if len(route.script) > 1 else route.script[0]
            return route

    def log(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def start(self) -> SiteServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    site: SiteServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-request (timeouts under test) are normal here."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test and demo output quiet; the request log is kept in memory

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        self._started = time.time()
        self._head = head
        self._logged = False
        site = self.server.site
        route = site.route_for(self.path)
        status = 404 if route is None else route.status
        try:
            if route is None:
                self._send(404, b"not found", "text/plain", {}, head)
                return
            if route.delay:
                time.sleep(route.delay)
            if route.redirect_to is not None:
                status = 302
                self._send(302, b"", "text/plain", {"Location": route.redirect_to}, head)
                return
            body = route.render()
            headers = dict(route.headers)
            tag = _etag(body, route)
            if tag:
                headers["ETag"] = tag
            if route.last_modified:
                headers["Last-Modified"] = route.last_modified
            if route.status == 200 and not route.stale_validators and self._not_modified(tag, route):
                status = 304
                self._send(304, b"", route.content_type, headers, head=True)
                return
            if route.gzip:
                body = gzip_module.compress(body)
                headers["Content-Encoding"] = "gzip"
            self._send(route.status, body, route.content_type, headers, head, route.drip)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self._log(status)

    def _log(self, status: int) -> None:
        """Record the request once, before the client can see the answer (so a test that
        counts requests after a fetch returned never races the server)."""
        if self._logged:
            return
        self._logged = True
        method = "HEAD" if self._head else "GET"
        record = RequestRecord(method, self.path, dict(self.headers), time.time(), status,
                               self._started)
        self.server.site.log(record)

    def _not_modified(self, tag: str | None, route: Route) -> bool:
        inm = self.headers.get("If-None-Match")
        if tag and inm:
            return tag in [t.strip() for t in inm.split(",")]
        ims = self.headers.get("If-Modified-Since")
        return bool(route.last_modified and ims and ims == route.last_modified)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str],
        head: bool,
        drip: float = 0.0,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        if not drip:
            self._log(status)
        self.end_headers()
        if head or status == 304:
            return
        if drip:
            for i in range(0, len(body), 1024):
                self.wfile.write(body[i : i + 1024])
                self.wfile.flush()
                time.sleep(drip)
            self._log(status)
        else:
            self.wfile.write(body)


def _etag(body: bytes, route: Route) -> str | None:
    if not route.etag:
        return None
    if route.stale_validators:
        return f'"{time.time_ns()}"'
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
