"""The outbox: every email and notification an alert sends, one row per recipient or
destination, written with the watch's watermark and delivered with retries (``delivery.py``).
:class:`alerts.store.WatchStore` carries these queries beside the watches' own."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update

from core import schema as t
from core.db import Store


@dataclass(frozen=True)
class OutboxRow:
    id: int
    key: str
    watch_id: str
    recipient: str
    kind: str
    content: str
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None
    last_error: str
    channel: str = "email"  # email | webhook | apprise; recipient holds the destination URL


class OutboxQueries:
    """The outbox's queries; mixed into WatchStore, which provides ``store`` and ``engine``."""

    store: Store
    engine: Engine

    def outbox_due(self, now: datetime, limit: int = 500) -> list[OutboxRow]:
        o = t.outbox
        query = (select(o).where(o.c.status == "pending", o.c.next_attempt_at <= now)
                 .order_by(o.c.id).limit(limit))
        with self.engine.connect() as conn:
            return [OutboxRow(**r._mapping) for r in conn.execute(query)]

    def outbox(self, watch_id: str | None = None, limit: int = 50) -> list[OutboxRow]:
        o = t.outbox
        query = select(o).order_by(o.c.id.desc()).limit(limit)
        if watch_id:
            query = query.where(o.c.watch_id == watch_id)
        with self.engine.connect() as conn:
            return [OutboxRow(**r._mapping) for r in conn.execute(query)]

    def outbox_counts(self) -> dict[str, int]:
        o = t.outbox
        with self.engine.connect() as conn:
            rows = conn.execute(select(o.c.status, func.count()).group_by(o.c.status)).all()
            return {status: int(n) for status, n in rows}

    def claim_due(self, now: datetime, until: datetime, limit: int = 500) -> list[OutboxRow]:
        """Take the due pending emails (oldest first, at most ``limit``) for sending until
        ``until``, in one transaction; returns what this caller got. The update comes first,
        so concurrent senders queue on the write lock, and its conditions are checked again
        on each row, so a row another sender took is skipped. The lease time carries a
        random microsecond offset that tells this caller's rows from any other's."""
        o = t.outbox
        lease = until + timedelta(microseconds=secrets.randbelow(1_000_000))
        due = (select(o.c.id).where(o.c.status == "pending", o.c.next_attempt_at <= now)
               .order_by(o.c.id).limit(limit).scalar_subquery())
        with self.store.tx() as conn:
            conn.execute(
                update(o)
                .where(o.c.id.in_(due), o.c.status == "pending", o.c.next_attempt_at <= now)
                .values(next_attempt_at=lease)
            )
            rows = conn.execute(select(o).where(o.c.status == "pending",
                                                o.c.next_attempt_at == lease).order_by(o.c.id))
            return [OutboxRow(**r._mapping) for r in rows]

    def release(self, ids: Sequence[int], when: datetime) -> None:
        """Give claimed emails back, due again at ``when``."""
        if ids:
            with self.store.tx() as conn:
                conn.execute(update(t.outbox).where(t.outbox.c.id.in_(list(ids)),
                                                    t.outbox.c.status == "pending")
                             .values(next_attempt_at=when))

    def live_keys(self, keys: Sequence[str]) -> dict[str, int]:
        """The id of each of ``keys`` whose row is sent or still pending."""
        o, found = t.outbox, dict[str, int]()
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                found.update(conn.execute(select(o.c.key, o.c.id).where(
                    o.c.key.in_(list(keys[i:i + 500])), o.c.status.in_(("sent", "pending")))).all())
        return found

    # rows sent as one message are marked in one statement: ``ids`` is an id or a list of them
    def mark_sent(self, ids: int | Sequence[int], now: datetime) -> None:
        self._set(ids, status="sent", sent_at=now, last_error="")

    def mark_retry(self, ids: int | Sequence[int], attempts: int, when: datetime, error: str) -> None:
        self._set(ids, attempts=attempts, next_attempt_at=when, last_error=error)

    def mark_failed(self, ids: int | Sequence[int], attempts: int, error: str, status: str = "failed") -> None:
        self._set(ids, status=status, attempts=attempts, last_error=error)

    def _set(self, ids: int | Sequence[int], **values: Any) -> None:
        with self.store.tx() as conn:
            conn.execute(update(t.outbox).where(t.outbox.c.id.in_(
                [ids] if isinstance(ids, int) else list(ids))).values(**values))
