"""Which outlet an article is from (``Article.source``). Pure.

The feed's own title, cleaned; else the name the page gives its site; else the host's
registered domain ("example.org"). Never an article's headline, a URL or a host:port: a
story's outlets and the "5 outlets" of an alert are counted from these names.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from ingest.jsonld import site_from_jsonld

MAX_CHARS = 80  # a feed or site name longer than this is a headline or a description
MAX_WORDS = 10
_SEPARATORS = "-–—|:·»•/"
# "… RSS", "… - RSS Feed", "…: Atom feed", "… RSS 2.0": the format, not the outlet's name.
_FORMAT_SUFFIX_RE = re.compile(
    rf"(?:\s*[{_SEPARATORS}]\s*|\s+)(?:(?:rss|atom)(?:\s*\d(?:\.\d+)?)?(?:\s+feeds?)?)$", re.I
)
_FEED_SUFFIX_RE = re.compile(rf"(\s*[{_SEPARATORS}]\s*|\s+)feeds?$", re.I)
_FORMAT_WORDS = frozenset({"rss", "atom", "feed", "feeds", "xml", "rdf", "json", "2.0", "1.0"})
_HOST_PORT_RE = re.compile(r"^(?:\[[0-9a-f:.]+\]|[\w.-]+):\d{1,5}$", re.I)


def site_name(tree: Any) -> str:
    """The name the page gives its site: ``og:site_name``, else the JSON-LD WebSite (or the
    article's publisher), else ``application-name``; "" when none is a usable name."""
    name = next((n for n in map(_usable, _site_names(tree)) if n), "")
    first, _, rest = name.partition(" ")
    if first.islower() and first.isalpha() and rest[:1].isupper():
        name = name[0].upper() + name[1:]  # a name starts with a capital: "the Guardian"
    return name


def _site_names(tree: Any) -> Iterator[str]:
    """What the page calls its site, most explicit first (read only as far as needed)."""
    og = "//meta[@property='og:site_name' or @name='og:site_name']/@content"
    yield from map(str, tree.xpath(og))
    yield site_from_jsonld(tree)
    yield from map(str, tree.xpath("//meta[@name='application-name']/@content"))


def feed_name(title: str) -> str:
    """A feed's title as an outlet name: trimmed, without an "RSS" / "Atom" / "Feed" suffix;
    "" when it is no outlet's name (too long, a URL, a per-article comments feed)."""
    name = _plain(title)
    if name.casefold().startswith("comments on:"):  # WordPress: the comments of one post
        return ""
    stripped = _FORMAT_SUFFIX_RE.sub("", name)
    feed = _FEED_SUFFIX_RE.search(stripped)
    if feed and (feed.group(1).strip() or len(stripped[: feed.start()].split()) >= 2):
        stripped = stripped[: feed.start()]  # "Gazette - Feed", "Harbour Gazette Feed"
    stripped = stripped.strip(f" {_SEPARATORS}")  # not "The Feed" → "The"
    if all(word in _FORMAT_WORDS for word in stripped.casefold().split()):
        return ""  # "RSS", "Atom feed": a format, no name
    return _usable(stripped)


def choose_outlet(feed_title: str, site: str, url: str, *headlines: str) -> str:
    """The outlet's name for an article at ``url``: its feed's title, else the page's site
    name, else the host's registered domain. A name equal to one of ``headlines`` (the
    entry's or the page's title) is not used. A section feed ("Gazette - Local") whose page
    names the site ("Gazette") gives the site's name, so an outlet's feeds count as one."""
    titles = {_fold(h) for h in headlines if h.strip()}
    feed = feed_name(feed_title)
    page = _usable(site)
    feed = "" if _fold(feed) in titles else feed
    page = "" if _fold(page) in titles else page
    if feed and page and _is_section_of(feed, page):
        return page
    return feed or page or readable_host(url)


def readable_host(url: str) -> str:
    """The host's registered domain without "www." and without a port ("example.org"); the
    bare host name when it has none (an IP address, ``localhost``, an unlisted suffix)."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""
    from tld import get_fld

    try:
        domain = get_fld(host, fix_protocol=True, fail_silently=True)
    except Exception:  # tld refuses some hosts (IP addresses, odd labels): keep the host
        domain = None
    return str(domain or host.removeprefix("www."))


def _is_section_of(feed: str, site: str) -> bool:
    """"Gazette - Local news" or "Local news | Gazette" for the site "Gazette"."""
    f, s = _fold(feed), _fold(site)
    if len(f) <= len(s):
        return False
    if f.startswith(s):
        rest = f[len(s) :].lstrip()
        return rest[:1] in _SEPARATORS and len(rest) > 1
    if f.endswith(s):
        rest = f[: -len(s)].rstrip()
        return rest[-1:] in _SEPARATORS and len(rest) > 1
    return False


def _is_address(name: str) -> bool:
    """A URL, a host:port or an IP address (not a name, even when a page says so)."""
    if "://" in name or name.casefold().startswith("www.") or _HOST_PORT_RE.match(name):
        return True
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _usable(name: str) -> str:
    """``name`` cleaned, or "" when it cannot be an outlet's name (empty, a URL or a
    host:port, a handle, or as long as a headline)."""
    name = _plain(name)
    if not name or not any(ch.isalpha() for ch in name) or name.startswith("@"):
        return ""
    if _is_address(name) or len(name) > MAX_CHARS or len(name.split()) > MAX_WORDS:
        return ""
    return name


def _plain(text: str) -> str:
    """One line of text: no control or format characters, whitespace collapsed."""
    kept = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text or "")
    return " ".join(kept.split())


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()
