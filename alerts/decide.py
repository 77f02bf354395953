"""Story-level alerting, as a pure function: which matched articles deserve an alert.

The first matching article of a story a watch has not alerted about gives a "new story"
alert; a later article of a known story gives a "follow-up" only when its novelty reaches
the watch's threshold; near-duplicates never alert. Each decision carries its idempotency
key — (watch, story, kind, development) — so a decision taken twice is stored once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, NamedTuple


@dataclass(frozen=True)
class Matched:
    """An article a watch matched, with what the story stage said about it."""

    article_id: str
    story_id: str  # resolved through merges; "" when not clustered
    seq: int  # ingest sequence number
    novelty: float | None
    duplicate_of: str | None = None
    additions: dict[str, Any] | None = None


class Decision(NamedTuple):
    """One alert to store (a tuple: a batch of 10,000 watches makes ~100,000 of them)."""

    kind: str  # "new-story" | "follow-up"
    story_id: str
    article_id: str
    seq: int
    key: str


def alert_key(watch_id: str, story_id: str, kind: str, development: str = "") -> str:
    """The idempotency key of an alert: a new story is alerted once per (watch, story); a
    follow-up once per (watch, story, article that developed it)."""
    return f"{watch_id}:{story_id}:{kind}:{development}" if development else \
        f"{watch_id}:{story_id}:{kind}"


def decide(
    watch_id: str,
    min_novelty: float,
    matched: Iterable[Matched],
    known_stories: Iterable[str],
) -> list[Decision]:
    """Alerts for ``matched`` (any order; taken in ingest order) given the stories the
    watch already knows (alerted about, or follows)."""
    known = set(known_stories)
    decisions: list[Decision] = []
    append = decisions.append
    for m in sorted(matched, key=_INGEST_ORDER):
        story = m.story_id
        if not story or m.duplicate_of:
            continue
        if story not in known:
            known.add(story)
            append(Decision("new-story", story, m.article_id, m.seq,
                            f"{watch_id}:{story}:new-story"))
        elif m.novelty is not None and m.novelty >= min_novelty:
            key = alert_key(watch_id, story, "follow-up", m.article_id)
            append(Decision("follow-up", story, m.article_id, m.seq, key))
    return decisions


_INGEST_ORDER = attrgetter("seq", "article_id")


def digest_groups(decisions: Sequence[Decision]) -> dict[str, list[Decision]]:
    """Decisions by story, each story's developments newest first (digest order is by
    each story's newest development: see ``alerts.content.digest_order``)."""
    groups: dict[str, list[Decision]] = {}
    for d in sorted(decisions, key=lambda d: -d.seq):
        groups.setdefault(d.story_id, []).append(d)
    return groups
