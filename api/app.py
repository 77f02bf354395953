"""The HTTP search API (FastAPI): search, articles, stories, entities, health.

``create_app(settings)`` builds an application that opens one :class:`~core.runtime.Runtime`
when it starts (lifespan) and closes it when it stops; ``serve(settings)`` runs it with
uvicorn on ``api_host:api_port`` (``newswatch serve``). Everything the API returns is
built by the same functions as the CLI's ``--json`` output (``newswatch.console``), so both
agree. Errors are RFC 9457 problem details (``application/problem+json``), never a
traceback. The OpenAPI document is kept in ``api/openapi.json``; regenerate it with
``python -m api.app --write-openapi``. Reference: ``docs/api.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hmac
import json
import logging
import sqlite3
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, date, datetime
from datetime import time as dtime
from http import HTTPStatus
from pathlib import Path as FilePath
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, text
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import __version__
from core import schema as t
from core.errors import InvalidRequestError, NewswatchError, NotFoundError, QuerySyntaxError
from core.models import SearchHit, SearchRequest, StoryDoc
from core.runtime import Runtime
from core.settings import Settings, load_settings
from newswatch import console as out
from newswatch.resources import open_runtime
from search.backend import MAX_LIMIT
from search.entities import MAX_RESULTS as MAX_ENTITIES
from search.entities import lookup as lookup_entities
from search.entities import resolve_entity
from search.query import MAX_QUERY_CHARS
from stories.store import StoryStore

log = logging.getLogger("newswatch.api")

OPENAPI_PATH = FilePath(__file__).with_name("openapi.json")
PROBLEM_JSON = "application/problem+json"
PROBLEM_DOCS = "https://github.com/newswatch/newswatch/blob/main/docs/api.md#"
API_KEY_HEADER = "X-API-Key"
MAX_PAGE_SIZE = 100
MAX_PAGE = 1000
MAX_WINDOW = 10_000  # page * size: deeper pages are refused (Elasticsearch's default window)
# facet names in responses -> the index's facet fields (search.backend.FACET_FIELDS)
INDEX_FACETS = {"source": "source", "topics": "topics", "entities": "entity_ids",
                "language": "language"}
FACET_FIELDS = tuple(INDEX_FACETS)
RETRY_OPEN_SECONDS = 5.0  # how often a request may retry opening an unreachable runtime

# Errors that mean "this dependency is down", not "this request is wrong". Backends report
# their own outages as NewswatchError (e.g. "cannot reach the database …").
_OUTAGES: tuple[type[BaseException], ...] = (
    sqlite3.DatabaseError, OperationalError, InterfaceError, DisconnectionError,
    PoolTimeoutError, ConnectionError, TimeoutError,
)
_FACET_ERRORS: tuple[type[BaseException], ...] = (NewswatchError, *_OUTAGES)


# ---------------------------------------------------------------------------------------
# Problems (RFC 9457)


class ProblemError(Exception):
    """Raised anywhere in a request: answered as ``application/problem+json``."""

    def __init__(
        self, status: int, title: str, detail: str, *, kind: str | None = None,
        headers: dict[str, str] | None = None, **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = PROBLEM_DOCS + kind if kind else "about:blank"
        self.headers = headers
        self.extra = extra


class Unavailable(ProblemError):
    """The state store or the search index cannot be used right now (503)."""

    def __init__(self, component: str) -> None:
        super().__init__(
            503, "Service Unavailable", f"the {component} is unavailable; try again later",
            kind="unavailable", headers={"Retry-After": str(int(RETRY_OPEN_SECONDS))},
        )
        self.component = component


def problem_response(
    request: Request | None, status: int, title: str, detail: str, *,
    type_: str = "about:blank", headers: dict[str, str] | None = None, **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
    body.update({k: v for k, v in extra.items() if v is not None})
    return NewsJSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(request, exc.status, exc.title, exc.detail, type_=exc.type,
                            headers=exc.headers, **exc.extra)


def _on_query_syntax(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QuerySyntaxError)
    return problem_response(request, 400, "Invalid query", str(exc),
                            type_=PROBLEM_DOCS + "invalid-query", position=exc.position)


def _on_invalid(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(request, 400, "Bad Request", str(exc),
                            type_=PROBLEM_DOCS + "bad-request")


def _on_not_found(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(request, 404, "Not Found", str(exc), type_=PROBLEM_DOCS + "not-found")


def _on_newswatch_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("request %s failed: %s", request.url.path, exc)
    return problem_response(request, 503, "Service Unavailable",
                            "a backend of the search API cannot serve this request right now",
                            type_=PROBLEM_DOCS + "unavailable")


def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": [str(part) for part in e.get("loc", ())], "message": str(e.get("msg", "")),
         "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    where = "; ".join(f"{'.'.join(e['location'])}: {e['message']}" for e in errors)
    return problem_response(request, 422, "Invalid request", where or "the request is invalid",
                            type_=PROBLEM_DOCS + "invalid-request", errors=errors)


def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else ""
    if exc.status_code == 404 and not detail:
        detail = f"no such endpoint: {request.url.path}"
    return problem_response(request, exc.status_code, phrase, detail or phrase,
                            headers=dict(exc.headers or {}))


def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises the exception after this response: the server logs the traceback
    return problem_response(request, 500, "Internal Server Error",
                            "an unexpected error occurred; it has been logged on the server")


# ---------------------------------------------------------------------------------------
# JSON: the CLI's encoding (datetimes as ISO 8601 via isoformat)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class NewsJSONResponse(JSONResponse):
    """JSON encoded exactly like ``newswatch … --json`` (the models only document it)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_json_default, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8")


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
    errors: list[ValidationIssue] | None = Field(None, description="validation errors (422)")


class Hit(_Model):
    id: str
    url: str
    title: str
    source: str
    published: datetime | None
    score: float
    snippet: str = Field(description="matched words marked **like this**, as the index gives them")
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
    size: int
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
    size: int
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


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "malformed query (with `position`)", 401: "API key missing",
        403: "API key wrong", 404: "unknown id", 422: "invalid parameters",
        503: "the state store or index is unavailable (or, where a key is needed, "
             "no API key is configured)",
    }
    return {code: {"model": Problem, "description": described[code]} for code in sorted(codes)}


_READ_PROBLEMS = (401, 403, 422, 503)


# ---------------------------------------------------------------------------------------
# The runtime of one application


class RuntimeHolder:
    """Opens the app's Runtime once; while the state store or index is unreachable, requests
    are answered 503 and opening is retried at most every ``retry_seconds``."""

    def __init__(
        self, settings: Settings, opener: Callable[[Settings], Runtime] = open_runtime,
        retry_seconds: float = RETRY_OPEN_SECONDS,
    ) -> None:
        self.settings = settings
        self._opener = opener
        self._retry = retry_seconds
        self._lock = threading.Lock()
        self._runtime: Runtime | None = None
        self._failed_at: float | None = None
        self._closed = False

    def open(self) -> None:
        """Try to open now (at startup); failures are logged, not raised."""
        with suppress(Unavailable):
            self.get()

    def get(self) -> Runtime:
        with self._lock:
            if self._runtime is not None:
                return self._runtime
            if self._closed:
                raise Unavailable("search API")
            now = time.monotonic()
            if self._failed_at is not None and now - self._failed_at < self._retry:
                raise Unavailable("state store or search index")
            try:
                self._runtime = self._opener(self.settings)
            except Exception as exc:
                self._failed_at = now
                log.error("cannot open the state store and search index: %s", exc,
                          exc_info=not isinstance(exc, NewswatchError))
                raise Unavailable("state store or search index") from None
            self._failed_at = None
            return self._runtime

    @property
    def runtime(self) -> Runtime | None:
        return self._runtime

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._runtime is not None:
                self._runtime.close()
                self._runtime = None


@contextmanager
def using(component: str) -> Iterator[None]:
    """Report an outage of ``component`` ("state store", "search index") as a 503."""
    try:
        yield
    except (QuerySyntaxError, NotFoundError, InvalidRequestError, ProblemError):
        raise
    except NewswatchError as exc:
        log.error("the %s failed: %s", component, exc)
        raise Unavailable(component) from None
    except _OUTAGES as exc:
        log.error("the %s failed: %s: %s", component, type(exc).__name__, exc)
        raise Unavailable(component) from None


def get_runtime(request: Request) -> Runtime:
    holder: RuntimeHolder = request.app.state.holder
    return holder.get()


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# ---------------------------------------------------------------------------------------
# Authentication: header X-API-Key


api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, scheme_name="ApiKey",
    description="Required for write endpoints; for reads only when "
                "NEWSWATCH_API_READ_REQUIRES_KEY is true.",
)


def _check_key(settings: Settings, given: str | None) -> None:
    if not settings.api_key:
        raise ProblemError(503, "API key not configured",
                           "this endpoint needs an API key, but the server has none "
                           "(set NEWSWATCH_API_KEY)", kind="key-not-configured")
    if not given:
        raise ProblemError(401, "Unauthorized", f"send the API key in the {API_KEY_HEADER} header",
                           kind="unauthorized",
                           headers={"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'})
    if not hmac.compare_digest(given.encode("utf-8"), settings.api_key.encode("utf-8")):
        raise ProblemError(403, "Forbidden", "the API key is not valid", kind="forbidden")


def require_key(
    settings: Annotated[Settings, Depends(get_settings)],
    key: Annotated[str | None, Security(api_key_header)] = None,
) -> None:
    """Dependency of every write endpoint: the request must carry the API key."""
    _check_key(settings, key)


def require_read_key(
    settings: Annotated[Settings, Depends(get_settings)],
    key: Annotated[str | None, Security(api_key_header)] = None,
) -> None:
    """Dependency of every read endpoint: the key is needed when api_read_requires_key."""
    if settings.api_read_requires_key:
        _check_key(settings, key)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
router = APIRouter(dependencies=[Depends(require_read_key)])
open_router = APIRouter()  # /health: probes must not need the key


# ---------------------------------------------------------------------------------------
# /search


def _start(value: date | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, dtime.min)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _end(value: date | None) -> datetime | None:
    if value is not None and not isinstance(value, datetime):  # a whole day, inclusive
        return datetime.combine(value, dtime.max).replace(tzinfo=UTC)
    return _start(value)


def _offset(page: int, size: int) -> int:
    if page * size > MAX_WINDOW:
        raise ProblemError(
            422, "Invalid request", f"page × size may not exceed {MAX_WINDOW}; narrow the search",
            kind="invalid-request",
            errors=[{"location": ["query", "page"], "message": f"page × size > {MAX_WINDOW}",
                     "type": "window_exceeded"}],
        )
    return (page - 1) * size


def _story_articles(rt: Runtime, story_id: str) -> tuple[str, list[str]]:
    with using("state store"):
        stories = StoryStore(rt.store)
        resolved = stories.resolve(story_id)
        if stories.get(resolved) is None:
            raise NotFoundError(f"no story {story_id!r}")
        return resolved, [a.id for a in stories.articles_of(resolved)]


def _within(rt: Runtime, request: SearchRequest, ids: Sequence[str]) -> list[SearchHit]:
    """Every hit of ``request`` (ignoring its page) that is among ``ids`` (a story's
    articles), best first: pages through the matches until all of ``ids`` are found or the
    matches end."""
    wanted, found = set(ids), []
    offset = 0
    with using("search index"):
        while wanted:
            result = rt.index.search(dataclasses.replace(request, limit=MAX_LIMIT, offset=offset))
            for hit in result.hits:
                if hit.id in wanted:
                    wanted.discard(hit.id)
                    found.append(hit)
            offset += MAX_LIMIT
            if not result.hits or offset >= result.total:
                break
    return found


def _hit_extras(rt: Runtime, ids: list[str]) -> dict[str, tuple[str | None, list[str]]]:
    """Story id and topic tags (best first) of each article."""
    if not ids:
        return {}
    a, at = t.articles, t.article_topics
    with using("state store"), rt.store.engine.connect() as conn:
        stories = dict(conn.execute(select(a.c.id, a.c.story_id).where(a.c.id.in_(ids))).all())
        topics: dict[str, list[str]] = {i: [] for i in ids}
        query = select(at.c.article_id, at.c.tag).where(at.c.article_id.in_(ids))
        for article_id, tag in conn.execute(query.order_by(at.c.score.desc(), at.c.tag)):
            topics[article_id].append(tag)
    return {i: (stories.get(i), topics[i]) for i in ids}


def _entity_names(rt: Runtime, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    ae = t.article_entities
    query = (select(ae.c.entity_id, func.min(ae.c.name))
             .where(ae.c.entity_id.in_(ids)).group_by(ae.c.entity_id))
    with using("state store"), rt.store.engine.connect() as conn:
        return {entity_id: name for entity_id, name in conn.execute(query)}


def _store_facets(rt: Runtime, ids: list[str], size: int) -> dict[str, list[tuple[str, int]]]:
    """Facet counts over a known, small set of articles (a story's), from the state store."""
    a, at, ae = t.articles, t.article_topics, t.article_entities
    with using("state store"), rt.store.engine.connect() as conn:
        rows = conn.execute(select(a.c.source, a.c.language).where(a.c.id.in_(ids))).all()
        topics = conn.execute(select(at.c.tag).where(at.c.article_id.in_(ids))).scalars().all()
        entities = conn.execute(
            select(ae.c.entity_id).where(ae.c.article_id.in_(ids))).scalars().all()
    counters = {
        "source": Counter(r.source for r in rows),
        "topics": Counter(topics),
        "entities": Counter(entities),
        "language": Counter(r.language for r in rows if r.language),
    }
    return {
        name: sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:size]
        for name, counter in counters.items()
    }


def _facet_json(
    rt: Runtime, facets: dict[str, list[tuple[str, int]]]
) -> dict[str, list[dict[str, Any]]]:
    names = _entity_names(rt, [value for value, _n in facets.get("entities", [])])
    result: dict[str, list[dict[str, Any]]] = {}
    for field, values in facets.items():
        items = []
        for value, count in values:
            item: dict[str, Any] = {"value": value, "count": int(count)}
            if field == "entities":
                item["name"] = names.get(value, value)
            items.append(item)
        result[field] = items
    return result


def _index_facets(
    rt: Runtime, request: SearchRequest, size: int
) -> dict[str, list[tuple[str, int]]] | None:
    """The index's facet counts under the API's names; None when it cannot count them."""
    counter = getattr(rt.index, "facets", None)
    if not callable(counter):
        return None
    try:
        counted = counter(request, tuple(INDEX_FACETS.values()), size)
    except _FACET_ERRORS as exc:
        # the hits were found a moment ago: answer them without facets rather than fail
        log.warning("facets failed, answering without them: %s", exc)
        return None
    return {name: list(counted.get(field, [])) for name, field in INDEX_FACETS.items()}


def _supports_story_filter() -> bool:
    return any(f.name == "story_id" for f in dataclasses.fields(SearchRequest))


@router.get(
    "/search", response_model=SearchPage, tags=["search"], summary="Search articles",
    responses=_problems(400, 404, *_READ_PROBLEMS),
)
def search(
    rt: RuntimeDep,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS,
                            description="query (docs/query-language.md); empty: everything")] = "",
    entity: Annotated[str | None, Query(
        description="entity name, alias or id (DPRK, North Korea, Pyongyang, Q423)")] = None,
    topic: Annotated[str | None, Query(description="topic tag, e.g. arms-transfers")] = None,
    source: Annotated[str | None, Query(description="outlet name (case-insensitive)")] = None,
    language: Annotated[str | None, Query(description="ISO 639-1 code, e.g. en")] = None,
    from_: Annotated[date | datetime | None, Query(
        alias="from", description="published on or after (YYYY-MM-DD or ISO 8601)")] = None,
    to: Annotated[date | datetime | None, Query(
        description="published on or before (a date includes the whole day)")] = None,
    story: Annotated[str | None, Query(description="only articles of this story")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 10,
    facet_size: Annotated[int, Query(ge=0, le=50, description="values per facet; 0: none")] = 10,
) -> JSONResponse:
    """Full-text search with filters; hits best first, with highlighted snippets and facets."""
    request = SearchRequest(
        query=q, source=source, topic=topic, language=language,
        entities=resolve_entity(entity) if entity else (),
        since=_start(from_), until=_end(to), limit=size, offset=_offset(page, size),
    )
    facets: dict[str, list[tuple[str, int]]] | None = None
    if story and not _supports_story_filter():
        _story_id, ids = _story_articles(rt, story)
        matched = _within(rt, request, ids)
        total, hits = len(matched), matched[request.offset : request.offset + request.limit]
        if facet_size:
            facets = _store_facets(rt, [h.id for h in matched], facet_size)
    else:
        if story:
            story_id, _ids = _story_articles(rt, story)
            changes: dict[str, Any] = {"story_id": story_id}
            request = dataclasses.replace(request, **changes)
        with using("search index"):
            result = rt.index.search(request)
        total, hits = result.total, result.hits
        if facet_size:
            facets = _index_facets(rt, request, facet_size)
    extras = _hit_extras(rt, [h.id for h in hits])
    body = {
        "query": q, "total": total, "page": page, "size": size,
        "hits": [
            {**vars(h), "topics": extras[h.id][1], "story_id": extras[h.id][0]} for h in hits
        ],
        "facets": _facet_json(rt, facets) if facets is not None else None,
    }
    return NewsJSONResponse(body)


# ---------------------------------------------------------------------------------------
# /articles/{id}


def article_record(rt: Runtime, article_id: str) -> dict[str, Any]:
    """An article as ``newswatch show --json`` prints it."""
    with using("state store"):
        article = rt.store.get_article(article_id)
        if article is None:
            raise NotFoundError(f"no article {article_id!r}")
        revisions = rt.store.revisions(article.id)
        enrichment = rt.store.enrichment(article.id)
        fields = StoryStore(rt.store).story_fields(article.id)
    data = out.article_dict(article, revisions, enrichment)
    data.update({
        "story_id": fields["story_id"],
        "duplicate_of": fields["duplicate_of"],
        "duplicate_similarity": fields["duplicate_similarity"],
        "novelty": {"score": fields["novelty"], "additions": fields["detail"].get("additions", {})},
    })
    return data


@router.get(
    "/articles/{article_id}", response_model=ArticleOut, tags=["articles"],
    summary="One article", responses=_problems(404, *_READ_PROBLEMS),
)
def get_article(
    rt: RuntimeDep, article_id: Annotated[str, Path(max_length=200)]
) -> JSONResponse:
    """The full record: text, dates, revisions, entities, topics, quotes, story, novelty."""
    return NewsJSONResponse(article_record(rt, article_id))


# ---------------------------------------------------------------------------------------
# /stories


def _story_summary(doc: StoryDoc) -> dict[str, Any]:
    return {
        "id": doc.id, "title": doc.title, "article_ids": list(doc.article_ids),
        "article_count": len(doc.article_ids), "outlets": list(doc.outlets),
        "first_seen": doc.first_seen, "last_updated": doc.last_updated,
        "top_entities": [{"id": e, "name": n} for e, n in doc.entities[:8]],
        "topics": list(doc.topics),
    }


@router.get(
    "/stories", response_model=StoriesPage, tags=["stories"], summary="Stories",
    responses=_problems(*_READ_PROBLEMS),
)
def list_stories(
    rt: RuntimeDep,
    topic: Annotated[str | None, Query(description="stories with this topic tag")] = None,
    entity: Annotated[str | None, Query(description="stories about this entity")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> JSONResponse:
    """One story per event, newest development first."""
    entities = resolve_entity(entity) if entity else ()
    with using("search index"):
        docs = rt.index.list_stories(topic=topic, entities=entities, limit=size + 1,
                                     offset=_offset(page, size))
    body = {"page": page, "size": size, "has_more": len(docs) > size,
            "stories": [_story_summary(d) for d in docs[:size]]}
    return NewsJSONResponse(body)


@router.get(
    "/stories/{story_id}", response_model=StoryOut, tags=["stories"], summary="One story",
    responses=_problems(404, *_READ_PROBLEMS),
)
def get_story(rt: RuntimeDep, story_id: Annotated[str, Path(max_length=200)]) -> JSONResponse:
    """The story's articles in order with what each added (novelty) and why it joined.
    A story merged into another answers with that one (header Content-Location)."""
    with using("state store"):
        stories = StoryStore(rt.store)
        row = stories.get(stories.resolve(story_id))
        if row is None:
            raise NotFoundError(f"no story {story_id!r}")
        articles = stories.articles_of(row.id)
        details = {a.id: stories.story_fields(a.id) for a in articles}
    headers = {"Content-Location": f"/stories/{row.id}"} if row.id != story_id else None
    return NewsJSONResponse(out.story_dict(row, articles, details), headers=headers)


# ---------------------------------------------------------------------------------------
# /entities


@router.get(
    "/entities", response_model=EntitiesOut, tags=["entities"],
    summary="Entity lookup (autocomplete)", responses=_problems(*_READ_PROBLEMS),
)
def entities(
    rt: RuntimeDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="the start of a name")],
    limit: Annotated[int, Query(ge=1, le=MAX_ENTITIES)] = MAX_ENTITIES,
) -> JSONResponse:
    """Gazetteer entries and entities of stored articles whose name (or one of its words)
    starts with ``q``; their ``id`` is what the ``entity`` filters take."""
    with using("state store"):
        found = lookup_entities(rt.store.engine, q, limit)
    return NewsJSONResponse({"query": q, "entities": [s.as_dict() for s in found]})


# ---------------------------------------------------------------------------------------
# /health


@open_router.get(
    "/health", response_model=HealthOut, tags=["health"], summary="Health",
    responses=_problems(503),
)
def health(request: Request) -> JSONResponse:
    """State store and index status with their counts; 503 when either is down. Open
    without a key, for load balancers and probes."""
    holder: RuntimeHolder = request.app.state.holder
    checks: dict[str, dict[str, Any]] = {}
    try:
        rt = holder.get()
    except Unavailable:
        checks = {"state_store": {"status": "unavailable"}, "index": {"status": "unavailable"}}
    else:
        try:
            with using("state store"):
                with rt.store.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                checks["state_store"] = {"status": "ok", "articles": rt.store.count_articles()}
        except Unavailable:
            checks["state_store"] = {"status": "unavailable"}
        try:
            with using("search index"):
                checks["index"] = {"status": "ok", "documents": rt.index.count()}
        except Unavailable:
            checks["index"] = {"status": "unavailable"}
    down = [name for name, check in checks.items() if check["status"] != "ok"]
    if down:
        what = " and ".join(name.replace("_", " ") for name in down)
        return problem_response(
            request, 503, "Service Unavailable", f"unavailable: {what}",
            type_=PROBLEM_DOCS + "unavailable", version=__version__, checks=checks,
        )
    return NewsJSONResponse({"status": "ok", "version": __version__, "checks": checks})


# ---------------------------------------------------------------------------------------
# The application


def _openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with problem responses typed ``application/problem+json``."""
    doc = get_openapi(
        title="newswatch search API", version=__version__, routes=app.routes,
        description="Search the articles and stories newswatch collected. "
                    "Errors are RFC 9457 problem details. See docs/api.md.",
        tags=[
            {"name": "search", "description": "full-text search with filters and facets"},
            {"name": "articles", "description": "stored articles"},
            {"name": "stories", "description": "one story per event"},
            {"name": "entities", "description": "entity lookup"},
            {"name": "health", "description": "service status"},
        ],
    )
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if int(status) >= 400 and "application/json" in content:
                    response["content"] = {PROBLEM_JSON: content["application/json"]}
    return doc


def _operation_id(route: APIRoute) -> str:
    return route.name


def create_app(
    settings: Settings | None = None, *, opener: Callable[[Settings], Runtime] = open_runtime,
) -> FastAPI:
    """The API application; it opens one Runtime (``opener``) when it starts."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder = RuntimeHolder(settings, opener)
        app.state.holder = holder
        holder.open()
        try:
            yield
        finally:
            holder.close()

    app = FastAPI(
        title="newswatch search API", version=__version__, lifespan=lifespan,
        docs_url="/docs", redoc_url=None, default_response_class=NewsJSONResponse,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    from api.watches import public_router, watch_router

    app.include_router(router)
    app.include_router(watch_router)
    app.include_router(public_router)
    app.include_router(open_router)
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(QuerySyntaxError, _on_query_syntax)
    app.add_exception_handler(NotFoundError, _on_not_found)
    app.add_exception_handler(InvalidRequestError, _on_invalid)
    app.add_exception_handler(NewswatchError, _on_newswatch_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _openapi_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def openapi_text() -> str:
    """The OpenAPI document as kept in ``api/openapi.json``."""
    document = create_app(Settings()).openapi()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def serve(settings: Settings | None = None) -> None:
    """Run the API with uvicorn on ``api_host:api_port`` until interrupted."""
    import uvicorn

    settings = settings or load_settings()
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port,
                server_header=False, log_level="info")


def main(argv: list[str] | None = None) -> NoReturn:
    parser = argparse.ArgumentParser(prog="python -m api.app", description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write-openapi", action="store_true",
                        help=f"write the OpenAPI document to {OPENAPI_PATH}")
    action.add_argument("--check-openapi", action="store_true",
                        help="exit 1 when the kept OpenAPI document is out of date")
    args = parser.parse_args(argv)
    document = openapi_text()
    if args.write_openapi:
        OPENAPI_PATH.write_text(document, encoding="utf-8")
        print(f"wrote {OPENAPI_PATH}")
        sys.exit(0)
    current = OPENAPI_PATH.read_text(encoding="utf-8") if OPENAPI_PATH.exists() else ""
    if current != document:
        print(f"{OPENAPI_PATH} is out of date: run python -m api.app --write-openapi")
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
