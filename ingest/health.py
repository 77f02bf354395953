"""Feed health: is a feed working, how much does it publish, has it gone quiet. Pure.

One state per feed, the first that holds:

* ``paused``: not polled until resumed;
* ``unhealthy``: its last ``unhealthy_after`` polls (or more) all failed;
* ``new``: not polled yet;
* ``failing``: its last poll failed (fewer failures in a row than ``unhealthy_after``);
* ``quiet``: polls work, but the feed has published nothing for three times its usual gap
  (the median gap between its recent items; at least three items seen) — the site may
  have moved the feed or stopped it;
* ``ok``: polls work and the feed publishes as it used to.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from core.models import Feed

STATES = ("ok", "quiet", "failing", "unhealthy", "new", "paused")
WINDOW = timedelta(days=7)  # items per day are counted over the last week
GAP_SAMPLE = 20  # the usual gap is the median of the last this-many gaps
STALE_FACTOR = 3  # stale: nothing new for three times the usual gap


@dataclass(frozen=True)
class FeedHealth:
    feed_id: int
    url: str
    title: str
    state: str  # STATES
    last_success: datetime | None
    last_error: str
    consecutive_failures: int
    interval_seconds: int
    next_poll_at: datetime | None
    items_per_day: float
    usual_gap_hours: float | None
    last_item_at: datetime | None
    stale: bool  # nothing new for STALE_FACTOR usual gaps (the state says "quiet" when polls work)
    last_polled: datetime | None = None


def assess(
    feed: Feed, item_dates: list[datetime], now: datetime, unhealthy_after: int
) -> FeedHealth:
    """Health of ``feed`` given the dates of its items (any order)."""
    dates = sorted(d for d in item_dates if d <= now)
    recent = [d for d in dates if d > now - WINDOW]
    gaps = [(b - a).total_seconds() for a, b in pairwise(dates)]
    gaps = [g for g in gaps[-GAP_SAMPLE:] if g > 0]
    usual_gap = statistics.median(gaps) if gaps else None
    last_item = dates[-1] if dates else None
    stale = bool(
        usual_gap and last_item and len(dates) >= 3
        and (now - last_item).total_seconds() > STALE_FACTOR * usual_gap
    )
    if feed.paused:
        state = "paused"
    elif feed.consecutive_failures >= unhealthy_after:
        state = "unhealthy"
    elif feed.last_polled_at is None:
        state = "new"
    elif feed.consecutive_failures:
        state = "failing"
    elif stale:
        state = "quiet"
    else:
        state = "ok"
    return FeedHealth(
        feed_id=feed.id,
        url=feed.url,
        title=feed.title,
        state=state,
        last_success=feed.last_success_at,
        last_error=feed.last_error,
        consecutive_failures=feed.consecutive_failures,
        interval_seconds=feed.interval_seconds,
        next_poll_at=feed.next_poll_at,
        items_per_day=round(len(recent) / WINDOW.days, 2),
        usual_gap_hours=round(usual_gap / 3600, 2) if usual_gap else None,
        last_item_at=last_item,
        stale=stale,
        last_polled=feed.last_polled_at,
    )
