"""What each setting may be: ranges for numbers, no control characters in text. Checked when
settings are loaded, so a bad value is one ``error:`` line naming the setting, the value and
what is allowed, never a run that exits 0 having fetched or sent nothing."""

from __future__ import annotations

import math
import re
from typing import Any

# name -> (lowest, highest, what the message says is allowed); None: unbounded on that side
RANGES: dict[str, tuple[float | None, float | None, str]] = {
    "api_port": (1, 65535, "a port from 1 to 65535"),
    "smtp_port": (0, 65535, "0 (by security) or a port from 1 to 65535"),
    "demo_port": (1, 65531, "a port from 1 to 65531 (the demo uses five in a row)"),
    "smtp_timeout": (0.001, None, "a number of seconds above 0"),
    "connect_timeout": (0.001, None, "a number of seconds above 0"),
    "read_timeout": (0.001, None, "a number of seconds above 0"),
    "total_timeout": (0.001, None, "a number of seconds above 0"),
    "max_response_bytes": (1, None, "a number of bytes above 0"),
    "max_redirects": (0, 100, "a whole number from 0 to 100"),
    "fetch_concurrency": (1, 1024, "a whole number from 1 to 1024"),
    "per_host_concurrency": (1, 1024, "a whole number from 1 to 1024"),
    "per_host_delay": (0, 3600, "seconds from 0 to 3600"),
    "max_retry_after": (0, 86400, "seconds from 0 to 86400"),
    "robots_ttl_seconds": (0, None, "seconds, 0 or more"),
    "extract_processes": (0, 1024, "0 (one per core) or a whole number up to 1024"),
    "enrich_processes": (0, 1024, "0 (one per core) or a whole number up to 1024"),
    "min_article_chars": (0, None, "a number of characters, 0 or more"),
    "poll_interval_seconds": (1, None, "seconds, 1 or more"),
    "min_feed_interval": (1, None, "seconds, 1 or more"),
    "max_feed_interval": (1, None, "seconds, 1 or more"),
    "initial_feed_interval": (1, None, "seconds, 1 or more"),
    "unhealthy_after": (1, None, "a whole number, 1 or more"),
    "future_date_tolerance": (0, None, "seconds, 0 or more"),
    "story_threshold": (0, 1, "a probability from 0 to 1"),
    "story_dormant_days": (0.001, None, "a number of days above 0"),
    "story_reopen_days": (0.001, None, "a number of days above 0"),
    "revision_retention_days": (0, None, "days, 0 (keep all) or more"),
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def parse_bool(value: Any) -> bool:
    """``True``/``False`` from a TOML boolean or the words above; anything else is an error
    (an unknown word never means "off": that would fail open)."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise ValueError("expected one of 1/true/yes/on or 0/false/no/off")


def problems(values: dict[str, Any]) -> list[str]:
    """Every value of ``values`` (setting name -> coerced value) that is not allowed."""
    found = []
    for name, value in values.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            found.append(f"setting {name}={value!r} is invalid: it must be a finite number")
            continue
        if name in RANGES and isinstance(value, int | float):
            low, high, allowed = RANGES[name]
            if (low is not None and value < low) or (high is not None and value > high):
                found.append(f"setting {name}={value!r} is invalid: it must be {allowed}")
        if isinstance(value, str) and _CONTROL.search(value):
            found.append(f"setting {name} is invalid: it contains a line break or another "
                         "control character")
    low, high = values.get("min_feed_interval"), values.get("max_feed_interval")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        found.append(f"settings min_feed_interval={low} and max_feed_interval={high} are "
                     "invalid: the minimum must not exceed the maximum")
    return found
