"""Documents: our models to Elasticsearch ``_source`` and back, snippets rebuilt from
highlights, and URLs shown without credentials."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.models import IndexDoc, StoryDoc
from search.analysis import index_terms
from search.backend import (
    SNIPPET_ELLIPSIS,
    SNIPPET_END,
    SNIPPET_START,
    SNIPPET_TOKENS,
    iso_utc,
    lead_snippet,
)
from search.elastic_query import words

SNIPPET_CHARS = SNIPPET_TOKENS * 7  # ~20 words of English; the highlighter cuts at words


HL_START, HL_END = "\ue000", "\ue001"  # private-use: cannot clash with real text


_HL_SPLIT = re.compile(f"([{HL_START}{HL_END}])")


ARTICLE_SOURCE = ["id", "url", "title", "source", "published", "body", "body_words"]


def article_source(doc: IndexDoc) -> dict[str, Any]:
    source: dict[str, Any] = {
        "id": doc.id,
        "url": doc.url,
        "title": doc.title,
        "body": doc.body,
        "source": doc.source,
        "source_key": doc.source.casefold(),
        "published": iso_utc(doc.published),
        "ingested": iso_utc(doc.ingested),
        "language": doc.language,
        "revision": doc.revision,
        "story_id": doc.story_id or None,
        "entity_ids": [e[0] for e in doc.entities],
        "entity_names": [e[1] for e in doc.entities],
        "entity_types": [e[2] for e in doc.entities],
        "topics": list(doc.topics),
        "extra": json.loads(json.dumps(doc.extra, ensure_ascii=False, default=str)),
        "title_words": words(doc.title),
        "body_words": words(doc.body),
    }
    for name, text in (("title_terms", doc.title), ("body_terms", doc.body)):
        terms = index_terms(text, doc.language)  # Cyrillic, Hangul, CJK (search.analysis)
        if terms:
            source[name] = terms
    return source


def story_source(story: StoryDoc) -> dict[str, Any]:
    return {
        "id": story.id,
        "title": story.title,
        "first_seen": iso_utc(story.first_seen),
        "last_updated": iso_utc(story.last_updated),
        "article_ids": list(story.article_ids),
        "article_count": len(story.article_ids),
        "outlets": list(story.outlets),
        "entity_ids": [e[0] for e in story.entities],
        "entity_names": [e[1] for e in story.entities],
        "topics": list(story.topics),
    }


def story_from_source(src: dict[str, Any]) -> StoryDoc:
    return StoryDoc(
        id=src["id"],
        title=src["title"],
        first_seen=datetime.fromisoformat(src["first_seen"]),
        last_updated=datetime.fromisoformat(src["last_updated"]),
        article_ids=tuple(src.get("article_ids") or ()),
        outlets=tuple(src.get("outlets") or ()),
        entities=tuple(
            zip(src.get("entity_ids") or (), src.get("entity_names") or (), strict=False)
        ),
        topics=tuple(src.get("topics") or ()),
    )


def snippet_from(highlight: dict[str, list[str]], src: dict[str, Any]) -> str:
    """The highlighted fragment of ``body_words``, rebuilt from the original body (same
    offsets) with our markers, and ``…`` where text was cut."""
    body: str = src.get("body") or ""
    fragments = highlight.get("body_words")
    if not fragments:
        return lead_snippet(body)
    fragment = fragments[0]
    basis: str = src.get("body_words") or ""
    start = basis.find(fragment.replace(HL_START, "").replace(HL_END, ""))
    if start < 0 or len(basis) != len(body):  # cannot place it: show it as it came
        return fragment.replace(HL_START, SNIPPET_START).replace(HL_END, SNIPPET_END)
    parts, at = [], start
    for piece in _HL_SPLIT.split(fragment):
        if piece == HL_START:
            parts.append(SNIPPET_START)
        elif piece == HL_END:
            parts.append(SNIPPET_END)
        else:
            parts.append(body[at : at + len(piece)])
            at += len(piece)
    text = "".join(parts).strip()
    if body[:start].strip():
        text = SNIPPET_ELLIPSIS + text
    if body[at:].strip():
        text += SNIPPET_ELLIPSIS
    return text


def display_url(url: str) -> str:
    """The URL without credentials, for messages."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    if parts.username or parts.password:
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def with_port(url: str) -> str:
    """The client wants a port; a URL without one means the scheme's (80 for http)."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "http" and parts.hostname and parts.port is None:
            return urlunsplit(parts._replace(netloc=f"{parts.netloc}:80"))
    except ValueError:
        pass
    return url
