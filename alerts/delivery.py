"""Delivery: the outbox sent with retries and exponential backoff, exactly once.

Each row is claimed in a transaction before it is sent, so overlapping senders never take
the same one; a server that is down leaves its rows for the next pass. A reader gets one
email per story development however many of their watches it met: the claimed email rows
are grouped by (recipient, story, kind, development) — digests by recipient — and each
group becomes one message naming every watch, sent once, its rows marked together. A
group's Message-ID depends only on its rows' keys, and a reader's messages about a story
thread under the first one (``In-Reply-To`` / ``References``). Webhook and Apprise rows
(``alerts.channels``) are sent one by one, each with its own delivery state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from alerts.channels import EMAIL, ChannelError, Channels
from alerts.content import AlertContent, content_from_json, merge_alerts
from alerts.decide import alert_key
from alerts.links import secret_for, unsubscribe_url
from alerts.mailer import Mailer, MailError, mailer_for
from alerts.outbox import OutboxRow
from alerts.render import message_id_for, render_alert, thread_root_id
from alerts.store import WatchStore
from core.models import Watch, redact_destination
from core.runtime import Runtime

RETRY_BASE = timedelta(seconds=30)  # first retry after a transient error


RETRY_MAX = timedelta(minutes=10)  # longest wait between two attempts


CLAIM_FOR = timedelta(minutes=5)  # a sender's hold on a row while it sends it


GIVE_UP_AFTER = timedelta(days=2)  # transient errors for this long make a row fail


def personal_content(row: OutboxRow) -> AlertContent:
    """The alert of one outbox row: its content addressed to its recipient, with its key."""
    return replace(content_from_json(row.content), recipients=(row.recipient,),
                   idempotency_key=row.key)


@dataclass
class SendReport:
    sent: int = 0  # outbox rows delivered (an email naming two watches delivers two)
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    messages: int = 0  # emails handed to the mail server


@dataclass(frozen=True)
class Claimed:
    row: OutboxRow
    content: AlertContent  # addressed to the row's recipient


@dataclass(frozen=True)
class EmailGroup:
    """Claimed email rows that go out as one message."""

    rows: tuple[Claimed, ...]

    @property
    def recipient(self) -> str:
        return self.rows[0].row.recipient

    @property
    def kind(self) -> str:
        return self.rows[0].content.kind

    @property
    def story_id(self) -> str:
        return self.rows[0].content.story_id

    @property
    def ids(self) -> list[int]:
        return [c.row.id for c in self.rows]

    @property
    def keys(self) -> list[str]:
        return sorted(c.row.key for c in self.rows)


def email_groups(claimed: Sequence[Claimed]) -> list[EmailGroup]:
    """``claimed`` email rows grouped into messages, in the order of each group's first row:
    one per (recipient, story) for new stories, per (recipient, story, article) for
    follow-ups, per recipient for digests."""
    groups: dict[tuple[str, ...], list[Claimed]] = defaultdict(list)
    for c in claimed:
        alert = c.content
        key: tuple[str, ...] = (c.row.recipient.strip().casefold(), alert.kind)
        if alert.kind == "new-story":
            key += (alert.story_id,)
        elif alert.kind == "follow-up":
            key += (alert.story_id, *sorted(i.article_id for i in alert.items))
        groups[key].append(c)
    return [EmailGroup(tuple(rows)) for rows in groups.values()]


def send_outbox(rt: Runtime, mailer: Mailer | None = None, limit: int = 1000,
                channels: Channels | None = None) -> SendReport:
    """Deliver the pending outbox rows that are due. A transient error (server down, SMTP
    4xx, webhook 5xx/429/timeout) keeps a row for a retry with exponential backoff, and
    the rest of this pass's rows for the same server wait with it; permanent errors (SMTP
    5xx, a bad address, a webhook's 4xx) fail the row."""
    own_mailer, own_channels = mailer is None, channels is None
    mailer = mailer or mailer_for(rt.settings)
    channels = channels or Channels(rt.settings)
    try:
        return _Pass(rt, mailer, channels).run(limit)
    finally:
        if own_mailer:
            mailer.close()
        if own_channels:
            channels.close()


class _Pass:
    """One sending pass over the rows this sender claimed."""

    def __init__(self, rt: Runtime, mailer: Mailer, channels: Channels) -> None:
        self.rt = rt
        self.store = WatchStore(rt.store)
        self.mailer = mailer
        self.channels = channels
        self.report = SendReport()
        self.watches: dict[str, Watch] = {}

    def run(self, limit: int) -> SendReport:
        start = self.rt.clock()
        due = self.store.claim_due(start, start + CLAIM_FOR, limit)  # overlapping senders get others
        self.watches = {w.id: w for w in self.store.all()}
        claimed = [c for c in (self._open(row) for row in due) if c is not None]
        self._send_emails(email_groups([c for c in claimed if c.row.channel == EMAIL]))
        self._send_destinations([c for c in claimed if c.row.channel != EMAIL])
        return self.report

    def _open(self, row: OutboxRow) -> Claimed | None:
        """The row's alert, or None when it is cancelled or cannot be read."""
        watch = self.watches.get(row.watch_id)
        if row.channel == EMAIL:
            gone = watch is None or row.recipient.casefold() not in {
                r.casefold() for r in watch.recipients}
            why = "the recipient is no longer on the watch"
        else:
            gone = watch is None or row.recipient not in watch.destinations
            why = "the destination is no longer on the watch"
        if gone:
            self.store.mark_failed(row.id, row.attempts, why, status="cancelled")
            return None
        try:
            return Claimed(row, personal_content(row))
        except (ValueError, KeyError, TypeError) as exc:
            self._fail([row], f"cannot read the stored alert: {exc}")
            return None

    # -- email -----------------------------------------------------------------------------
    def _send_emails(self, groups: list[EmailGroup]) -> None:
        settings = self.rt.settings
        secret = secret_for(settings) if groups else ""
        roots = self._thread_roots(groups)
        for n, group in enumerate(groups):
            now = self.rt.clock()
            alert = merge_alerts([c.content for c in group.rows], "\n".join(group.keys))
            message_id, in_reply_to = self._thread(group, alert, roots)
            links = [(r.watch_name, unsubscribe_url(settings, r.watch_id, group.recipient, secret))
                     for r in alert.watch_reasons if r.watch_id]
            if not links:  # an alert stored before reasons were kept: its row's watch
                links = [(alert.watch_name, unsubscribe_url(
                    settings, group.rows[0].row.watch_id, group.recipient, secret))]
            try:
                email = render_alert(alert, links[0][1], settings.resolved_public_url, now=now,
                                     message_id=message_id, in_reply_to=in_reply_to,
                                     watch_links=links)
                self.mailer.send(email.message)
            except MailError as exc:
                if exc.transient and self._retry([c.row for c in group.rows], now, str(exc)):
                    later = [c.row for g in groups[n + 1:] for c in g.rows]
                    self._defer(later, now, [c.row for c in group.rows])  # same server awaits them
                    return
                self._fail([c.row for c in group.rows], str(exc))
                continue
            except ValueError as exc:  # content that cannot be rendered (a bad public URL, …)
                self._fail([c.row for c in group.rows], f"cannot render: {exc}",
                           f"cannot render an alert: {exc}")
                continue
            self.store.mark_sent(group.ids, self.rt.clock())
            self.report.sent += len(group.rows)
            self.report.messages += 1

    def _thread_roots(self, groups: list[EmailGroup]) -> dict[str, int]:
        """Outbox ids of the live new-story emails that could open each group's thread:
        those of the reader's watches about the group's story."""
        by_reader: dict[str, list[str]] = defaultdict(list)
        for w in self.watches.values():
            for address in w.recipients:
                by_reader[address.casefold()].append(w.id)
        keys = {_root_key(watch_id, g.story_id, g.recipient)
                for g in groups if g.kind != "digest"
                for watch_id in by_reader.get(g.recipient.casefold(), ())}
        return self.store.live_keys(sorted(keys)) if keys else {}

    def _thread(self, group: EmailGroup, alert: AlertContent,
                roots: dict[str, int]) -> tuple[str, str]:
        """(Message-ID, the Message-ID it replies to or ""). A new story's message is known
        by its first row's key, so later messages can name it as their thread's root."""
        mail_from = alert.mail_from
        if group.kind == "digest":
            return message_id_for("\n".join(group.keys), mail_from), ""
        reader = group.recipient.casefold()
        candidates = {k: i for k, i in roots.items()
                      if k.endswith(f":{reader}") and f":{group.story_id}:new-story:" in k}
        root = min(candidates, key=lambda k: candidates[k]) if candidates else ""
        if group.kind == "new-story":
            first = min(group.rows, key=lambda c: c.row.id).row.key
            own = message_id_for(first, mail_from)
            return own, "" if root in ("", first) else message_id_for(root, mail_from)
        own = message_id_for("\n".join(group.keys), mail_from)
        parent = (message_id_for(root, mail_from) if root
                  else thread_root_id(group.story_id, group.recipient, mail_from))
        return own, parent

    # -- webhooks and Apprise --------------------------------------------------------------
    def _send_destinations(self, claimed: list[Claimed]) -> None:
        down: set[str] = set()  # destinations that failed transiently in this pass
        for c in claimed:
            row, now = c.row, self.rt.clock()
            if row.recipient in down:
                self._defer([row], now)
                continue
            watch = self.watches[row.watch_id]
            try:
                self.channels.send(row.channel, row.recipient, c.content, row.key, watch.secret)
            except ChannelError as exc:
                if exc.transient and self._retry([row], now, str(exc)):
                    down.add(row.recipient)
                    continue
                self._fail([row], str(exc))
                continue
            except Exception as exc:  # a channel library's own bug must not stop the pass
                self._fail([row], f"{row.channel} {redact_destination(row.recipient)}: "
                                  f"{type(exc).__name__}")
                continue
            self.store.mark_sent(row.id, self.rt.clock())
            self.report.sent += 1

    # -- outcomes --------------------------------------------------------------------------
    def _retry(self, rows: list[OutboxRow], now: datetime, error: str) -> bool:
        """Schedule ``rows`` again with backoff; False when they have been retried for too
        long already (the caller fails them)."""
        if now - min(r.created_at for r in rows) >= GIVE_UP_AFTER:
            return False
        attempts = max(r.attempts for r in rows) + 1
        when = now + backoff(attempts)
        self.store.mark_retry([r.id for r in rows], attempts, when, error)
        self.report.deferred += len(rows)
        self.report.errors.append(error)
        return True

    def _defer(self, rows: list[OutboxRow], now: datetime,
               failed: Sequence[OutboxRow] = ()) -> None:
        """Give back claimed rows not tried in this pass, due with the retry of ``failed``."""
        if rows:
            wait = backoff(max((r.attempts for r in failed), default=0) + 1) if failed else RETRY_BASE
            self.store.release([r.id for r in rows], now + wait)
            self.report.deferred += len(rows)

    def _fail(self, rows: list[OutboxRow], error: str, shown: str = "") -> None:
        self.store.mark_failed([r.id for r in rows], max(r.attempts for r in rows) + 1, error)
        self.report.failed += len(rows)
        self.report.errors.append(shown or error)


def _root_key(watch_id: str, story_id: str, recipient: str) -> str:
    """The outbox key of the new-story email ``watch_id`` sent ``recipient`` about a story."""
    return f"{alert_key(watch_id, story_id, 'new-story')}:{recipient.casefold()}"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min, 8 min, then every 10 min."""
    return min(RETRY_BASE * (2 ** max(0, attempts - 1)), RETRY_MAX)
