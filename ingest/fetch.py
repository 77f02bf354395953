"""The HTTP client: conditional GET, limits, redirects followed by hand, and an SSRF guard.

Every fetch of a feed or an article page goes through :class:`Fetcher`. It refuses URLs
that resolve to loopback, private, link-local or reserved addresses unless the network is
listed in ``allowed_private_networks``. The check that holds is made where the socket is
opened (:class:`GuardedBackend`): the host is resolved once, every address it gave is
checked, and the connection goes to a checked address, so a name that answers a public
address to the first lookup and a private one to the next (DNS rebinding) reaches nothing.
The name is also checked before the request is queued (for a clear error), the address
actually connected to after, and all of this again on every redirect hop.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from core.errors import BlockedAddressError, FetchError
from core.models import FetchResult
from core.settings import IPNetwork, Settings
from ingest.politeness import HostGate, host_key, retry_after_seconds
from ingest.urls import url_problem

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
BUSY_STATUSES = {429, 503}
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
BAD_LOCATION = "Invalid URL in location header: "  # how httpx says a Location cannot be parsed

Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses``: how the fetcher turns a host name into IP addresses."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host``, in the order to try them."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_allowed(ip: str, allowed: Iterable[IPNetwork]) -> bool:
    """Whether newswatch may connect to ``ip``: public, or inside an allowed network."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if any(addr in net for net in allowed):
        return True
    return addr.is_global and not (addr.is_multicast or addr.is_reserved)


class RefusedAddress(Exception):
    """Raised by :class:`GuardedBackend` instead of connecting to a refused address."""

    def __init__(self, host: str, ip: str) -> None:
        super().__init__(_blocked_reason(host, ip))
        self.host = host
        self.ip = ip


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket opener with the address policy applied where the socket is opened.

    The host is resolved once; when any address it resolves to is refused, nothing is
    connected (:class:`RefusedAddress`); otherwise the connection goes to those addresses
    as IP literals, so no second lookup can answer differently. TLS is started on the
    stream afterwards by httpcore with the URL's host name (SNI and certificate check)."""

    def __init__(self, allowed: Iterable[IPNetwork], resolver: Resolver = system_resolver) -> None:
        self._allowed = tuple(allowed)
        self._resolver = resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = list(self._resolver(host, port))
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve host {host!r} ({exc})") from None
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve host {host!r} (no addresses)")
        for ip in addresses:
            if not address_allowed(ip, self._allowed):
                raise RefusedAddress(host, ip)
        last: Exception = httpcore.ConnectError(f"cannot connect to {host!r}")
        for ip in addresses:  # like socket.create_connection: the first that answers
            try:
                return self._inner.connect_tcp(ip, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by newswatch")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_transport(
    backend: httpcore.NetworkBackend, limits: httpx.Limits, retries: int = 1
) -> httpx.HTTPTransport:
    """httpx's own transport, its connection pool opening sockets through ``backend``.

    httpx (0.27, 0.28) takes no network backend, so the pool it builds is replaced by one
    with the same options plus ``network_backend``."""
    transport = httpx.HTTPTransport(retries=retries, limits=limits)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=False,
        retries=retries,
        network_backend=backend,
    )
    return transport


class Fetcher:
    """Fetches URLs politely and safely. Build one per run and ``close`` it after."""

    def __init__(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        gate: HostGate | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        """``transport`` replaces the network entirely (tests); ``resolver`` replaces the
        system's name lookups, both for the early check and where sockets are opened."""
        self.settings = settings
        self._resolver = resolver
        self.gate = gate or HostGate(settings.per_host_concurrency, settings.per_host_delay)
        timeout = httpx.Timeout(
            settings.read_timeout, connect=settings.connect_timeout, pool=settings.total_timeout
        )
        # no keep-alive: every request opens its own connection, so the watchdog that
        # enforces total_timeout always knows the request's socket (see _Watchdog). The
        # limits go to the transport: a client given a transport does not pass them on.
        limits = httpx.Limits(
            max_connections=max(4, settings.fetch_concurrency * 2), max_keepalive_connections=0
        )
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": settings.resolved_user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=transport
            or guarded_transport(GuardedBackend(settings.allowed_private_networks, resolver), limits),
            limits=limits,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = PAGE_ACCEPT,
    ) -> FetchResult:
        """GET ``url``, following redirects; raises :class:`FetchError` with a short reason.

        ``total_timeout`` is the time the requests may be in flight, counted from when each is
        sent: waiting for the host's politeness slot behind other pages does not use it up."""
        budget = self.settings.total_timeout
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        hops = 0
        waited = False
        while True:
            self._check_url(url, current)
            host = host_key(current)
            pending = self.gate.wait_time(host)
            if pending > self.settings.max_retry_after:  # never park a worker for long
                raise FetchError(
                    url, f"deferred: {host} asked us to wait {pending:.0f}s more",
                    retry_after=pending,
                )
            try:
                with self.gate.slot(host):
                    sent = time.monotonic()
                    try:
                        result = self._get_once(url, current, headers, sent + budget)
                    finally:
                        budget -= time.monotonic() - sent
            except FetchError as exc:
                if exc.retry_after is None:
                    raise
                self.gate.defer(host, exc.retry_after)
                if waited or exc.retry_after > self.settings.max_retry_after:
                    raise
                waited = True  # wait once (the gate holds the next start back), then retry
                continue
            if isinstance(result, FetchResult):
                return result
            if budget <= 0:
                raise FetchError(url, f"took longer than {self.settings.total_timeout:g}s",
                                 transient=True)
            hops += 1
            if hops > self.settings.max_redirects:
                raise FetchError(url, f"more than {self.settings.max_redirects} redirects")
            current = result

    def _check_url(self, original: str, url: str) -> None:
        """Refuse a malformed URL, and a host that resolves to a refused address now (the
        check that holds is made again where the socket is opened)."""
        problem = url_problem(url)
        if problem:
            if url == original:
                raise FetchError(original, f"invalid URL: {problem}")
            raise FetchError(original, f"redirected to an invalid URL {url[:300]!r}: {problem}")
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            addresses = self._resolver(host, parts.port or 80)
        except (OSError, UnicodeError) as exc:
            raise FetchError(url, f"cannot resolve host {host!r} ({exc})") from None
        for ip in addresses:
            if not address_allowed(ip, self.settings.allowed_private_networks):
                raise BlockedAddressError(url, _blocked_reason(host, ip))

    def _get_once(
        self, original: str, url: str, headers: dict[str, str], deadline: float
    ) -> FetchResult | str:
        limit = self.settings.max_response_bytes
        watchdog = _Watchdog(deadline)
        try:
            with watchdog, self._client.stream(
                "GET", url, headers=headers, extensions={"trace": watchdog.trace}
            ) as response:
                self._check_peer(url, response)
                if response.status_code in REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(original, f"HTTP {response.status_code} without Location")
                    try:
                        return urljoin(url, location)
                    except ValueError:  # e.g. an unclosed IPv6 literal in the Location
                        raise FetchError(
                            original, f"redirected to an invalid URL {location[:300]!r}"
                        ) from None
                if response.status_code == 304:
                    return _result(original, url, response, b"", not_modified=True)
                if response.status_code >= 400:
                    reason = f"HTTP {response.status_code} {response.reason_phrase or ''}".strip()
                    wait = None
                    if response.status_code in BUSY_STATUSES:
                        wait = retry_after_seconds(response.headers.get("retry-after"))
                        if wait is not None:
                            reason += f" (asked to retry after {wait:.0f}s)"
                    raise FetchError(
                        original, reason, status=response.status_code, retry_after=wait
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise FetchError(original, f"response too large ({declared} bytes > {limit})")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise FetchError(original, f"response too large (over {limit} bytes)")
                    if time.monotonic() > deadline:
                        raise FetchError(
                            original, f"took longer than {self.settings.total_timeout:g}s",
                            transient=True,
                        )
                    chunks.append(chunk)
                return _result(original, url, response, b"".join(chunks))
        except RefusedAddress as exc:
            raise BlockedAddressError(url, _blocked_reason(exc.host, exc.ip)) from None
        except (httpx.InvalidURL, UnicodeError) as exc:  # what url_problem does not catch
            raise FetchError(original, f"invalid URL: {_short(exc)}") from None
        except httpx.TransportError as exc:
            if watchdog.fired:
                raise FetchError(
                    original, f"took longer than {self.settings.total_timeout:g}s", transient=True
                ) from None
            if isinstance(exc, httpx.TimeoutException):
                raise FetchError(original, f"timed out ({type(exc).__name__})",
                                 transient=True) from None
            text = _short(exc)
            if isinstance(exc, httpx.RemoteProtocolError) and text.startswith(BAD_LOCATION):
                detail = text.removeprefix(BAD_LOCATION).rstrip(".")  # httpx's own URL parser
                raise FetchError(original, f"redirected to an invalid URL ({detail})") from None
            raise FetchError(original, f"cannot connect ({text})") from None
        except httpx.DecodingError as exc:
            raise FetchError(original, f"cannot decode the response body ({exc})") from None

    def _check_peer(self, url: str, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer and not address_allowed(str(peer[0]), self.settings.allowed_private_networks):
            raise BlockedAddressError(url, _blocked_reason(urlsplit(url).hostname or "", peer[0]))


class _Watchdog:
    """Holds one request to its deadline: when the deadline passes, the request's socket is
    shut down. httpx's timeouts apply to each read, so without this a server that sends its
    headers (or a TLS handshake) one byte at a time holds a fetch for hours."""

    def __init__(self, deadline: float) -> None:
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: remember the socket of the connection just opened."""
        if event == "connection.connect_tcp.complete" and info.get("return_value") is not None:
            sock = info["return_value"].get_extra_info("socket")
            with self._lock:
                self._sock = sock
                if self.fired:
                    self._shutdown()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            with suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _result(
    original: str, url: str, response: httpx.Response, content: bytes, not_modified: bool = False
) -> FetchResult:
    return FetchResult(
        url=original,
        final_url=url,
        status=response.status_code,
        content=content,
        content_type=response.headers.get("content-type", ""),
        headers={k.lower(): v for k, v in response.headers.items()},
        not_modified=not_modified,
    )


def _blocked_reason(host: str, ip: str) -> str:
    return (
        f"refused: {host} resolves to non-public address {ip} "
        "(allow it with NEWSWATCH_ALLOWED_PRIVATE_NETWORKS)"
    )


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
