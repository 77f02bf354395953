"""Plain data passed between the stages. No I/O, no behaviour beyond small helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FeedEntry:
    """One item of a parsed feed, as the feed describes it."""

    guid: str
    link: str
    title: str = ""
    summary: str = ""
    content: str = ""
    author: str = ""
    published: datetime | None = None
    updated: datetime | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """A feed document after parsing: its own metadata and its entries."""

    url: str
    title: str
    site_url: str
    format: str  # rss20, rss10, rss09x, atom10, atom03, json1, …
    entries: list[FeedEntry]
    warning: str = ""  # set when the parser had to recover from malformed input


@dataclass(frozen=True)
class FetchResult:
    """A completed HTTP fetch. ``content`` is empty when ``not_modified``."""

    url: str
    final_url: str
    status: int
    content: bytes
    content_type: str
    headers: dict[str, str]
    not_modified: bool = False

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


@dataclass(frozen=True)
class Extracted:
    """Clean text and metadata taken from an article page (or the feed, as a fallback)."""

    text: str
    title: str = ""
    author: str = ""
    published: datetime | None = None
    sitename: str = ""
    language: str = ""
    canonical_url: str = ""  # <link rel=canonical> as found on the page, if any
    method: str = "trafilatura"  # trafilatura | feed-content | feed-summary


@dataclass(frozen=True)
class IndexDoc:
    """What the search index stores for one article."""

    id: str
    url: str
    title: str
    body: str
    source: str
    published: datetime | None
    ingested: datetime
    language: str = ""
    revision: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    entities: tuple[tuple[str, str, str], ...] = ()  # (id, name, type), most salient first
    topics: tuple[str, ...] = ()
    story_id: str = ""


@dataclass(frozen=True)
class SearchRequest:
    """A search as a user asks for it: a query string plus filters and a page."""

    query: str = ""
    source: str | None = None
    entities: tuple[str, ...] = ()  # entity ids (any of them); see pipeline.resolve_entity
    topic: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 10
    offset: int = 0
    # "relevance": best match first (ties newest first); "date": newest first, whatever the
    # score. A query without words to rank (empty, or only NOT) is newest first either way.
    sort: str = "relevance"


SEARCH_SORTS = ("relevance", "date")


@dataclass(frozen=True)
class SearchHit:
    id: str
    url: str
    title: str
    source: str
    published: datetime | None
    score: float
    snippet: str = ""


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[SearchHit]


@dataclass
class FeedOutcome:
    """What polling one feed produced."""

    feed_url: str
    status: str  # ok | not-modified | failed
    title: str = ""
    entries: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    error: str = ""


@dataclass
class ArticleFailure:
    url: str
    reason: str


@dataclass
class RunReport:
    """The outcome of one pipeline run, printed by the CLI and stored in ``runs``."""

    run_id: int | None = None
    feeds: list[FeedOutcome] = field(default_factory=list)
    failures: list[ArticleFailure] = field(default_factory=list)
    indexed: int = 0
    enriched: int = 0
    clustered: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    alerts: int = 0  # alerts the watches produced
    sent: int = 0  # emails delivered
    deferred: int = 0  # emails waiting for a retry (the mail server refused or was down)
    pages_retried: int = 0  # pages a slow or failing host did not give at first, tried again
    pages_deferred: int = 0  # ... and still not given: kept for the feed's next poll
    stage_seconds: dict[str, float] = field(default_factory=dict)  # fetch, enrich, stories, …

    @property
    def feeds_polled(self) -> int:
        return len(self.feeds)

    @property
    def feeds_failed(self) -> int:
        return sum(1 for f in self.feeds if f.status == "failed")

    @property
    def new(self) -> int:
        return sum(f.new for f in self.feeds)

    @property
    def updated(self) -> int:
        return sum(f.updated for f in self.feeds)

    @property
    def unchanged(self) -> int:
        return sum(f.unchanged for f in self.feeds)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "feeds_polled": self.feeds_polled,
            "feeds_failed": self.feeds_failed,
            "articles": {
                "new": self.new,
                "updated": self.updated,
                "unchanged": self.unchanged,
                "failed": self.failed,
                "retried": self.pages_retried,
                "deferred": self.pages_deferred,
            },
            "enriched": self.enriched,
            "clustered": self.clustered,
            "indexed": self.indexed,
            "alerts": {"new": self.alerts, "sent": self.sent, "deferred": self.deferred},
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "feeds": [vars(f) for f in self.feeds],
            "failures": [vars(f) for f in self.failures],
        }


@dataclass(frozen=True)
class Feed:
    """A registered feed and its poll state, as stored."""

    id: int
    url: str
    title: str = ""
    site_url: str = ""
    format: str = ""
    paused: bool = False
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: int | None = None
    last_error: str = ""
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    interval_seconds: int = 600
    added_at: datetime | None = None
    min_delay_seconds: float | None = None
    max_per_host: int | None = None
    last_new_at: datetime | None = None


@dataclass(frozen=True)
class Revision:
    revision: int
    title: str
    text: str
    text_hash: str
    fetched_at: datetime


@dataclass(frozen=True)
class Article:
    """A stored article: its latest revision plus where it came from."""

    id: str
    url: str
    source: str
    title: str
    text: str
    text_hash: str
    published_at: datetime | None
    published_source: str
    first_seen_at: datetime
    updated_at: datetime
    author: str = ""
    language: str = ""
    method: str = "trafilatura"
    status: str = "extracted"
    revision: int = 1
    indexed_revision: int = 0
    enriched_revision: int = 0
    enrich_note: str = ""
    clustered_revision: int = 0
    story_id: str | None = None
    feed_id: int | None = None
    urls: tuple[str, ...] = ()

    def as_index_doc(self, enrichment: Enrichment | None = None) -> IndexDoc:
        entities = enrichment.entities if enrichment else ()
        return IndexDoc(
            entities=tuple((e.id, e.name, e.type) for e in entities),
            topics=tuple(t.tag for t in enrichment.topics) if enrichment else (),
            id=self.id,
            url=self.url,
            title=self.title,
            body=self.text,
            source=self.source,
            published=self.published_at,
            ingested=self.first_seen_at,
            language=self.language,
            revision=self.revision,
        )


ENTITY_TYPES = ("person", "organisation", "place", "group", "event", "law", "product", "other")


@dataclass(frozen=True)
class Entity:
    """An entity of one article, linked to a canonical id where the gazetteer knows it.

    ``id`` is a Wikidata QID (``Q423``) when known, else ``key:<type>:<normalised-name>``.
    ``first_pos`` is the character offset of the first mention in ``title + "\\n\\n" + text``.
    ``salience`` in [0, 1]: how central the entity is to the article (1 = most).
    """

    id: str
    name: str
    type: str
    mentions: int
    first_pos: int
    in_title: bool
    salience: float
    surfaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class TopicTag:
    """A topic an article is about, with its score and what fired (terms, entities)."""

    tag: str
    score: float
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Quote:
    """A direct quote attributed to a speaker (``speaker_id`` when the speaker is linked)."""

    speaker: str
    text: str
    speaker_id: str | None = None
    position: int = 0


@dataclass(frozen=True)
class Enrichment:
    """Everything the enrich stage learns about one article."""

    language: str
    entities: tuple[Entity, ...] = ()
    topics: tuple[TopicTag, ...] = ()
    quotes: tuple[Quote, ...] = ()
    skipped: str = ""  # why English-only stages were skipped (e.g. "language fr")


@dataclass(frozen=True)
class StoryDoc:
    """What the search index stores for one story (its own document type)."""

    id: str
    title: str
    first_seen: datetime
    last_updated: datetime
    article_ids: tuple[str, ...]
    outlets: tuple[str, ...]
    entities: tuple[tuple[str, str], ...] = ()  # (id, name), strongest first
    topics: tuple[str, ...] = ()


WATCH_MODES = ("immediate", "hourly", "daily")


@dataclass(frozen=True)
class Watch:
    """A saved search (query plus filters) or a followed story, and who hears about it.

    ``watermark`` is the last ingest sequence number the watch has been evaluated up to:
    only articles that entered the index after it are matched (ingest order, not
    publication time, so late-published articles are never missed).
    """

    id: str
    name: str
    recipients: tuple[str, ...]
    created_at: datetime
    query: str = ""
    entities: tuple[str, ...] = ()  # entity ids (any of them)
    entity_names: tuple[str, ...] = ()  # as the user typed them
    topic: str | None = None
    source: str | None = None
    language: str | None = None
    story_id: str | None = None  # a followed story
    mode: str = "immediate"
    min_novelty: float = 0.3
    watermark: int = 0
    last_evaluated_at: datetime | None = None
    last_digest_at: datetime | None = None
    paused: bool = False
    destinations: tuple[str, ...] = ()  # webhook (https://…) and Apprise URLs; may hold secrets
    secret: str = field(default="", repr=False)  # signs webhook bodies (HMAC-SHA256)

    @property
    def kind(self) -> str:
        return "story" if self.story_id else "search"

    def request(self) -> SearchRequest:
        return SearchRequest(
            query=self.query, source=self.source, entities=self.entities, topic=self.topic,
            language=self.language,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "kind": self.kind, "query": self.query,
            "entities": list(self.entity_names or self.entities), "entity_ids": list(self.entities),
            "topic": self.topic, "source": self.source, "language": self.language,
            "story_id": self.story_id, "recipients": list(self.recipients), "mode": self.mode,
            "min_novelty": self.min_novelty, "created_at": self.created_at,
            "watermark": self.watermark, "last_evaluated_at": self.last_evaluated_at,
            "last_digest_at": self.last_digest_at, "paused": self.paused,
            "destinations": [redact_destination(d) for d in self.destinations],
        }


HOSTED_SCHEMES = frozenset({"http", "https", "json", "jsons", "xml", "xmls", "form", "forms"})


def redact_destination(url: str) -> str:
    """A destination URL fit to print. Webhooks and Apprise's json/xml/form URLs show their
    scheme and host; other Apprise URLs only their scheme, since their first part is often a
    token (``tgram://BOT_TOKEN/…``); paths, passwords and queries become ``…``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "…"
    scheme = scheme.lower()
    if scheme not in HOSTED_SCHEMES:
        return f"{scheme}://…"
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    shown = f"{scheme}://{host}"
    return shown if shown == url else shown + "/…"
