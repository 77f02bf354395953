"""Which publication date to believe, and where it came from. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)  # no web news feed predates this


def plausible(value: datetime | None, now: datetime, tolerance: timedelta) -> bool:
    """A date between 1995 and ``now`` plus the tolerance for clock and timezone slips."""
    return value is not None and EARLIEST <= value <= now + tolerance


def choose_published(
    page: datetime | None, feed: datetime | None, first_seen: datetime, tolerance: timedelta
) -> tuple[datetime, str]:
    """The page's date when it has a time of day, else the feed's, else the page's bare
    day, else the first-seen time; implausible dates are skipped. Returns (date, source)."""
    has_time = page is not None and (page.hour, page.minute, page.second) != (0, 0, 0)
    candidates = [
        (page if has_time else None, "page"),
        (feed, "feed"),
        (page, "page"),
    ]
    for value, source in candidates:
        if value is not None and plausible(value, first_seen, tolerance):
            return value, source
    return first_seen, "first-seen"
