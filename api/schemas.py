"""Response models: they document the responses in OpenAPI; the tests validate against them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# ---------------------------------------------------------------------------------------
# Response models: they document the responses in OpenAPI; the tests validate against them.


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class ValidationIssue(_Model):
    location: list[str]
    message: str
    type: str


class Problem(_Model):
    """RFC 9457 problem details."""

    type: str = Field(description="URI of the problem type (documentation), or about:blank")
    title: str
    status: int
    detail: str
    instance: str | None = Field(None, description="the request path")
    position: int | None = Field(None, description="0-based offset of a query syntax error")
    limit: str | None = Field(None, description="the query limit exceeded (invalid-query), "
                                                "e.g. wildcard_terms")
    maximum: int | None = Field(None, description="that limit's value")
    errors: list[ValidationIssue] | None = Field(None, description="validation errors (422)")
    unknown: list[str] | None = Field(None, description="the query parameters the endpoint "
                                                        "does not take (unknown-parameter)")
    known: list[str] | None = Field(None, description="the ones it takes (unknown-parameter)")


class Hit(_Model):
    id: str
    url: str
    title: str
    source: str
    published: datetime | None
    score: float
    snippet: str = Field(description="matched words marked **like this**, as the index gives them")
    snippet_text: str = Field(description="the snippet without the ** markers")
    highlights: list[list[int]] = Field(
        description="where the matched words are in snippet_text: [start, end) character "
                    "offsets")
    topics: list[str]
    story_id: str | None


class FacetValue(_Model):
    value: str
    count: int
    name: str | None = Field(None, description="the entity's name (entities facet)")


class SearchPage(_Model):
    query: str
    total: int
    page: int
    limit: int = Field(description="hits per page")
    size: int = Field(description="the same as limit (its old name)")
    sort: str = Field(description="relevance or date")
    hits: list[Hit]
    facets: dict[str, list[FacetValue]] | None = Field(
        description="counts per source, topics, entities and language over all matches; "
                    "null when the index cannot count them")


class RevisionOut(_Model):
    revision: int
    title: str
    fetched_at: datetime
    text_hash: str


class EntityOut(_Model):
    id: str
    name: str
    type: str
    mentions: int
    salience: float
    in_title: bool
    first_pos: int
    surfaces: list[str]


class TopicOut(_Model):
    tag: str
    score: float
    evidence: dict[str, Any]


class QuoteOut(_Model):
    speaker: str
    speaker_id: str | None
    text: str


class NoveltyOut(_Model):
    score: float | None
    additions: dict[str, Any]


class AboutOut(_Model):
    language: str
    language_name: str = Field(description="the language in English, e.g. Russian")
    original_title: str = Field(description="the title as the article wrote it")
    entities: list[str] = Field(description="English names of its main entities")
    topics: list[str] = Field(description="English labels of its topics")


class ArticleOut(_Model):
    id: str
    url: str
    urls: list[str]
    title: str
    source: str
    author: str
    published: datetime | None
    published_source: str
    language: str
    extraction: str
    status: str
    first_seen: datetime
    updated: datetime
    revision: int
    text: str
    revisions: list[RevisionOut]
    enrichment_note: str
    entities: list[EntityOut]
    topics: list[TopicOut]
    quotes: list[QuoteOut]
    story_id: str | None
    duplicate_of: str | None
    duplicate_similarity: float | None
    novelty: NoveltyOut
    about: AboutOut | None = Field(
        default=None, description="only for an article not in English: what it is about, "
                                  "in English")


class EntityRef(_Model):
    id: str
    name: str


class StorySummary(_Model):
    id: str
    title: str
    article_ids: list[str]
    article_count: int
    outlets: list[str]
    first_seen: datetime
    last_updated: datetime
    top_entities: list[EntityRef]
    topics: list[str] = []


class StoriesPage(_Model):
    page: int
    limit: int = Field(description="stories per page")
    size: int = Field(description="the same as limit (its old name)")
    has_more: bool
    stories: list[StorySummary]


class TimelineItem(_Model):
    article_id: str
    title: str
    source: str
    url: str
    published: datetime | None
    duplicate_of: str | None
    novelty: float | None
    additions: dict[str, Any]
    why: dict[str, Any]
    about: AboutOut | None = Field(default=None, description="only for an article not in "
                                                             "English: what it is about")


class StoryOut(StorySummary):
    timeline: list[TimelineItem]


class EntitySuggestionOut(_Model):
    id: str = Field(description="the id the entity filters take (QID or key:TYPE:NAME)")
    name: str
    type: str
    kind: str | None = Field(description="gazetteer kind (country, capital, …); null if not in it")
    matched: str
    articles: int = Field(description="stored articles that mention it")
    in_gazetteer: bool


class EntitiesOut(_Model):
    query: str
    entities: list[EntitySuggestionOut]


class Check(_Model):
    status: str = Field(description="ok | unavailable")


class HealthOut(_Model):
    status: str
    version: str
    checks: dict[str, Check]


def problems_for(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "malformed query (with `position`), or over a query limit (with `limit`)",
        401: "API key missing",
        403: "API key wrong", 404: "unknown id", 413: "request body too large",
        422: "invalid parameters",
        503: "the state store or index is unavailable (or, where a key is needed, "
             "no API key is configured)",
    }
    return {code: {"model": Problem, "description": described[code]} for code in sorted(codes)}


READ_PROBLEMS = (401, 403, 422, 503)
