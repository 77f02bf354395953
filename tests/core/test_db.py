"""The state store on SQLite and on a real PostgreSQL server (same tests, both backends)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from core.db import Store
from core.models import Article, Enrichment, Entity, Quote, TopicTag

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store.open(database_url)
    yield s
    s.close()


def _article(text: str = "First paragraph of a test story.", title: str = "A title") -> Article:
    return Article(
        id="a" * 20, url="https://example.org/story", source="Example", title=title, text=text,
        text_hash=hashlib.sha256(text.encode()).hexdigest(),
        published_at=datetime(2026, 11, 10, 9, 30, tzinfo=UTC), published_source="feed",
        first_seen_at=NOW, updated_at=NOW,
    )


def test_migrations_create_every_table(store: Store) -> None:
    names = set(inspect(store.engine).get_table_names())
    assert {"feeds", "entries", "articles", "article_urls", "article_revisions", "runs",
            "alembic_version"} <= names


def test_migrating_twice_is_harmless(database_url: str) -> None:
    Store.open(database_url).close()
    Store.open(database_url).close()


def test_feeds_are_stored_once(store: Store) -> None:
    feed, new = store.add_feed("https://example.org/feed.xml", NOW)
    again, new_again = store.add_feed("https://example.org/feed.xml", NOW)
    assert new and not new_again and feed.id == again.id
    assert [f.url for f in store.list_feeds()] == ["https://example.org/feed.xml"]
    assert store.list_feeds()[0].added_at == NOW


def test_article_revisions(store: Store) -> None:
    urls = ["https://example.org/story", "https://example.org/story?page=1"]
    assert store.save_article(_article(), urls, NOW) == "new"
    assert store.save_article(_article(), urls, NOW + timedelta(hours=1)) == "unchanged"
    changed = _article(text="First paragraph, corrected: the ship left on Tuesday.")
    assert store.save_article(changed, urls, NOW + timedelta(hours=2)) == "updated"
    stored = store.get_article("a" * 20)
    assert stored is not None
    assert stored.revision == 2 and stored.text.startswith("First paragraph, corrected")
    assert stored.first_seen_at == NOW
    assert stored.published_at == datetime(2026, 11, 10, 9, 30, tzinfo=UTC)
    assert [r.revision for r in store.revisions(stored.id)] == [1, 2]
    assert store.count_articles() == 1
    for url in urls:
        assert store.article_id_for_url(url) == stored.id


def test_first_seen_dates_never_move(store: Store) -> None:
    first = replace(_article(), published_at=NOW, published_source="first-seen")
    store.save_article(first, [], NOW)
    later = replace(_article(text="new text"), published_at=NOW + timedelta(days=1),
                    published_source="first-seen")
    store.save_article(later, [], NOW + timedelta(days=1))
    stored = store.get_article(first.id)
    assert stored is not None and stored.published_at == NOW


def test_schema_matches_the_migrations(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from core.schema import metadata

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_enrichment_round_trip(store: Store) -> None:
    store.save_article(_article(), [], NOW)
    result = Enrichment(
        "en",
        entities=(Entity("Q423", "North Korea", "place", 3, 0, True, 1.0, ("DPRK", "Pyongyang")),
                  Entity("key:person:elena-varga", "Elena Varga", "person", 1, 90, False, 0.2)),
        topics=(TopicTag("arms-transfers", 0.91, {"terms": {"shells": 3}}),),
        quotes=(Quote("Elena Varga", "Every shell counts", None, 120),),
    )
    assert store.articles_to_enrich()[0].id == "a" * 20
    store.save_enrichment("a" * 20, 1, result)
    store.save_enrichment("a" * 20, 1, result)  # idempotent
    assert store.enrichment("a" * 20) == result
    assert store.articles_to_enrich() == []


def test_indexing_queue(store: Store) -> None:
    store.save_article(_article(), [], NOW)
    assert store.articles_to_index() == []  # not enriched yet
    store.save_enrichment("a" * 20, 1, Enrichment("en"))
    assert store.articles_to_index() == []  # not in a story yet
    _clustered(store, 1)
    pending = store.articles_to_index()
    assert [(a.id, a.revision) for a in pending] == [("a" * 20, 1)]
    store.mark_indexed([("a" * 20, 1)], NOW)
    assert store.articles_to_index() == []
    store.save_article(_article(text="revised"), [], NOW)
    store.save_enrichment("a" * 20, 2, Enrichment("en"))
    _clustered(store, 2)
    assert [a.revision for a in store.articles_to_index()] == [2]


def _clustered(store: Store, revision: int) -> None:
    from core import schema

    with store.tx() as conn:
        conn.execute(schema.articles.update().values(clustered_revision=revision))


def test_entries_count_attempts_until_they_succeed(store: Store) -> None:
    feed, _ = store.add_feed("https://example.org/feed.xml", NOW)
    for _ in range(2):
        store.save_entry(feed.id, "g1", link="https://example.org/x", title="t", entry_hash="h",
                         now=NOW, article_id=None, error="HTTP 500")
    [state] = store.retryable_entries(feed.id, max_attempts=3)
    assert state.attempts == 2 and state.last_error == "HTTP 500"
    assert store.retryable_entries(feed.id, max_attempts=2) == []
    store.save_article(_article(), [], NOW)
    store.save_entry(feed.id, "g1", link="https://example.org/x", title="t", entry_hash="h",
                     now=NOW, article_id="a" * 20)
    assert store.retryable_entries(feed.id, max_attempts=3) == []
    assert store.feed_article_counts() == {feed.id: 1}


def test_runs_are_recorded(store: Store) -> None:
    run_id = store.start_run(NOW)
    store.finish_run(run_id, NOW + timedelta(seconds=3), "ok", {"articles": {"new": 4}})
    [run] = store.last_runs()
    assert run["status"] == "ok" and run["report"]["articles"]["new"] == 4
