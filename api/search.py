"""GET /search: full-text search with the query language, filters, facets and pages."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from datetime import time as dtime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from api.access import RuntimeDep, StrictParams, require_read_key, using
from api.problems import FACET_ERRORS, NewsJSONResponse, ProblemError, log
from api.schemas import READ_PROBLEMS, SearchPage, problems_for
from core import schema as t
from core.errors import NotFoundError
from core.models import SearchHit, SearchRequest
from core.runtime import Runtime
from newswatch import console as out
from search.backend import MAX_LIMIT
from search.entities import resolve_entity
from search.query import MAX_QUERY_CHARS
from stories.store import StoryStore

router = APIRouter(dependencies=[Depends(require_read_key), StrictParams])


MAX_PAGE_SIZE = 100
MAX_PAGE = 1000
MAX_WINDOW = 10_000  # page * size: deeper pages are refused (Elasticsearch's default window)
# facet names in responses -> the index's facet fields (search.backend.FACET_FIELDS)
INDEX_FACETS = {"source": "source", "topics": "topics", "entities": "entity_ids",
                "language": "language"}
FACET_FIELDS = tuple(INDEX_FACETS)


# ---------------------------------------------------------------------------------------
# /search


def _start(value: date | None, name: str = "since") -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, dtime.min)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is after the last representable time
        raise _out_of_range(name, value) from None


def _end(value: date | None, name: str = "until") -> datetime | None:
    if value is not None and not isinstance(value, datetime):  # a whole day, inclusive
        return datetime.combine(value, dtime.max).replace(tzinfo=UTC)
    return _start(value, name)


def _out_of_range(name: str, value: datetime) -> ProblemError:
    message = (f"{value.isoformat()} is out of range: in UTC it falls outside years "
               "1 to 9999")
    return ProblemError(
        422, "Invalid request", f"query.{name}: {message}", kind="invalid-request",
        errors=[{"location": ["query", name], "message": message, "type": "datetime_range"}],
    )


def page_offset(page: int, size: int) -> int:
    if page * size > MAX_WINDOW:
        raise ProblemError(
            422, "Invalid request", f"page × limit may not exceed {MAX_WINDOW}; narrow the search",
            kind="invalid-request",
            errors=[{"location": ["query", "page"], "message": f"page × limit > {MAX_WINDOW}",
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
    except FACET_ERRORS as exc:
        # the hits were found a moment ago: answer them without facets rather than fail
        log.warning("facets failed, answering without them: %s", exc)
        return None
    return {name: list(counted.get(field, [])) for name, field in INDEX_FACETS.items()}


def _supports_story_filter() -> bool:
    return any(f.name == "story_id" for f in dataclasses.fields(SearchRequest))


def page_size(limit: int | None, size: int | None, default: int) -> int:
    """The page size from ``limit`` (the CLI's name) or ``size`` (its old name here)."""
    if limit is not None and size is not None and limit != size:
        raise _conflict("limit", "size")
    return limit if limit is not None else size if size is not None else default


def _either(new: date | None, old: date | None, new_name: str,
            old_name: str) -> tuple[date | None, str]:
    """The value of a parameter given by its name or its old one, and the name used."""
    if new is not None and old is not None and new != old:
        raise _conflict(new_name, old_name)
    return (new, new_name) if new is not None or old is None else (old, old_name)


def _conflict(name: str, old: str) -> ProblemError:
    message = f"{old} is the old name of {name}: give one of them"
    return ProblemError(
        422, "Invalid request", f"query.{old}: {message}", kind="invalid-request",
        errors=[{"location": ["query", old], "message": message, "type": "duplicate_parameter"}],
    )


When = date | datetime | None


@router.get(
    "/search", response_model=SearchPage, tags=["search"], summary="Search articles",
    responses=problems_for(400, 404, *READ_PROBLEMS),
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
    since: Annotated[When, Query(
        description="published on or after (YYYY-MM-DD or ISO 8601)")] = None,
    until: Annotated[When, Query(
        description="published on or before (a date includes the whole day)")] = None,
    story: Annotated[str | None, Query(description="only articles of this story")] = None,
    sort: Annotated[Literal["relevance", "date"], Query(
        description="relevance: best first (ties newest first); date: newest first. "
                    "A query without words to rank is newest first either way")] = "relevance",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE,
                                       description="hits per page (default 10)")] = None,
    facet_size: Annotated[int, Query(ge=0, le=50, description="values per facet; 0: none")] = 10,
    from_: Annotated[When, Query(alias="from", deprecated=True,
                                 description="the old name of since")] = None,
    to: Annotated[When, Query(deprecated=True, description="the old name of until")] = None,
    size: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE, deprecated=True,
                                      description="the old name of limit")] = None,
) -> JSONResponse:
    """Full-text search with filters; hits best first (or newest first), with highlighted
    snippets and facets."""
    per_page = page_size(limit, size, 10)
    request = SearchRequest(
        query=q, source=source, topic=topic, language=language,
        entities=resolve_entity(entity) if entity else (),
        since=_start(*_either(since, from_, "since", "from")),
        until=_end(*_either(until, to, "until", "to")), limit=per_page,
        offset=page_offset(page, per_page), sort=sort,
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
        "query": q, "total": total, "page": page, "limit": per_page, "size": per_page,
        "sort": sort,
        "hits": [
            {**out.hit_dict(h), "topics": extras[h.id][1], "story_id": extras[h.id][0]}
            for h in hits
        ],
        "facets": _facet_json(rt, facets) if facets is not None else None,
    }
    return NewsJSONResponse(body)
