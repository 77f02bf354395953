"""The Watches pages (signed in: a watch names its readers' addresses): the list with each
watch's state and the recent alerts with their delivery state, a watch's own page (edit,
pause, resume, mute and unmute stories, remove), and the form that creates one, from a
search ("save as watch") or a story ("follow").

The work is done by the functions the API's ``/watches`` endpoints and ``newswatch watch``
call (``alerts.watches``); alerts and their delivery state come from the outbox
(``alerts.store.WatchStore``, as ``newswatch alerts``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alerts import watches
from alerts.backfill import MAX_BACKFILL_DAYS
from alerts.content import content_from_json
from alerts.outbox import OutboxRow
from alerts.render import one_line, subject_for
from alerts.store import WatchStore
from api.access import RuntimeDep, using
from core.errors import InvalidRequestError, NotFoundError, QuerySyntaxError
from core.models import WATCH_MODES
from core.runtime import Runtime
from stories.store import StoryStore
from web.access import KeyholderDep, WebRoute, WriterDep
from web.params import topic_labels
from web.render import render
from web.watch_forms import WatchForm, changes_from, form_of, values_from

router = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)

ALERTS_SHOWN = 30
WatchRef = Annotated[str, Path(max_length=200)]
NOTICES = {
    "created": "The watch is saved. It alerts on what enters the index from now on.",
    "edited": "The watch is changed; what it matches changes from now on.",
    "unchanged": "Nothing changed.",
    "paused": "The watch is paused: no alerts until it is resumed.",
    "resumed": "The watch is active again, for what enters the index from now on.",
    "muted": "The watch will send nothing more about that story.",
    "unmuted": "The watch alerts about that story again, from its next development.",
    "removed": "The watch, its alerts and its unsent email are gone.",
}
_SPLIT = re.compile(r"[\n,;]+")


@dataclass(frozen=True)
class Sent:
    """One outbox row as the page shows it."""

    when: str
    watch: str
    kind: str
    channel: str
    to: str
    status: str
    attempts: int
    error: str
    subject: str
    story_id: str


def sent_rows(rows: list[OutboxRow], names: dict[str, str]) -> list[Sent]:
    shown = []
    for r in rows:
        try:
            content = content_from_json(r.content)
            subject, story = subject_for(content), content.story_id
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            subject, story = "(unreadable alert)", ""
        to = r.recipient if r.channel == "email" else watches.shown_destination(r.recipient)
        shown.append(Sent(r.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                          one_line(names.get(r.watch_id, r.watch_id), 100), r.kind, r.channel,
                          one_line(to, 200), r.status, r.attempts, one_line(r.last_error, 200),
                          one_line(subject, 300), story))
    return shown


def _lines(text: str) -> list[str]:
    return [p.strip() for p in _SPLIT.split(text or "") if p.strip()]


def _stories(rt: Runtime, ids: list[str]) -> dict[str, str]:
    stories = StoryStore(rt.store)
    found = {}
    for story_id in ids:
        row = stories.get(story_id)
        found[story_id] = one_line(row.title, 120) if row else story_id
    return found


@router.get("/watches", response_class=HTMLResponse)
def watches_page(request: Request, rt: RuntimeDep, viewer: KeyholderDep,
                 notice: str | None = None) -> HTMLResponse:
    with using("state store"):
        store = WatchStore(rt.store)
        found = store.all()
        listed = watches.describe(rt, found)
        names = {w.id: w.name for w in found}
        rows = sent_rows(store.outbox(None, ALERTS_SHOWN), names)
        counts = store.outbox_counts()
    return render(request, "watches.html", nav="watches", watches=listed, sent=rows,
                  counts=sorted(counts.items()), notice=NOTICES.get(notice or ""),
                  labels=topic_labels(rt))


@router.get("/watches/new", response_class=HTMLResponse)
def new_watch_page(
    request: Request, rt: RuntimeDep, viewer: KeyholderDep,
    query: Annotated[str, Query(max_length=2000)] = "",
    entity: Annotated[str, Query(max_length=200)] = "",
    topic: Annotated[str, Query(max_length=64)] = "",
    source: Annotated[str, Query(max_length=500)] = "",
    language: Annotated[str, Query(max_length=16)] = "",
    story_id: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """The form, filled in from a search ("save as watch") or for a story ("follow")."""
    form = WatchForm(query=query, entities=entity, topic=topic, source=source,
                     language=language, story_id=story_id,
                     name=one_line(query or entity or topic or source, 60))
    story_title = _stories(rt, [story_id]).get(story_id, "") if story_id else ""
    if story_id and not form.name:
        form.name = f"Story: {story_title}"[:120]
    return _form_page(request, rt, form, story_title=story_title)


def _form_page(request: Request, rt: Runtime, form: WatchForm, *, status: int = 200,
               error: str | None = None, story_title: str = "",
               watch: dict[str, Any] | None = None) -> HTMLResponse:
    return render(request, "watch_form.html", status=status, nav="watches", form=form,
                  error=error, modes=WATCH_MODES, labels=topic_labels(rt),
                  max_backfill=MAX_BACKFILL_DAYS, story_title=story_title, watch=watch)


@router.post("/watches", response_class=HTMLResponse)
def create_watch(request: Request, rt: RuntimeDep, viewer: WriterDep,
                 form: Annotated[WatchForm, Form()]) -> Response:
    try:
        values = values_from(form)
        with using("state store or search index" if values["backfill_days"] else "state store"):
            added = watches.create_watch(rt, form.name, _lines(form.emails),
                                         query=form.query, entities=_lines(form.entities),
                                         topic=form.topic or None, source=form.source or None,
                                         language=form.language or None,
                                         story_id=form.story_id or None, mode=values["mode"],
                                         min_novelty=values["min_novelty"],
                                         destinations=_lines(form.destinations),
                                         backfill_days=values["backfill_days"])
    except (InvalidRequestError, QuerySyntaxError, NotFoundError) as exc:
        return _form_page(request, rt, form, status=400, error=str(exc))
    if added.watch.secret or added.backfill is not None:  # shown now, once
        return _watch_page(request, rt, added.watch.id, notice=NOTICES["created"],
                           secret=added.watch.secret,
                           backfill=added.backfill.as_dict() if added.backfill else None)
    return RedirectResponse(f"/web/watches/{quote(added.watch.id, safe='')}?notice=created",
                            status_code=303)


def _watch_page(request: Request, rt: Runtime, watch_id: str, *, notice: str | None = None,
                error: str | None = None, secret: str = "", status: int = 200,
                backfill: dict[str, Any] | None = None) -> HTMLResponse:
    with using("state store"):
        watch = watches.get_watch(rt, watch_id)
        data = watches.describe(rt, [watch])[0]
        rows = sent_rows(WatchStore(rt.store).outbox(watch.id, ALERTS_SHOWN), {})
        muted = _stories(rt, data["muted_stories"])
        followed = _stories(rt, [watch.story_id]) if watch.story_id else {}
    return render(request, "watch.html", status=status, nav="watches", watch=data,
                  form=form_of(watch), sent=rows, muted=muted, followed=followed,
                  notice=notice, error=error, secret=secret, backfill=backfill,
                  modes=WATCH_MODES, labels=topic_labels(rt))


@router.get("/watches/{watch_id}", response_class=HTMLResponse)
def watch_page(request: Request, rt: RuntimeDep, viewer: KeyholderDep, watch_id: WatchRef,
               notice: str | None = None) -> HTMLResponse:
    return _watch_page(request, rt, watch_id, notice=NOTICES.get(notice or ""))


def _done(watch_id: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/web/watches/{quote(watch_id, safe='')}?notice={notice}",
                            status_code=303)


@router.post("/watches/{watch_id}", response_class=HTMLResponse)
def edit_watch(request: Request, rt: RuntimeDep, viewer: WriterDep, watch_id: WatchRef,
               form: Annotated[WatchForm, Form()]) -> Response:
    with using("state store"):
        watch = watches.get_watch(rt, watch_id)
        try:
            edited = watches.edit_watch(rt, watch.id, changes_from(form, watch, _lines))
        except (InvalidRequestError, QuerySyntaxError, NotFoundError) as exc:
            return _watch_page(request, rt, watch.id, error=str(exc), status=400)
    if edited.secret:
        return _watch_page(request, rt, watch.id, notice=NOTICES["edited"], secret=edited.secret)
    return _done(watch.id, "edited" if edited.changed else "unchanged")


@router.post("/watches/{watch_id}/pause", response_class=HTMLResponse)
def pause_watch(rt: RuntimeDep, viewer: WriterDep, watch_id: WatchRef) -> Response:
    with using("state store"):
        watch, _changed = watches.pause_watch(rt, watch_id)
    return _done(watch.id, "paused")


@router.post("/watches/{watch_id}/resume", response_class=HTMLResponse)
def resume_watch(rt: RuntimeDep, viewer: WriterDep, watch_id: WatchRef) -> Response:
    with using("state store"):
        watch, _changed = watches.resume_watch(rt, watch_id)
    return _done(watch.id, "resumed")


@router.post("/watches/{watch_id}/mute", response_class=HTMLResponse)
def mute_story(rt: RuntimeDep, viewer: WriterDep, watch_id: WatchRef,
               story_id: Annotated[str, Form(max_length=200)] = "") -> Response:
    with using("state store"):
        watch, _story, _changed = watches.mute_story(rt, watch_id, story_id.strip())
    return _done(watch.id, "muted")


@router.post("/watches/{watch_id}/unmute", response_class=HTMLResponse)
def unmute_story(rt: RuntimeDep, viewer: WriterDep, watch_id: WatchRef,
                 story_id: Annotated[str, Form(max_length=200)] = "") -> Response:
    with using("state store"):
        watch, _story, _changed = watches.unmute_story(rt, watch_id, story_id.strip())
    return _done(watch.id, "unmuted")


@router.post("/watches/{watch_id}/remove", response_class=HTMLResponse)
def remove_watch(rt: RuntimeDep, viewer: WriterDep, watch_id: WatchRef) -> Response:
    with using("state store"):
        watches.remove_watch(rt, watch_id)
    return RedirectResponse("/web/watches?notice=removed", status_code=303)
