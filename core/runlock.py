"""One pipeline run at a time on a state store, with a lock that a killed run cannot leave
behind: on SQLite an ``flock`` on a file beside the database (the kernel drops it when the
process dies), on PostgreSQL a session advisory lock (dropped when its connection closes).

``newswatch run`` takes it exclusively; the Airflow tasks of one DAG run take it shared, so
their mapped chunks run together while a CLI run and a DAG run never overlap.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

from core.errors import NewswatchError

ADVISORY_KEY = 0x6E657773  # "news": one key for the run lock of this database


class RunInProgressError(NewswatchError):
    """Another run holds the lock."""


def _busy(shared: bool) -> RunInProgressError:
    other = "a newswatch run (CLI)" if shared else "another newswatch run"
    return RunInProgressError(
        f"{other} is in progress on this state store; this one did nothing "
        "(run it again when that one has finished)"
    )


@contextlib.contextmanager
def run_lock(engine: Engine, *, shared: bool = False) -> Iterator[None]:
    """Hold the run lock for the block, or raise :class:`RunInProgressError` at once."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database or ""
        if database in ("", ":memory:"):
            yield
            return
        with _file_lock(Path(database).with_name(Path(database).name + ".run-lock"), shared):
            yield
        return
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, shared):
            yield
        return
    yield  # another database: no lock (not a configuration newswatch ships)


@contextlib.contextmanager
def _file_lock(path: Path, shared: bool) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(shared) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _advisory_lock(engine: Engine, shared: bool) -> Iterator[None]:
    kind = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    unlock = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
    with engine.connect() as conn:  # held for the run: the lock lives as long as it does
        got = conn.execute(text(f"SELECT {kind}(:key)"), {"key": ADVISORY_KEY}).scalar()
        conn.commit()
        if not got:
            raise _busy(shared)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # a dead connection has dropped it already
                conn.execute(text(f"SELECT {unlock}(:key)"), {"key": ADVISORY_KEY})
                conn.commit()
