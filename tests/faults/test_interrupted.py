"""Ctrl-C in the middle of fetching: nothing collected is lost, and a feed whose entries were
not all fetched stays due, so the next `run --once` (without --all) finishes the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faults.heldsite import HeldSite

from core.settings import Settings
from newswatch.pipeline import add_feed
from newswatch.resources import open_runtime

EXE = str(Path(sys.executable).parent / "newswatch")
PAGES = 4


@pytest.fixture
def site() -> Iterator[HeldSite]:
    with HeldSite("pages", items=PAGES).serving() as held:
        yield held


def test_ctrl_c_mid_fetch_keeps_the_feed_due_and_the_next_run_finishes(
    settings: Settings, site: HeldSite
) -> None:
    rt = open_runtime(settings)
    feed, _ = add_feed(rt, site.feed_url)
    rt.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update({"NEWSWATCH_HOME": str(settings.home),
                "NEWSWATCH_DATABASE_URL": settings.resolved_database_url,
                "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
                "NEWSWATCH_PER_HOST_DELAY": "0", "NEWSWATCH_EXTRACT_PROCESSES": "1", "NEWSWATCH_ENRICH_PROCESSES": "1"})
    run = subprocess.Popen([EXE, "run", "--once"], env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert site.reached.wait(60), "the run never fetched a page"
        run.send_signal(signal.SIGINT)
        site.release()  # the pages in flight finish; the rest are cancelled
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, err
    assert err.strip().splitlines()[-1].endswith("interrupted"), err
    rt = open_runtime(settings)
    try:
        assert feed.id in {f.id for f in rt.store.due_feeds(datetime.now(UTC))}
    finally:
        rt.close()
    done = subprocess.run([EXE, "run", "--once"], env=env, capture_output=True, text=True,
                          timeout=180)  # due, so polled again without --all
    assert done.returncode == 0, done.stderr
    rt = open_runtime(settings)
    try:
        assert rt.store.count_articles() == PAGES
        assert feed.id not in {f.id for f in rt.store.due_feeds(datetime.now(UTC))}
    finally:
        rt.close()
