"""What an alert email says, as plain frozen data: built by the alert matcher, read by render."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

AlertKind = Literal["new-story", "follow-up", "digest"]
ALERT_KINDS: tuple[str, ...] = ("new-story", "follow-up", "digest")


@dataclass(frozen=True)
class AlertItem:
    """One article in an alert. ``title``, ``snippet``, ``source`` and ``url`` are untrusted.

    ``additions`` is the article's novelty record (``stories.novelty.assess``): keys
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
    data = {
        "kind": alert.kind, "watch_name": alert.watch_name, "recipients": list(alert.recipients),
        "story_id": alert.story_id, "story_title": alert.story_title,
        "items": [_item_dict(i) for i in alert.items], "outlets_count": alert.outlets_count,
        "new_count": alert.new_count, "idempotency_key": alert.idempotency_key,
        "mail_from": alert.mail_from,
        "stories": [
            {"story_id": s.story_id, "story_title": s.story_title,
             "items": [_item_dict(i) for i in s.items], "outlets_count": s.outlets_count,
             "new_count": s.new_count}
            for s in alert.stories
        ],
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)


def _item_dict(item: AlertItem) -> dict[str, Any]:
    return {
        "article_id": item.article_id, "title": item.title, "url": item.url,
        "source": item.source, "published": item.published.isoformat() if item.published else None,
        "snippet": item.snippet, "novelty": item.novelty, "additions": item.additions,
    }


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
