"""What an alert says, as plain frozen data: built by the alert stage, read by render and
the channels (``alerts.channels``), stored in the outbox as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from core.models import Watch

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
    language: str = ""  # ISO 639-1; "" or "en": shown as before
    about: str = ""  # not English: "About: <entities> · topics: <labels>", in English


@dataclass(frozen=True)
class MatchReason:
    """Why an alert reached its reader: the watch, and what that watch asks for."""

    watch_id: str
    watch_name: str
    query: str = ""
    topic: str = ""
    entities: tuple[str, ...] = ()  # as the user typed them
    source: str = ""
    language: str = ""
    follows_story: bool = False  # the watch follows this one story
    # how this alert's article reached a search watch: "" it matched; "following" it did
    # not match but develops a story the watch alerted about; "split" its story was split
    # off one the watch alerted about
    via: str = ""

    @classmethod
    def of(cls, watch: Watch) -> MatchReason:
        return cls(
            watch_id=watch.id, watch_name=watch.name, query=watch.query, topic=watch.topic or "",
            entities=tuple(watch.entity_names or watch.entities), source=watch.source or "",
            language=watch.language or "", follows_story=bool(watch.story_id),
        )


@dataclass(frozen=True)
class DigestStory:
    """One story in a digest: the articles since the last digest plus the story's counts."""

    story_id: str
    story_title: str
    items: tuple[AlertItem, ...]
    outlets_count: int = 0  # outlets that have covered the story so far
    new_count: int = 0  # articles since the recipient's last digest
    topics: tuple[tuple[str, str], ...] = ()  # (tag, label)
    entities: tuple[str, ...] = ()  # the story's main entities, strongest first
    outlets: tuple[str, ...] = ()  # every outlet so far, in order of coverage
    reasons: tuple[MatchReason, ...] = ()

    @property
    def latest(self) -> datetime | None:
        """When the story last developed (its newest dated item)."""
        dates = [i.published for i in self.items if i.published is not None]
        return max(dates, key=_sortable) if dates else None


@dataclass(frozen=True)
class AlertContent:
    """Everything one alert needs, whatever the channel.

    ``new-story`` and ``follow-up`` are about one story (``story_id``, ``story_title``,
    ``items``); a ``digest`` groups several in ``stories`` (rendered newest development
    first). ``idempotency_key`` identifies this alert for these recipients: the same key
    gives the same Message-ID, so a retried send is recognisable as the same message.
    ``reasons`` names every watch the alert is for (several when one person's watches met
    the same story); ``topics``, ``entities`` and ``outlets`` describe the story.
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
    topics: tuple[tuple[str, str], ...] = ()  # (tag, label)
    entities: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    reasons: tuple[MatchReason, ...] = ()

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

    @property
    def watch_reasons(self) -> tuple[MatchReason, ...]:
        """The watches this alert is for (an alert stored before reasons were kept names
        its one watch only)."""
        return self.reasons or (MatchReason("", self.watch_name),)


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


# -- several alerts of one reader as one ---------------------------------------------------


def merge_alerts(alerts: Sequence[AlertContent], key: str) -> AlertContent:
    """One alert standing for ``alerts`` — the same reader's alerts about one story
    development, or their digests — naming every watch; ``key`` is its idempotency key.
    Later alerts (in the order given) know the story best: their title and facts win."""
    if not alerts:
        raise ValueError("nothing to merge")
    last = alerts[-1]
    reasons = _reasons(r for a in alerts for r in a.watch_reasons)
    name = ", ".join(dict.fromkeys(r.watch_name for r in reasons))
    if last.kind == "digest":
        by_story: dict[str, list[DigestStory]] = {}
        for a in alerts:
            for s in a.stories:
                by_story.setdefault(s.story_id, []).append(
                    s if s.reasons else replace(s, reasons=a.watch_reasons))
        stories = tuple(_merge_story(parts) for parts in by_story.values())
        return replace(last, watch_name=name, reasons=reasons, stories=stories,
                       idempotency_key=key)
    richest = max(alerts, key=lambda a: len(a.outlets))
    return replace(
        last, watch_name=name, reasons=reasons, idempotency_key=key,
        items=_items(i for a in alerts for i in a.items),
        outlets_count=max(a.outlets_count for a in alerts),
        new_count=max(a.new_count for a in alerts),
        topics=richest.topics, entities=richest.entities, outlets=richest.outlets,
    )


def _merge_story(parts: list[DigestStory]) -> DigestStory:
    last = parts[-1]
    richest = max(parts, key=lambda s: len(s.outlets))
    items = _items(i for s in parts for i in s.items)
    return replace(
        last, items=items, outlets_count=max(s.outlets_count for s in parts),
        new_count=max(max(s.new_count for s in parts), len(items)),
        topics=richest.topics, entities=richest.entities, outlets=richest.outlets,
        reasons=_reasons(r for s in parts for r in s.reasons),
    )


def _items(items: Iterable[AlertItem]) -> tuple[AlertItem, ...]:
    return tuple({i.article_id: i for i in items}.values())


def _reasons(reasons: Iterable[MatchReason]) -> tuple[MatchReason, ...]:
    unique = {(r.watch_id or r.watch_name): r for r in reasons}
    return tuple(sorted(unique.values(), key=lambda r: (r.watch_name.casefold(), r.watch_id)))


# -- JSON (the outbox and the alerts table) ------------------------------------------------


def content_to_json(alert: AlertContent) -> str:
    """``alert`` as JSON (what the outbox stores; rendered at send time)."""
    data = {
        "kind": alert.kind, "watch_name": alert.watch_name, "recipients": list(alert.recipients),
        "story_id": alert.story_id, "story_title": alert.story_title,
        "items": [_item_dict(i) for i in alert.items], "outlets_count": alert.outlets_count,
        "new_count": alert.new_count, "idempotency_key": alert.idempotency_key,
        "mail_from": alert.mail_from, **_facts_dict(alert),
        "stories": [
            {"story_id": s.story_id, "story_title": s.story_title,
             "items": [_item_dict(i) for i in s.items], "outlets_count": s.outlets_count,
             "new_count": s.new_count, **_facts_dict(s)}
            for s in alert.stories
        ],
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)


def _facts_dict(about: AlertContent | DigestStory) -> dict[str, Any]:
    return {"topics": [list(t) for t in about.topics], "entities": list(about.entities),
            "outlets": list(about.outlets), "reasons": [reason_dict(r) for r in about.reasons]}


def reason_dict(reason: MatchReason) -> dict[str, Any]:
    return {"watch_id": reason.watch_id, "watch_name": reason.watch_name, "query": reason.query,
            "topic": reason.topic, "entities": list(reason.entities), "source": reason.source,
            "language": reason.language, "follows_story": reason.follows_story,
            "via": reason.via}


def _item_dict(item: AlertItem) -> dict[str, Any]:
    return {
        "article_id": item.article_id, "title": item.title, "url": item.url,
        "source": item.source, "published": item.published.isoformat() if item.published else None,
        "snippet": item.snippet, "novelty": item.novelty, "additions": item.additions,
        "language": item.language, "about": item.about,
    }


def content_from_json(text: str) -> AlertContent:
    """The alert stored as ``text``; rows written before topics, entities, outlets and
    reasons were kept read with those empty."""
    data = json.loads(text)
    data["recipients"] = tuple(data["recipients"])
    data["items"] = tuple(_item(i) for i in data.get("items", ()))
    data["stories"] = tuple(
        DigestStory(**{**s, "items": tuple(_item(i) for i in s["items"]), **_facts(s)})
        for s in data.get("stories", ())
    )
    return AlertContent(**{**data, **_facts(data)})


def _facts(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "topics": tuple((str(t[0]), str(t[1])) for t in data.get("topics", ())),
        "entities": tuple(data.get("entities", ())), "outlets": tuple(data.get("outlets", ())),
        "reasons": tuple(MatchReason(**{**r, "entities": tuple(r.get("entities", ()))})
                         for r in data.get("reasons", ())),
    }


def _item(data: dict[str, Any]) -> AlertItem:
    published = data.get("published")
    return AlertItem(**{**data, "published": datetime.fromisoformat(published) if published else None})
