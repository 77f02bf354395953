"""The embedded index's time budget: a watchdog that interrupts a statement once it is spent.

A timer thread calls ``sqlite3.Connection.interrupt`` at the deadline; the statement running
then fails with "interrupted", which becomes :class:`search.query.QueryLimitError`; so does a
statement that ended after its deadline but before the watchdog woke. Before
this, a progress handler called back into Python every 1,000 SQLite instructions to look at
the clock, which taxed every search whether it was near its budget or not (and held the GIL
while it looked). An index keeps one :class:`Deadlines` thread for the budgets of all its
readers' statements: starting and joining a timer thread per search cost ≈ 3 ms of each
``/search`` (two per request: hits and facets) under load.
"""

from __future__ import annotations

import heapq
import itertools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from search.query import time_limit_error

POLL_SECONDS = 0.05  # how often the watchdog of a series of statements looks at the clock


@contextmanager
def _spent_is_limit(deadline: float, budget_ms: float,
                    release: Callable[[], None]) -> Iterator[None]:
    """Run a block under ``deadline``: an interrupted statement, or a block that ended after
    the deadline (before a watchdog woke), is a QueryLimitError; ``release`` runs at the end
    so that no interrupt reaches the connection once the block is over."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc) and time.monotonic() >= deadline:
            raise time_limit_error(budget_ms) from None
        raise
    finally:
        release()
    if time.monotonic() >= deadline:
        raise time_limit_error(budget_ms)


@contextmanager
def time_budget(conn: sqlite3.Connection, budget_ms: float) -> Iterator[None]:
    """Interrupt what ``conn`` runs once ``budget_ms`` have passed: a QueryLimitError."""
    deadline = time.monotonic() + budget_ms / 1000
    done = threading.Event()
    lock = threading.Lock()  # no interrupt once the block has ended

    def watch() -> None:
        if not done.wait(max(0.0, deadline - time.monotonic())):
            with lock:
                if not done.is_set():
                    conn.interrupt()

    def release() -> None:
        with lock:
            done.set()
        watchdog.join()

    watchdog = threading.Thread(target=watch, name="sqlite-budget", daemon=True)
    watchdog.start()
    with _spent_is_limit(deadline, budget_ms, release):
        yield


class Watchdog:
    """One thread that keeps the time budget of many statements run one after another on
    one connection (watch matching), so each costs an assignment and a lock, not a thread.
    It looks at the clock every :data:`POLL_SECONDS` (or a quarter of a shorter budget)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()
        self._current: tuple[float, float] | None = None  # (deadline, poll) of the statement
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="sqlite-watchdog", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        poll = POLL_SECONDS
        while not self._stopped.wait(poll):
            current = self._current
            poll = POLL_SECONDS if current is None else current[1]
            if current is not None and time.monotonic() >= current[0]:
                with self._lock:
                    if self._current is current:  # still the same statement
                        self.conn.interrupt()
                        self._current = None

    @contextmanager
    def budget(self, budget_ms: float) -> Iterator[None]:
        """Like :func:`time_budget`, for one statement at a time."""
        deadline = time.monotonic() + budget_ms / 1000
        self._current = (deadline, min(POLL_SECONDS, budget_ms / 4000))

        def release() -> None:
            with self._lock:
                self._current = None

        with _spent_is_limit(deadline, budget_ms, release):
            yield

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


class Deadlines:
    """One thread that interrupts, for many connections used at once (an index's readers),
    each block of statements that outlives its budget; registering a block costs a lock
    and a heap push, and the thread sleeps until the nearest deadline."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, list[Any]]] = []  # (deadline, n, [conn, live])
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopped = False

    @contextmanager
    def budget(self, conn: sqlite3.Connection, budget_ms: float) -> Iterator[None]:
        """Like :func:`time_budget`."""
        deadline = time.monotonic() + budget_ms / 1000
        entry: list[Any] = [conn, True]
        with self._cond:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._watch, name="sqlite-deadlines",
                                                daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (deadline, next(self._order), entry))
            if self._heap[0][2] is entry:
                self._cond.notify()

        def release() -> None:
            with self._cond:
                entry[1] = False

        with _spent_is_limit(deadline, budget_ms, release):
            yield

    def _watch(self) -> None:
        with self._cond:
            while not self._stopped:
                while self._heap and not self._heap[0][2][1]:
                    heapq.heappop(self._heap)  # a block that ended in time
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, _n, entry = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                entry[1] = False
                entry[0].interrupt()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
