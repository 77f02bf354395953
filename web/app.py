"""The web app for analysts, on the API's application and runtime (``api.app`` calls
:func:`add_web`): pages under ``/web/``, our stylesheet and script under
``/web/static/``, and ``/`` leading to the overview. Reference: ``docs/web.md``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from web import articles, login, overview, search, stories, story, watches
from web.access import WebRoute, error_page
from web.render import STATIC_URL, environment

STATIC = Path(__file__).with_name("static")

fallback = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)


@fallback.get("/{path:path}", response_class=HTMLResponse)
def not_found(request: Request, path: str) -> HTMLResponse:
    response = error_page(request, 404, "Not found", "there is no such page")
    assert isinstance(response, HTMLResponse)
    return response


def add_web(app: FastAPI) -> None:
    """Mount the web app on ``app`` (after the API's routes)."""
    app.state.web_templates = environment()
    app.mount(STATIC_URL, StaticFiles(directory=STATIC), name="web-static")
    for router in (overview.router, stories.router, story.router, articles.router,
                   search.router, watches.router, login.router, fallback):
        app.include_router(router)
