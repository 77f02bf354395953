"""Catch-up digests: a new watch's backfill over what is already indexed, and the digest
that empties a watch's waiting alerts when it stops being an hourly or daily one.

A backfill takes the articles *published* in the last N days (first seen, for those without
a date) that entered the index before the watch was made, that is up to the watch's starting
watermark, where the normal evaluation takes over: nothing is matched by both. It matches
them with the backend's own query semantics (``IndexBackend.match``), decides story by story
as the evaluation does (a new story once, then the developments that reach the watch's
``min_novelty``, never near-duplicates), and queues one digest per recipient (and per
destination), whatever the watch's mode. The alerts, the watch–story state (so a later development is a follow-up, not
a second "new story") and the digest are stored with the watch itself, in one transaction
(``WatchStore.add``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.content import (
    AlertContent,
    AlertItem,
    DigestStory,
    MatchReason,
    content_from_json,
    content_to_json,
)
from alerts.decide import Decision, Matched, decide
from alerts.stage import EVAL_CHUNK, foreign_summaries, outbox_rows_for, story_context
from alerts.store import ArticleRow, WatchStore
from core.errors import InvalidRequestError
from core.models import Watch
from core.runtime import Runtime
from search.backend import lead_snippet

MAX_BACKFILL_DAYS = 90
MAX_DIGEST_STORIES = 50  # stories one backfill digest lists (newest development first)
NOBODY = ("nobody@newswatch.invalid",)  # content of a watch that only notifies URLs


@dataclass(frozen=True)
class Backfill:
    """What a backfill found; the rows are stored with the watch (``WatchStore.add``)."""

    days: int
    since: datetime
    stories: int = 0  # stories in the digest
    articles: int = 0  # their articles listed (new story plus developments)
    left_out: int = 0  # older matching stories past MAX_DIGEST_STORIES (not marked as seen)
    digests: int = 0  # digests queued: one per recipient and one per destination
    alerts: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    outbox: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    story_rows: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"days": self.days, "since": self.since, "stories": self.stories,
                "articles": self.articles, "left_out": self.left_out, "digests": self.digests}


def backfill_key(watch_id: str) -> str:
    """The idempotency key of a watch's backfill digest (one per watch, ever)."""
    return f"{watch_id}:backfill"


def plan_backfill(rt: Runtime, watch: Watch, days: int) -> Backfill:
    """Match the last ``days`` of indexed news against ``watch`` (not stored yet; its
    watermark is the current ingest high) and build its backfill digest."""
    if not 1 <= days <= MAX_BACKFILL_DAYS:
        raise InvalidRequestError(
            f"a backfill covers 1 to {MAX_BACKFILL_DAYS} days, not {days}")
    store = WatchStore(rt.store)
    now = rt.clock()
    since = now - timedelta(days=days)
    candidates = store.published_since(since, watch.watermark)
    merged = store.merged_into({story for _, _, story in candidates if story})
    if watch.story_id:
        ids = [i for i, _, story in candidates if merged.get(story, story) == watch.story_id]
    else:
        ids = []
        for start in range(0, len(candidates), EVAL_CHUNK):
            batch = [i for i, _, _ in candidates[start : start + EVAL_CHUNK]]
            outcome = rt.index.match([watch.request()], batch)[0]
            if outcome.error:
                raise InvalidRequestError(f"cannot backfill this watch: {outcome.error}")
            ids += outcome.ids
    rows = [replace(r, story_id=merged.get(r.story_id, r.story_id))
            for r in store.articles_with_ids(ids)]
    by_id = {r.id: r for r in rows}
    followed = {watch.story_id: 0} if watch.story_id else {}
    decisions: dict[str, list[Decision]] = defaultdict(list)
    for d in decide(watch.id, watch.min_novelty, [
            Matched(r.id, r.story_id, r.seq, r.novelty, r.duplicate_of, r.additions)
            for r in rows], followed):
        decisions[d.story_id].append(d)
    newest = sorted(decisions, reverse=True,
                    key=lambda s: max(_when(by_id[d.article_id]) for d in decisions[s]))
    chosen = newest[:MAX_DIGEST_STORIES]
    if not chosen:
        return Backfill(days, since)
    facts = store.story_facts(chosen)
    about = story_context(rt, chosen)
    summaries = foreign_summaries(rt, [by_id[d.article_id] for s in chosen for d in decisions[s]])
    reason = MatchReason.of(watch)
    seqs: dict[str, list[int]] = defaultdict(list)  # each story's articles in the window
    for _, seq, story in candidates:
        seqs[merged.get(story, story)].append(seq)
    key = backfill_key(watch.id)
    alerts: list[dict[str, Any]] = []
    stories: list[DigestStory] = []
    story_rows: list[dict[str, Any]] = []
    for story_id in chosen:
        title, outlets = facts.get(story_id, ("", 0))
        topics, entities, covered = about.get(story_id, ((), (), ()))
        items: list[AlertItem] = []
        last = 0
        for d in decisions[story_id]:
            row = by_id[d.article_id]
            item = _item(row, summaries.get(row.id, ""))
            content = AlertContent(
                kind="new-story" if d.kind == "new-story" else "follow-up",
                watch_name=watch.name, recipients=watch.recipients or NOBODY,
                story_id=story_id, story_title=title or row.title, items=(item,),
                outlets_count=outlets, idempotency_key=d.key, mail_from=rt.settings.mail_from,
                new_count=max(1, sum(1 for s in seqs[story_id] if last < s <= d.seq)),
                topics=topics, entities=entities, outlets=covered, reasons=(reason,),
            )
            alerts.append({"key": d.key, "watch_id": watch.id, "story_id": story_id,
                           "article_id": d.article_id, "kind": d.kind, "created_at": now,
                           "content": content_to_json(content), "digest_key": key})
            items.append(item)
            last = d.seq
        story_rows.append({"watch_id": watch.id, "story_id": story_id, "first_alert_at": now,
                           "last_alert_at": now, "last_seq": last})
        stories.append(DigestStory(
            story_id=story_id, story_title=title or items[0].title,
            items=tuple(reversed(items)), outlets_count=outlets, new_count=len(items),
            topics=topics, entities=entities, outlets=covered, reasons=(reason,)))
    outbox = digest_rows(rt, watch, key, stories, now)
    return Backfill(days, since, stories=len(stories), articles=len(alerts),
                    left_out=len(newest) - len(chosen), digests=len(outbox),
                    alerts=tuple(alerts), outbox=tuple(outbox), story_rows=tuple(story_rows))


def flush_digest(rt: Runtime, watch: Watch) -> int:
    """Bundle the watch's alerts that wait for a digest into one now (for a watch that has
    just become ``immediate``: no period end will ever bundle them); returns digests queued."""
    store = WatchStore(rt.store)
    now = rt.clock()
    pending = store.undigested(watch.id, now + timedelta(seconds=1))
    if not pending:
        return 0
    by_story: dict[str, list[AlertContent]] = defaultdict(list)
    for alert in pending:
        by_story[alert.story_id].append(content_from_json(alert.content))
    facts = store.story_facts(by_story)
    reason = MatchReason.of(watch)
    stories = [
        DigestStory(story_id=sid, story_title=facts[sid][0] or contents[0].story_title,
                    items=tuple(i for c in reversed(contents) for i in c.items),
                    outlets_count=facts[sid][1], new_count=len(contents),
                    topics=contents[-1].topics, entities=contents[-1].entities,
                    outlets=contents[-1].outlets, reasons=(reason,))
        for sid, contents in by_story.items()
    ]
    key = f"{watch.id}:digest:{now.isoformat()}"
    rows = digest_rows(rt, watch, key, stories, now)
    store.commit_digest(watch.id, now, key, [a.key for a in pending], rows)
    return len(rows)


def digest_rows(rt: Runtime, watch: Watch, key: str, stories: Sequence[DigestStory],
                now: datetime) -> list[dict[str, Any]]:
    """The outbox rows of one digest, as the pass makes them: one per recipient and one per
    destination (``stage.outbox_rows_for``)."""
    digest = AlertContent(kind="digest", watch_name=watch.name,
                          recipients=watch.recipients or NOBODY, idempotency_key=key,
                          mail_from=rt.settings.mail_from, stories=tuple(stories),
                          reasons=(MatchReason.of(watch),))
    return outbox_rows_for(watch, "digest", content_to_json(digest), key, now)


def _item(row: ArticleRow, summary: str = "") -> AlertItem:
    return AlertItem(
        article_id=row.id, title=row.title, url=row.url, source=row.source,
        published=row.published, snippet=lead_snippet(row.text), novelty=row.novelty,
        additions=row.additions, language=row.language, about=summary,
    )


def _when(row: ArticleRow) -> tuple[datetime, int]:
    """How recent an article is: its publication time, then its ingest order."""
    published = row.published or datetime.min.replace(tzinfo=UTC)
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return published, row.seq
