"""A loopback HTTP server whose answers are generated while they are sent.

The demo ``SiteServer`` renders each body in full before sending it; hostile answers that
must never exist in full (a 50 MB page, a gzip bomb that inflates to gigabytes, headers that
trickle in one byte at a time) are generated chunk by chunk here, and the server counts the
bytes the client actually took, so a test can prove the client stopped early.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MiB = 1024 * 1024
Chunks = Callable[[], Iterator[bytes]]


@dataclass
class Stream:
    """One path's answer: status, headers, and a generator of body chunks.

    ``length`` is sent as Content-Length when given; otherwise the body is chunked.
    ``header_drip`` > 0 sends the status line and headers one byte per that many seconds,
    for at most ``drip_for`` seconds (a slow-loris server that never finishes its headers).
    """

    chunks: Chunks
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None
    header_drip: float = 0.0
    drip_for: float = 60.0
    keep_alive: bool = False  # leave the connection open for the client's next request


class StreamServer:
    """Serve ``Stream`` answers on ``host`` (a free port) in a background thread."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Stream] = {}
        self.sent: dict[str, int] = {}  # body bytes the client accepted, per path
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def set(self, path: str, stream: Stream) -> None:
        with self._lock:
            self.routes[path] = stream

    def count(self, path: str, sent: int = 0, hit: bool = False) -> None:
        with self._lock:
            self.sent[path] = self.sent.get(path, 0) + sent
            self.hits[path] = self.hits.get(path, 0) + int(hit)

    def __enter__(self) -> StreamServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: StreamServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-answer is what these tests are about."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        owner.count(path, hit=True)
        stream = owner.routes.get(path)
        if stream is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            if stream.header_drip:
                self._drip_headers(stream)
                return
            self.send_response(stream.status)
            self.send_header("Content-Type", stream.content_type)
            for key, value in stream.headers.items():
                self.send_header(key, value)
            chunked = stream.length is None
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(stream.length))
            if not stream.keep_alive:
                self.send_header("Connection", "close")
            self.end_headers()
            for chunk in stream.chunks():
                if not chunk:
                    continue
                if chunked:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                else:
                    self.wfile.write(chunk)
                owner.count(path, sent=len(chunk))
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up: expected
            stream = dataclasses.replace(stream, keep_alive=False)
        self.close_connection = not stream.keep_alive

    def _drip_headers(self, stream: Stream) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: " + b"z" * 100_000
        until = time.monotonic() + stream.drip_for
        for byte in head:
            if time.monotonic() > until:
                break
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(stream.header_drip)
        self.close_connection = True


# ---- generators --------------------------------------------------------------------------


def repeated(unit: bytes, total: int, chunk: int = 64 * 1024) -> Chunks:
    """``unit`` repeated up to ``total`` bytes, in chunks, never held in full."""

    def chunks() -> Iterator[bytes]:
        block = unit * max(1, chunk // len(unit))
        left = total
        while left > 0:
            piece = block[:left]
            left -= len(piece)
            yield piece

    return chunks


def gzip_bomb(prefix: bytes, inflated: int, layers: int = 1) -> Chunks:
    """gzip (``layers`` times over) of ``prefix`` then zeros up to ``inflated`` bytes,
    compressed on the fly: a few kilobytes on the wire per megabyte inflated."""

    def chunks() -> Iterator[bytes]:
        compressors = [zlib.compressobj(9, zlib.DEFLATED, 31) for _ in range(layers)]

        def push(data: bytes, flush: bool = False) -> bytes:
            mode = zlib.Z_FINISH if flush else zlib.Z_SYNC_FLUSH  # keep bytes flowing
            for c in compressors:
                data = c.compress(data) + c.flush(mode)
            return data

        yield push(prefix)
        zeros = b"\0" * MiB
        left = inflated - len(prefix)
        while left > 0:
            out = push(zeros[: min(left, MiB)])
            left -= MiB
            if out:
                yield out
        yield push(b"", flush=True)

    return chunks
