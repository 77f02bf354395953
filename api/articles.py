"""GET /articles/{id}: one stored article with its enrichment, story and novelty."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from api.access import RuntimeDep, StrictParams, require_read_key, using
from api.problems import NewsJSONResponse
from api.schemas import READ_PROBLEMS, ArticleOut, problems_for
from core.errors import NotFoundError
from core.runtime import Runtime
from newswatch import console as out
from stories.store import StoryStore

router = APIRouter(dependencies=[Depends(require_read_key), StrictParams])


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
    summary="One article", responses=problems_for(404, *READ_PROBLEMS),
)
def get_article(
    rt: RuntimeDep, article_id: Annotated[str, Path(max_length=200)]
) -> JSONResponse:
    """The full record: text, dates, revisions, entities, topics, quotes, story, novelty."""
    return NewsJSONResponse(article_record(rt, article_id))
