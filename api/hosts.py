"""The Host header must name this server: a web page that rebinds its own domain name to
the API's address (DNS rebinding) sends its own name as Host, and is refused with a 400
problem before any route runs.

Accepted: the host of ``api_host`` and of ``public_url``; the loopback names (127.0.0.1,
localhost, [::1]) when ``api_host`` is a loopback address; the loopback names and the
machine's host name when it is a wildcard address (0.0.0.0, ::); and every name in
``api_allowed_hosts`` (``*``: any host); and any IP address, which a rebinding page cannot
send as its Host. Ports are not compared. A request without a Host
header (HTTP/1.0) passes: no browser sends one.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import ProblemError, answer_problem
from core.settings import Settings

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})
ANY_HOST = "*"
_LABELS = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*")


def host_name(value: str) -> str | None:
    """The host of a Host header (or a configured name): lower-case, without its port, the
    brackets of an IPv6 address or a trailing dot; ``None`` when it is not a host name."""
    value = value.strip().lower()
    if value.startswith("["):  # [IPv6] or [IPv6]:port
        address, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not (rest[:1] == ":" and rest[1:].isdigit())):
            return None
        return _ipv6(address)
    if value.count(":") > 1:  # a bare IPv6 address (configured names only)
        return _ipv6(value)
    host, colon, port = value.partition(":")
    if colon and not port.isdigit():
        return None
    host = host[:-1] if host.endswith(".") else host
    return host if _LABELS.fullmatch(host) else None


def _ipv6(text: str) -> str | None:
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        return None


def _is_address(host: str) -> bool:
    """An IP literal: DNS rebinding always sends a domain name, so an address as Host (a
    probe, a client that dialled the address) cannot be that attack."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(settings: Settings, hostname: str | None = None) -> frozenset[str] | None:
    """The host names the API answers for; ``None`` when it answers for any.

    ``hostname`` is the machine's name (default :func:`socket.gethostname`), used when
    ``api_host`` is a wildcard address.
    """
    if ANY_HOST in settings.api_allowed_hosts:
        return None
    names: set[str | None] = {host_name(h) for h in settings.api_allowed_hosts}
    api = settings.api_host.strip().lower().strip("[]")
    if api in WILDCARD_ADDRESSES:
        names |= LOOPBACK_NAMES | {host_name(hostname or socket.gethostname())}
    else:
        api_name = host_name(api)
        names.add(api_name)
        if api_name is not None and _is_loopback(api_name):
            names |= LOOPBACK_NAMES
    public = urlsplit(settings.resolved_public_url).hostname
    if public:
        names.add(host_name(public))
    return frozenset(n for n in names if n and n not in WILDCARD_ADDRESSES)


class HostGuard:
    """ASGI middleware: requests whose Host header is not one of ``allowed`` get a 400."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.allowed = allowed_hosts(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.allowed is None:
            await self.app(scope, receive, send)
            return
        given = [value for key, value in scope["headers"] if key == b"host"]
        if not given:
            await self.app(scope, receive, send)
            return
        text = given[0].decode("latin-1")
        name = host_name(text)
        if len(given) == 1 and name is not None and (name in self.allowed or _is_address(name)):
            await self.app(scope, receive, send)
            return
        shown = text if len(text) <= 100 else text[:100] + "…"
        detail = (f"this server does not answer for host {shown!r}; if that is one of its names, "
                  "add it to NEWSWATCH_API_ALLOWED_HOSTS") if len(given) == 1 else \
            "the request has more than one Host header"
        await answer_problem(scope, receive, send, ProblemError(
            400, "Unknown host", detail, kind="unknown-host", headers={"Connection": "close"}))
