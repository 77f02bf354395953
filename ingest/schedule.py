"""Adaptive polling: when to poll a feed next. Pure functions.

A feed that brings mostly new items each poll is polled more often, one that brings few
less often (the switch points, 2/3 and 1/3 of the items, follow Media Cloud's fetcher).
A failing feed backs off exponentially up to the longest interval and keeps being retried
there. Jitter spreads feeds out so they do not all come due at once.
"""

from __future__ import annotations

import random

SHORTEN = 0.5  # interval factor when more than 2/3 of a poll's items are new
LENGTHEN = 1.5  # interval factor when fewer than 1/3 are


def next_interval(current: int, new_items: int, total_items: int, lo: int, hi: int) -> int:
    """The feed's next base interval in seconds, within ``[lo, hi]``."""
    current = max(lo, min(hi, current))
    if total_items > 0 and new_items / total_items > 2 / 3:
        current = int(current * SHORTEN)
    elif total_items == 0 or new_items / total_items < 1 / 3:
        current = int(current * LENGTHEN)
    return max(lo, min(hi, current))


def backoff_delay(failures: int, base: int, lo: int, hi: int) -> int:
    """Seconds before retrying a feed that failed ``failures`` times in a row."""
    if failures <= 0:
        return max(lo, min(hi, base))
    return min(hi, max(lo, base) * 2 ** min(failures, 20))


def jitter(seconds: float, rng: random.Random, spread: float = 0.1) -> float:
    """``seconds`` moved at random by up to ``spread`` of itself either way."""
    return seconds * (1 + rng.uniform(-spread, spread))
