"""The state store: feeds, entries, articles with revisions, runs. SQLite or PostgreSQL.

The queries every stage shares live here (the engine is in ``engine.py``); a stage's own
tables are queried by its store (``stories/store.py``, ``alerts/store.py``). Writes are idempotent: feeds are keyed by URL, entries by (feed, guid),
articles by the id derived from their canonical URL.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import SQLAlchemyError as _SQLAlchemyError

from core import schema as t
from core.engine import make_engine, migrate
from core.errors import NewswatchError
from core.models import Article, Enrichment, Entity, Feed, Quote, Revision, TopicTag
from core.rows import EntryState, article_from_row, article_values, entry_from_row, feed_from_row

SQLAlchemyError = _SQLAlchemyError










class Store:
    """Typed access to the state store. One instance per process; thread-safe via the pool."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True) -> Store:
        engine = make_engine(url)
        if migrate_schema:
            migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # feeds -------------------------------------------------------------------------------
    def add_feed(
        self, url: str, now: datetime, title: str = "", interval: int = 3600
    ) -> tuple[Feed, bool]:
        """Register a feed; returns it and whether it was new."""
        with self.tx() as conn:
            existing = conn.execute(select(t.feeds).where(t.feeds.c.url == url)).first()
            if existing is not None:
                return feed_from_row(existing), False
            # a concurrent writer may have added it meanwhile: then the savepoint rolls back
            with suppress(IntegrityError), conn.begin_nested():
                conn.execute(
                    insert(t.feeds).values(
                        url=url, title=title, added_at=now, interval_seconds=interval
                    )
                )
            row = conn.execute(select(t.feeds).where(t.feeds.c.url == url)).one()
            return feed_from_row(row), True

    def add_feeds(self, urls: Sequence[str], now: datetime, interval: int = 3600,
                  chunk: int = 2000) -> Iterator[int]:
        """Register many feeds in bulk (an OPML import), a transaction per ``chunk``; yields
        how many of each chunk were new, so a caller can show progress."""
        for start in range(0, len(urls), chunk):
            part = list(dict.fromkeys(urls[start:start + chunk]))
            with self.tx() as conn:
                known = set(conn.execute(select(t.feeds.c.url).where(t.feeds.c.url.in_(part)))
                            .scalars())
                new = [u for u in part if u not in known]
                rows = [{"url": u, "title": "", "added_at": now, "interval_seconds": interval}
                        for u in new]
                try:
                    with conn.begin_nested():
                        conn.execute(insert(t.feeds), rows)
                    added = len(rows)
                except IntegrityError:  # a concurrent writer added some: one by one then
                    added = 0
                    for row in rows:
                        with suppress(IntegrityError), conn.begin_nested():
                            conn.execute(insert(t.feeds), [row])
                            added += 1
            yield added

    def list_feeds(self, include_paused: bool = True) -> list[Feed]:
        query = select(t.feeds).order_by(t.feeds.c.id)
        if not include_paused:
            query = query.where(t.feeds.c.paused.is_(False))
        with self.engine.connect() as conn:
            return [feed_from_row(r) for r in conn.execute(query)]

    def due_feeds(self, now: datetime) -> list[Feed]:
        """Active feeds whose next poll time has come (or that were never polled)."""
        query = (
            select(t.feeds)
            .where(t.feeds.c.paused.is_(False))
            .where((t.feeds.c.next_poll_at.is_(None)) | (t.feeds.c.next_poll_at <= now))
            .order_by(t.feeds.c.next_poll_at.is_not(None), t.feeds.c.next_poll_at, t.feeds.c.id)
        )
        with self.engine.connect() as conn:
            return [feed_from_row(r) for r in conn.execute(query)]

    def find_feed(self, ref: str) -> Feed | None:
        """A feed by its numeric id or its URL."""
        cond = t.feeds.c.id == int(ref) if ref.isdigit() else t.feeds.c.url == ref.strip()
        with self.engine.connect() as conn:
            row = conn.execute(select(t.feeds).where(cond)).first()
        return feed_from_row(row) if row is not None else None

    def remove_feed(self, feed_id: int) -> None:
        """Forget a feed and its entries; its articles stay."""
        with self.tx() as conn:
            conn.execute(t.entries.delete().where(t.entries.c.feed_id == feed_id))
            conn.execute(
                update(t.articles).where(t.articles.c.feed_id == feed_id).values(feed_id=None)
            )
            conn.execute(t.feeds.delete().where(t.feeds.c.id == feed_id))

    def entry_dates(self, feed_id: int, limit: int = 200) -> list[datetime]:
        """Publication (else first-seen) dates of a feed's newest entries."""
        when = func.coalesce(t.entries.c.published_at, t.entries.c.first_seen_at)
        query = (
            select(t.entries.c.published_at, t.entries.c.first_seen_at)
            .where(t.entries.c.feed_id == feed_id)
            .order_by(when.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [published or seen for published, seen in conn.execute(query)]

    def get_feed(self, feed_id: int) -> Feed:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.feeds).where(t.feeds.c.id == feed_id)).first()
        if row is None:
            raise NewswatchError(f"no feed with id {feed_id}")
        return feed_from_row(row)

    def update_feed(self, feed_id: int, **values: Any) -> None:
        with self.tx() as conn:
            conn.execute(update(t.feeds).where(t.feeds.c.id == feed_id).values(**values))

    def feed_article_counts(self) -> dict[int, int]:
        query = select(t.entries.c.feed_id, func.count(t.entries.c.article_id.distinct())).group_by(
            t.entries.c.feed_id
        )
        with self.engine.connect() as conn:
            return {int(fid): int(n) for fid, n in conn.execute(query)}

    # entries -----------------------------------------------------------------------------
    def entry_states(self, feed_id: int) -> dict[str, EntryState]:
        query = select(t.entries).where(t.entries.c.feed_id == feed_id)
        with self.engine.connect() as conn:
            return {r.guid: entry_from_row(r) for r in conn.execute(query)}

    def retryable_entries(self, feed_id: int, max_attempts: int) -> list[EntryState]:
        query = select(t.entries).where(
            t.entries.c.feed_id == feed_id,
            t.entries.c.article_id.is_(None),
            t.entries.c.attempts < max_attempts,
        )
        with self.engine.connect() as conn:
            return [entry_from_row(r) for r in conn.execute(query)]

    def save_entry(
        self,
        feed_id: int,
        guid: str,
        *,
        link: str,
        title: str,
        entry_hash: str,
        now: datetime,
        article_id: str | None,
        error: str = "",
        published_at: datetime | None = None,
    ) -> None:
        """Insert or update an entry after an attempt to process it."""
        with self.tx() as conn:
            row = conn.execute(
                select(t.entries.c.id, t.entries.c.attempts).where(
                    t.entries.c.feed_id == feed_id, t.entries.c.guid == guid
                )
            ).first()
            attempts = 0 if article_id else (row.attempts + 1 if row else 1)
            values = dict(
                link=link,
                title=title,
                entry_hash=entry_hash,
                last_seen_at=now,
                article_id=article_id,
                last_error=error,
                attempts=attempts,
            )
            if published_at is not None:
                values["published_at"] = published_at
            if row is None:
                conn.execute(
                    insert(t.entries).values(feed_id=feed_id, guid=guid, first_seen_at=now, **values)
                )
            else:
                conn.execute(update(t.entries).where(t.entries.c.id == row.id).values(**values))

    def touch_entry(self, entry_id: int, now: datetime) -> None:
        with self.tx() as conn:
            conn.execute(update(t.entries).where(t.entries.c.id == entry_id).values(last_seen_at=now))

    # articles ----------------------------------------------------------------------------
    def article_id_for_url(self, url: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(t.article_urls.c.article_id).where(t.article_urls.c.url == url)
            ).scalar()

    def save_article(self, article: Article, urls: Iterable[str], now: datetime) -> str:
        """Store an article's latest content. Returns ``new``, ``updated`` or ``unchanged``.

        A changed text or title becomes a new revision of the same article; the old text is
        kept in ``article_revisions``.
        """
        with self.tx() as conn:
            row = conn.execute(select(t.articles).where(t.articles.c.id == article.id)).first()
            if row is None:
                outcome = "new"
                revision = 1
                conn.execute(
                    insert(t.articles).values(
                        **article_values(article), revision=1, first_seen_at=now, updated_at=now
                    )
                )
            elif row.text_hash == article.text_hash and row.title == article.title:
                outcome = "unchanged"
                revision = row.revision
            else:
                outcome = "updated"
                revision = row.revision + 1
                values = article_values(article)
                values.pop("id")
                values.pop("url")
                values.pop("feed_id")
                if not article.published_at or article.published_source == "first-seen":
                    values.pop("published_at")
                    values.pop("published_source")
                conn.execute(
                    update(t.articles)
                    .where(t.articles.c.id == article.id)
                    .values(**values, revision=revision, updated_at=now)
                )
            if outcome != "unchanged":
                conn.execute(
                    insert(t.revisions).values(
                        article_id=article.id,
                        revision=revision,
                        title=article.title,
                        text=article.text,
                        text_hash=article.text_hash,
                        fetched_at=now,
                    )
                )
            self._link_urls(conn, article.id, urls)
            return outcome

    def link_urls(self, article_id: str, urls: Iterable[str]) -> None:
        with self.tx() as conn:
            self._link_urls(conn, article_id, urls)

    @staticmethod
    def _link_urls(conn: Connection, article_id: str, urls: Iterable[str]) -> None:
        wanted = set(u for u in urls if u)
        if not wanted:
            return
        known = set(
            conn.execute(
                select(t.article_urls.c.url).where(t.article_urls.c.url.in_(wanted))
            ).scalars()
        )
        for url in sorted(wanted - known):
            conn.execute(insert(t.article_urls).values(url=url, article_id=article_id))

    def get_article(self, article_id: str) -> Article | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.articles).where(t.articles.c.id == article_id)).first()
            if row is None:
                return None
            urls = conn.execute(
                select(t.article_urls.c.url)
                .where(t.article_urls.c.article_id == article_id)
                .order_by(t.article_urls.c.url)
            ).scalars()
            return article_from_row(row, tuple(urls))

    def revisions(self, article_id: str) -> list[Revision]:
        query = (
            select(t.revisions)
            .where(t.revisions.c.article_id == article_id)
            .order_by(t.revisions.c.revision)
        )
        with self.engine.connect() as conn:
            return [
                Revision(r.revision, r.title, r.text, r.text_hash, r.fetched_at)
                for r in conn.execute(query)
            ]

    def articles_to_enrich(self, limit: int = 200) -> list[Article]:
        query = (
            select(t.articles)
            .where(t.articles.c.enriched_revision < t.articles.c.revision)
            .order_by(t.articles.c.first_seen_at, t.articles.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [article_from_row(r) for r in conn.execute(query)]

    def save_enrichment(self, article_id: str, revision: int, result: Enrichment) -> None:
        """Replace an article's entities, topics and quotes with ``result`` (one transaction)."""
        with self.tx() as conn:
            for table in (t.article_entities, t.article_topics, t.article_quotes):
                conn.execute(table.delete().where(table.c.article_id == article_id))
            if result.entities:
                conn.execute(insert(t.article_entities), [
                    {"article_id": article_id, "entity_id": e.id, "name": e.name, "type": e.type,
                     "mentions": e.mentions, "first_pos": e.first_pos, "in_title": e.in_title,
                     "salience": e.salience, "surfaces": json.dumps(list(e.surfaces))}
                    for e in result.entities
                ])
            if result.topics:
                conn.execute(insert(t.article_topics), [
                    {"article_id": article_id, "tag": tag.tag, "score": tag.score,
                     "evidence": json.dumps(tag.evidence, sort_keys=True)}
                    for tag in result.topics
                ])
            if result.quotes:
                conn.execute(insert(t.article_quotes), [
                    {"article_id": article_id, "speaker": q.speaker, "speaker_id": q.speaker_id,
                     "text": q.text, "position": q.position}
                    for q in result.quotes
                ])
            values: dict[str, Any] = {"enriched_revision": revision, "enrich_note": result.skipped}
            if result.language:
                values["language"] = result.language
            conn.execute(update(t.articles).where(t.articles.c.id == article_id).values(**values))

    def enrichment(self, article_id: str) -> Enrichment:
        """The stored entities (most salient first), topics (best first) and quotes."""
        return self.enrichments([article_id])[article_id]

    def enrichments(self, article_ids: Sequence[str]) -> dict[str, Enrichment]:
        """:meth:`enrichment` for many articles in four queries (ids that do not exist are
        left out)."""
        ids = list(dict.fromkeys(article_ids))
        ae, at, aq, a = t.article_entities, t.article_topics, t.article_quotes, t.articles
        entities: dict[str, list[Entity]] = defaultdict(list)
        topics: dict[str, list[TopicTag]] = defaultdict(list)
        quotes: dict[str, list[Quote]] = defaultdict(list)
        with self.engine.connect() as conn:
            heads = conn.execute(select(a.c.id, a.c.language, a.c.enrich_note).where(a.c.id.in_(ids)))
            head = {r.id: (r.language, r.enrich_note) for r in heads}
            query = select(ae).where(ae.c.article_id.in_(ids))
            for r in conn.execute(query.order_by(ae.c.salience.desc(), ae.c.first_pos)):
                entities[r.article_id].append(Entity(
                    r.entity_id, r.name, r.type, r.mentions, r.first_pos, bool(r.in_title),
                    r.salience, tuple(json.loads(r.surfaces))))
            query = select(at).where(at.c.article_id.in_(ids)).order_by(at.c.score.desc())
            for r in conn.execute(query):
                topics[r.article_id].append(TopicTag(r.tag, r.score, json.loads(r.evidence)))
            query = select(aq).where(aq.c.article_id.in_(ids)).order_by(aq.c.position)
            for r in conn.execute(query):
                quotes[r.article_id].append(Quote(r.speaker, r.text, r.speaker_id, r.position))
        return {
            i: Enrichment(head[i][0], tuple(entities[i]), tuple(topics[i]), tuple(quotes[i]),
                          head[i][1])
            for i in ids if i in head
        }

    def articles_to_index(self, limit: int = 500) -> list[Article]:
        query = (
            select(t.articles)
            .where(t.articles.c.indexed_revision < t.articles.c.revision)
            .where(t.articles.c.enriched_revision >= t.articles.c.revision)
            .where(t.articles.c.clustered_revision >= t.articles.c.revision)
            # the story stage's order, so ingest numbers (what watches follow) agree with it
            .order_by(t.articles.c.first_seen_at,
                      func.coalesce(t.articles.c.published_at, t.articles.c.first_seen_at),
                      t.articles.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [article_from_row(r) for r in conn.execute(query)]

    def iter_articles(self, batch: int = 500) -> Iterator[Article]:
        last = ""
        while True:
            query = select(t.articles).where(t.articles.c.id > last).order_by(t.articles.c.id)
            with self.engine.connect() as conn:
                rows = conn.execute(query.limit(batch)).all()
            if not rows:
                return
            yield from (article_from_row(r) for r in rows)
            last = rows[-1].id

    def mark_indexed(self, done: Iterable[tuple[str, int]], now: datetime) -> None:
        """Record that these revisions are in the index. A revision entering the index for
        the first time gets the next ingest sequence number (what watches are matched by);
        re-indexing a revision keeps its number. The counter row is locked until commit, so
        numbers become visible in order even with concurrent writers."""
        done = list(done)
        with self.tx() as conn:
            a = t.articles
            ids = [article_id for article_id, _ in done]
            current = dict(conn.execute(
                select(a.c.id, a.c.indexed_revision).where(a.c.id.in_(ids))
            ).all()) if ids else {}
            fresh = [i for i, rev in done if current.get(i, rev) < rev]
            seqs = dict(zip(fresh, self._next_seqs(conn, "ingest", len(fresh)), strict=True))
            for article_id, revision in done:
                values: dict[str, Any] = {
                    "indexed_revision": revision, "indexed_at": now, "status": "indexed",
                }
                if article_id in seqs:
                    values["ingest_seq"] = seqs[article_id]
                conn.execute(update(a).where(a.c.id == article_id).values(**values))

    @staticmethod
    def _next_seqs(conn: Connection, name: str, n: int) -> range:
        if n <= 0:
            return range(0)
        c = t.counters
        conn.execute(update(c).where(c.c.name == name).values(value=c.c.value + n))
        top = conn.execute(select(c.c.value).where(c.c.name == name)).scalar_one_or_none()
        if top is None:  # a counter nobody has used yet
            conn.execute(insert(c).values(name=name, value=n))
            top = n
        return range(int(top) - n + 1, int(top) + 1)

    def ingest_high(self) -> int:
        """The newest ingest sequence number committed so far."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(t.counters.c.value).where(t.counters.c.name == "ingest")
            ).scalar_one_or_none()
        return int(value or 0)

    def count_articles(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.articles)).scalar_one())

    # runs --------------------------------------------------------------------------------
    def start_run(self, now: datetime) -> int:
        with self.tx() as conn:
            result = conn.execute(insert(t.runs).values(started_at=now, status="running"))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def finish_run(self, run_id: int, now: datetime, status: str, report: dict[str, Any]) -> None:
        with self.tx() as conn:
            conn.execute(
                update(t.runs)
                .where(t.runs.c.id == run_id)
                .values(finished_at=now, status=status, report=json.dumps(report, default=str))
            )

    def last_runs(self, limit: int = 10) -> list[dict[str, Any]]:
        query = select(t.runs).order_by(t.runs.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [
                {
                    "id": r.id,
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                    "status": r.status,
                    "report": json.loads(r.report or "{}"),
                }
                for r in conn.execute(query)
            ]








