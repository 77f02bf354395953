"""The Search page: the query language of ``search/query.py`` with filters, the hits with
their snippets highlighted, facets that narrow the search with one click, and "save as
watch". The same backend calls as ``GET /search`` (``rt.index.search`` and ``facets``,
with the API's helpers for each hit's story and topics and the entity names)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.access import RuntimeDep, using
from api.search import MAX_PAGE, _facet_json, _hit_extras, _index_facets, page_offset
from core.errors import QuerySyntaxError
from core.models import SearchRequest
from search.entities import resolve_entity
from search.query import MAX_QUERY_CHARS
from web.access import ReaderDep, WebRoute
from web.params import Filters, topic_labels
from web.render import render

router = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 20
FACET_SIZE = 8
FACETS = (("source", "Outlets"), ("topics", "Topics"), ("entities", "Entities"),
          ("language", "Languages"))
EXAMPLES = ('"artillery shells" AND (Libya OR Tobruk)', "title:sanctions",
            "shell* -opinion")


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request, rt: RuntimeDep, viewer: ReaderDep,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
    entity: Annotated[str | None, Query(max_length=200)] = None,
    topic: Annotated[str | None, Query(max_length=200)] = None,
    source: Annotated[str | None, Query(max_length=500)] = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    filters = Filters()
    entity_ = filters.text("entity", entity)
    query = SearchRequest(
        query=q.strip(), topic=filters.text("topic", topic),
        source=filters.text("source", source), language=filters.text("language", language),
        entities=resolve_entity(entity_) if entity_ else (),
        since=filters.day("since", since), until=filters.day("until", until, end=True),
        limit=PAGE_SIZE, offset=page_offset(page, PAGE_SIZE),
    )
    error, position, total, hits, facets = None, None, 0, [], None
    try:
        with using("search index"):
            result = rt.index.search(query)
    except QuerySyntaxError as exc:
        error, position = str(exc), getattr(exc, "position", None)
    else:
        total, hits = result.total, result.hits
        counted = _index_facets(rt, query, FACET_SIZE)
        facets = _facet_json(rt, counted) if counted is not None else None
    extras = _hit_extras(rt, [h.id for h in hits])
    shown = [{**vars(h), "story_id": extras[h.id][0], "topics": extras[h.id][1]} for h in hits]
    return render(
        request, "search.html", nav="search", q=q, filters=filters, error=error,
        position=position, total=total, hits=shown, facets=facets, facet_names=FACETS,
        page=page, more=page * PAGE_SIZE < total, first=query.offset + 1,
        labels=topic_labels(rt), examples=EXAMPLES,
    )
