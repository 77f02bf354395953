"""Two runs on one state store at once (a cron run while `run --loop` works, a CLI run while
Airflow ingests): the second says in one line that a run is in progress and does nothing,
the first loses nothing, and a killed run leaves no lock behind. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults.heldsite import HeldSite

from core.runlock import RunInProgressError, run_lock
from core.settings import Settings
from newswatch.pipeline import add_feed
from newswatch.resources import open_runtime

EXE = str(Path(sys.executable).parent / "newswatch")
@pytest.fixture
def site() -> Iterator[HeldSite]:
    """A feed that holds the first run while it polls (and so while it holds the lock)."""
    with HeldSite("feed", hold_seconds=6.0).serving() as held:
        yield held


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update({"NEWSWATCH_HOME": str(settings.home),
                "NEWSWATCH_DATABASE_URL": settings.resolved_database_url,
                "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
                "NEWSWATCH_PER_HOST_DELAY": "0", "NEWSWATCH_EXTRACT_PROCESSES": "1", "NEWSWATCH_ENRICH_PROCESSES": "1"})
    return env


def _start_run(settings: Settings) -> subprocess.Popen[str]:
    return subprocess.Popen([EXE, "run", "--once", "--all"], env=_env(settings), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_until_polling(site: HeldSite, timeout: float = 60) -> None:
    """Until the first run asks for the held feed (it holds the run lock from then on)."""
    assert site.reached.wait(timeout), "the first run never polled the feed"


def _articles(settings: Settings) -> int:
    rt = open_runtime(settings)
    try:
        return rt.store.count_articles()
    finally:
        rt.close()


def test_a_second_run_says_one_is_in_progress_and_the_first_loses_nothing(
    settings: Settings, site: HeldSite
) -> None:
    rt = open_runtime(settings)
    add_feed(rt, site.feed_url)
    rt.close()
    first = _start_run(settings)
    try:
        _wait_until_polling(site)
        second = subprocess.run([EXE, "run", "--once", "--all"], env=_env(settings),
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: another newswatch run is in "
                                                       "progress"), second.stderr
        assert "Traceback" not in second.stderr and "IntegrityError" not in second.stderr
        site.release()
        _, err = first.communicate(timeout=180)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
    assert _articles(settings) == 3  # everything the first run collected is there
    again = subprocess.run([EXE, "run", "--once", "--all"], env=_env(settings),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr  # the lock went with the first run
    assert _articles(settings) == 3  # and nothing was stored twice


def test_a_killed_run_leaves_no_lock_behind(settings: Settings, site: HeldSite) -> None:
    rt = open_runtime(settings)
    add_feed(rt, site.feed_url)
    rt.close()
    first = _start_run(settings)
    _wait_until_polling(site)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    site.release()
    rt = open_runtime(settings)
    try:
        deadline = time.monotonic() + 30  # PostgreSQL notices the dead session promptly
        while True:
            try:
                with run_lock(rt.store.engine):
                    break
            except RunInProgressError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        rt.close()
    done = subprocess.run([EXE, "run", "--once", "--all"], env=_env(settings),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _articles(settings) == 3


def test_airflow_tasks_share_the_lock_with_each_other_but_not_with_a_cli_run(
    settings: Settings,
) -> None:
    rt = open_runtime(settings)
    try:
        engine = rt.store.engine
        # two mapped tasks of one DAG run hold it together; a CLI run cannot join them
        with run_lock(engine, shared=True), run_lock(engine, shared=True), \
                pytest.raises(RunInProgressError), run_lock(engine):
            pass
        with run_lock(engine), pytest.raises(RunInProgressError, match="CLI"), \
                run_lock(engine, shared=True):
            pass
    finally:
        rt.close()
