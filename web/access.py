"""Who may see and change what in the web app, the same rules as the API's
(``api.access``): reading follows ``NEWSWATCH_API_READ_REQUIRES_KEY``; anything that
writes needs the API key, given once in the login form, which sets a signed session cookie
(HttpOnly, SameSite=Strict). Every form that writes carries the session's CSRF token, and
a request another site sent (``Origin``, ``Sec-Fetch-Site``) is refused.

:class:`WebRoute` answers errors as HTML pages instead of the API's problem documents."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from alerts.links import secret_for
from api.access import API_KEY_HEADER, check_key, get_settings
from api.problems import ProblemError, log
from core.errors import InvalidRequestError, NewswatchError, NotFoundError, QuerySyntaxError
from core.settings import Settings
from web import session as tokens
from web.render import render

COOKIE = "newswatch_session"
COOKIE_PATH = "/web"


@dataclass(frozen=True)
class Viewer:
    """The person looking at a page: signed in or not, and what the server allows."""

    key_configured: bool  # NEWSWATCH_API_KEY is set: signing in (and writing) is possible
    read_needs_key: bool
    session: tokens.Session | None = None
    csrf: str = ""

    @property
    def signed_in(self) -> bool:
        return self.session is not None


class SignIn(Exception):
    """Raised by a page that needs the key: answered with a redirect to the login form."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def key_for(request: Request, settings: Settings) -> bytes | None:
    """The key that signs this app's sessions; ``None`` without an API key."""
    if not settings.api_key:
        return None
    cached: bytes | None = getattr(request.app.state, "web_session_key", None)
    if cached is None:
        cached = tokens.session_key(secret_for(settings), settings.api_key)
        request.app.state.web_session_key = cached
    return cached


def get_viewer(request: Request) -> Viewer:
    settings = get_settings(request)
    key = key_for(request, settings)
    viewer = Viewer(key_configured=key is not None, read_needs_key=settings.api_read_requires_key)
    if key is not None:
        found = tokens.read_session(key, request.cookies.get(COOKIE), time.time())
        if found is not None:
            viewer = Viewer(True, settings.api_read_requires_key, found,
                            tokens.csrf_token(key, found))
    request.state.viewer = viewer
    return viewer


def reader(request: Request, viewer: Annotated[Viewer, Depends(get_viewer)]) -> Viewer:
    """Dependency of every page: with ``api_read_requires_key``, the reader must be signed
    in (or send the key in ``X-API-Key``)."""
    settings = get_settings(request)
    if settings.api_read_requires_key and not viewer.signed_in:
        given = request.headers.get(API_KEY_HEADER)
        if given is None and settings.api_key:
            raise SignIn(here(request))
        check_key(settings, given)  # 503 without a key configured, 403 for a wrong one
    return viewer


def same_site(request: Request) -> bool:
    """Whether a request that changes something came from our own pages: browsers say
    where a request comes from in ``Sec-Fetch-Site`` and ``Origin``."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


def keyholder(request: Request, viewer: Annotated[Viewer, Depends(get_viewer)]) -> Viewer:
    """Dependency of the pages only the key may see (watches name their readers'
    addresses, as ``GET /watches`` needs the key): signed in, or sent to the login form."""
    settings = get_settings(request)
    if not settings.api_key:
        check_key(settings, None)  # 503: the server has no key
    if not viewer.signed_in:
        raise SignIn(here(request))
    return viewer


async def writer(request: Request, viewer: Annotated[Viewer, Depends(get_viewer)]) -> Viewer:
    """Dependency of every form that writes: signed in, the form's CSRF token, our site.
    (The form is parsed once: FastAPI reads the same, cached, for the route's fields.)"""
    settings = get_settings(request)
    if not settings.api_key:
        check_key(settings, None)  # 503: the server has no key, nothing can be changed
    if not same_site(request):
        raise ProblemError(403, "Forbidden", "this form was sent from another site",
                           kind="forbidden")
    if viewer.session is None:
        raise ProblemError(401, "Sign in first", "changing anything needs the API key: "
                           "sign in, then send the form again", kind="unauthorized")
    form = await request.form()
    csrf = form.get("csrf")
    key = key_for(request, settings)
    assert key is not None
    if not isinstance(csrf, str) or not tokens.check_csrf(key, viewer.session, csrf):
        raise ProblemError(403, "Forbidden", "this form has expired or did not come from "
                           "this site; reload the page and try again", kind="forbidden")
    return viewer


ReaderDep = Annotated[Viewer, Depends(reader)]
KeyholderDep = Annotated[Viewer, Depends(keyholder)]
WriterDep = Annotated[Viewer, Depends(writer)]


def here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def login_url(next_url: str) -> str:
    return f"/web/login?next={quote(next_url, safe='/')}"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of the web app only (never another site)."""
    if not value or not value.startswith("/web") or value.startswith("//") or "\\" in value:
        return "/web/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in value):
        return "/web/"
    return value


def set_session(response: Response, request: Request, value: str) -> None:
    response.set_cookie(COOKIE, value, max_age=tokens.SESSION_SECONDS, path=COOKIE_PATH,
                        httponly=True, samesite="strict", secure=_secure(request))


def clear_session(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict",
                           secure=_secure(request))


def _secure(request: Request) -> bool:
    settings = get_settings(request)
    return request.url.scheme == "https" or settings.resolved_public_url.startswith("https:")


# ---------------------------------------------------------------------------------------
# Errors as pages


_TITLES = {400: "Bad request", 401: "Sign in first", 403: "Forbidden", 404: "Not found",
           422: "Invalid request", 503: "Unavailable"}


def error_page(request: Request, status: int, title: str, detail: str,
               headers: dict[str, str] | None = None) -> Response:
    if not hasattr(request.state, "viewer"):
        try:
            get_viewer(request)
        except NewswatchError:
            request.state.viewer = None
    return render(request, "error.html", status=status, headers=headers,
                  title=title, detail=detail, status_code=status)


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


class WebRoute(APIRoute):
    """A route of the web app: errors become HTML pages, a page that needs the key sends
    the reader to the login form."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except SignIn as exc:
                return RedirectResponse(login_url(exc.next_url), status_code=303)
            except ProblemError as exc:
                return error_page(request, exc.status, exc.title if exc.status != 503
                                  else _TITLES[503], exc.detail, exc.headers)
            except NotFoundError as exc:
                return error_page(request, 404, _TITLES[404], str(exc))
            except (InvalidRequestError, QuerySyntaxError) as exc:
                return error_page(request, 400, _TITLES[400], str(exc))
            except RequestValidationError as exc:
                return error_page(request, 422, _TITLES[422], _validation_detail(exc))
            except NewswatchError as exc:
                log.error("page %s failed: %s", request.url.path, exc)
                return error_page(request, 503, _TITLES[503],
                                  "a backend cannot serve this page right now; try again later")
            except Exception:
                log.exception("page %s failed", request.url.path)
                return error_page(request, 500, "Something went wrong",
                                  "this page failed on the server; the error is in its log")

        return page
