"""Tables of the state store (SQLAlchemy Core). Alembic migrations are made from these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False, default=""),
    Column("site_url", Text, nullable=False, default=""),
    Column("format", String(16), nullable=False, default=""),
    Column("added_at", UTCDateTime, nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("content_hash", String(64)),
    Column("last_polled_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_status", Integer),
    Column("last_error", Text, nullable=False, default=""),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("next_poll_at", UTCDateTime),
    Column("interval_seconds", Integer, nullable=False, default=600),
    Column("min_delay_seconds", Float),  # per-feed politeness overrides (None: settings)
    Column("max_per_host", Integer),
    Column("last_new_at", UTCDateTime),  # when a poll last brought a new entry
)

articles = Table(
    "articles",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="SET NULL")),
    Column("source", Text, nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),
    Column("author", Text, nullable=False, default=""),
    Column("published_at", UTCDateTime),
    Column("published_source", String(16), nullable=False, default=""),
    Column("language", String(16), nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("text_hash", String(64), nullable=False),
    Column("method", String(32), nullable=False, default="trafilatura"),
    Column("status", String(16), nullable=False, default="extracted"),
    Column("revision", Integer, nullable=False, default=1),
    Column("indexed_revision", Integer, nullable=False, default=0),
    Column("enriched_revision", Integer, nullable=False, default=0),
    Column("enrich_note", Text, nullable=False, default=""),  # e.g. "language fr: English-only stages skipped"
    Column("clustered_revision", Integer, nullable=False, default=0),
    Column("story_id", String(32)),
    Column("duplicate_of", String(32)),
    Column("duplicate_similarity", Float),
    Column("novelty", Float),
    Column("novelty_detail", Text, nullable=False, default="{}"),  # additions and why it joined
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("indexed_at", UTCDateTime),
    Column("ingest_seq", BigInteger),  # ingest order: set when a new revision enters the index
    Index("ix_articles_pending", "status", "indexed_revision"),
    Index("ix_articles_ingest_seq", "ingest_seq"),
    Index("ix_articles_text_hash", "text_hash"),  # exact copies reuse their original's enrichment
)

article_urls = Table(
    "article_urls",
    metadata,
    Column("url", Text, primary_key=True),
    Column("article_id", String(32), ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
)

revisions = Table(
    "article_revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", String(32), ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("text_hash", String(64), nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    UniqueConstraint("article_id", "revision", name="uq_article_revisions_article_revision"),
)

article_entities = Table(
    "article_entities",
    metadata,
    Column("article_id", String(32), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("entity_id", String(200), primary_key=True),
    Column("name", Text, nullable=False),
    Column("type", String(16), nullable=False),
    Column("mentions", Integer, nullable=False),
    Column("first_pos", Integer, nullable=False),
    Column("in_title", Boolean, nullable=False),
    Column("salience", Float, nullable=False),
    Column("surfaces", Text, nullable=False, default="[]"),
    Index("ix_article_entities_entity", "entity_id"),
)

article_topics = Table(
    "article_topics",
    metadata,
    Column("article_id", String(32), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(64), primary_key=True),
    Column("score", Float, nullable=False),
    Column("evidence", Text, nullable=False, default="{}"),
    Index("ix_article_topics_tag", "tag"),
)

article_quotes = Table(
    "article_quotes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", String(32), ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("speaker", Text, nullable=False),
    Column("speaker_id", String(200)),
    Column("text", Text, nullable=False),
    Column("position", Integer, nullable=False, default=0),
    Index("ix_article_quotes_article", "article_id"),
)

stories = Table(
    "stories",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("title", Text, nullable=False, default=""),
    Column("title_article_id", String(32)),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_updated", UTCDateTime, nullable=False),
    Column("article_count", Integer, nullable=False, default=0),
    Column("merged_into", String(32)),  # set when a person merged this story into another
    Column("profile", Text, nullable=False, default="{}"),  # centroid: terms, entities
    Column("memory", Text, nullable=False, default="{}"),  # what it said: vocab, figures, speakers
    Index("ix_stories_last_updated", "last_updated"),
)

story_keys = Table(  # inverted index: a story's top entities and terms, for candidates
    "story_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("story_id", String(32), ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("last_updated", UTCDateTime, nullable=False),
    Index("ix_story_keys_story", "story_id"),
    Index("ix_story_keys_key_updated", "key", "last_updated"),
)

story_splits = Table(  # a person's correction: these articles must not join that story
    "story_splits",
    metadata,
    Column("article_id", String(32), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("story_id", String(32), primary_key=True),
)

term_stats = Table(  # document frequencies for TF-IDF
    "term_stats",
    metadata,
    Column("term", String(100), primary_key=True),
    Column("df", Integer, nullable=False),
)

dedup_signatures = Table(
    "dedup_signatures",
    metadata,
    Column("article_id", String(32), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("body_hash", String(64), nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Index("ix_dedup_signatures_hash", "body_hash"),
)

dedup_bands = Table(
    "dedup_bands",
    metadata,
    Column("band_key", String(64), primary_key=True),
    Column("article_id", String(32), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_dedup_bands_article", "article_id"),
)

entries = Table(
    "entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("guid", Text, nullable=False),
    Column("link", Text, nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),
    Column("entry_hash", String(64), nullable=False),
    Column("article_id", String(32), ForeignKey("articles.id", ondelete="SET NULL")),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("last_error", Text, nullable=False, default=""),
    Column("attempts", Integer, nullable=False, default=0),
    Column("published_at", UTCDateTime),
    UniqueConstraint("feed_id", "guid", name="uq_entries_feed_guid"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(16), nullable=False, default="running"),
    Column("report", Text, nullable=False, default="{}"),
)

counters = Table(  # named monotonic counters; "ingest" numbers articles as they enter the index
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False, default=0),
)

watches = Table(  # saved searches and followed stories, with their recipients and watermark
    "watches",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("query", Text, nullable=False, default=""),
    Column("entities", Text, nullable=False, default="[]"),  # entity ids (any of them), JSON
    Column("entity_names", Text, nullable=False, default="[]"),  # as the user typed them
    Column("topic", String(64)),
    Column("source", Text),
    Column("language", String(16)),
    Column("story_id", String(32)),  # a followed story (then the search fields are unused)
    Column("recipients", Text, nullable=False, default="[]"),  # JSON list of addresses
    Column("mode", String(16), nullable=False, default="immediate"),  # immediate | hourly | daily
    Column("min_novelty", Float, nullable=False, default=0.3),
    Column("created_at", UTCDateTime, nullable=False),
    Column("watermark", BigInteger, nullable=False, default=0),  # last ingest_seq evaluated
    Column("last_evaluated_at", UTCDateTime),
    Column("last_digest_at", UTCDateTime),  # end of the last digest period sent
    Column("paused", Boolean, nullable=False, default=False),  # paused: not evaluated
    Column("destinations", Text, nullable=False, default="[]"),  # webhook / Apprise URLs, JSON
    Column("secret", String(64), nullable=False, default=""),  # HMAC key of its webhook bodies
)

watch_mutes = Table(  # stories one watch no longer alerts about (``watch mute``)
    "watch_mutes",
    metadata,
    Column("watch_id", String(32), ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True),
    Column("story_id", String(32), primary_key=True),
    Column("muted_at", UTCDateTime, nullable=False),
)

watch_stories = Table(  # the stories a watch has alerted about (new story once, then follow-ups)
    "watch_stories",
    metadata,
    Column("watch_id", String(32), ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True),
    Column("story_id", String(32), primary_key=True),
    Column("first_alert_at", UTCDateTime, nullable=False),
    Column("last_alert_at", UTCDateTime, nullable=False),
    Column("last_seq", BigInteger, nullable=False, default=0),  # ingest_seq of the last alert
)

alerts = Table(  # one row per alert: (watch, story, kind, development); also the watch's feed
    "alerts",
    metadata,
    Column("key", String(250), primary_key=True),  # idempotency key
    Column("watch_id", String(32), ForeignKey("watches.id", ondelete="CASCADE"), nullable=False),
    Column("story_id", String(32), nullable=False),
    Column("article_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),  # new-story | follow-up
    Column("created_at", UTCDateTime, nullable=False),
    Column("content", Text, nullable=False),  # alerts.content.AlertContent as JSON
    Column("digest_key", String(250)),  # digest watches: the digest that carried it
    Index("ix_alerts_watch_created", "watch_id", "created_at"),
)

outbox = Table(  # one email to one recipient; written with the watermark, sent with retries
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(320), nullable=False, unique=True),  # alert or digest key + recipient
    Column("watch_id", String(32), nullable=False),
    Column("recipient", Text, nullable=False),  # an address, or a destination URL
    Column("channel", String(16), nullable=False, default="email"),  # email | webhook | apprise
    Column("kind", String(16), nullable=False),
    Column("content", Text, nullable=False),  # AlertContent as JSON (rendered at send time)
    Column("status", String(16), nullable=False, default="pending"),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("last_error", Text, nullable=False, default=""),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)
