"""`newswatch reindex`: a fresh index rebuilt from the state store answers like the live one.
The real pipeline over the demo site, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core import schema
from core.models import SearchRequest
from core.runtime import Runtime
from core.settings import Settings
from newswatch.commands.reindex import reindex_command
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from search.reindex import reindex
from search.stage import index_stories
from stories.stage import merge

pytest.importorskip("spacy", reason="reindex tests run the whole pipeline (nlp extra)")

SEARCHES = [
    SearchRequest(query="North Korea", limit=100),
    SearchRequest(query='"artillery shells" OR sanctions', limit=100),
    SearchRequest(query="title:sanctions", limit=100),
    SearchRequest(query="", limit=100),
    SearchRequest(query="", entities=("Q423",), limit=100),
    SearchRequest(query="", topic="dprk-russia", limit=100),
    SearchRequest(query="shells -opinion", source="Global Wire Service", limit=100),
]


class Recorder:
    """The Progress protocol, remembering each stage's total and how far it got."""

    def __init__(self) -> None:
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self.label = ""

    def start(self, label: str, total: int) -> None:
        self.label = label
        self.totals[label] = total
        self.done[label] = 0

    def advance(self, n: int = 1) -> None:
        self.done[self.label] += n


def _answers(rt: Runtime) -> list[tuple[int, dict[str, float]]]:
    """Per search: the total and every hit's id with its score (ties may swap places)."""
    found = []
    for request in SEARCHES:
        result = rt.index.search(request)
        found.append((result.total, {h.id: round(h.score, 6) for h in result.hits}))
    return found


def _live(open_rt: Callable[..., Runtime], demo: DemoSite) -> Runtime:
    rt = open_rt()
    for url in demo.feed_urls():
        add_feed(rt, url)
    report = run_once(rt)
    assert report.indexed == rt.store.count_articles() > 20
    return rt


def test_reindex_into_a_fresh_index_answers_the_same(
    open_rt: Callable[..., Runtime], demo: DemoSite, tmp_path: Path
) -> None:
    live = _live(open_rt, demo)
    live_stories = live.index.list_stories(limit=1000)
    # a story merged away must not come back
    merged_away = live_stories[-1].id
    merge(live, live_stories[0].id, merged_away)
    index_stories(live, [live_stories[0].id, merged_away])
    live_stories = live.index.list_stories(limit=1000)
    assert merged_away not in {s.id for s in live_stories}

    fresh = open_rt(index_path=tmp_path / "other.sqlite")
    assert fresh.index.count() == 0
    progress = Recorder()
    articles, stories = reindex(fresh, progress, batch=7)  # several batches
    assert articles == fresh.index.count() == live.index.count() == live.store.count_articles()
    assert stories == len(live_stories)
    with live.store.engine.connect() as conn:  # story rows, the merged-away one included
        rows = conn.execute(select(func.count()).select_from(schema.stories)).scalar_one()
    assert rows == stories + 1
    assert progress.totals == progress.done == {
        "indexing articles": articles, "indexing stories": rows}

    assert _answers(fresh) == _answers(live)
    assert all(total for total, _ in _answers(live))  # every search finds something
    assert fresh.index.list_stories(limit=1000) == live_stories
    for topic in ("dprk-russia", "sanctions"):
        assert (fresh.index.list_stories(topic=topic, limit=1000)
                == live.index.list_stories(topic=topic, limit=1000))

    # everything is marked indexed: the next pass has nothing to do, and reindexing again
    # changes nothing
    assert fresh.store.articles_to_index() == []
    assert run_once(fresh).indexed == 0
    assert reindex(fresh) == (articles, stories)
    assert _answers(fresh) == _answers(live)


def test_unfinished_revisions_are_written_but_stay_queued(
    open_rt: Callable[..., Runtime], demo: DemoSite, tmp_path: Path
) -> None:
    live = _live(open_rt, demo)
    hits = live.index.search(SearchRequest(query="Libya", limit=1)).hits
    article = live.store.get_article(hits[0].id)
    assert article is not None
    text = article.text + "\n\nA zeppelin was later seen over the harbour."
    changed = replace(article, text=text, text_hash=hashlib.sha256(text.encode()).hexdigest())
    assert live.store.save_article(changed, (), live.clock()) == "updated"

    fresh = open_rt(index_path=tmp_path / "other.sqlite")
    articles, _ = reindex(fresh, stories=False)
    assert articles == live.store.count_articles()
    assert fresh.index.list_stories() == []  # --no-stories
    found = fresh.index.search(SearchRequest(query="zeppelin")).hits
    assert [h.id for h in found] == [article.id]  # the newest text is searchable at once
    # ... and the pipeline still owes it its enrichment, story and final index document
    report = run_once(fresh)
    assert report.enriched == 1 and report.indexed == 1
    assert fresh.store.get_article(article.id).indexed_revision == 2  # type: ignore[union-attr]


def test_the_click_command(
    open_rt: Callable[..., Runtime], demo: DemoSite, settings: Settings, tmp_path: Path
) -> None:
    live = _live(open_rt, demo)
    env = {
        "NEWSWATCH_HOME": str(settings.home),
        "NEWSWATCH_DATABASE_URL": settings.resolved_database_url,
        "NEWSWATCH_INDEX_PATH": str(tmp_path / "cli.sqlite"),
        "NEWSWATCH_EXTRACT_PROCESSES": "1", "NEWSWATCH_ENRICH_PROCESSES": "1",
    }
    result = CliRunner().invoke(reindex_command, ["--no-stories"], env=env)
    assert result.exit_code == 0, result.output
    count = live.store.count_articles()
    assert f"Reindexed {count} article(s) into the embedded index" in result.stdout
    assert "story" not in result.stdout
    result = CliRunner().invoke(reindex_command, [], env=env)
    stories = len(live.index.list_stories(limit=1000))
    assert f"Reindexed {count} article(s) and {stories} story(ies)" in result.stdout
    assert str(tmp_path / "cli.sqlite") in result.stdout


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).parent / "newswatch")
    full = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")} | env
    return subprocess.run([exe, *args], env=full, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("damage", ["garbage", "torn-pages"])
def test_a_damaged_index_file_is_reported_and_reindex_rebuilds_it(
    open_rt: Callable[..., Runtime], demo: DemoSite, settings: Settings, damage: str
) -> None:
    live = _live(open_rt, demo)
    count = live.store.count_articles()
    path = settings.resolved_index_path
    live.close()
    env = {"NEWSWATCH_HOME": str(settings.home),
           "NEWSWATCH_DATABASE_URL": settings.resolved_database_url,
           "NEWSWATCH_EXTRACT_PROCESSES": "1", "NEWSWATCH_ENRICH_PROCESSES": "1"}
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    if damage == "garbage":
        path.write_bytes(b"this is not a database at all\n" * 4096)
        broken = _cli(env, "search", "North Korea")
        assert broken.returncode == 1
        lines = broken.stderr.strip().splitlines()
        assert len(lines) == 1 and "is damaged" in lines[0] and "newswatch reindex" in lines[0]
    else:  # a valid header, pages overwritten in the middle (a torn write, a bad disk)
        data = bytearray(path.read_bytes())
        middle = len(data) // 2
        data[middle:middle + 8192] = b"\xa5" * 8192
        path.write_bytes(bytes(data))
    rebuilt = _cli(env, "reindex")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "was damaged" in rebuilt.stderr and ".damaged-" in rebuilt.stderr
    assert f"Reindexed {count} article(s)" in rebuilt.stdout
    assert list(path.parent.glob(path.name + ".damaged-*"))  # kept for a post-mortem
    found = _cli(env, "search", "", "--json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["total"] == count


def test_a_killed_reindex_is_finished_by_the_next_one(
    open_rt: Callable[..., Runtime], demo: DemoSite, settings: Settings, tmp_path: Path
) -> None:
    live = _live(open_rt, demo)
    count = live.store.count_articles()
    live.close()
    env = {"NEWSWATCH_HOME": str(settings.home),
           "NEWSWATCH_DATABASE_URL": settings.resolved_database_url,
           "NEWSWATCH_INDEX_PATH": str(tmp_path / "fresh.sqlite"),
           "NEWSWATCH_EXTRACT_PROCESSES": "1", "NEWSWATCH_ENRICH_PROCESSES": "1"}
    exe = str(Path(sys.executable).parent / "newswatch")
    full = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")} | env
    killed = subprocess.Popen([exe, "reindex", "--batch", "1"], env=full,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (tmp_path / "fresh.sqlite").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    done = _cli(env, "reindex")
    assert done.returncode == 0, done.stderr
    assert "damaged" not in done.stderr
    found = _cli(env, "search", "", "--json")
    assert json.loads(found.stdout)["total"] == count
