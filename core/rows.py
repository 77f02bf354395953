"""Rows of the state store as models and back: feeds, entries, articles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.models import Article, Feed


@dataclass(frozen=True)
class EntryState:
    id: int
    guid: str
    link: str
    entry_hash: str
    article_id: str | None
    last_error: str
    attempts: int


def feed_from_row(row: Any) -> Feed:
    m = row._mapping
    return Feed(**{k: m[k] for k in Feed.__dataclass_fields__ if k in m})


def entry_from_row(row: Any) -> EntryState:
    return EntryState(
        row.id, row.guid, row.link, row.entry_hash, row.article_id, row.last_error, row.attempts
    )


def article_from_row(row: Any, urls: tuple[str, ...] = ()) -> Article:
    m = row._mapping
    fields = {k: m[k] for k in Article.__dataclass_fields__ if k in m}
    return Article(**fields, urls=urls)


def article_values(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "url": article.url,
        "feed_id": article.feed_id,
        "source": article.source,
        "title": article.title,
        "author": article.author,
        "published_at": article.published_at,
        "published_source": article.published_source,
        "language": article.language,
        "text": article.text,
        "text_hash": article.text_hash,
        "method": article.method,
        "status": "extracted",
    }
