"""GET /health: the state store and index are reachable; probes never need the key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.access import RuntimeHolder, StrictParams, using
from api.problems import PROBLEM_DOCS, NewsJSONResponse, Unavailable, problem_response
from api.schemas import HealthOut, problems_for
from core import __version__

open_router = APIRouter(dependencies=[StrictParams])  # /health: probes need no key


# ---------------------------------------------------------------------------------------
# /health


@open_router.get(
    "/health", response_model=HealthOut, tags=["health"], summary="Health",
    responses=problems_for(503),
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
