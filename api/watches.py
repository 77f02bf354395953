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
from alerts.backfill import MAX_BACKFILL_DAYS
from alerts.store import WatchStore
from alerts.tokens import verify_feed
from alerts.watches import Changes
from api.access import (
    RuntimeDep,
    StrictParams,
    api_key_header,
    check_key,
    get_settings,
    require_key,
    using,
)
from api.problems import NewsJSONResponse, ProblemError
from api.schemas import problems_for
from core.models import WATCH_MODES, Watch
from core.runtime import Runtime
from core.settings import Settings

ATOM_TYPE = "application/atom+xml; charset=utf-8"
_WRITE_PROBLEMS = (401, 403, 422, 503)

watch_router = APIRouter(tags=["watches"], dependencies=[Depends(require_key), StrictParams])
public_router = APIRouter(tags=["watches"])  # authorised by signed tokens (feed readers, email)


_URLS = ("webhook (https://…, signed with the watch's secret) or Apprise URLs "
         "(slack://…, tgram://…, json://…)")


class WatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    emails: list[str] = Field(default_factory=list, max_length=100,
                              description="at least one address, or a destination")
    destinations: list[str] = Field(default_factory=list, max_length=watches.MAX_DESTINATIONS,
                                    description=_URLS)
    query: str = Field(default="", max_length=2000)
    entities: list[str] = Field(default_factory=list, max_length=50)
    topic: str | None = None
    source: str | None = None
    language: str | None = None
    story_id: str | None = Field(default=None, description="follow this story instead of a search")
    mode: str = Field(default="immediate", description=" | ".join(WATCH_MODES))
    min_novelty: float = Field(default=watches.DEFAULT_MIN_NOVELTY, ge=0.0, le=1.0)
    backfill_days: int | None = Field(
        default=None, ge=1, le=MAX_BACKFILL_DAYS,
        description="also send, once, one digest per recipient of the matching stories "
                    "published in these last days that are indexed already")


class WatchEdit(BaseModel):
    """Fields to change; those left out stay. ``null`` or ``""`` clears a filter."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    query: str | None = Field(default=None, max_length=2000)
    entities: list[str] | None = Field(default=None, max_length=50)
    topic: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=500)
    language: str | None = Field(default=None, max_length=16)
    mode: str | None = Field(default=None, description=" | ".join(WATCH_MODES))
    min_novelty: float | None = Field(default=None, ge=0.0, le=1.0)
    emails: list[str] | None = Field(default=None, max_length=100,
                                     description="replaces the recipients")
    add_emails: list[str] = Field(default_factory=list, max_length=100)
    remove_emails: list[str] = Field(default_factory=list, max_length=100)
    destinations: list[str] | None = Field(default=None, max_length=watches.MAX_DESTINATIONS,
                                           description="replaces the " + _URLS)
    add_destinations: list[str] = Field(default_factory=list,
                                        max_length=watches.MAX_DESTINATIONS)
    remove_destinations: list[str] = Field(
        default_factory=list, max_length=watches.MAX_DESTINATIONS,
        description="each the whole URL, or as the watch shows it when that is unambiguous")
    rotate_secret: bool = Field(default=False, description="make a new webhook secret")


class BackfillOut(BaseModel):
    days: int
    since: str
    stories: int
    articles: int
    left_out: int
    digests: int


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
    paused: bool
    state: str = Field(description="active | paused")
    destinations: list[str] = Field(description="redacted: scheme and host only")
    muted_stories: list[str]
    feed_url: str


class WatchSaved(WatchOut):
    secret: str | None = Field(
        default=None, description="the new secret that signs webhook bodies (HMAC-SHA256), "
                                  "in this answer only; it is never shown again")
    backfill: BackfillOut | None = None
    changed: list[str] | None = Field(default=None, description="PATCH: the fields changed")


class WatchList(BaseModel):
    watches: list[WatchOut]


def _out(rt: Runtime, watch: Watch) -> dict[str, Any]:
    return watches.describe(rt, [watch])[0]


WatchRef = Annotated[str, Path(max_length=200)]
StoryRef = Annotated[str, Path(max_length=200)]


@watch_router.get("/watches", response_model=WatchList, summary="Watches",
                  responses=problems_for(*_WRITE_PROBLEMS))
def list_watches(rt: RuntimeDep) -> NewsJSONResponse:
    """Every watch, with its recipients and its Atom feed's URL."""
    with using("state store"):
        found = WatchStore(rt.store).all()
        listed = watches.describe(rt, found)
    return NewsJSONResponse({"watches": listed})


@watch_router.post("/watches", response_model=WatchSaved, status_code=201,
                   summary="Add a watch", responses=problems_for(400, 404, 413, *_WRITE_PROBLEMS))
def create_watch(rt: RuntimeDep, body: WatchIn) -> NewsJSONResponse:
    """Save a search (or follow a story): a new story once, follow-ups when it develops.
    With destinations, the answer carries the watch's webhook ``secret``, once."""
    with using("state store or search index" if body.backfill_days else "state store"):
        added = watches.create_watch(
            rt, body.name, body.emails, query=body.query, entities=body.entities,
            topic=body.topic, source=body.source, language=body.language,
            story_id=body.story_id, mode=body.mode, min_novelty=body.min_novelty,
            destinations=body.destinations, backfill_days=body.backfill_days or 0,
        )
        data = _out(rt, added.watch)
    if added.watch.secret:
        data["secret"] = added.watch.secret
    if added.backfill is not None:
        data["backfill"] = added.backfill.as_dict()
    return NewsJSONResponse(data, status_code=201,
                            headers={"Location": f"/watches/{added.watch.id}"})


@watch_router.get("/watches/{watch_id}", response_model=WatchOut, summary="One watch",
                  responses=problems_for(404, *_WRITE_PROBLEMS))
def get_watch(rt: RuntimeDep, watch_id: WatchRef) -> NewsJSONResponse:
    with using("state store"):
        watch = watches.get_watch(rt, watch_id)
        data = _out(rt, watch)
    return NewsJSONResponse(data)


@watch_router.patch("/watches/{watch_id}", response_model=WatchSaved, summary="Change a watch",
                    responses=problems_for(400, 404, 413, *_WRITE_PROBLEMS))
def patch_watch(rt: RuntimeDep, watch_id: WatchRef, body: WatchEdit) -> NewsJSONResponse:
    """The fields given change, the rest stays; what the watch matches changes from now on.
    A watch's first destination (or ``rotate_secret``) gives it a new ``secret``, in this
    answer only."""
    given = body.model_fields_set

    def text(name: str) -> str | None:  # given as null: cleared
        return (getattr(body, name) or "") if name in given else None

    def listed(name: str) -> list[str] | None:
        return (getattr(body, name) or []) if name in given else None

    changes = Changes(
        name=text("name"), query=text("query"), entities=listed("entities"),
        topic=text("topic"), source=text("source"), language=text("language"), mode=body.mode,
        min_novelty=body.min_novelty, emails=listed("emails"), add_emails=body.add_emails,
        remove_emails=body.remove_emails, destinations=listed("destinations"),
        add_destinations=body.add_destinations, remove_destinations=body.remove_destinations,
        rotate_secret=body.rotate_secret,
    )
    with using("state store"):
        edited = watches.edit_watch(rt, watch_id, changes)
        data = {**_out(rt, edited.watch), "changed": list(edited.changed)}
    if edited.secret:
        data["secret"] = edited.secret
    return NewsJSONResponse(data)


@watch_router.post("/watches/{watch_id}/pause", response_model=WatchOut, summary="Pause a watch",
                   responses=problems_for(404, *_WRITE_PROBLEMS))
def pause_watch(rt: RuntimeDep, watch_id: WatchRef) -> NewsJSONResponse:
    """No alerts while paused; what is indexed meanwhile is never sent later (idempotent)."""
    with using("state store"):
        watch, _ = watches.pause_watch(rt, watch_id)
        data = _out(rt, watch)
    return NewsJSONResponse(data)


@watch_router.post("/watches/{watch_id}/resume", response_model=WatchOut,
                   summary="Resume a watch", responses=problems_for(404, *_WRITE_PROBLEMS))
def resume_watch(rt: RuntimeDep, watch_id: WatchRef) -> NewsJSONResponse:
    """Alerts again, on what is indexed from now on (idempotent)."""
    with using("state store"):
        watch, _ = watches.resume_watch(rt, watch_id)
        data = _out(rt, watch)
    return NewsJSONResponse(data)


@watch_router.put("/watches/{watch_id}/mutes/{story_id}", status_code=204,
                  summary="Mute a story for a watch", responses=problems_for(404, *_WRITE_PROBLEMS))
def mute_story(rt: RuntimeDep, watch_id: WatchRef, story_id: StoryRef) -> Response:
    """The watch sends nothing more about this story (the story that holds it, after
    merges): no new story, no follow-up. Idempotent."""
    with using("state store"):
        watches.mute_story(rt, watch_id, story_id)
    return Response(status_code=204)


@watch_router.delete("/watches/{watch_id}/mutes/{story_id}", status_code=204,
                     summary="Unmute a story for a watch",
                     responses=problems_for(404, *_WRITE_PROBLEMS))
def unmute_story(rt: RuntimeDep, watch_id: WatchRef, story_id: StoryRef) -> Response:
    """The watch alerts about this story again, from its next development. Idempotent."""
    with using("state store"):
        watches.unmute_story(rt, watch_id, story_id)
    return Response(status_code=204)


@watch_router.delete("/watches/{watch_id}", status_code=204, summary="Remove a watch",
                     responses=problems_for(404, *_WRITE_PROBLEMS))
def delete_watch(rt: RuntimeDep, watch_id: WatchRef) -> Response:
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
