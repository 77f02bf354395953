from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from core.models import Feed
from ingest.dates import choose_published, plausible
from ingest.health import assess
from ingest.schedule import backoff_delay, jitter, next_interval

LO, HI = 300, 86400
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "new", "total", "expected"),
    [
        (3600, 10, 10, 1800),  # all new: poll twice as often
        (3600, 7, 10, 1800),  # more than 2/3
        (3600, 5, 10, 3600),  # in between: keep
        (3600, 3, 10, 5400),  # fewer than 1/3: back off
        (3600, 0, 0, 5400),  # nothing at all (or not modified)
        (400, 10, 10, 300),  # never below 5 minutes
        (80000, 0, 10, 86400),  # never above a day
    ],
)
def test_adaptive_interval(current: int, new: int, total: int, expected: int) -> None:
    assert next_interval(current, new, total, LO, HI) == expected


def test_failures_back_off_exponentially_to_the_longest_interval() -> None:
    delays = [backoff_delay(n, 600, LO, HI) for n in range(1, 10)]
    assert delays[:4] == [1200, 2400, 4800, 9600]
    assert delays[-1] == HI and delays == sorted(delays)


def test_jitter_stays_within_ten_percent() -> None:
    rng = random.Random(7)
    values = [jitter(1000, rng) for _ in range(200)]
    assert all(900 <= v <= 1100 for v in values) and len(set(values)) > 100


def test_dates() -> None:
    day = timedelta(days=1)
    feed = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    with_time = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    bare_day = datetime(2026, 11, 20, tzinfo=UTC)
    assert choose_published(with_time, feed, NOW, day) == (with_time, "page")
    assert choose_published(bare_day, feed, NOW, day) == (feed, "feed")
    assert choose_published(bare_day, None, NOW, day) == (bare_day, "page")
    future = NOW + timedelta(days=30)
    ancient = datetime(1970, 1, 1, tzinfo=UTC)
    assert choose_published(future, ancient, NOW, day) == (NOW, "first-seen")
    assert plausible(NOW + timedelta(hours=20), NOW, day)
    assert not plausible(datetime(1994, 12, 31, tzinfo=UTC), NOW, day)


def _feed(**kw: object) -> Feed:
    return Feed(id=1, url="https://x.example/feed", last_polled_at=NOW, **kw)  # type: ignore[arg-type]


def test_health_counts_items_and_flags_a_quiet_feed_as_stale() -> None:
    daily = [NOW - timedelta(days=d) for d in range(0, 20)]
    healthy = assess(_feed(), daily, NOW, unhealthy_after=5)
    assert healthy.state == "ok" and not healthy.stale
    assert healthy.items_per_day == 1.0 and healthy.usual_gap_hours == 24.0
    quiet = assess(_feed(), [d - timedelta(days=4) for d in daily], NOW, unhealthy_after=5)
    assert quiet.stale and quiet.items_per_day == pytest.approx(3 / 7, abs=0.01)
    failing = assess(_feed(consecutive_failures=5, last_error="HTTP 500"), daily, NOW, 5)
    assert failing.state == "unhealthy"
    assert assess(_feed(paused=True), [], NOW, 5).state == "paused"
    assert not assess(_feed(), [NOW - timedelta(days=40)], NOW, 5).stale  # too little history


def test_a_feed_has_one_state_that_agrees_with_its_flags() -> None:
    daily = [NOW - timedelta(days=d) for d in range(0, 20)]
    quiet = assess(_feed(), [d - timedelta(days=4) for d in daily], NOW, unhealthy_after=5)
    assert quiet.state == "quiet" and quiet.stale and quiet.last_polled == NOW
    failing = assess(_feed(consecutive_failures=2, last_error="HTTP 503"), daily, NOW, 5)
    assert failing.state == "failing"
    old = [d - timedelta(days=4) for d in daily]
    assert assess(_feed(consecutive_failures=1), old, NOW, 5).state == "failing"  # before quiet
    assert assess(_feed(paused=True), old, NOW, 5).state == "paused"
    never = Feed(id=2, url="https://y.example/feed")
    assert assess(never, [], NOW, 5).state == "new" and assess(never, [], NOW, 5).last_polled is None
