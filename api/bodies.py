"""Request bodies cost the server only when they are worth it, as pure ASGI middleware:

* a route that needs the API key checks it before a byte of the body is read (FastAPI reads
  and parses the body before it runs a route's dependencies), so a request without the key
  is answered 401/403 at once, whatever it says it will send;
* every body is capped, per route (:data:`BODY_LIMITS`, else :data:`MAX_BODY`): a
  ``Content-Length`` over the cap is answered 413 before the body is read, and a chunked
  body is read up to the cap and no further.

Both answers are problem documents and close the connection (the unread body cannot be
skipped on it).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.access import API_KEY_HEADER, check_key, require_key, require_read_key
from api.problems import ProblemError, answer_problem
from core.settings import Settings

MAX_WATCH_BODY = 64 * 1024  # a watch: a name, up to 100 addresses, a query, 50 entities
MAX_BODY = 16 * 1024  # anything else (no other route takes more than a form field)
BODY_LIMITS = {("POST", "/watches"): MAX_WATCH_BODY,
               ("PATCH", "/watches/{watch_id}"): MAX_WATCH_BODY}
_KEY_HEADER = API_KEY_HEADER.lower().encode("latin-1")


def body_limit(method: str, path: str) -> int:
    """The most bytes a request body to this route (``path`` as declared) may have."""
    return BODY_LIMITS.get((method, path), MAX_BODY)


def _key_dependency(route: APIRoute, settings: Settings) -> bool:
    """Whether the route's dependencies (at any depth) ask for the API key."""
    wanted = {require_key, require_read_key} if settings.api_read_requires_key else {require_key}
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call in wanted:
            return True
        pending.extend(dependant.dependencies)
    return False


def _too_large(limit: int, length: int | None) -> ProblemError:
    size = f"is {length} bytes" if length is not None else "is longer"
    return ProblemError(
        413, "Content Too Large",
        f"the request body {size}; this endpoint takes at most {limit} bytes",
        kind="payload-too-large", headers={"Connection": "close"}, maximum=limit,
    )


class BodyGuard:
    """ASGI middleware: the API key before the body, and a cap on the body."""

    def __init__(self, app: ASGIApp, settings: Settings, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.settings = settings
        self.routes = routes  # the application's own list: routes added later count too
        self._needs_key: dict[int, bool] = {}

    def _route(self, scope: Scope) -> APIRoute | None:
        for route in self.routes:
            if isinstance(route, APIRoute) and route.matches(scope)[0] is Match.FULL:
                return route
        return None

    def _key_first(self, route: APIRoute) -> bool:
        known = self._needs_key.get(id(route))
        if known is None:
            known = self._needs_key[id(route)] = _key_dependency(route, self.settings)
        return known

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])  # the last of a repeated header; h11 refuses those
        route = self._route(scope)
        if route is not None and self._key_first(route):
            key = headers.get(_KEY_HEADER)
            try:
                check_key(self.settings, key.decode("latin-1") if key else None)
            except ProblemError as exc:
                if b"content-length" in headers or b"transfer-encoding" in headers:
                    exc.headers = {**(exc.headers or {}), "Connection": "close"}
                await answer_problem(scope, receive, send, exc)
                return
        limit = body_limit(scope["method"], route.path if route is not None else "")
        length = headers.get(b"content-length")
        if length is not None:  # the server keeps the body to the length it announced
            if length.isdigit() and int(length) > limit:
                await answer_problem(scope, receive, send, _too_large(limit, int(length)))
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)  # no body
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > limit:
                await answer_problem(scope, receive, send, _too_large(limit, None))
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then what the client sends next
    (its disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
