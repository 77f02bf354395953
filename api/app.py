"""The HTTP search API (FastAPI): search, articles, stories, entities, health.

``create_app(settings)`` builds an application that opens one :class:`~core.runtime.Runtime`
when it starts (lifespan) and closes it when it stops; ``serve(settings)`` runs it with
uvicorn on ``api_host:api_port`` (``newswatch serve``). Everything the API returns is
built by the same functions as the CLI's ``--json`` output (``newswatch.console``), so both
agree. Errors are RFC 9457 problem details (``application/problem+json``), never a
traceback. Two ASGI middlewares run before any route: the Host header must name this server
(``api.hosts``), and a route that needs the key checks it before the request body is read,
which is capped (``api.bodies``). The OpenAPI document is kept in ``api/openapi.json``;
regenerate it with ``python -m api.app --write-openapi``. Reference: ``docs/api.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path as FilePath
from typing import Any, NoReturn

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import articles, entities, health, search, stories, watches
from api.access import RuntimeHolder
from api.bodies import BodyGuard
from api.docs import add_docs
from api.hosts import HostGuard
from api.problems import (
    PROBLEM_JSON,
    NewsJSONResponse,
    ProblemError,
    _on_http_error,
    _on_invalid,
    _on_newswatch_error,
    _on_not_found,
    _on_problem,
    _on_query_syntax,
    _on_unexpected,
    _on_validation,
)
from core import __version__
from core.errors import InvalidRequestError, NewswatchError, NotFoundError, QuerySyntaxError
from core.runtime import Runtime
from core.settings import Settings, load_settings
from newswatch.resources import open_runtime
from web.app import add_web

OPENAPI_PATH = FilePath(__file__).with_name("openapi.json")


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
        docs_url=None, redoc_url=None, default_response_class=NewsJSONResponse,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    for router in (search.router, articles.router, stories.router, entities.router,
                   watches.watch_router, watches.public_router, health.open_router):
        app.include_router(router)  # in this order: the OpenAPI document lists paths so
    add_docs(app, "newswatch search API")  # /docs, with Swagger UI's assets served by us
    add_web(app)  # the web app for analysts (web/), outside the OpenAPI document
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(QuerySyntaxError, _on_query_syntax)
    app.add_exception_handler(NotFoundError, _on_not_found)
    app.add_exception_handler(InvalidRequestError, _on_invalid)
    app.add_exception_handler(NewswatchError, _on_newswatch_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
    # the last added runs first: the Host header, then the key and the body's size
    app.add_middleware(BodyGuard, settings=settings, routes=app.router.routes)
    app.add_middleware(HostGuard, settings=settings)

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
