"""The embedded index's time budget: a watchdog that interrupts a statement once it is spent.

A timer thread calls ``sqlite3.Connection.interrupt`` at the deadline; the statement running
then fails with "interrupted", which becomes :class:`search.query.QueryLimitError`; so does a
statement that ended after its deadline but before the watchdog woke. Before
this, a progress handler called back into Python every 1,000 SQLite instructions to look at
the clock, which taxed every search whether it was near its budget or not (and held the GIL
while it looked). The timer costs one short-lived thread per search.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from search.query import time_limit_error

POLL_SECONDS = 0.05  # how often the watchdog of a series of statements looks at the clock


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

    watchdog = threading.Thread(target=watch, name="sqlite-budget", daemon=True)
    watchdog.start()
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc) and time.monotonic() >= deadline:
            raise time_limit_error(budget_ms) from None
        raise
    finally:
        with lock:
            done.set()
        watchdog.join()
    if time.monotonic() >= deadline:  # done, but after the deadline (before the watchdog woke)
        raise time_limit_error(budget_ms)


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
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc) and time.monotonic() >= deadline:
                raise time_limit_error(budget_ms) from None
            raise
        finally:
            with self._lock:
                self._current = None
        if time.monotonic() >= deadline:  # done, but after the deadline
            raise time_limit_error(budget_ms)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
