"""The alert stage: watches evaluated after each indexed batch, digests bundled, email sent.

``evaluate_watches`` matches the articles that entered the index since each watch's
watermark (ingest order) with the search backend's own query semantics, decides story by
story what deserves an alert (``alerts.decide``) and stores alerts, outbox rows and the new
watermarks in one transaction. ``make_digests`` bundles the alerts of hourly and daily
watches; ``deliver`` does the whole pass, ending with ``delivery.send_outbox``. Watches are
managed in ``watches.py``, signed links and feeds in ``links.py``. The CLI, the API, the
Airflow DAGs and the tests all call these functions.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NamedTuple

from alerts.channels import channel_of, destination_key
from alerts.content import (
    AlertContent,
    AlertItem,
    DigestStory,
    MatchReason,
    content_from_json,
    content_to_json,
)
from alerts.decide import Decision, Matched, decide
from alerts.delivery import SendReport, send_outbox
from alerts.mailer import Mailer
from alerts.splits import split_matches, split_part
from alerts.store import ArticleRow, WatchStore
from core.errors import NewswatchError
from core.models import Watch
from core.runtime import Runtime
from enrich.languages.about import about as foreign_summary
from enrich.topics import load_taxonomy
from search.backend import lead_snippet
from stories.stage import story_doc
from stories.store import StoryStore

log = logging.getLogger(__name__)

EVAL_CHUNK = 500  # articles matched per round (and per transaction)
PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}
MAIN_ENTITIES = 8  # a story's strongest entities an alert names

Topics = tuple[tuple[str, str], ...]  # (tag, label)


# -- watches ------------------------------------------------------------------------------














# -- evaluation ---------------------------------------------------------------------------


def evaluate_watches(rt: Runtime, timings: dict[str, float] | None = None) -> int:
    """Match what entered the index since each watch's watermark; store the alerts this
    causes (and their emails) with the moved watermarks. Returns the alerts created.
    ``timings``, when given, gets the seconds spent reading, matching, deciding and
    writing added to its keys ``read``, ``match``, ``decide``, ``write``."""
    store = WatchStore(rt.store)
    spent = _Clock(timings)
    created = 0
    while True:
        upper_bound = rt.store.ingest_high()
        with collection_paused():
            watches = [w for w in store.all() if w.watermark < upper_bound]
        if not watches:
            spent.lap("read")
            return created
        lower = min(w.watermark for w in watches)
        rows = store.articles_between(lower, upper_bound, EVAL_CHUNK)
        upper = rows[-1].seq if len(rows) == EVAL_CHUNK else upper_bound
        rows = [r for r in rows if r.seq <= upper]
        spent.lap("read")
        created += _evaluate(rt, store, [w for w in watches if w.watermark < upper], rows, upper,
                             spent)
        if upper == upper_bound and rt.store.ingest_high() == upper:
            return created  # every watch is at the newest article: no need to read them again


class _Clock:
    """Adds the seconds since the last lap to a phase of ``timings`` (if any)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[phase] = self.timings.get(phase, 0.0) + now - self.last
        self.last = now


def _evaluate(
    rt: Runtime, store: WatchStore, watches: list[Watch], rows: list[ArticleRow], upper: int,
    spent: _Clock | None = None,
) -> int:
    """Match and decide for ``watches`` over ``rows``; store the alerts, move the
    watermarks to ``upper``. Returns the alerts created."""
    spent = spent or _Clock(None)
    with collection_paused():
        d = _decide_batch(rt, store, watches, rows, spent)
    spent.lap("decide")
    created = _store_alerts(rt, store, d.interested, d.decisions, d.known, d.stored, d.by_id,
                            _reason(d.direct), upper, [w.id for w in watches])
    spent.lap("write")
    return created


@contextmanager
def collection_paused() -> Iterator[None]:
    """Automatic garbage collection paused while reading, matching and deciding: they make
    hundreds of thousands of short-lived objects (rows, queries, answers, decisions, freed
    as they go), and each full collection that this set off walked every object of the
    process (0.1–0.2 s apiece, several per evaluation of 10,000 watches). Restored after,
    as it was."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _Decided(NamedTuple):
    """What matching and deciding a batch gives the writing."""

    decisions: dict[str, list[Decision]]  # by watch
    known: dict[str, dict[str, int]]  # the stories each watch knew, with their last alert
    stored: set[tuple[str, str]]  # (watch, story) as stored
    interested: list[Watch]  # the watches that matched or followed something
    by_id: dict[str, ArticleRow]  # the batch (story ids through merges)
    direct: dict[str, set[str]]  # what each watch matched itself (not by following)


def _decide_batch(
    rt: Runtime, store: WatchStore, watches: list[Watch], rows: list[ArticleRow], spent: _Clock,
) -> _Decided:
    """Match ``rows`` for ``watches``, add what they follow, and decide."""
    merged = store.merged_into([r.story_id for r in rows if r.story_id]
                               + [w.story_id for w in watches if w.story_id])
    rows = [replace(r, story_id=merged.get(r.story_id, r.story_id)) for r in rows]
    matched: dict[str, list[ArticleRow]] = {}
    groups: dict[int, list[Watch]] = defaultdict(list)
    for w in watches:
        if w.paused:  # not matched, but its watermark moves on: a resume starts from now
            continue
        if w.story_id:
            story = merged.get(w.story_id, w.story_id)  # followed through merges
            matched[w.id] = [r for r in rows if r.seq > w.watermark and r.story_id == story]
        else:
            groups[w.watermark].append(w)
    by_id = {r.id: r for r in rows}
    for watermark, group in groups.items():
        ids = [r.id for r in rows if r.seq > watermark]
        spent.lap("decide")
        outcomes = rt.index.match([w.request() for w in group], ids)
        spent.lap("match")
        for w, outcome in zip(group, outcomes, strict=True):
            if outcome.error:
                log.warning("watch %r: %s", w.name, outcome.error)
            if outcome.ids:
                matched[w.id] = [by_id[i] for i in outcome.ids if i in by_id]
    direct = {w: {r.id for r in found} for w, found in matched.items()}
    _follow(store, [w for group in groups.values() for w in group], rows, matched)
    _drop_muted(store, matched)
    interested = [w for w in watches if matched.get(w.id)]
    known, stored = _known(store, interested)
    decisions: dict[str, list[Decision]] = {}
    as_matched = {r.id: m for r, m in zip(rows, _candidates(rows), strict=True)}  # for every watch
    for w in interested:
        knows = known[w.id]
        if w.story_id:
            knows = {merged.get(w.story_id, w.story_id): 0, **knows}
        decisions[w.id] = decide(w.id, w.min_novelty, [as_matched[r.id] for r in matched[w.id]],
                                 knows)
    return _Decided(decisions, known, stored, interested, by_id, direct)


def tell_split(rt: Runtime, story_id: str) -> int:
    """Right after a person split ``story_id`` off another story (``stories.stage.split``):
    a "new story" alert for it to each search watch that was alerted about the story it
    left and matches it (``alerts.splits``), stored with its emails in one transaction and
    sent by the next ``deliver``. No follow-ups: the part is news as a whole. Returns the
    alerts created."""
    store = WatchStore(rt.store)
    part = split_part(store, story_id)
    if part is None:
        return 0
    searching = [w for w in store.all() if not w.paused and not w.story_id]
    found = split_matches(rt, store, part, searching)
    if not found.matched and not found.known:
        return 0
    watches = [w for w in searching if w.id in found.matched]
    known, stored = _known(store, watches)
    decisions = {w.id: [d for d in decide(w.id, w.min_novelty, _candidates(found.matched[w.id]),
                                          known[w.id]) if d.kind == "new-story"]
                 for w in watches}
    rows = {r.id: r for hits in found.matched.values() for r in hits}
    now = rt.clock()
    followed = [{"watch_id": w, "story_id": s, "first_alert_at": now, "last_alert_at": now,
                 "last_seq": seq, "known": False} for w, s, seq in found.known]
    return _store_alerts(rt, store, watches, decisions, known, stored, rows, _split, 0, [],
                         followed)


def _follow(store: WatchStore, watches: list[Watch], rows: list[ArticleRow],
            matched: dict[str, list[ArticleRow]]) -> None:
    """A search watch follows the stories it has matched: add to what it matched their
    later articles, which ``decide`` alerts by novelty. Followed are the stories it was
    alerted about before (through merges) and those it matches in this batch, after the
    first article it matched there that opens them (a near-duplicate does not)."""
    following = store.following({r.story_id for r in rows if r.story_id})
    by_story: dict[str, list[ArticleRow]] = defaultdict(list)
    for r in rows:
        if r.story_id:
            by_story[r.story_id].append(r)
    for w in watches:
        found = matched.get(w.id, [])
        first: dict[str, int] = {}
        for r in found:
            if r.story_id and not r.duplicate_of:
                first[r.story_id] = min(first.get(r.story_id, r.seq), r.seq)
        knows = following.get(w.id, {})
        if not knows and not first:
            continue
        have = {r.id for r in found}
        more = [r for story in {*knows, *first} for r in by_story.get(story, ())
                if r.seq > w.watermark and r.id not in have
                and (story in knows or r.seq > first[story])]
        if more:
            matched[w.id] = sorted(found + more, key=lambda r: r.seq)


def _known(store: WatchStore, watches: list[Watch]) -> tuple[dict[str, dict[str, int]],
                                                           set[tuple[str, str]]]:
    """The stories each watch has alerted about, through merges, with the last alerted
    ingest number; and the (watch, story) pairs as stored."""
    raw = store.known_stories([w.id for w in watches])
    merged = store.merged_into({s for stories in raw.values() for s in stories})
    known: dict[str, dict[str, int]] = {}
    for watch_id, stories in raw.items():
        known[watch_id] = {}
        for story, seq in stories.items():
            now = merged.get(story, story)
            known[watch_id][now] = max(known[watch_id].get(now, 0), seq)
    return known, {(w, s) for w, stories in raw.items() for s in stories}


Why = Callable[[str, str], str]  # (watch, article) -> how the watch came to it ("via")


def _reason(direct: dict[str, set[str]]) -> Why:
    """"" for an article the watch matched itself, "following" for one of a story it follows."""
    return lambda watch_id, article_id: "" if article_id in direct.get(watch_id, ()) \
        else "following"


def _split(watch_id: str, article_id: str) -> str:
    return "split"


def _candidates(rows: list[ArticleRow]) -> list[Matched]:
    return [Matched(r.id, r.story_id, r.seq, r.novelty, r.duplicate_of, r.additions)
            for r in rows]


def _store_alerts(
    rt: Runtime, store: WatchStore, watches: list[Watch], decisions: dict[str, list[Decision]],
    known: dict[str, dict[str, int]], stored: set[tuple[str, str]],
    by_id: dict[str, ArticleRow], why: Why, upper: int,
    moved: list[str], more_stories: Iterable[dict[str, object]] = (),
) -> int:
    """Write ``decisions`` as alerts, their outbox rows and the watches' story state, and
    move the ``moved`` watches' watermarks to ``upper``, in one transaction."""
    alerted = {d.story_id for ds in decisions.values() for d in ds}
    facts = store.story_facts(alerted)
    about = story_context(rt, alerted)
    summaries = foreign_summaries(rt, [by_id[d.article_id] for ds in decisions.values() for d in ds])
    seqs = store.story_seqs(alerted, min((known[w][s] for w in decisions for s in known[w]
                                          if s in alerted), default=0))
    now = rt.clock()
    alert_rows: list[dict[str, object]] = []
    outbox_rows: list[dict[str, object]] = []
    story_rows: dict[tuple[str, str], dict[str, object]] = {}
    for w in watches:
        last_seq = dict(known[w.id])
        for d in decisions[w.id]:
            title, outlets = facts.get(d.story_id, ("", 0))
            row = by_id[d.article_id]
            since = last_seq.get(d.story_id, 0)
            new = sum(1 for seq in seqs.get(d.story_id, ()) if since < seq <= d.seq)
            topics, entities, covered = about.get(d.story_id, ((), (), ()))
            content = AlertContent(
                kind="new-story" if d.kind == "new-story" else "follow-up",
                watch_name=w.name, recipients=w.recipients or ("nobody@newswatch.invalid",),
                story_id=d.story_id, story_title=title or row.title,
                items=(_item(row, summaries.get(row.id, "")),),
                outlets_count=outlets, new_count=max(new, 1), idempotency_key=d.key,
                mail_from=rt.settings.mail_from, topics=topics, entities=entities,
                outlets=covered, reasons=(replace(MatchReason.of(w),
                                                  via=why(w.id, d.article_id)),),
            )
            data = content_to_json(content)
            alert_rows.append({
                "key": d.key, "watch_id": w.id, "story_id": d.story_id, "article_id": d.article_id,
                "kind": d.kind, "created_at": now, "content": data,
            })
            if w.mode == "immediate":
                outbox_rows += outbox_rows_for(w, d.kind, data, d.key, now)
            story_rows[(w.id, d.story_id)] = {
                "watch_id": w.id, "story_id": d.story_id, "first_alert_at": now,
                "last_alert_at": now, "last_seq": d.seq, "known": (w.id, d.story_id) in stored}
            last_seq[d.story_id] = d.seq
    return store.commit_evaluation(now, upper, moved, alert_rows, outbox_rows,
                                   [*more_stories, *story_rows.values()])


def _drop_muted(store: WatchStore, matched: dict[str, list[ArticleRow]]) -> None:
    """Take the articles of each watch's muted stories (followed through merges) out of
    what it matched: a muted story gives that watch no alert, new story or follow-up."""
    muted = store.muted([w for w, found in matched.items() if found])
    merged = store.merged_into({s for stories in muted.values() for s in stories})
    for watch_id, stories in muted.items():
        if stories:
            stories |= {merged.get(s, s) for s in stories}
            matched[watch_id] = [r for r in matched[watch_id] if r.story_id not in stories]


def foreign_summaries(rt: Runtime, rows: Iterable[ArticleRow]) -> dict[str, str]:
    """For the articles not in English: what each is about, in English (by article id).
    An English-only pass reads nothing more."""
    ids = sorted({r.id for r in rows if r.language and r.language != "en"})
    if not ids:
        return {}
    found = {}
    for article_id, e in rt.store.enrichments(ids).items():
        info = foreign_summary(e.language, "", e.entities, e.topics)
        if info is not None and (line := info.summary()):
            found[article_id] = line
    return found


def _item(row: ArticleRow, summary: str = "") -> AlertItem:
    return AlertItem(
        article_id=row.id, title=row.title, url=row.url, source=row.source,
        published=row.published, snippet=lead_snippet(row.text), novelty=row.novelty,
        additions=row.additions, language=row.language, about=summary,
    )


def _outbox_row(watch_id: str, kind: str, content: str, alert_key: str, email: str,
                now: datetime) -> dict[str, object]:
    """One email: the alert's content (JSON, shared by its recipients) to one address; the
    key (alert key + address) is the email's idempotency key and Message-ID."""
    return {"key": f"{alert_key}:{email.casefold()}", "watch_id": watch_id, "recipient": email,
            "channel": "email", "kind": kind, "content": content, "status": "pending",
            "attempts": 0, "next_attempt_at": now, "created_at": now, "last_error": ""}


def outbox_rows_for(watch: Watch, kind: str, content: str, alert_key: str,
                    now: datetime) -> list[dict[str, object]]:
    """Everything one alert sends: an email to each recipient and one row per destination
    (webhook or Apprise URL, kept as the row's recipient), each delivered on its own."""
    rows = [_outbox_row(watch.id, kind, content, alert_key, email, now)
            for email in watch.recipients]
    for url in dict.fromkeys(watch.destinations):
        rows.append({**_outbox_row(watch.id, kind, content, alert_key, url, now),
                     "key": destination_key(alert_key, url), "channel": channel_of(url)})
    return rows


def story_context(rt: Runtime, story_ids: Iterable[str]) -> dict[str, tuple[Topics, tuple[str, ...],
                                                                           tuple[str, ...]]]:
    """(topics, main entities, outlets so far) of each story, as its search document has
    them (``stories.stage.story_doc``); topics with their taxonomy labels."""
    stories = StoryStore(rt.store)
    try:
        labels = {t.name: t.label for t in load_taxonomy(rt.settings.taxonomy_path)}
    except (NewswatchError, OSError) as exc:  # a broken taxonomy file: tags without labels
        log.warning("topic labels unavailable: %s", exc)
        labels = {}
    found: dict[str, tuple[Topics, tuple[str, ...], tuple[str, ...]]] = {}
    for story_id in sorted(set(story_ids)):
        doc = story_doc(rt, stories, story_id)
        if doc is not None:
            found[story_id] = (tuple((t, labels.get(t, t)) for t in doc.topics),
                               tuple(name for _, name in doc.entities[:MAIN_ENTITIES]),
                               doc.outlets)
    return found




# -- digests ------------------------------------------------------------------------------


def period_end(mode: str, now: datetime) -> datetime:
    """The end of the last complete digest period (hours and days in UTC)."""
    start = now.replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if mode == "daily" else start


def make_digests(rt: Runtime) -> int:
    """Bundle each hourly/daily watch's alerts of the periods that have ended into one
    digest per recipient; returns the digests queued."""
    store = WatchStore(rt.store)
    now = rt.clock()
    queued = 0
    for w in store.all():
        if w.mode not in PERIODS:
            continue
        end = period_end(w.mode, now)
        if w.last_digest_at is not None and w.last_digest_at >= end:
            continue
        pending = store.undigested(w.id, end)
        if not pending:
            continue
        by_story: dict[str, list[AlertContent]] = defaultdict(list)
        for alert in pending:
            by_story[alert.story_id].append(content_from_json(alert.content))
        facts = store.story_facts(by_story)
        about = story_context(rt, by_story)
        reason = MatchReason.of(w)
        stories = tuple(
            DigestStory(
                story_id=sid, story_title=facts[sid][0] or contents[0].story_title,
                items=tuple(i for c in reversed(contents) for i in c.items),
                outlets_count=facts[sid][1], new_count=len(contents),
                topics=about.get(sid, (contents[-1].topics,))[0],
                entities=about[sid][1] if sid in about else contents[-1].entities,
                outlets=about[sid][2] if sid in about else contents[-1].outlets,
                reasons=(reason,),
            )
            for sid, contents in by_story.items()
        )
        key = f"{w.id}:digest:{end.isoformat()}"
        digest = AlertContent(kind="digest", watch_name=w.name, recipients=w.recipients or
                              ("nobody@newswatch.invalid",), idempotency_key=key,
                              mail_from=rt.settings.mail_from, stories=stories,
                              reasons=(reason,))
        data = content_to_json(digest)
        rows = outbox_rows_for(w, "digest", data, key, now)
        store.commit_digest(w.id, end, key, [a.key for a in pending], rows)
        queued += len(rows)
    return queued


# -- sending ------------------------------------------------------------------------------












# -- links --------------------------------------------------------------------------------


def deliver(rt: Runtime, mailer: Mailer | None = None) -> tuple[int, SendReport]:
    """What ``run --once`` does after indexing: evaluate, bundle due digests, send."""
    alerts = evaluate_watches(rt)
    make_digests(rt)
    return alerts, send_outbox(rt, mailer)
