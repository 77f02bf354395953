"""Errors as RFC 9457 problem details (application/problem+json), the handlers that turn
our exceptions into them, and the JSON encoding the CLI uses too."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import date, datetime
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from core.errors import NewswatchError, QuerySyntaxError
from search.query import QueryLimitError

log = logging.getLogger("newswatch.api")
RETRY_OPEN_SECONDS = 5.0  # how often a request may retry opening an unreachable runtime


PROBLEM_JSON = "application/problem+json"
PROBLEM_DOCS = "https://github.com/newswatch/newswatch/blob/main/docs/api.md#"


# Errors that mean "this dependency is down", not "this request is wrong". Backends report
# their own outages as NewswatchError (e.g. "cannot reach the database …").
OUTAGES: tuple[type[BaseException], ...] = (
    sqlite3.DatabaseError, OperationalError, InterfaceError, DisconnectionError,
    PoolTimeoutError, ConnectionError, TimeoutError,
)
FACET_ERRORS: tuple[type[BaseException], ...] = (NewswatchError, *OUTAGES)


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


async def answer_problem(scope: Scope, receive: Receive, send: Send, exc: ProblemError) -> None:
    """Answer ``exc`` from ASGI middleware, before any route (or exception handler) runs."""
    response = problem_response(Request(scope), exc.status, exc.title, exc.detail,
                                type_=exc.type, headers=exc.headers, **exc.extra)
    await response(scope, receive, send)


def _on_query_syntax(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QuerySyntaxError)
    limit: dict[str, Any] = {}
    if isinstance(exc, QueryLimitError):  # which limit, and its value
        limit = {"limit": exc.limit, "maximum": exc.maximum}
    return problem_response(request, 400, "Invalid query", str(exc),
                            type_=PROBLEM_DOCS + "invalid-query", position=exc.position, **limit)


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
