"""GET /entities: entity lookup (names, aliases and ids the filters accept)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from api.access import RuntimeDep, StrictParams, require_read_key, using
from api.problems import NewsJSONResponse
from api.schemas import READ_PROBLEMS, EntitiesOut, problems_for
from search.entities import MAX_RESULTS as MAX_ENTITIES
from search.entities import lookup as lookup_entities

router = APIRouter(dependencies=[Depends(require_read_key), StrictParams])


# ---------------------------------------------------------------------------------------
# /entities


@router.get(
    "/entities", response_model=EntitiesOut, tags=["entities"],
    summary="Entity lookup (autocomplete)", responses=problems_for(*READ_PROBLEMS),
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
