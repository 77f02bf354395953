"""What an alert email says, as plain frozen data: built by the alert matcher, read by render."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

AlertKind = Literal["new-story", "follow-up", "digest"]
ALERT_KINDS: tuple[str, ...] = ("new-story", "follow-up", "digest")


@dataclass(frozen=True)
class AlertItem:
    """One article in an alert. ``title``, ``snippet``, ``source`` and ``url`` are untrusted.

    ``additions`` is the article's novelty record (``enrich.novelty.assess``): keys
    ``new_entities``, ``new_speakers``, ``new_sentences``, ``new_sentence_count``,
    ``new_numbers`` (lists) and ``new_outlet`` (outlet name or None).
    """

    article_id: str
    title: str
    url: str
    source: str
    published: datetime | None = None
    snippet: str = ""
    novelty: float | None = None
    additions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DigestStory:
    """One story in a digest: the articles since the last digest plus the story's counts."""

    story_id: str
    story_title: str
    items: tuple[AlertItem, ...]
    outlets_count: int = 0  # outlets that have covered the story so far
    new_count: int = 0  # articles since the recipient's last digest

    @property
    def latest(self) -> datetime | None:
        """When the story last developed (its newest dated item)."""
        dates = [i.published for i in self.items if i.published is not None]
        return max(dates, key=_sortable) if dates else None


@dataclass(frozen=True)
class AlertContent:
    """Everything one alert email needs.

    ``new-story`` and ``follow-up`` are about one story (``story_id``, ``story_title``,
    ``items``); a ``digest`` groups several in ``stories`` (rendered newest development
    first). ``idempotency_key`` identifies this alert for these recipients: the same key
    gives the same Message-ID, so a retried send is recognisable as the same message.
    """

    kind: AlertKind
    watch_name: str
    recipients: tuple[str, ...]
    story_id: str = ""
    story_title: str = ""
    items: tuple[AlertItem, ...] = ()
    outlets_count: int = 0
    new_count: int = 0
    idempotency_key: str = ""
    mail_from: str = "newswatch@localhost"
    stories: tuple[DigestStory, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ALERT_KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}; expected one of {ALERT_KINDS}")
        if not self.recipients:
            raise ValueError("an alert needs at least one recipient")
        if not self.idempotency_key:
            raise ValueError("an alert needs an idempotency key (it makes the Message-ID)")
        if self.kind == "digest":
            if not self.stories:
                raise ValueError("a digest needs at least one story")
        elif not self.story_id:
            raise ValueError(f"a {self.kind} alert needs a story_id")


def _sortable(value: datetime) -> float:
    """A timestamp for ordering; naive datetimes count as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def digest_order(stories: tuple[DigestStory, ...]) -> list[DigestStory]:
    """Newest development first; undated stories last, otherwise in the given order."""
    return sorted(
        stories, key=lambda s: (s.latest is None, -_sortable(s.latest) if s.latest else 0.0)
    )


def content_to_json(alert: AlertContent) -> str:
    """``alert`` as JSON (what the outbox stores; rendered at send time)."""
    return json.dumps(_plain(asdict(alert)), ensure_ascii=False, sort_keys=True)


def content_from_json(text: str) -> AlertContent:
    data = json.loads(text)
    data["recipients"] = tuple(data["recipients"])
    data["items"] = tuple(_item(i) for i in data.get("items", ()))
    data["stories"] = tuple(
        DigestStory(**{**s, "items": tuple(_item(i) for i in s["items"])})
        for s in data.get("stories", ())
    )
    return AlertContent(**data)


def _item(data: dict[str, Any]) -> AlertItem:
    published = data.get("published")
    return AlertItem(**{**data, "published": datetime.fromisoformat(published) if published else None})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
