"""Canonical URLs and the stable article ids derived from them. Pure functions."""

from __future__ import annotations

import hashlib
import ipaddress
import posixpath
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only say how a reader arrived, never which page it is.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok",
        "ocid", "cmpid", "icid", "ito", "ns_mchannel", "ns_source", "ns_campaign",
        "ns_linkname", "ns_fee", "smid", "smtyp", "sr_share", "spm", "s_cid", "wt.mc_id",
        "ref_src", "ref_url",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_", "at_")
DEFAULT_PORTS = {"http": 80, "https": 443}


def url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as an address newswatch fetches, in one short line
    (scheme, host, port, IPv6 literal); ``None`` when it is an absolute http(s) URL."""
    url = url.strip()
    scheme, sep, rest = url.partition(":")
    if not sep or not scheme:
        return "not an absolute URL (expected http:// or https://)"
    if scheme.lower() not in DEFAULT_PORTS:
        return f"unsupported URL scheme {scheme[:20]!r} (expected http or https)"
    if not rest.startswith("//"):
        return "no host (expected http://host/...)"
    netloc = rest[2:]
    for end in "/?#":
        netloc = netloc.split(end, 1)[0]
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        literal, closed, port = hostport[1:].partition("]")
        if not closed:
            return f"unclosed IPv6 literal {hostport[:60]!r} (missing ']')"
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            return f"invalid IPv6 literal [{literal[:60]}]"
        if port and not port.startswith(":"):
            return f"unexpected {port[:20]!r} after the IPv6 literal (expected :port)"
        host, port = literal, port[1:]
    elif "[" in hostport or "]" in hostport:
        return f"misplaced bracket in host {hostport[:60]!r} (IPv6 literals are [addr])"
    elif hostport.count(":") > 1:
        return f"more than one ':' in {hostport[:60]!r} (write an IPv6 address as [addr])"
    else:
        host, _, port = hostport.partition(":")
    if not host:
        return "no host"
    if any(c.isspace() or not c.isprintable() for c in host):
        return f"host {host[:60]!r} contains spaces or control characters"
    if port:
        if not (port.isascii() and port.isdigit()):
            return f"port {port[:20]!r} is not a number"
        if not 1 <= int(port) <= 65535:
            return f"port {int(port)} is out of range 1-65535"
    try:  # whatever else urllib refuses (e.g. characters that NFKC turns into separators)
        parts = urlsplit(url)
        _ = parts.hostname, parts.port
    except ValueError as exc:
        return f"malformed URL ({str(exc)[:100]})"
    return None


def canonicalize(url: str, base: str | None = None) -> str:
    """The canonical form of ``url``: lower-case scheme and host, no default port, no
    fragment, no tracking parameters, remaining parameters sorted, dot segments resolved.

    Raises ValueError for anything that is not an absolute http(s) URL (saying why).
    """
    url = url.strip()
    if base:
        url = urljoin(base, url)
    problem = url_problem(url)
    if problem:
        raise ValueError(f"invalid URL {url[:300]!r}: {problem}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError(f"URL has no host: {url!r}")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = host.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _normalise_path(parts.path)
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)),
        quote_via=quote,
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def _normalise_path(path: str) -> str:
    if not path:
        return "/"
    trailing = path.endswith("/")
    path = posixpath.normpath(unquote(path))
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    if trailing and path != "/":
        path += "/"
    return quote(path, safe="/:@!$&'()*+,;=-._~%")


def _tracking(key: str) -> bool:
    k = key.lower()
    return k in TRACKING_PARAMS or k.startswith(TRACKING_PREFIXES)


def article_id(canonical_url: str) -> str:
    """A stable 20-hex-digit id for an article; http and https of one URL share it."""
    key = canonical_url.split("://", 1)[-1]
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def same_site(a: str, b: str) -> bool:
    """Whether two URLs are on the same site (host equal apart from a leading ``www.``)."""
    ha, hb = (urlsplit(u).netloc.lower().removeprefix("www.") for u in (a, b))
    return bool(ha) and ha == hb


def choose_canonical(page_url: str, declared: str | None) -> str:
    """The page's declared ``rel=canonical`` when it is a valid URL on the same site,
    otherwise the canonical form of the URL the page was fetched from."""
    fallback = canonicalize(page_url)
    if not declared:
        return fallback
    try:
        candidate = canonicalize(declared, base=page_url)
    except ValueError:
        return fallback
    return candidate if same_site(candidate, fallback) else fallback
