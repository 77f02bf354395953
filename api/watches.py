"""The API's watch endpoints: manage watches (API key), read a watch's alerts as an Atom
feed (API key or the feed's signed token) and unsubscribe from an email link (signed token).

Included by :func:`api.app.create_app`; the same functions as the CLI do the work
(``alerts.stage``).
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Security
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from alerts import links, watches
from alerts.store import WatchStore
from alerts.tokens import verify_feed
from api.access import RuntimeDep, api_key_header, check_key, get_settings, require_key, using
from api.problems import NewsJSONResponse, ProblemError
from api.schemas import problems_for
from core.models import WATCH_MODES, Watch
from core.settings import Settings

ATOM_TYPE = "application/atom+xml; charset=utf-8"
_WRITE_PROBLEMS = (401, 403, 422, 503)

watch_router = APIRouter(tags=["watches"], dependencies=[Depends(require_key)])
public_router = APIRouter(tags=["watches"])  # authorised by signed tokens (feed readers, email)


class WatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    emails: list[str] = Field(min_length=1, max_length=100)
    query: str = Field(default="", max_length=2000)
    entities: list[str] = Field(default_factory=list, max_length=50)
    topic: str | None = None
    source: str | None = None
    language: str | None = None
    story_id: str | None = Field(default=None, description="follow this story instead of a search")
    mode: str = Field(default="immediate", description=" | ".join(WATCH_MODES))
    min_novelty: float = Field(default=watches.DEFAULT_MIN_NOVELTY, ge=0.0, le=1.0)


class WatchOut(BaseModel):
    id: str
    name: str
    kind: str
    query: str
    entities: list[str]
    entity_ids: list[str]
    topic: str | None
    source: str | None
    language: str | None
    story_id: str | None
    recipients: list[str]
    mode: str
    min_novelty: float
    created_at: str
    watermark: int
    last_evaluated_at: str | None
    last_digest_at: str | None
    feed_url: str


class WatchList(BaseModel):
    watches: list[WatchOut]


def _out(settings: Settings, watch: Watch) -> dict[str, Any]:
    return {**watch.as_dict(), "feed_url": links.feed_url(settings, watch.id)}


@watch_router.get("/watches", response_model=WatchList, summary="Watches",
                  responses=problems_for(*_WRITE_PROBLEMS))
def list_watches(rt: RuntimeDep) -> NewsJSONResponse:
    """Every watch, with its recipients and its Atom feed's URL."""
    with using("state store"):
        found = WatchStore(rt.store).all()
    return NewsJSONResponse({"watches": [_out(rt.settings, w) for w in found]})


@watch_router.post("/watches", response_model=WatchOut, status_code=201, summary="Add a watch",
                   responses=problems_for(400, 413, *_WRITE_PROBLEMS))
def create_watch(rt: RuntimeDep, body: WatchIn) -> NewsJSONResponse:
    """Save a search (or follow a story): a new story once, follow-ups when it develops."""
    with using("state store"):
        if body.story_id:
            watch = watches.follow_story(rt, body.story_id, body.emails, name=body.name,
                                          mode=body.mode, min_novelty=body.min_novelty)
        else:
            watch = watches.add_watch(
                rt, body.name, body.emails, query=body.query, entities=body.entities,
                topic=body.topic, source=body.source, language=body.language, mode=body.mode,
                min_novelty=body.min_novelty,
            )
    return NewsJSONResponse(_out(rt.settings, watch), status_code=201,
                            headers={"Location": f"/watches/{watch.id}"})


@watch_router.get("/watches/{watch_id}", response_model=WatchOut, summary="One watch",
                  responses=problems_for(404, *_WRITE_PROBLEMS))
def get_watch(rt: RuntimeDep, watch_id: Annotated[str, Path(max_length=200)]) -> NewsJSONResponse:
    with using("state store"):
        watch = watches.get_watch(rt, watch_id)
    return NewsJSONResponse(_out(rt.settings, watch))


@watch_router.delete("/watches/{watch_id}", status_code=204, summary="Remove a watch",
                     responses=problems_for(404, *_WRITE_PROBLEMS))
def delete_watch(rt: RuntimeDep, watch_id: Annotated[str, Path(max_length=200)]) -> Response:
    """The watch, its alerts and its unsent email go."""
    with using("state store"):
        watches.remove_watch(rt, watch_id)
    return Response(status_code=204)


@public_router.get(
    "/watches/{watch_id}/feed", summary="A watch's alerts as an Atom feed",
    response_class=Response, responses={200: {"content": {"application/atom+xml": {}}},
                                         **problems_for(401, 403, 404, 503)},
)
def watch_feed(
    rt: RuntimeDep,
    settings: Annotated[Settings, Depends(get_settings)],
    watch_id: Annotated[str, Path(max_length=200)],
    token: Annotated[str | None, Query(max_length=64, description="the feed's signed token")] = None,
    key: Annotated[str | None, Security(api_key_header)] = None,
) -> Response:
    """Newest alerts first. Feed readers use the URL with its ``token`` (from `watch list`);
    other clients may send the API key instead."""
    with using("state store"):
        watch = WatchStore(rt.store).get(watch_id)
        if token is not None:
            if watch is None or not verify_feed(token, watch.id, links.secret_for(settings)):
                raise ProblemError(403, "Forbidden", "the feed token is not valid",
                                   kind="forbidden")
        else:
            check_key(settings, key)
        if watch is None or watch.id != watch_id:
            raise ProblemError(404, "Not Found", f"no watch {watch_id!r}", kind="not-found")
        body = links.watch_feed(rt, watch)
    return Response(body, media_type=ATOM_TYPE)


@public_router.get("/unsubscribe", response_class=HTMLResponse, summary="Unsubscribe page",
                   responses=problems_for(422, 503))
def unsubscribe_page(
    request: Request, token: Annotated[str, Query(max_length=4096)]
) -> HTMLResponse:
    """Shows a button: a GET changes nothing, so mail scanners that follow links cannot
    unsubscribe anyone. The button (and one-click clients, RFC 8058) POST to the same URL."""
    action = html.escape(str(request.url), quote=True)
    return HTMLResponse(_page("Unsubscribe", f'<form method="post" action="{action}">'
                              '<p>Stop these newswatch alerts?</p>'
                              '<button type="submit">Unsubscribe</button></form>'))


@public_router.post("/unsubscribe", response_class=HTMLResponse, summary="Unsubscribe",
                    responses=problems_for(400, 404, 422, 503))
def unsubscribe(rt: RuntimeDep, token: Annotated[str, Query(max_length=4096)]) -> HTMLResponse:
    """Takes the address in the signed token off its watch (one-click, RFC 8058)."""
    with using("state store"):
        watch, email = links.unsubscribe(rt, token)
    return HTMLResponse(_page("Unsubscribed", f"<p>{html.escape(email)} will get no more alerts "
                                              f"from “{html.escape(watch.name)}”.</p>"))


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
            f"</head><body><h1>{title}</h1>{body}</body></html>")
