"""Two runs on one state store at once (a cron run while `run --loop` works, a CLI run while
Airflow ingests): the second says in one line that a run is in progress and does nothing,
the first loses nothing, and a killed run leaves no lock behind. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.runlock import RunInProgressError, run_lock
from core.settings import Settings
from newswatch.pipeline import add_feed
from newswatch.resources import open_runtime

EXE = str(Path(sys.executable).parent / "newswatch")
HOLD_SECONDS = 6.0  # how long the slow feed keeps the first run busy


def _feed(base: str) -> bytes:
    items = "".join(
        f"<item><title>Report {i} on the shipment</title><link>{base}/a{i}</link>"
        f"<guid>a{i}</guid><description>{'A sentence of the summary about shells. ' * 12}"
        "</description></item>" for i in range(3)
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Slow Wire</title>'
            f"<link>{base}/</link><description>d</description>{items}</channel></rss>").encode()


class _Slow(BaseHTTPRequestHandler):
    hold = threading.Event()
    polled = threading.Event()  # a run asked for the feed: it holds the run lock now

    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/feed.xml":
            self.polled.set()
            self.hold.wait(HOLD_SECONDS)  # the first run sits here, holding the run lock
            body, kind = _feed(base), "application/rss+xml"
        elif self.path == "/robots.txt":
            body, kind = b"User-agent: *\nAllow: /\n", "text/plain"
        else:
            body = (f"<html><head><title>Report</title></head><body><article><h1>Report</h1>"
                    f"<p>{'North Korean shells reached the port, officials said. ' * 20}</p>"
                    "</article></body></html>").encode()
            kind = "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_feed() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    _Slow.hold.clear()
    _Slow.polled.clear()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    _Slow.hold.set()
    server.shutdown()
    server.server_close()


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update({"NEWSWATCH_HOME": str(settings.home),
                "NEWSWATCH_DATABASE_URL": settings.resolved_database_url,
                "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
                "NEWSWATCH_PER_HOST_DELAY": "0", "NEWSWATCH_EXTRACT_PROCESSES": "1"})
    return env


def _start_run(settings: Settings) -> subprocess.Popen[str]:
    return subprocess.Popen([EXE, "run", "--once", "--all"], env=_env(settings), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_until_polling(timeout: float = 60) -> None:
    """Until the first run asks for the slow feed (it holds the run lock from then on)."""
    assert _Slow.polled.wait(timeout), "the first run never polled the feed"


def _articles(settings: Settings) -> int:
    rt = open_runtime(settings)
    try:
        return rt.store.count_articles()
    finally:
        rt.close()


def test_a_second_run_says_one_is_in_progress_and_the_first_loses_nothing(
    settings: Settings, slow_feed: str
) -> None:
    rt = open_runtime(settings)
    add_feed(rt, slow_feed)
    rt.close()
    first = _start_run(settings)
    try:
        _wait_until_polling()
        second = subprocess.run([EXE, "run", "--once", "--all"], env=_env(settings),
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: another newswatch run is in "
                                                       "progress"), second.stderr
        assert "Traceback" not in second.stderr and "IntegrityError" not in second.stderr
        _Slow.hold.set()
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


def test_a_killed_run_leaves_no_lock_behind(settings: Settings, slow_feed: str) -> None:
    rt = open_runtime(settings)
    add_feed(rt, slow_feed)
    rt.close()
    first = _start_run(settings)
    _wait_until_polling()
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    _Slow.hold.set()
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
