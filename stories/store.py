"""Stories, near-duplicate signatures and term statistics in the state store."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core import schema as t
from core.db import Store
from core.models import Article
from core.rows import article_from_row

MAX_CANDIDATES_PER_KEY = 50  # newest stories per key: keeps the cost per article flat
MAX_CANDIDATES = 64  # and at most this many stories in all, those sharing the most keys
MAX_QUIET_PER_KEY = 8  # quiet (dormant) stories per person or place name
MAX_QUIET = 16  # ... and in all


@dataclass(frozen=True)
class StoryRow:
    id: str
    title: str
    title_article_id: str | None
    first_seen: datetime
    last_updated: datetime
    article_count: int
    merged_into: str | None
    profile: dict[str, Any]


MEMORY_KEYS = ("vocab", "numbers", "speakers", "outlets")  # stored apart: only novelty needs them
N_DOCS = "#documents"  # the term_stats row that counts documents (no word has a "#")


def _story(row: Any, with_memory: bool = True) -> StoryRow:
    profile = json.loads(row.profile or "{}")
    if with_memory:
        profile.update(json.loads(row.memory or "{}"))
    return StoryRow(row.id, row.title, row.title_article_id, row.first_seen, row.last_updated,
                    row.article_count, row.merged_into, profile)


class StoryStore:
    """Story-related reads and writes, on the same engine as :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # articles waiting for the story stage -------------------------------------------------
    def articles_to_cluster(self, limit: int = 200) -> list[Article]:
        a = t.articles
        when = func.coalesce(a.c.published_at, a.c.first_seen_at)
        query = (
            select(a)
            .where(a.c.clustered_revision < a.c.revision, a.c.enriched_revision >= a.c.revision)
            .order_by(a.c.first_seen_at, when, a.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [article_from_row(r) for r in conn.execute(query)]

    # term statistics ----------------------------------------------------------------------
    def document_frequencies(self, terms: Iterable[str]) -> tuple[dict[str, int], int]:
        wanted = list(set(terms))
        with self.engine.connect() as conn:
            n_docs = conn.execute(
                select(t.term_stats.c.df).where(t.term_stats.c.term == N_DOCS)
            ).scalar() or 0
            df: dict[str, int] = {}
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                rows = conn.execute(select(t.term_stats).where(t.term_stats.c.term.in_(chunk)))
                df.update({r.term: r.df for r in rows})
        return df, int(n_docs)

    @staticmethod
    def count_terms(conn: Connection, terms: Iterable[str]) -> None:
        """Count one more document, and one more document for each of its terms."""
        unique = sorted({w[:100] for w in terms} | {N_DOCS})
        # one upsert for many rows (no look-up first, no IN list of hundreds of terms to
        # expand); sorted, so that two writers take the rows' locks in the same order
        table, more = t.term_stats, {"df": t.term_stats.c.df + 1}
        upsert = (postgresql.insert(table).on_conflict_do_update(index_elements=["term"], set_=more)
                  if conn.dialect.name == "postgresql" else
                  sqlite.insert(table).on_conflict_do_update(index_elements=["term"], set_=more))
        conn.execute(upsert, [{"term": w, "df": 1} for w in unique])

    # near-duplicates ----------------------------------------------------------------------
    def duplicate_candidates(self, body_hash: str, bands: Sequence[str],
                             exclude: str) -> list[tuple[str, str, bytes]]:
        """(article_id, body_hash, signature) of earlier articles sharing the hash or a band."""
        s, b = t.dedup_signatures, t.dedup_bands
        query = (
            select(s.c.article_id, s.c.body_hash, s.c.signature)
            .where(s.c.article_id != exclude)
            .where(
                (s.c.body_hash == body_hash)
                | s.c.article_id.in_(select(b.c.article_id).where(b.c.band_key.in_(list(bands))))
            )
            .join(t.articles, t.articles.c.id == s.c.article_id)
            .order_by(t.articles.c.first_seen_at, s.c.article_id)
            .limit(200)
        )
        with self.engine.connect() as conn:
            return [(r.article_id, r.body_hash, r.signature) for r in conn.execute(query)]

    @staticmethod
    def save_signature(conn: Connection, article_id: str, body_hash: str, signature: bytes,
                       bands: Sequence[str]) -> None:
        conn.execute(delete(t.dedup_bands).where(t.dedup_bands.c.article_id == article_id))
        conn.execute(delete(t.dedup_signatures).where(t.dedup_signatures.c.article_id == article_id))
        conn.execute(insert(t.dedup_signatures).values(
            article_id=article_id, body_hash=body_hash, signature=signature))
        if bands:
            conn.execute(insert(t.dedup_bands),
                         [{"band_key": k, "article_id": article_id} for k in sorted(set(bands))])

    # stories ------------------------------------------------------------------------------
    def candidates(self, keys: Sequence[str], active_since: datetime,
                   excluded: Iterable[str] = ()) -> list[StoryRow]:
        """Active stories sharing an index key with the article (newest few per key)."""
        k = t.story_keys
        ranked = (
            select(k.c.story_id, func.row_number().over(
                partition_by=k.c.key, order_by=k.c.last_updated.desc()).label("rank"))
            .where(k.c.key.in_(list(keys)), k.c.last_updated >= active_since)
            .subquery()
        )
        shared = func.count().label("shared")  # how many of the article's keys a story has
        ids = (
            select(ranked.c.story_id)
            .where(ranked.c.rank <= MAX_CANDIDATES_PER_KEY)
            .group_by(ranked.c.story_id)
            .order_by(shared.desc(), ranked.c.story_id)
            .limit(MAX_CANDIDATES)
        )
        s = t.stories
        columns = [c for c in s.c if c.name != "memory"]  # similarity needs the centroid only
        query = select(*columns).where(s.c.id.in_(ids), s.c.merged_into.is_(None))
        skip = set(excluded)
        with self.engine.connect() as conn:
            return [_story(r, with_memory=False) for r in conn.execute(query) if r.id not in skip]

    def quiet_candidates(self, keys: Sequence[str], since: datetime, until: datetime,
                         excluded: Iterable[str] = ()) -> list[StoryRow]:
        """Stories last updated in [since, until) sharing one of ``keys`` (the names of
        people and places): the newest MAX_QUIET_PER_KEY per key, each read straight off the
        (key, last_updated) index, so the cost does not grow with the store."""
        k = t.story_keys
        ids: list[str] = []
        with self.engine.connect() as conn:
            for key in dict.fromkeys(keys):
                query = (select(k.c.story_id)
                         .where(k.c.key == key, k.c.last_updated >= since, k.c.last_updated < until)
                         .order_by(k.c.last_updated.desc()).limit(MAX_QUIET_PER_KEY))
                ids.extend(conn.execute(query).scalars())
            wanted = [i for i in dict.fromkeys(ids) if i not in set(excluded)][:MAX_QUIET]
            if not wanted:
                return []
            s = t.stories
            columns = [c for c in s.c if c.name != "memory"]
            rows = conn.execute(select(*columns).where(s.c.id.in_(wanted), s.c.merged_into.is_(None)))
            return [_story(r, with_memory=False) for r in rows]

    def get(self, story_id: str) -> StoryRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.stories).where(t.stories.c.id == story_id)).first()
        return _story(row) if row is not None else None

    def resolve(self, story_id: str) -> str:
        """Follow merges to the story that now holds the articles."""
        seen = set()
        current = self.get(story_id)
        while current is not None and current.merged_into and current.id not in seen:
            seen.add(current.id)
            current = self.get(current.merged_into)
        return current.id if current is not None else story_id

    def splits_for(self, article_id: str) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(select(t.story_splits.c.story_id)
                                    .where(t.story_splits.c.article_id == article_id)).scalars())

    @staticmethod
    def save_story(conn: Connection, row: StoryRow, keys: Sequence[str]) -> None:
        centroid = {k: v for k, v in row.profile.items() if k not in MEMORY_KEYS}
        memory = {k: v for k, v in row.profile.items() if k in MEMORY_KEYS}
        values = dict(title=row.title, title_article_id=row.title_article_id,
                      first_seen=row.first_seen, last_updated=row.last_updated,
                      article_count=row.article_count, merged_into=row.merged_into,
                      profile=json.dumps(centroid, sort_keys=True),
                      memory=json.dumps(memory, sort_keys=True))
        exists = conn.execute(select(t.stories.c.id).where(t.stories.c.id == row.id)).first()
        if exists:
            conn.execute(update(t.stories).where(t.stories.c.id == row.id).values(**values))
        else:
            conn.execute(insert(t.stories).values(id=row.id, **values))
        conn.execute(delete(t.story_keys).where(t.story_keys.c.story_id == row.id))
        if keys and row.merged_into is None:
            conn.execute(insert(t.story_keys), [
                {"key": key[:200], "story_id": row.id, "last_updated": row.last_updated}
                for key in dict.fromkeys(keys)
            ])

    def recent(self, topic: str | None = None, limit: int = 50) -> list[StoryRow]:
        s, a = t.stories, t.articles
        query = select(s).where(s.c.merged_into.is_(None))
        if topic:
            tagged = select(a.c.story_id).join(
                t.article_topics, t.article_topics.c.article_id == a.c.id
            ).where(t.article_topics.c.tag == topic)
            query = query.where(s.c.id.in_(tagged))
        query = query.order_by(s.c.last_updated.desc(), s.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [_story(r) for r in conn.execute(query)]

    def articles_of(self, story_id: str) -> list[Article]:
        a = t.articles
        when = func.coalesce(a.c.published_at, a.c.first_seen_at)
        query = select(a).where(a.c.story_id == story_id).order_by(when, a.c.id)
        with self.engine.connect() as conn:
            return [article_from_row(r) for r in conn.execute(query)]

    def story_fields(self, article_id: str) -> dict[str, Any]:
        a = t.articles
        query = select(a.c.story_id, a.c.duplicate_of, a.c.duplicate_similarity, a.c.novelty,
                       a.c.novelty_detail).where(a.c.id == article_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        return {"story_id": row.story_id, "duplicate_of": row.duplicate_of,
                "duplicate_similarity": row.duplicate_similarity, "novelty": row.novelty,
                "detail": json.loads(row.novelty_detail or "{}")}
