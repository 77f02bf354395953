"""The contract every search index implements, and the helpers both backends share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from core.models import IndexDoc, SearchRequest, SearchResult, StoryDoc

# Snippets mark matched words the same way on every backend: plain text, markdown-style bold.
SNIPPET_START = "**"
SNIPPET_END = "**"
SNIPPET_ELLIPSIS = "…"
SNIPPET_TOKENS = 20
MAX_LIMIT = 1000  # largest page a search returns
# Fields :meth:`IndexBackend.facets` can count, and the ones the search API asks for.
FACET_FIELDS = ("source", "language", "topics", "entity_ids", "entity_names")
DEFAULT_FACETS = ("source", "topics", "entity_names", "language")


MATCH_BATCH = 250  # searches per Elasticsearch _msearch request when matching watches


@dataclass(frozen=True)
class MatchOutcome:
    """Which of the given documents one request finds, or why it could not be run."""

    ids: frozenset[str] = frozenset()
    error: str = ""


def unique_requests(
    requests: Sequence[SearchRequest],
) -> tuple[list[SearchRequest], list[int]]:
    """The distinct requests (by query and filters) and, for each request, its position among
    them: watches often share a query, and each distinct one need only run once."""
    seen: dict[tuple[object, ...], int] = {}
    distinct: list[SearchRequest] = []
    positions = []
    for r in requests:
        key = (r.query, r.source, r.entities, r.topic, r.language)
        if key not in seen:
            seen[key] = len(distinct)
            distinct.append(r)
        positions.append(seen[key])
    return distinct, positions


class IndexBackend(Protocol):
    """A full-text index of :class:`IndexDoc`; one thread at a time per instance."""

    def ensure_schema(self) -> None:
        """Create tables/mappings if missing; safe to call repeatedly."""
        ...

    def upsert_many(self, docs: Iterable[IndexDoc]) -> int:
        """Insert or replace documents by ``doc.id``; returns how many were written."""
        ...

    def delete(self, ids: Iterable[str]) -> int:
        """Remove documents by id; returns how many existed."""
        ...

    def search(self, request: SearchRequest) -> SearchResult:
        """Run ``request.query`` (see :mod:`search.query`); raises ``QuerySyntaxError``.
        Hits come best first (ties newest first), or newest first with ``sort="date"``
        (missing dates last) and for a query without positive words; scores are given
        either way."""
        ...

    def count(self) -> int:
        """Number of documents in the index."""
        ...

    def match(self, requests: Sequence[SearchRequest], ids: Sequence[str]) -> list[MatchOutcome]:
        """For each request (query and filters; page and dates ignored), which of the indexed
        documents ``ids`` it finds, with the same semantics as :meth:`search`. A request that
        cannot run (a bad query) gets an error of its own; an unreachable index raises."""
        ...

    def facets(
        self, request: SearchRequest, fields: Sequence[str] = DEFAULT_FACETS, size: int = 10
    ) -> dict[str, list[tuple[str, int]]]:
        """For each of ``fields`` (see ``FACET_FIELDS``), its ``size`` commonest values among
        the articles ``request`` finds, as (value, articles), most first, ties by value.
        Empty values are left out; ``limit``/``offset`` of the request are ignored."""
        ...

    def upsert_stories(self, stories: Iterable[StoryDoc]) -> int:
        """Insert or replace story documents by id; returns how many were written."""
        ...

    def delete_stories(self, ids: Iterable[str]) -> int:
        """Remove story documents by id (a story merged into another)."""
        ...

    def list_stories(
        self, topic: str | None = None, entities: tuple[str, ...] = (), limit: int = 20,
        offset: int = 0,
    ) -> list[StoryDoc]:
        """Stories, newest development first, optionally by topic or entity ids (any of)."""
        ...

    def optimize(self) -> None:
        """Housekeeping for a quiet moment: merge index segments, drop deleted documents.
        Searches give the same results before and after; safe to repeat."""
        ...

    def close(self) -> None:
        """Release connections; further calls are an error."""
        ...



def iso_utc(value: datetime | None) -> str | None:
    """UTC, microsecond precision, fixed width (sorts as text); naive datetimes are UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def split_snippet(snippet: str) -> tuple[str, list[tuple[int, int]]]:
    """A snippet's plain text (markers removed) and where its matched words are in it, as
    ``(start, end)`` character offsets, end exclusive: ``"a **b** c"`` → ``("a b c",
    [(2, 3)])``. An unpaired marker is dropped and highlights nothing."""
    parts = snippet.split(SNIPPET_START)
    if len(parts) % 2 == 0:  # an odd number of markers: the last one opens nothing
        parts[-2:] = [parts[-2] + parts[-1]]
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    at = 0
    for i, part in enumerate(parts):
        if i % 2 and part:
            spans.append((at, at + len(part)))
        text.append(part)
        at += len(part)
    return "".join(text), spans


def lead_snippet(body: str) -> str:
    """The first words of a body, for hits that have no highlighted snippet."""
    words = body.split()
    text = " ".join(words[:SNIPPET_TOKENS])
    return text + SNIPPET_ELLIPSIS if len(words) > SNIPPET_TOKENS else text
