"""What the pages' filter forms send, read leniently: an empty field is no filter, a date
that is not one is a message on the page (not an error page), and topic tags come with the
taxonomy's labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from core.errors import NewswatchError
from core.runtime import Runtime
from enrich.topics import load_taxonomy

MAX_FIELD = 200  # characters of a filter field


@dataclass
class Filters:
    """The filters a page was given, cleaned, and what was wrong with them."""

    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def text(self, name: str, given: str | None) -> str | None:
        value = " ".join((given or "").split())[:MAX_FIELD]
        if value:
            self.values[name] = value
        return value or None

    def day(self, name: str, given: str | None, *, end: bool = False) -> datetime | None:
        """A ``YYYY-MM-DD`` field as the start (or, ``end``, the last moment) of that UTC
        day."""
        value = (given or "").strip()
        if not value:
            return None
        try:
            parsed = date.fromisoformat(value[:10])
        except ValueError:
            self.problems.append(f"{name}: {value[:40]!r} is not a date (YYYY-MM-DD); ignored")
            return None
        self.values[name] = parsed.isoformat()
        return datetime.combine(parsed, time.max if end else time.min).replace(tzinfo=UTC)


def topic_labels(rt: Runtime) -> dict[str, str]:
    """Topic tag → label from the taxonomy; without labels when the file is broken."""
    try:
        return {topic.name: topic.label for topic in load_taxonomy(rt.settings.taxonomy_path)}
    except (NewswatchError, OSError):
        return {}
