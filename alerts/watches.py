"""Watches: saved searches (query, entity, topic, source and language filters) or followed
stories, with their recipients, notification URLs, mode and novelty threshold; added, edited,
paused and resumed, told to mute a story, looked up and removed the same way by the CLI, the
API and the tests.

A watch that notifies URLs (webhooks, Apprise) has a ``secret`` that signs what it sends;
it is made when the watch gets its first URL and is shown once, in what ``create_watch``
and ``edit_watch`` return, never in a listing (``describe``)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from alerts.backfill import Backfill, flush_digest, plan_backfill
from alerts.links import feed_url
from alerts.stage import PERIODS
from alerts.store import WatchStore
from core.errors import InvalidRequestError, NotFoundError
from core.models import WATCH_MODES, Watch, redact_destination
from core.runtime import Runtime
from enrich.topics import load_taxonomy
from search.entities import resolve_entity
from search.query import parse_query
from stories.store import StoryStore

DEFAULT_MIN_NOVELTY = 0.3
MAX_DESTINATIONS = 20
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,31}")
_NOT_NOTIFIERS = frozenset({"file", "data", "javascript", "ftp", "ftps", "sftp", "ssh", "ws",
                            "wss", "ldap", "gopher"})
_SEARCH_FIELDS = ("query", "entities", "topic", "source", "language")


@dataclass(frozen=True)
class Added:
    watch: Watch  # carries its new ``secret`` when it notifies URLs: show it now, once
    backfill: Backfill | None = None


@dataclass(frozen=True)
class Changes:
    """What ``edit_watch`` changes: ``None`` (or empty add/remove lists) leaves a field as
    it is; an empty string or list clears it. A list replaces, add/remove edit it."""

    name: str | None = None
    query: str | None = None
    entities: Sequence[str] | None = None
    topic: str | None = None
    source: str | None = None
    language: str | None = None
    mode: str | None = None
    min_novelty: float | None = None
    emails: Sequence[str] | None = None
    add_emails: Sequence[str] = ()
    remove_emails: Sequence[str] = ()
    destinations: Sequence[str] | None = None
    add_destinations: Sequence[str] = ()
    remove_destinations: Sequence[str] = ()
    rotate_secret: bool = False


@dataclass(frozen=True)
class Edited:
    watch: Watch
    changed: tuple[str, ...]  # the fields that changed ("entities" for names and ids)
    secret: str = ""  # the new webhook secret when one was made (shown once), else ""
    digests: int = 0  # digests queued for alerts that waited (digest mode → immediate)


def create_watch(
    rt: Runtime,
    name: str,
    emails: Sequence[str],
    *,
    query: str = "",
    entities: Sequence[str] = (),
    topic: str | None = None,
    source: str | None = None,
    language: str | None = None,
    story_id: str | None = None,
    mode: str = "immediate",
    min_novelty: float = DEFAULT_MIN_NOVELTY,
    destinations: Sequence[str] = (),
    backfill_days: int = 0,
) -> Added:
    """Save a watch. It sees articles that enter the index from now on; with
    ``backfill_days``, one digest per recipient also lists the matching stories published
    in those last days (``alerts.backfill``), stored with the watch in one transaction."""

    if story_id is not None:
        stories = StoryStore(rt.store)
        if stories.get(story_id) is None:
            raise NotFoundError(f"no story {story_id!r} (see `newswatch stories`)")
        story_id = stories.resolve(story_id)
    if any(not e.strip() for e in entities):
        raise InvalidRequestError("an entity name cannot be empty (--entity)")
    names = tuple(e.strip() for e in entities)
    urls = _unique(check_destination(d) for d in destinations)
    watch = _checked(rt, Watch(
        id=uuid.uuid4().hex[:16], name=" ".join(name.split()),
        recipients=_unique((check_email(e) for e in emails), fold=True), created_at=rt.clock(),
        query=query.strip(), entities=_entity_ids(names), entity_names=names,
        topic=(topic or "").strip() or None, source=(source or "").strip() or None,
        language=(language or "").strip().lower() or None, story_id=story_id, mode=mode,
        min_novelty=min_novelty, watermark=rt.store.ingest_high(), destinations=urls,
        secret=secrets.token_hex(32) if urls else "",
    ))
    plan = plan_backfill(rt, watch, backfill_days) if backfill_days else None
    if plan is None:
        WatchStore(rt.store).add(watch)
    else:
        WatchStore(rt.store).add(watch, alerts=plan.alerts, outbox=plan.outbox,
                                 stories=plan.story_rows)
    return Added(watch, plan)


def add_watch(
    rt: Runtime, name: str, emails: Sequence[str], *, query: str = "",
    entities: Sequence[str] = (), topic: str | None = None, source: str | None = None,
    language: str | None = None, story_id: str | None = None, mode: str = "immediate",
    min_novelty: float = DEFAULT_MIN_NOVELTY, destinations: Sequence[str] = (),
) -> Watch:
    """Save a watch: ``create_watch`` without a backfill."""
    return create_watch(rt, name, emails, query=query, entities=entities, topic=topic,
                        source=source, language=language, story_id=story_id, mode=mode,
                        min_novelty=min_novelty, destinations=destinations).watch


def follow_story(
    rt: Runtime, story_id: str, emails: Sequence[str], *, name: str = "",
    mode: str = "immediate", min_novelty: float = DEFAULT_MIN_NOVELTY,
    destinations: Sequence[str] = (),
) -> Watch:
    """Follow one story: follow-ups when its coverage brings something new."""

    story = StoryStore(rt.store).get(story_id)
    if story is None:
        raise NotFoundError(f"no story {story_id!r} (see `newswatch stories`)")
    name = name or f"story: {story.title[:150] or story_id}"
    return add_watch(rt, name, emails, story_id=story_id, mode=mode, min_novelty=min_novelty,
                     destinations=destinations)


def edit_watch(rt: Runtime, ref: str, changes: Changes) -> Edited:
    """Change a watch; what it matches changes from now on (nothing is matched again). A
    new query or filter also ends its following of the stories it was alerted about."""
    watch = get_watch(rt, ref)
    c = changes
    optional = (c.name, c.query, c.entities, c.topic, c.source, c.language, c.mode,
                c.min_novelty, c.emails, c.destinations)
    if (all(v is None for v in optional) and not (c.add_emails or c.remove_emails)
            and not (c.add_destinations or c.remove_destinations or c.rotate_secret)):
        raise InvalidRequestError("nothing to change: give at least one option (see --help)")
    if c.emails is not None and (c.add_emails or c.remove_emails):
        raise InvalidRequestError("give the recipients (--email), or what to add and remove "
                                  "(--add-email, --remove-email), not both")
    if c.destinations is not None and (c.add_destinations or c.remove_destinations):
        raise InvalidRequestError("give the notification URLs (--notify), or what to add and "
                                  "remove (--add-notify, --remove-notify), not both")
    if watch.story_id and any(getattr(c, f) is not None for f in _SEARCH_FIELDS):
        raise InvalidRequestError(f"watch {watch.name!r} follows story {watch.story_id}; it has "
                                  "no query or filters to change")
    new = watch
    if c.name is not None:
        new = replace(new, name=" ".join(c.name.split()))
    if c.query is not None:
        new = replace(new, query=c.query.strip())
    if c.entities is not None:
        names = tuple(dict.fromkeys(e.strip() for e in c.entities if e.strip()))
        new = replace(new, entities=_entity_ids(names), entity_names=names)
    if c.topic is not None:
        new = replace(new, topic=c.topic.strip() or None)
    if c.source is not None:
        new = replace(new, source=c.source.strip() or None)
    if c.language is not None:
        new = replace(new, language=c.language.strip().lower() or None)
    if c.mode is not None:
        new = replace(new, mode=c.mode)
    if c.min_novelty is not None:
        new = replace(new, min_novelty=c.min_novelty)
    new = replace(new, recipients=_edited_emails(watch, c),
                  destinations=_edited_destinations(watch, c))
    if c.rotate_secret and not new.destinations:
        raise InvalidRequestError(f"watch {watch.name!r} notifies no URL, so it has no secret "
                                  "to rotate")
    if (new.destinations and not watch.secret) or c.rotate_secret:
        new = replace(new, secret=secrets.token_hex(32))
    _checked(rt, new)
    fields = [f for f in WatchStore.EDITABLE if getattr(new, f) != getattr(watch, f)]
    searches = any(f in _SEARCH_FIELDS for f in fields)  # it no longer follows what it found
    stored = WatchStore(rt.store).update(watch.id, forget_stories=searches,
                                         **{f: getattr(new, f) for f in fields})
    digests = 0
    if watch.mode in PERIODS and stored.mode not in PERIODS:
        digests = flush_digest(rt, stored)
    shown = tuple(dict.fromkeys("entities" if f == "entity_names" else f for f in fields))
    return Edited(stored, shown, stored.secret if "secret" in fields else "", digests)


def pause_watch(rt: Runtime, ref: str) -> tuple[Watch, bool]:
    """Stop alerting (False: it was paused already). Its watermark keeps moving while it
    is paused, so resuming never sends what came in the meantime."""
    watch = get_watch(rt, ref)
    if watch.paused:
        return watch, False
    return WatchStore(rt.store).update(watch.id, paused=True), True


def resume_watch(rt: Runtime, ref: str) -> tuple[Watch, bool]:
    """Alert again, on what enters the index from now on (False: it was not paused)."""
    watch = get_watch(rt, ref)
    if not watch.paused:
        return watch, False
    return WatchStore(rt.store).resume(watch.id, rt.store.ingest_high()), True


def mute_story(rt: Runtime, ref: str, story_id: str) -> tuple[Watch, str, bool]:
    """No more alerts from this watch about this story (the story that holds it now, after
    merges); returns the watch, that story and False when it was muted already."""
    watch = get_watch(rt, ref)
    stories = StoryStore(rt.store)
    if stories.get(story_id) is None:
        raise NotFoundError(f"no story {story_id!r} (see `newswatch stories`)")
    target = stories.resolve(story_id)
    return watch, target, WatchStore(rt.store).mute(watch.id, target, rt.clock())


def unmute_story(rt: Runtime, ref: str, story_id: str) -> tuple[Watch, str, bool]:
    """Alert about this story again, from its next development (False: it was not muted)."""
    watch = get_watch(rt, ref)
    store, stories = WatchStore(rt.store), StoryStore(rt.store)
    muted = store.muted([watch.id])[watch.id]
    if story_id not in muted and stories.get(story_id) is None:
        raise NotFoundError(f"no story {story_id!r} (see `newswatch stories`)")
    target = stories.resolve(story_id)
    gone = [m for m in muted if m == story_id or stories.resolve(m) == target]
    return watch, target, any([store.unmute(watch.id, m) for m in gone])


def get_watch(rt: Runtime, ref: str) -> Watch:
    watch = WatchStore(rt.store).get(ref)
    if watch is None:
        raise NotFoundError(f"no watch {ref!r} (see `newswatch watch list`)")
    return watch


def remove_watch(rt: Runtime, ref: str) -> Watch:
    watch = get_watch(rt, ref)
    WatchStore(rt.store).remove(watch.id)
    return watch


def describe(rt: Runtime, watches: Sequence[Watch]) -> list[dict[str, Any]]:
    """Watches as the CLI and the API show them: state, notification URLs redacted, muted
    stories and the Atom feed's URL; never the secret."""
    muted = WatchStore(rt.store).muted([w.id for w in watches])
    return [{**w.as_dict(), "state": "paused" if w.paused else "active",
             "destinations": [shown_destination(d) for d in w.destinations],
             "muted_stories": sorted(muted[w.id]), "feed_url": feed_url(rt.settings, w.id)}
            for w in watches]


def shown_destination(url: str) -> str:
    """A notification URL fit to show (``core.models.redact_destination``)."""
    return redact_destination(url)


def check_email(address: str) -> str:
    """``address`` if it looks like a deliverable address (one @, no display name)."""
    address = address.strip()
    name, addr = parseaddr(address)
    local, _, domain = addr.rpartition("@")
    if (not addr or addr != address or name or not local or "." not in domain
            or any(c in address for c in " ,;<>\r\n\"") or len(address) > 254):
        raise InvalidRequestError(f"not an email address: {address!r}")
    return address


def check_destination(url: str) -> str:
    """``url`` if it has the form of a notification URL: ``https://…`` (or ``http://…``)
    for the generic webhook, else an Apprise URL (``slack://…``, ``tgram://…``,
    ``json://…``…). Errors show the URL redacted: it may hold a token."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    shown = shown_destination(url)
    hint = ("expected https://… (a webhook) or an Apprise URL such as slack://…, tgram://… "
            "or json://…")
    if (not sep or not _SCHEME.fullmatch(scheme) or not rest.strip("/") or len(url) > 2000
            or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url)):
        raise InvalidRequestError(f"not a notification URL: {shown!r}; {hint}")
    if scheme in _NOT_NOTIFIERS:
        raise InvalidRequestError(f"{scheme}:// does not notify anyone; {hint}")
    if scheme in ("http", "https"):
        try:
            parts = urlsplit(url)
            ok = bool(parts.hostname) and (parts.port is None or parts.port > 0)
        except ValueError:
            ok = False
        if not ok:
            raise InvalidRequestError(f"not a webhook URL (no valid host): {shown!r}")
    return url


def check_topic(rt: Runtime, topic: str) -> None:

    known = {t.name for t in load_taxonomy(rt.settings.taxonomy_path)}
    if topic not in known:
        raise InvalidRequestError(f"unknown topic {topic!r}; known topics: {', '.join(sorted(known))}")


def _checked(rt: Runtime, watch: Watch) -> Watch:
    """``watch`` if it is one a watch can be (the rules of add and edit alike)."""
    if not watch.name or len(watch.name) > 200:
        raise InvalidRequestError("a watch needs a name of 1 to 200 characters")
    if not (watch.recipients or watch.destinations):
        raise InvalidRequestError("a watch needs at least one email address (--email) or "
                                  "notification URL (--notify)")
    if len(watch.destinations) > MAX_DESTINATIONS:
        raise InvalidRequestError(f"a watch notifies at most {MAX_DESTINATIONS} URLs")
    if watch.mode not in WATCH_MODES:
        raise InvalidRequestError(
            f"unknown mode {watch.mode!r}; expected one of {', '.join(WATCH_MODES)}")
    if not 0.0 <= watch.min_novelty <= 1.0:
        raise InvalidRequestError(
            f"the minimum novelty must lie between 0 and 1, not {watch.min_novelty:g}")
    if watch.story_id is None:
        parse_query(watch.query)  # a malformed query is refused now, not at an evaluation
        if not (watch.query or watch.entities or watch.topic or watch.source or watch.language):
            raise InvalidRequestError(
                "a watch needs a query or a filter (--entity, --topic, --source…)")
        if watch.topic:
            check_topic(rt, watch.topic)
    return watch


def _entity_ids(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for e in names for i in resolve_entity(e)))


def _unique(values: Iterable[str], fold: bool = False) -> tuple[str, ...]:
    """``values`` in order, each once (compared case-insensitively with ``fold``)."""
    seen: dict[str, str] = {}
    for v in values:
        seen.setdefault(v.casefold() if fold else v, v)
    return tuple(seen.values())


def _edited_emails(watch: Watch, c: Changes) -> tuple[str, ...]:
    if c.emails is not None:
        return _unique((check_email(e) for e in c.emails), fold=True)
    kept = list(watch.recipients)
    for address in c.remove_emails:
        left = [r for r in kept if r.casefold() != address.strip().casefold()]
        if len(left) == len(kept):
            raise InvalidRequestError(
                f"{address.strip()!r} is not a recipient of watch {watch.name!r}")
        kept = left
    return _unique([*kept, *(check_email(e) for e in c.add_emails)], fold=True)


def _edited_destinations(watch: Watch, c: Changes) -> tuple[str, ...]:
    if c.destinations is not None:
        return _unique(check_destination(d) for d in c.destinations)
    kept = list(watch.destinations)
    for given in c.remove_destinations:
        url = given.strip()
        found = [d for d in kept if d == url] or [d for d in kept if shown_destination(d) == url]
        if len(set(found)) > 1:
            raise InvalidRequestError(f"{url!r} stands for {len(found)} notification URLs of "
                                      f"watch {watch.name!r}; give the whole URL")
        if not found:
            raise InvalidRequestError(f"watch {watch.name!r} does not notify "
                                      f"{shown_destination(url)!r}")
        kept = [d for d in kept if d != found[0]]
    return _unique([*kept, *(check_destination(d) for d in c.add_destinations)])
