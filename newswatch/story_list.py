"""The stories ``newswatch stories`` lists: filtered by topic, entity, date and size, and
ordered so that what is developing across outlets comes first (docs/stories.md, "Listing
stories").

``developing`` (the default order): the stories whose last development falls within
``DEVELOPING_HOURS`` of the newest development listed come first, those covered by more
outlets first, then by more articles, then the newest; every older story follows, newest
development first. ``newest``: newest development first, as ``GET /stories``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from core import schema as t
from core.rows import article_from_row
from core.runtime import Runtime
from newswatch import console as out

DEVELOPING_HOURS = 72  # "developing": last development within this of the newest one
ORDERS = ("developing", "newest")
TOPICS_SHOWN = 3  # topics per story: those most of its articles carry


def list_stories(
    rt: Runtime, *, topic: str | None = None, entities: tuple[str, ...] = (),
    since: datetime | None = None, min_articles: int = 1, order: str = "developing",
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Stories as ``story_dict`` gives them, plus ``outlet_count``, ``topics`` (best first)
    and ``developing`` (whether the story is within the developing window)."""
    s, a = t.stories, t.articles
    conditions: list[ColumnElement[bool]] = [s.c.merged_into.is_(None)]
    if since is not None:
        conditions.append(s.c.last_updated >= since)
    if min_articles > 1:
        conditions.append(s.c.article_count >= min_articles)
    if topic:
        tagged = (select(a.c.story_id).join(t.article_topics, t.article_topics.c.article_id == a.c.id)
                  .where(t.article_topics.c.tag == topic))
        conditions.append(s.c.id.in_(tagged))
    if entities:
        about = (select(a.c.story_id)
                 .join(t.article_entities, t.article_entities.c.article_id == a.c.id)
                 .where(t.article_entities.c.entity_id.in_(list(entities))))
        conditions.append(s.c.id.in_(about))
    with rt.store.engine.connect() as conn:
        newest = conn.execute(select(func.max(s.c.last_updated)).where(*conditions)).scalar()
        if newest is None:
            return []
        cut = newest - timedelta(hours=DEVELOPING_HOURS)
        in_window = s.c.last_updated >= cut
        window = select(s.c.id).where(in_window, *conditions)
        outlets = (select(a.c.story_id, func.count(func.distinct(a.c.source)).label("n"))
                   .where(a.c.story_id.in_(window)).group_by(a.c.story_id).subquery())
        query = (select(s.c.id, s.c.title, s.c.first_seen, s.c.last_updated, s.c.profile,
                        func.coalesce(outlets.c.n, 0).label("outlets"), in_window.label("recent"))
                 .outerjoin(outlets, outlets.c.story_id == s.c.id).where(*conditions))
        if order == "developing":
            query = query.order_by(
                case((in_window, 1), else_=0).desc(), func.coalesce(outlets.c.n, 0).desc(),
                case((in_window, s.c.article_count), else_=0).desc(),
                s.c.last_updated.desc(), s.c.id)
        else:
            query = query.order_by(s.c.last_updated.desc(), s.c.id)
        rows = conn.execute(query.limit(limit)).all()
    ids = [r.id for r in rows]
    articles = _articles(rt, ids)
    topics = _topics(rt, ids)
    listed = []
    for r in rows:
        story = SimpleNamespace(id=r.id, title=r.title, first_seen=r.first_seen,
                                last_updated=r.last_updated, profile=json.loads(r.profile or "{}"))
        data = out.story_dict(story, articles.get(r.id, []))
        data["outlet_count"] = len(data["outlets"])
        data["topics"] = topics.get(r.id, [])
        data["developing"] = bool(r.recent) and data["outlet_count"] > 1
        listed.append(data)
    return listed


def _articles(rt: Runtime, ids: list[str]) -> dict[str, list[Any]]:
    a = t.articles
    when = func.coalesce(a.c.published_at, a.c.first_seen_at)
    found: dict[str, list[Any]] = defaultdict(list)
    with rt.store.engine.connect() as conn:
        for i in range(0, len(ids), 500):
            query = select(a).where(a.c.story_id.in_(ids[i : i + 500])).order_by(when, a.c.id)
            for row in conn.execute(query):
                found[row.story_id].append(article_from_row(row))
    return found


def _topics(rt: Runtime, ids: list[str]) -> dict[str, list[str]]:
    """Each story's topic tags, those most of its articles carry first (then the stronger)."""
    a, at = t.articles, t.article_topics
    counted: dict[str, list[tuple[int, float, str]]] = defaultdict(list)
    with rt.store.engine.connect() as conn:
        for i in range(0, len(ids), 500):
            query = (select(a.c.story_id, at.c.tag, func.count(), func.sum(at.c.score))
                     .join(at, at.c.article_id == a.c.id)
                     .where(a.c.story_id.in_(ids[i : i + 500])).group_by(a.c.story_id, at.c.tag))
            for story_id, tag, n, score in conn.execute(query):
                counted[story_id].append((-int(n), -float(score or 0), tag))
    return {sid: [tag for *_rank, tag in sorted(tags)[:TOPICS_SHOWN]]
            for sid, tags in counted.items()}
