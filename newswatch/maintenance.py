"""Housekeeping that a daily job runs: feed health, old revisions, dormant stories, the index.

newswatch stores no raw HTML (pages are extracted as they are fetched), so what grows
without bound is the text of superseded article revisions; :func:`prune_revisions` drops
those older than ``revision_retention_days``. Every function takes the time it stands for
as ``now`` and is safe to repeat.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, select

from core import schema as t
from core.runtime import Runtime

log = logging.getLogger(__name__)


def feed_health(rt: Runtime, now: datetime) -> dict[str, int]:
    """Assess every feed (as ``newswatch feeds health`` does), log the unhealthy and stale
    ones, and return how many feeds are in each state, plus ``stale``."""
    from ingest.health import assess

    counts: Counter[str] = Counter()
    for feed in rt.store.list_feeds():
        health = assess(feed, rt.store.entry_dates(feed.id), now, rt.settings.unhealthy_after)
        counts[health.state] += 1
        counts["stale"] += health.stale
        if health.state == "unhealthy":
            log.warning("feed %s is unhealthy after %d failures: %s", feed.url,
                        health.consecutive_failures, health.last_error)
        elif health.stale:
            log.warning("feed %s is stale: nothing new since %s", feed.url, health.last_item_at)
    return {"stale": 0, **counts}


def prune_revisions(rt: Runtime, now: datetime) -> int:
    """Delete the stored text of superseded revisions fetched more than
    ``revision_retention_days`` before ``now``; an article's current revision always stays.
    Returns the revisions deleted (0 when the retention is 0: keep everything)."""
    days = rt.settings.revision_retention_days
    if days <= 0:
        return 0
    r, a = t.revisions, t.articles
    superseded = exists().where(and_(a.c.id == r.c.article_id, a.c.revision > r.c.revision))
    query = delete(r).where(r.c.fetched_at < now - timedelta(days=days), superseded)
    with rt.store.tx() as conn:
        return int(conn.execute(query).rowcount or 0)


def dormant_stories(rt: Runtime, now: datetime) -> dict[str, int]:
    """How many stories are active and how many went dormant in the last day.

    Dormancy needs no write: an article joins a story updated within
    ``story_dormant_days`` of its own date, or a quieter one only when it continues it (see
    ``stories.stage.decide_story``), so a story closes by itself, and an article that
    arrives late can still join the story it belongs to."""
    s = t.stories
    cutoff = now - timedelta(days=rt.settings.story_dormant_days)
    live = s.c.merged_into.is_(None)
    with rt.store.engine.connect() as conn:
        active = conn.execute(
            select(func.count()).where(live, s.c.last_updated >= cutoff)
        ).scalar_one()
        closed = conn.execute(select(func.count()).where(
            live, s.c.last_updated < cutoff, s.c.last_updated >= cutoff - timedelta(days=1)
        )).scalar_one()
    return {"active": int(active), "went_dormant": int(closed)}
