"""Signing in with the API key (once: it becomes a signed session cookie) and out."""

from __future__ import annotations

import hmac
import time
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.access import get_settings
from web import session as tokens
from web.access import (
    WebRoute,
    WriterDep,
    clear_session,
    get_viewer,
    key_for,
    safe_next,
    same_site,
    set_session,
)
from web.render import render

router = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)


def _form(request: Request, next_url: str, *, error: str | None = None,
          status: int = 200) -> HTMLResponse:
    settings = get_settings(request)
    key = key_for(request, settings)
    token = tokens.login_token(key, time.time()) if key is not None else ""
    return render(request, "login.html", status=status, nav="login", next_url=next_url,
                  token=token, error=error, configured=key is not None)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request,
               next: Annotated[str, Query(max_length=2000)] = "/web/") -> HTMLResponse:
    get_viewer(request)
    return _form(request, safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, key: Annotated[str, Form(max_length=1000)] = "",
          token: Annotated[str, Form(max_length=tokens.MAX_TOKEN_CHARS)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/web/") -> Response:
    get_viewer(request)  # the page shows who is signed in
    settings = get_settings(request)
    signing = key_for(request, settings)
    target = safe_next(next)
    if signing is None:
        return _form(request, target, status=503,
                     error="this server has no API key (NEWSWATCH_API_KEY): nobody can sign in")
    if not same_site(request) or not tokens.check_login_token(signing, token, time.time()):
        return _form(request, target, status=403,
                     error="the form expired or came from another site; try again")
    if not hmac.compare_digest(key.strip().encode(), settings.api_key.encode()):
        return _form(request, target, status=403, error="that is not the API key")
    _session, value = tokens.new_session(signing, time.time())
    response = RedirectResponse(target, status_code=303)
    set_session(response, request, value)
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(request: Request, viewer: WriterDep) -> Response:
    response = RedirectResponse("/web/", status_code=303)
    clear_session(response, request)
    return response
