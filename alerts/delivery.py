"""Delivery: the outbox sent with retries and exponential backoff, exactly once (each email is
claimed in a transaction before it is sent; a server that is down leaves it for the next pass)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from alerts.content import AlertContent, content_from_json
from alerts.links import secret_for, unsubscribe_url
from alerts.mailer import Mailer, MailError, mailer_for
from alerts.render import render_alert
from alerts.store import OutboxRow, WatchStore
from core.runtime import Runtime

RETRY_BASE = timedelta(seconds=30)  # first retry after a transient mail error


RETRY_MAX = timedelta(minutes=10)  # longest wait between two attempts


CLAIM_FOR = timedelta(minutes=5)  # a sender's hold on an email while it sends it


GIVE_UP_AFTER = timedelta(days=2)  # transient errors for this long make an email fail


def personal_content(row: OutboxRow) -> AlertContent:
    """The email of one outbox row: its content addressed to its recipient, with its key."""
    return replace(content_from_json(row.content), recipients=(row.recipient,),
                   idempotency_key=row.key)


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
            email = render_alert(personal_content(row),
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


