"""robots.txt for article fetches (RFC 9309), parsed with protego and cached per host.

Feeds are published for machines and are polled without a robots check; article pages are
fetched only when the site's robots.txt allows our user agent. Following RFC 9309: a
robots.txt that does not exist (4xx) allows everything; one that cannot be read (5xx,
network error) disallows everything until it can be read again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from core.errors import BlockedAddressError, FetchError
from ingest.politeness import host_key

UNREACHABLE_TTL = 3600.0  # retry an unreadable robots.txt after an hour
MAX_ROBOTS_BYTES = 512 * 1024


@dataclass
class _Entry:
    rules: Protego | None  # None: allow everything
    disallow_all: bool
    expires: float


class RobotsCache:
    """Answers whether a URL may be fetched; fetches each host's robots.txt at most once per TTL."""

    def __init__(
        self,
        fetch: Callable[[str], bytes],
        agent: str,
        ttl: float = 86400.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch  # returns the body; raises FetchError (with .status) on failure
        self._agent = agent.split("/", 1)[0] or "newswatch"
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def allowed(self, url: str) -> bool:
        """Whether ``url`` may be fetched; raises BlockedAddressError for a refused host."""
        entry = self._entry(url)
        if entry.disallow_all:
            return False
        return entry.rules is None or bool(entry.rules.can_fetch(url, self._agent))

    def crawl_delay(self, url: str) -> float | None:
        entry = self._entry(url)
        if entry.rules is None:
            return None
        delay = entry.rules.crawl_delay(self._agent)
        return float(delay) if delay is not None else None

    def _entry(self, url: str) -> _Entry:
        key = host_key(url)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one fetch per host even when many threads ask at once
            entry = self._entries.get(key)
            if entry is None or entry.expires <= self._clock():
                entry = self._entries[key] = self._load(url)
            return entry

    def _load(self, url: str) -> _Entry:
        parts = urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        now = self._clock()
        try:
            body = self._fetch(robots_url)[:MAX_ROBOTS_BYTES]
        except BlockedAddressError:
            raise  # the host is refused outright: say so, not "disallowed by robots.txt"
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return _Entry(None, False, now + self._ttl)
            return _Entry(None, True, now + min(self._ttl, UNREACHABLE_TTL))
        text = body.decode("utf-8", errors="replace")
        return _Entry(Protego.parse(text), False, now + self._ttl)
