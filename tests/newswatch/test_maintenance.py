"""Housekeeping (newswatch.maintenance) and the plain parts of the Airflow tasks
(newswatch.tasks), on SQLite and on PostgreSQL. The DAGs themselves run in tests/airflow."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

from sqlalchemy import insert

from core import schema
from core.models import Article
from core.runtime import Runtime
from core.settings import Settings
from newswatch import maintenance, tasks

NOW = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)


def _article(article_id: str, text: str) -> Article:
    return Article(
        id=article_id, url=f"https://example.org/{article_id}", source="Example", title="T",
        text=text, text_hash=hashlib.sha256(text.encode()).hexdigest(), published_at=None,
        published_source="", first_seen_at=NOW,
        updated_at=NOW,
    )


def _revisions(rt: Runtime, article_id: str) -> list[int]:
    return [r.revision for r in rt.store.revisions(article_id)]


def test_prune_revisions_keeps_current_and_recent_ones(rt: Runtime) -> None:
    old, recent = NOW - timedelta(days=200), NOW - timedelta(days=10)
    rt.store.save_article(_article("a" * 20, "first text"), [], old)
    rt.store.save_article(_article("a" * 20, "second text"), [], old + timedelta(days=1))
    rt.store.save_article(_article("a" * 20, "third text"), [], recent)
    rt.store.save_article(_article("b" * 20, "never changed"), [], old)  # current, and old
    assert maintenance.prune_revisions(rt, NOW) == 2  # retention: 90 days
    assert _revisions(rt, "a" * 20) == [3]
    assert _revisions(rt, "b" * 20) == [1]
    assert maintenance.prune_revisions(rt, NOW) == 0  # idempotent
    assert rt.store.get_article("a" * 20).text == "third text"


def test_prune_revisions_zero_keeps_everything(rt: Runtime) -> None:
    rt.settings = dataclasses.replace(rt.settings, revision_retention_days=0)
    rt.store.save_article(_article("a" * 20, "first text"), [], NOW - timedelta(days=900))
    rt.store.save_article(_article("a" * 20, "second text"), [], NOW - timedelta(days=800))
    assert maintenance.prune_revisions(rt, NOW) == 0
    assert _revisions(rt, "a" * 20) == [1, 2]


def test_dormant_stories(rt: Runtime) -> None:
    ages = {"fresh": 1, "quiet": 6.9, "just-closed": 7.5, "long-closed": 30}  # days; dormant: 7
    with rt.store.tx() as conn:
        for name, days in ages.items():
            when = NOW - timedelta(days=days)
            conn.execute(insert(schema.stories).values(
                id=name, title=name, first_seen=when, last_updated=when, article_count=1))
        conn.execute(insert(schema.stories).values(
            id="merged", title="", first_seen=NOW, last_updated=NOW, merged_into="fresh"))
    assert maintenance.dormant_stories(rt, NOW) == {"active": 2, "went_dormant": 1}


def test_feed_health_counts_states(rt: Runtime) -> None:
    ok, _ = rt.store.add_feed("https://a.example/feed", NOW)
    broken, _ = rt.store.add_feed("https://b.example/feed", NOW)
    rt.store.add_feed("https://c.example/feed", NOW)  # never polled
    rt.store.update_feed(ok.id, last_polled_at=NOW, last_success_at=NOW)
    rt.store.update_feed(broken.id, last_polled_at=NOW, consecutive_failures=9,
                         last_error="HTTP 500")
    assert maintenance.feed_health(rt, NOW) == {"stale": 0, "ok": 1, "unhealthy": 1, "new": 1}


def test_due_feeds_come_in_chunks_a_host_whole(settings: Settings) -> None:
    with tasks.runtime(NOW, settings) as rt:
        ids = {url: rt.store.add_feed(url, NOW)[0].id for url in (
            "https://a.example/1", "https://a.example/2", "https://a.example/3",
            "https://b.example/1", "https://c.example/1", "https://c.example/2",
            "https://big.example/1", "https://big.example/2", "https://big.example/3",
            "https://big.example/4", "https://later.example/1",
        )}
        later = ids["https://later.example/1"]
        rt.store.update_feed(later, next_poll_at=NOW + timedelta(minutes=1))
    chunks = tasks.due_feed_chunks(NOW, settings, size=3)
    by_id = {v: k for k, v in ids.items()}
    hosts = [sorted({by_id[i].split("/")[2] for i in chunk}) for chunk in chunks]
    assert hosts == [["a.example"], ["b.example", "c.example"], ["big.example"]]
    assert sorted(i for chunk in chunks for i in chunk) == sorted(set(ids.values()) - {later})


def test_run_time_is_the_data_interval_end_or_when_due() -> None:
    end = datetime(2026, 11, 20, 5, 0, tzinfo=timezone(timedelta(hours=2)))
    assert tasks.run_time({"data_interval_end": end}) == datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    due = SimpleNamespace(run_after=NOW)  # an asset-triggered run has no data interval
    assert tasks.run_time({"data_interval_end": None, "logical_date": None, "dag_run": due}) == NOW
