"""The alert stage: watches, their evaluation after each indexed batch, digests and sending.

``evaluate_watches`` matches the articles that entered the index since each watch's
watermark (ingest order) with the search backend's own query semantics, decides story by
story what deserves an alert (``alerts.decide``) and stores alerts, outbox rows and the new
watermarks in one transaction. ``make_digests`` bundles the alerts of hourly and daily
watches. ``send_outbox`` delivers pending emails with retries and exponential backoff. The
CLI, the API, the Airflow DAGs and the tests all call these functions.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import quote

from alerts.atom import FeedAlert, render_atom
from alerts.content import AlertContent, AlertItem, DigestStory, content_from_json, content_to_json
from alerts.decide import Decision, Matched, decide
from alerts.mailer import Mailer, MailError, mailer_for
from alerts.render import render_alert
from alerts.store import ArticleRow, OutboxRow, WatchStore
from alerts.tokens import sign_feed, sign_unsubscribe, verify_unsubscribe
from core.errors import InvalidRequestError, NotFoundError
from core.models import WATCH_MODES, Watch
from core.runtime import Runtime
from core.settings import Settings
from search.backend import lead_snippet
from search.query import parse_query

log = logging.getLogger(__name__)

DEFAULT_MIN_NOVELTY = 0.3
EVAL_CHUNK = 500  # articles matched per round (and per transaction)
RETRY_BASE = timedelta(seconds=30)  # first retry after a transient mail error
RETRY_MAX = timedelta(minutes=10)  # longest wait between two attempts
CLAIM_FOR = timedelta(minutes=5)  # a sender's hold on an email while it sends it
GIVE_UP_AFTER = timedelta(days=2)  # transient errors for this long make an email fail
PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}


# -- watches ------------------------------------------------------------------------------


def add_watch(
    rt: Runtime,
    name: str,
    emails: Sequence[str],
    *,
    query: str = "",
    entities: Sequence[str] = (),
    topic: str | None = None,
    source: str | None = None,
    language: str | None = None,
    story_id: str | None = None,
    mode: str = "immediate",
    min_novelty: float = DEFAULT_MIN_NOVELTY,
) -> Watch:
    """Save a watch. It sees articles that enter the index from now on."""
    from search.entities import resolve_entity

    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise InvalidRequestError("a watch needs a name of 1 to 200 characters")
    recipients = tuple(dict.fromkeys(check_email(e) for e in emails))
    if not recipients:
        raise InvalidRequestError("a watch needs at least one email address (--email)")
    if mode not in WATCH_MODES:
        raise InvalidRequestError(f"unknown mode {mode!r}; expected one of {', '.join(WATCH_MODES)}")
    if not 0.0 <= min_novelty <= 1.0:
        raise InvalidRequestError(f"the minimum novelty must lie between 0 and 1, not {min_novelty:g}")
    if story_id is None:
        parse_query(query)  # a malformed query is refused now, not at the first evaluation
        if not (query.strip() or entities or topic or source or language):
            raise InvalidRequestError("a watch needs a query or a filter (--entity, --topic, --source…)")
        if topic:
            _check_topic(rt, topic)
    else:
        from stories.store import StoryStore

        stories = StoryStore(rt.store)
        if stories.get(story_id) is None:
            raise NotFoundError(f"no story {story_id!r} (see `newswatch stories`)")
        story_id = stories.resolve(story_id)
    ids = tuple(dict.fromkeys(i for e in entities for i in resolve_entity(e)))
    watch = Watch(
        id=uuid.uuid4().hex[:16], name=name, recipients=recipients, created_at=rt.clock(),
        query=query.strip(), entities=ids, entity_names=tuple(entities), topic=topic or None,
        source=source or None, language=(language or "").lower() or None, story_id=story_id,
        mode=mode, min_novelty=min_novelty, watermark=rt.store.ingest_high(),
    )
    return WatchStore(rt.store).add(watch)


def follow_story(
    rt: Runtime, story_id: str, emails: Sequence[str], *, name: str = "",
    mode: str = "immediate", min_novelty: float = DEFAULT_MIN_NOVELTY,
) -> Watch:
    """Follow one story: follow-ups when its coverage brings something new."""
    from stories.store import StoryStore

    story = StoryStore(rt.store).get(story_id)
    if story is None:
        raise NotFoundError(f"no story {story_id!r} (see `newswatch stories`)")
    name = name or f"story: {story.title[:150] or story_id}"
    return add_watch(rt, name, emails, story_id=story_id, mode=mode, min_novelty=min_novelty)


def get_watch(rt: Runtime, ref: str) -> Watch:
    watch = WatchStore(rt.store).get(ref)
    if watch is None:
        raise NotFoundError(f"no watch {ref!r} (see `newswatch watch list`)")
    return watch


def remove_watch(rt: Runtime, ref: str) -> Watch:
    watch = get_watch(rt, ref)
    WatchStore(rt.store).remove(watch.id)
    return watch


def check_email(address: str) -> str:
    """``address`` if it looks like a deliverable address (one @, no display name)."""
    address = address.strip()
    name, addr = parseaddr(address)
    local, _, domain = addr.rpartition("@")
    if (not addr or addr != address or name or not local or "." not in domain
            or any(c in address for c in " ,;<>\r\n\"") or len(address) > 254):
        raise InvalidRequestError(f"not an email address: {address!r}")
    return address


def _check_topic(rt: Runtime, topic: str) -> None:
    from enrich.topics import load_taxonomy

    known = {t.name for t in load_taxonomy(rt.settings.taxonomy_path)}
    if topic not in known:
        raise InvalidRequestError(f"unknown topic {topic!r}; known topics: {', '.join(sorted(known))}")


# -- evaluation ---------------------------------------------------------------------------


def evaluate_watches(rt: Runtime) -> int:
    """Match what entered the index since each watch's watermark; store the alerts this
    causes (and their emails) with the moved watermarks. Returns the alerts created."""
    store = WatchStore(rt.store)
    created = 0
    while True:
        upper_bound = rt.store.ingest_high()
        watches = [w for w in store.all() if w.watermark < upper_bound]
        if not watches:
            return created
        lower = min(w.watermark for w in watches)
        rows = store.articles_between(lower, upper_bound, EVAL_CHUNK)
        upper = rows[-1].seq if len(rows) == EVAL_CHUNK else upper_bound
        rows = [r for r in rows if r.seq <= upper]
        created += _evaluate(rt, store, [w for w in watches if w.watermark < upper], rows, upper)


def _evaluate(
    rt: Runtime, store: WatchStore, watches: list[Watch], rows: list[ArticleRow], upper: int
) -> int:
    merged = store.merged_into(r.story_id for r in rows if r.story_id)
    rows = [replace(r, story_id=merged.get(r.story_id, r.story_id)) for r in rows]
    by_id = {r.id: r for r in rows}
    matched: dict[str, list[ArticleRow]] = {}
    groups: dict[int, list[Watch]] = defaultdict(list)
    for w in watches:
        if w.story_id:
            matched[w.id] = [r for r in rows if r.seq > w.watermark and r.story_id == w.story_id]
        else:
            groups[w.watermark].append(w)
    for watermark, group in groups.items():
        ids = [r.id for r in rows if r.seq > watermark]
        outcomes = rt.index.match([w.request() for w in group], ids)
        for w, outcome in zip(group, outcomes, strict=True):
            if outcome.error:
                log.warning("watch %r: %s", w.name, outcome.error)
            matched[w.id] = [by_id[i] for i in outcome.ids if i in by_id]
    interested = [w for w in watches if matched.get(w.id)]
    known = store.known_stories([w.id for w in interested])
    decisions: dict[str, list[Decision]] = {}
    for w in interested:
        followed = {w.story_id: 0} if w.story_id else {}
        candidates = [
            Matched(r.id, r.story_id, r.seq, r.novelty, r.duplicate_of, r.additions)
            for r in matched[w.id]
        ]
        decisions[w.id] = decide(w.id, w.min_novelty, candidates, {**followed, **known[w.id]})
    alerted = {d.story_id for ds in decisions.values() for d in ds}
    facts = store.story_facts(alerted)
    seqs = store.story_seqs(alerted, min((known[w][s] for w in decisions for s in known[w]
                                          if s in alerted), default=0))
    now = rt.clock()
    alert_rows: list[dict[str, object]] = []
    outbox_rows: list[dict[str, object]] = []
    story_rows: dict[tuple[str, str], dict[str, object]] = {}
    for w in interested:
        last_seq = dict(known[w.id])
        for d in decisions[w.id]:
            title, outlets = facts.get(d.story_id, ("", 0))
            row = by_id[d.article_id]
            since = last_seq.get(d.story_id, 0)
            new = sum(1 for seq in seqs.get(d.story_id, ()) if since < seq <= d.seq)
            content = AlertContent(
                kind="new-story" if d.kind == "new-story" else "follow-up",
                watch_name=w.name, recipients=w.recipients or ("nobody@newswatch.invalid",),
                story_id=d.story_id, story_title=title or row.title, items=(_item(row),),
                outlets_count=outlets, new_count=max(new, 1), idempotency_key=d.key,
                mail_from=rt.settings.mail_from,
            )
            data = content_to_json(content)
            alert_rows.append({
                "key": d.key, "watch_id": w.id, "story_id": d.story_id, "article_id": d.article_id,
                "kind": d.kind, "created_at": now, "content": data,
            })
            if w.mode == "immediate":
                outbox_rows += [_outbox_row(w.id, d.kind, data, d.key, email, now)
                                for email in w.recipients]
            story_rows[(w.id, d.story_id)] = {
                "watch_id": w.id, "story_id": d.story_id, "first_alert_at": now,
                "last_alert_at": now, "last_seq": d.seq, "known": d.story_id in known[w.id]}
            last_seq[d.story_id] = d.seq
    return store.commit_evaluation(now, upper, [w.id for w in watches], alert_rows,
                                   outbox_rows, list(story_rows.values()))


def _item(row: ArticleRow) -> AlertItem:
    return AlertItem(
        article_id=row.id, title=row.title, url=row.url, source=row.source,
        published=row.published, snippet=lead_snippet(row.text), novelty=row.novelty,
        additions=row.additions,
    )


def _outbox_row(watch_id: str, kind: str, content: str, alert_key: str, email: str,
                now: datetime) -> dict[str, object]:
    """One email: the alert's content (JSON, shared by its recipients) to one address; the
    key (alert key + address) is the email's idempotency key and Message-ID."""
    return {"key": f"{alert_key}:{email.casefold()}", "watch_id": watch_id, "recipient": email,
            "kind": kind, "content": content, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now, "last_error": ""}


def _personal(row: OutboxRow) -> AlertContent:
    """The email of one outbox row: its content addressed to its recipient, with its key."""
    return replace(content_from_json(row.content), recipients=(row.recipient,),
                   idempotency_key=row.key)


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
        stories = tuple(
            DigestStory(
                story_id=sid, story_title=facts[sid][0] or contents[0].story_title,
                items=tuple(i for c in reversed(contents) for i in c.items),
                outlets_count=facts[sid][1], new_count=len(contents),
            )
            for sid, contents in by_story.items()
        )
        key = f"{w.id}:digest:{end.isoformat()}"
        digest = AlertContent(kind="digest", watch_name=w.name, recipients=w.recipients or
                              ("nobody@newswatch.invalid",), idempotency_key=key,
                              mail_from=rt.settings.mail_from, stories=stories)
        data = content_to_json(digest)
        rows = [_outbox_row(w.id, "digest", data, key, email, now) for email in w.recipients]
        store.commit_digest(w.id, end, key, [a.key for a in pending], rows)
        queued += len(rows)
    return queued


# -- sending ------------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def send_outbox(rt: Runtime, mailer: Mailer | None = None, limit: int = 1000) -> SendReport:
    """Deliver the pending emails that are due. Each is claimed first, so overlapping
    senders never send one twice. A transient error (server down, 4xx) keeps an email for a
    retry with exponential backoff; the first one ends this pass, since the rest would meet
    the same server. Permanent errors (5xx, a bad address) fail the email."""
    own = mailer is None
    mailer = mailer or mailer_for(rt.settings)
    try:
        return _send_due(rt, mailer, limit)
    finally:
        if own:
            mailer.close()


def _send_due(rt: Runtime, mailer: Mailer, limit: int) -> SendReport:
    store = WatchStore(rt.store)
    settings = rt.settings
    secret = secret_for(settings)
    report = SendReport()
    start = rt.clock()
    due = store.claim_due(start, start + CLAIM_FOR, limit)  # overlapping senders get others
    watches = {w.id: w for w in store.all()}
    for n, row in enumerate(due):
        now = rt.clock()
        watch = watches.get(row.watch_id)
        if watch is None or row.recipient.casefold() not in {r.casefold() for r in watch.recipients}:
            store.mark_failed(row.id, row.attempts, "the recipient is no longer on the watch",
                              status="cancelled")
            continue
        try:
            email = render_alert(_personal(row),
                                 unsubscribe_url(settings, row.watch_id, row.recipient, secret),
                                 settings.resolved_public_url, now=now)
            mailer.send(email.message)
        except MailError as exc:
            attempts = row.attempts + 1
            if exc.transient and now - row.created_at < GIVE_UP_AFTER:
                retry = now + backoff(attempts)
                store.mark_retry(row.id, attempts, retry, str(exc))
                store.release([r.id for r in due[n + 1 :]], retry)  # the same server awaits them
                report.deferred += len(due) - n
                report.errors.append(str(exc))
                return report
            store.mark_failed(row.id, attempts, str(exc))
            report.failed += 1
            report.errors.append(str(exc))
            continue
        except ValueError as exc:  # content that cannot be rendered (a bad public URL, …)
            store.mark_failed(row.id, row.attempts + 1, f"cannot render: {exc}")
            report.failed += 1
            report.errors.append(f"cannot render an alert: {exc}")
            continue
        store.mark_sent(row.id, rt.clock())
        report.sent += 1
    return report


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min, 8 min, then every 10 min."""
    return min(RETRY_BASE * (2 ** max(0, attempts - 1)), RETRY_MAX)


def deliver(rt: Runtime, mailer: Mailer | None = None) -> tuple[int, SendReport]:
    """What ``run --once`` does after indexing: evaluate, bundle due digests, send."""
    alerts = evaluate_watches(rt)
    make_digests(rt)
    return alerts, send_outbox(rt, mailer)


# -- links --------------------------------------------------------------------------------


def secret_for(settings: Settings) -> str:
    """The HMAC key of unsubscribe and feed links: the setting, else a random key kept in
    the data directory (created once, readable by its owner only)."""
    if settings.unsubscribe_secret:
        return settings.unsubscribe_secret
    path = Path(settings.home) / "secret.key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        with path.open("x") as f:  # two processes racing: the first one's key wins
            path.chmod(0o600)
            f.write(value)
    except FileExistsError:
        return path.read_text().strip()
    return value


def unsubscribe_url(settings: Settings, watch_id: str, email: str, secret: str = "") -> str:
    token = sign_unsubscribe(watch_id, email, secret or secret_for(settings))
    return f"{settings.resolved_public_url}/unsubscribe?token={quote(token)}"


def feed_url(settings: Settings, watch_id: str) -> str:
    token = sign_feed(watch_id, secret_for(settings))
    return f"{settings.resolved_public_url}/watches/{watch_id}/feed?token={token}"


def unsubscribe(rt: Runtime, token: str) -> tuple[Watch, str]:
    """Take the token's address off the token's watch; idempotent."""
    found = verify_unsubscribe(token, secret_for(rt.settings))
    if found is None:
        raise InvalidRequestError("this unsubscribe link is not valid")
    watch_id, email = found
    watch = WatchStore(rt.store).get(watch_id)
    if watch is None:
        raise NotFoundError("this watch no longer exists; you will get no more email from it")
    WatchStore(rt.store).remove_recipient(watch_id, email)
    return watch, email


def watch_feed(rt: Runtime, watch: Watch, limit: int = 50) -> bytes:
    rows = WatchStore(rt.store).recent_alerts(watch.id, limit)
    alerts = [FeedAlert(r.key, r.created_at, content_from_json(r.content)) for r in rows]
    return render_atom(watch.id, watch.name, alerts, feed_url(rt.settings, watch.id),
                       rt.settings.resolved_public_url, updated=watch.created_at)
