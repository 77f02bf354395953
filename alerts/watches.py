"""Watches: saved searches (query, entity, topic, source and language filters) or followed
stories, with their recipients, mode and novelty threshold; added, looked up and removed the
same way by the CLI, the API and the tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from email.utils import parseaddr

from alerts.store import WatchStore
from core.errors import InvalidRequestError, NotFoundError
from core.models import WATCH_MODES, Watch
from core.runtime import Runtime
from enrich.topics import load_taxonomy
from search.entities import resolve_entity
from search.query import parse_query
from stories.store import StoryStore

DEFAULT_MIN_NOVELTY = 0.3


def add_watch(
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
) -> Watch:
    """Save a watch. It sees articles that enter the index from now on."""

    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise InvalidRequestError("a watch needs a name of 1 to 200 characters")
    recipients = tuple(dict.fromkeys(check_email(e) for e in emails))
    if not recipients:
        raise InvalidRequestError("a watch needs at least one email address (--email)")
    if mode not in WATCH_MODES:
        raise InvalidRequestError(f"unknown mode {mode!r}; expected one of {', '.join(WATCH_MODES)}")
    if not 0.0 <= min_novelty <= 1.0:
        raise InvalidRequestError(f"the minimum novelty must lie between 0 and 1, not {min_novelty:g}")
    if story_id is None:
        parse_query(query)  # a malformed query is refused now, not at the first evaluation
        if not (query.strip() or entities or topic or source or language):
            raise InvalidRequestError("a watch needs a query or a filter (--entity, --topic, --source…)")
        if topic:
            check_topic(rt, topic)
    else:

        stories = StoryStore(rt.store)
        if stories.get(story_id) is None:
            raise NotFoundError(f"no story {story_id!r} (see `newswatch stories`)")
        story_id = stories.resolve(story_id)
    ids = tuple(dict.fromkeys(i for e in entities for i in resolve_entity(e)))
    watch = Watch(
        id=uuid.uuid4().hex[:16], name=name, recipients=recipients, created_at=rt.clock(),
        query=query.strip(), entities=ids, entity_names=tuple(entities), topic=topic or None,
        source=source or None, language=(language or "").lower() or None, story_id=story_id,
        mode=mode, min_novelty=min_novelty, watermark=rt.store.ingest_high(),
    )
    return WatchStore(rt.store).add(watch)


def follow_story(
    rt: Runtime, story_id: str, emails: Sequence[str], *, name: str = "",
    mode: str = "immediate", min_novelty: float = DEFAULT_MIN_NOVELTY,
) -> Watch:
    """Follow one story: follow-ups when its coverage brings something new."""

    story = StoryStore(rt.store).get(story_id)
    if story is None:
        raise NotFoundError(f"no story {story_id!r} (see `newswatch stories`)")
    name = name or f"story: {story.title[:150] or story_id}"
    return add_watch(rt, name, emails, story_id=story_id, mode=mode, min_novelty=min_novelty)


def get_watch(rt: Runtime, ref: str) -> Watch:
    watch = WatchStore(rt.store).get(ref)
    if watch is None:
        raise NotFoundError(f"no watch {ref!r} (see `newswatch watch list`)")
    return watch


def remove_watch(rt: Runtime, ref: str) -> Watch:
    watch = get_watch(rt, ref)
    WatchStore(rt.store).remove(watch.id)
    return watch


def check_email(address: str) -> str:
    """``address`` if it looks like a deliverable address (one @, no display name)."""
    address = address.strip()
    name, addr = parseaddr(address)
    local, _, domain = addr.rpartition("@")
    if (not addr or addr != address or name or not local or "." not in domain
            or any(c in address for c in " ,;<>\r\n\"") or len(address) > 254):
        raise InvalidRequestError(f"not an email address: {address!r}")
    return address


def check_topic(rt: Runtime, topic: str) -> None:

    known = {t.name for t in load_taxonomy(rt.settings.taxonomy_path)}
    if topic not in known:
        raise InvalidRequestError(f"unknown topic {topic!r}; known topics: {', '.join(sorted(known))}")
