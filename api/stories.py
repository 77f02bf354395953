"""GET /stories and GET /stories/{id}: one story per event, with its timeline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from api.access import RuntimeDep, require_read_key, using
from api.problems import NewsJSONResponse
from api.schemas import READ_PROBLEMS, StoriesPage, StoryOut, problems_for
from api.search import MAX_PAGE, MAX_PAGE_SIZE, page_offset
from core.errors import NotFoundError
from core.models import StoryDoc
from newswatch import console as out
from search.entities import resolve_entity
from stories.store import StoryStore

router = APIRouter(dependencies=[Depends(require_read_key)])


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
    responses=problems_for(*READ_PROBLEMS),
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
                                     offset=page_offset(page, size))
    body = {"page": page, "size": size, "has_more": len(docs) > size,
            "stories": [_story_summary(d) for d in docs[:size]]}
    return NewsJSONResponse(body)


@router.get(
    "/stories/{story_id}", response_model=StoryOut, tags=["stories"], summary="One story",
    responses=problems_for(404, *READ_PROBLEMS),
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
