"""Per-host politeness: a cap on requests in flight and a minimum gap between their starts.

One :class:`HostGate` is shared by every thread of a run. A host that answers 429 or 503
with Retry-After is deferred: no request to it starts before the time it asked for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit


@dataclass
class _HostState:
    limit: int
    delay: float
    in_flight: int = 0
    next_start: float = 0.0


class HostGate:
    """Blocks until a request to a host may start; thread-safe."""

    def __init__(
        self,
        concurrency: int = 2,
        delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.concurrency = max(1, concurrency)
        self.delay = max(0.0, delay)
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _HostState] = {}
        self._cond = threading.Condition()

    def _state(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _HostState(self.concurrency, self.delay)
        return state

    def configure(self, host: str, concurrency: int | None = None, delay: float | None = None) -> None:
        """Apply a feed's own limits to a host; the stricter of all settings wins."""
        with self._cond:
            state = self._state(host)
            if concurrency is not None:
                state.limit = max(1, min(state.limit, concurrency))
            if delay is not None:
                state.delay = max(state.delay, delay)

    def defer(self, host: str, seconds: float) -> None:
        """Start nothing on ``host`` for ``seconds`` (a Retry-After or a robots Crawl-delay)."""
        with self._cond:
            state = self._state(host)
            state.next_start = max(state.next_start, self._clock() + max(0.0, seconds))

    def wait_time(self, host: str) -> float:
        """Seconds until the next request to ``host`` could start, ignoring the in-flight cap."""
        with self._cond:
            return max(0.0, self._state(host).next_start - self._clock())

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of the host's request slots, starting no earlier than its delay allows."""
        with self._cond:
            state = self._state(host)
            while state.in_flight >= state.limit:
                self._cond.wait()
            start = max(self._clock(), state.next_start)
            state.next_start = start + state.delay
            state.in_flight += 1
        try:
            pause = start - self._clock()
            if pause > 0:
                self._sleep(pause)
            yield
        finally:
            with self._cond:
                state.in_flight -= 1
                self._cond.notify_all()


def host_key(url: str) -> str:
    """The politeness key of a URL: host and port (one server, one budget)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
