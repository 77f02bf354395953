"""DNS rebinding: the fetcher connects only to addresses it checked, on every hop.

A name that answers a public address to the first lookup and a private one to the next
(TTL 0) must not get a request through to the private address. The stub resolver plays
that name; the servers are real loopback HTTP(S) servers that count what reaches them.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.errors import BlockedAddressError, FetchError
from core.settings import Settings, load_settings
from ingest.fetch import Fetcher, GuardedBackend, RefusedAddress

PUBLIC = "93.184.216.34"  # what the rebinding name answers first


class Rebinding:
    """A resolver: each name answers its first address to the first lookup and its second
    to every later one. Records every lookup."""

    def __init__(self, answers: dict[str, tuple[str, str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        first, later = self.answers[host]
        seen = self.lookups.count(host)
        self.lookups.append(host)
        return [first if seen == 0 else later]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    status = 200
    location = ""
    body = b"<p>hello</p>"

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.received: list[dict[str, str]] = []  # the headers of each request, in order
        self.paths: list[str] = []
        self.sni: list[str | None] = []
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (or refuses our certificate) is part of these tests."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            srv.received.append(dict(self.headers.items()))
            srv.paths.append(self.path)
        self.send_response(srv.status)
        if srv.location:
            self.send_header("Location", srv.location)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(srv.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(srv.body)


@contextmanager
def serving(
    host: str = "127.0.0.1", *, status: int = 200, location: str = "",
    tls: ssl.SSLContext | None = None,
) -> Iterator[_Server]:
    try:
        srv = _Server(host)
    except OSError as exc:  # 127.0.0.2 is loopback on Linux, not everywhere
        pytest.skip(f"cannot listen on {host}: {exc}")
    srv.status, srv.location = status, location
    if tls is not None:
        tls.sni_callback = lambda sock, name, ctx: srv.sni.append(name)
        srv.socket = tls.wrap_socket(srv.socket, server_side=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _closed(tmp_path: Path, allowed: str = "") -> Settings:
    env = {"NEWSWATCH_HOME": str(tmp_path), "NEWSWATCH_PER_HOST_DELAY": "0"}
    if allowed:
        env["NEWSWATCH_ALLOWED_PRIVATE_NETWORKS"] = allowed
    return dataclasses.replace(load_settings(env=env), read_timeout=2.0, total_timeout=5.0)


def test_a_name_rebound_to_loopback_gets_no_request_through(tmp_path: Path) -> None:
    # "localhost" so that a second lookup by anything but our resolver (the system's,
    # as before the fix) would reach the server: the assertion on its log is the test.
    rebinding = Rebinding({"localhost": (PUBLIC, "127.0.0.1")})
    with serving() as srv, Fetcher(_closed(tmp_path), resolver=rebinding) as fetcher:
        with pytest.raises(BlockedAddressError, match=r"non-public address 127\.0\.0\.1"):
            fetcher.get(f"http://localhost:{srv.port}/feed")
        assert srv.received == []
    assert len(rebinding.lookups) >= 2  # the public answer was given, and not trusted


def test_a_redirect_to_a_rebound_name_is_refused_before_any_request_reaches_it(
    tmp_path: Path,
) -> None:
    # allowed: the origin on 127.0.0.2 only; the redirect's target, 127.0.0.1, is refused
    rebinding = Rebinding(
        {"127.0.0.2": ("127.0.0.2", "127.0.0.2"), "localhost": (PUBLIC, "127.0.0.1")}
    )
    settings = _closed(tmp_path, allowed="127.0.0.2/32")
    with serving("127.0.0.1") as target:
        inside = f"http://localhost:{target.port}/internal"
        with serving("127.0.0.2", status=302, location=inside) as origin, Fetcher(
            settings, resolver=rebinding
        ) as fetcher:
            with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.1"):
                fetcher.get(f"http://127.0.0.2:{origin.port}/hop")
            assert len(origin.received) == 1
        assert target.received == []


def test_an_allowed_fetch_connects_to_the_checked_address_with_the_name_as_host(
    tmp_path: Path,
) -> None:
    names = Rebinding({"news.test": ("127.0.0.1", "127.0.0.1"), "cdn.test": ("127.0.0.1",) * 2})
    settings = make_settings(tmp_path)  # loopback allowed
    with serving() as final, serving(
        status=301, location=f"http://cdn.test:{final.port}/story"
    ) as first, Fetcher(settings, resolver=names) as fetcher:
        got = fetcher.get(f"http://news.test:{first.port}/old")
        assert got.status == 200 and got.content == b"<p>hello</p>"
        assert got.final_url == f"http://cdn.test:{final.port}/story"
        assert [h["Host"] for h in first.received] == [f"news.test:{first.port}"]
        assert [h["Host"] for h in final.received] == [f"cdn.test:{final.port}"]
        assert final.paths == ["/story"]


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _server_tls(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def test_https_keeps_the_host_name_for_sni_and_the_certificate_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = _self_signed(tmp_path, "news.test")
    wrong = _self_signed(tmp_path, "other.test")
    bundle = tmp_path / "trusted.pem"  # both are trusted: only the name can tell them apart
    bundle.write_bytes(good[0].read_bytes() + wrong[0].read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # read by httpx's SSL context
    names = Rebinding({"news.test": ("127.0.0.1", "127.0.0.1")})
    settings = make_settings(tmp_path)
    with serving(tls=_server_tls(good)) as srv, Fetcher(settings, resolver=names) as fetcher:
        got = fetcher.get(f"https://news.test:{srv.port}/")
        assert got.content == b"<p>hello</p>"
        assert srv.sni and set(srv.sni) == {"news.test"}
        assert srv.received[0]["Host"] == f"news.test:{srv.port}"
    with serving(tls=_server_tls(wrong)) as srv, Fetcher(settings, resolver=names) as fetcher:
        with pytest.raises(FetchError, match=r"(?i)certificate"):
            fetcher.get(f"https://news.test:{srv.port}/")
        assert srv.received == []


def test_the_backend_refuses_a_name_when_any_of_its_addresses_is_refused() -> None:
    allowed = (ipaddress.ip_network("127.0.0.0/8"),)
    with serving() as srv:
        mixed = GuardedBackend(allowed, resolver=lambda host, port: ["127.0.0.1", "10.0.0.1"])
        with pytest.raises(RefusedAddress) as info:
            mixed.connect_tcp("mixed.test", srv.port, timeout=2.0)
        assert (info.value.host, info.value.ip) == ("mixed.test", "10.0.0.1")
        fine = GuardedBackend(allowed, resolver=lambda host, port: ["127.0.0.1"])
        stream = fine.connect_tcp("fine.test", srv.port, timeout=2.0)
        try:
            assert stream.get_extra_info("server_addr")[0] == "127.0.0.1"
        finally:
            stream.close()


def test_system_resolver_is_the_default(tmp_path: Path) -> None:
    """Without a stub, names resolve through the system (localhost is in /etc/hosts)."""
    with serving() as srv, Fetcher(make_settings(tmp_path)) as fetcher:
        assert fetcher.get(f"http://localhost:{srv.port}/").content == b"<p>hello</p>"
    assert srv.received[0]["Host"] == f"localhost:{srv.port}"
    assert ipaddress.ip_address(socket.gethostbyname("localhost")).is_loopback
