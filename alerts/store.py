"""Watches, alerts and the outbox in the state store (same engine as :class:`Store`).

Evaluating watches writes its alerts, the emails they cause and the moved watermarks in
one transaction (:meth:`WatchStore.commit_evaluation`): either all of a batch's effects are
stored or none, so a crash never loses an alert and a re-run never repeats one. Every
insert is keyed by an idempotency key and ignores a row that is already there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from alerts.outbox import OutboxQueries
from core import schema as t
from core.db import Store
from core.errors import InvalidRequestError, NotFoundError
from core.models import Watch


@dataclass(frozen=True)
class ArticleRow:
    """What watch evaluation needs to know about an article that entered the index."""

    id: str
    seq: int
    story_id: str
    duplicate_of: str | None
    novelty: float | None
    additions: dict[str, Any]
    title: str
    url: str
    source: str
    published: datetime | None
    text: str
    language: str = ""


@dataclass(frozen=True)
class AlertRow:
    key: str
    watch_id: str
    story_id: str
    article_id: str
    kind: str
    created_at: datetime
    content: str
    digest_key: str | None


_ARTICLE_ROW = select(*(t.articles.c[n] for n in (  # what evaluation reads (ArticleRow)
    "id", "ingest_seq", "story_id", "duplicate_of", "novelty", "novelty_detail", "title", "url",
    "source", "published_at", "text", "language")))


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert ``rows``, skipping any whose key is already stored; returns rows inserted."""
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    key = table.c.key  # alerts and outbox: the idempotency key
    before = _present(conn, key, [r[key.name] for r in rows])
    conn.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))
    return len({r[key.name] for r in rows} - before)


def _present(conn: Connection, column: Any, values: list[Any]) -> set[Any]:
    found: set[Any] = set()
    for i in range(0, len(values), 500):
        found |= set(conn.execute(select(column).where(column.in_(values[i : i + 500]))).scalars())
    return found


def _watch(row: Any) -> Watch:
    return Watch(
        id=row.id, name=row.name, recipients=_json_list(row.recipients),
        created_at=row.created_at, query=row.query, entities=_json_list(row.entities),
        entity_names=_json_list(row.entity_names), topic=row.topic, source=row.source,
        language=row.language, story_id=row.story_id, mode=row.mode,
        min_novelty=float(row.min_novelty), watermark=int(row.watermark),
        last_evaluated_at=row.last_evaluated_at, last_digest_at=row.last_digest_at,
        paused=bool(row.paused), destinations=_json_list(row.destinations),
        secret=row.secret or "",
    )


def _json_list(text: str | None) -> tuple[str, ...]:
    """A JSON list column as a tuple (most are empty: no parse for those)."""
    return () if not text or text == "[]" else tuple(json.loads(text))


# Every watch in one plain select, rows as the driver gives them (``WatchStore.all``):
# 10,000 watches through SQLAlchemy's result processing took 0.5 s of each evaluation.
_WATCH_COLUMNS = ("id", "name", "recipients", "created_at", "query", "entities", "entity_names",
                  "topic", "source", "language", "story_id", "mode", "min_novelty", "watermark",
                  "last_evaluated_at", "last_digest_at", "paused", "destinations", "secret")
_ALL_WATCHES = f"SELECT {', '.join(_WATCH_COLUMNS)} FROM watches ORDER BY name"


def _utc(value: Any) -> datetime | None:
    """A driver's datetime value as ``UTCDateTime`` reads it: aware, in UTC (SQLite's
    driver gives the stored naive text, PostgreSQL's an aware datetime)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _watch_from_driver(row: Sequence[Any]) -> Watch:
    (id_, name, recipients, created_at, query, entities, entity_names, topic, source, language,
     story_id, mode, min_novelty, watermark, last_evaluated_at, last_digest_at, paused,
     destinations, secret) = row
    created = _utc(created_at)
    assert created is not None  # NOT NULL
    return Watch(
        id=id_, name=name, recipients=_json_list(recipients), created_at=created,
        query=query, entities=_json_list(entities), entity_names=_json_list(entity_names),
        topic=topic, source=source, language=language, story_id=story_id, mode=mode,
        min_novelty=float(min_novelty), watermark=int(watermark),
        last_evaluated_at=_utc(last_evaluated_at), last_digest_at=_utc(last_digest_at),
        paused=bool(paused), destinations=_json_list(destinations), secret=secret or "",
    )


class WatchStore(OutboxQueries):
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # watches ------------------------------------------------------------------------------
    def add(
        self, watch: Watch, *, alerts: Sequence[dict[str, Any]] = (),
        outbox: Sequence[dict[str, Any]] = (), stories: Sequence[dict[str, Any]] = (),
    ) -> Watch:
        """Store a new watch, and the alerts, outbox rows and story state of its backfill
        (``alerts.backfill``) in the same transaction."""
        w = t.watches
        with self.store.tx() as conn:
            taken = conn.execute(select(w.c.id).where(w.c.name == watch.name)).first()
            if taken is not None:
                raise InvalidRequestError(f"a watch named {watch.name!r} exists already")
            conn.execute(w.insert().values(
                id=watch.id, name=watch.name, query=watch.query,
                entities=json.dumps(list(watch.entities)),
                entity_names=json.dumps(list(watch.entity_names)), topic=watch.topic,
                source=watch.source, language=watch.language, story_id=watch.story_id,
                recipients=json.dumps(list(watch.recipients)), mode=watch.mode,
                min_novelty=watch.min_novelty, created_at=watch.created_at,
                watermark=watch.watermark, paused=watch.paused,
                destinations=json.dumps(list(watch.destinations)), secret=watch.secret,
            ))
            insert_ignore(conn, t.alerts, alerts)
            insert_ignore(conn, t.outbox, outbox)
            if stories:
                dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
                conn.execute(dialect.insert(t.watch_stories).on_conflict_do_nothing(),
                             list(stories))
        return watch

    EDITABLE = ("name", "query", "entities", "entity_names", "topic", "source", "language",
                "recipients", "mode", "min_novelty", "paused", "destinations", "secret")

    def update(self, watch_id: str, *, forget_stories: bool = False, **values: Any) -> Watch:
        """Change the given fields of a watch (names in ``EDITABLE``; tuples as on
        :class:`Watch`); returns it as stored. ``forget_stories``: in the same transaction,
        forget the stories it has alerted about, so it no longer follows them."""
        unknown = sorted(set(values) - set(self.EDITABLE))
        if unknown:
            raise InvalidRequestError(f"cannot change {', '.join(unknown)} of a watch")
        row: dict[str, Any] = {}
        for key, value in values.items():
            row[key] = json.dumps(list(value)) if isinstance(value, tuple | list) else value
        w = t.watches
        with self.store.tx() as conn:
            if "name" in row:
                taken = conn.execute(select(w.c.id).where(w.c.name == row["name"])
                                     .where(w.c.id != watch_id)).first()
                if taken is not None:
                    raise InvalidRequestError(f"a watch named {row['name']!r} exists already")
            if row:
                conn.execute(w.update().where(w.c.id == watch_id).values(**row))
            if forget_stories:
                conn.execute(delete(t.watch_stories).where(t.watch_stories.c.watch_id == watch_id))
            found = conn.execute(select(w).where(w.c.id == watch_id)).first()
        if found is None:
            raise NotFoundError(f"no watch {watch_id!r}")
        return _watch(found)

    def mute(self, watch_id: str, story_id: str, now: datetime) -> bool:
        """Stop alerting ``watch_id`` about ``story_id``; False when it was muted already."""
        with self.store.tx() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            done = conn.execute(dialect.insert(t.watch_mutes).on_conflict_do_nothing()
                                .returning(t.watch_mutes.c.story_id),
                                {"watch_id": watch_id, "story_id": story_id, "muted_at": now})
            return done.first() is not None

    def unmute(self, watch_id: str, story_id: str) -> bool:
        m = t.watch_mutes
        with self.store.tx() as conn:
            done = conn.execute(m.delete().where(m.c.watch_id == watch_id)
                                .where(m.c.story_id == story_id))
        return bool(done.rowcount)

    def muted(self, watch_ids: Sequence[str]) -> dict[str, set[str]]:
        """The muted stories of each of ``watch_ids``."""
        m = t.watch_mutes
        found: dict[str, set[str]] = {w: set() for w in watch_ids}
        with self.engine.connect() as conn:
            for i in range(0, len(watch_ids), 500):
                query = select(m.c.watch_id, m.c.story_id).where(
                    m.c.watch_id.in_(list(watch_ids[i:i + 500])))
                for watch_id, story_id in conn.execute(query):
                    found[watch_id].add(story_id)
        return found

    def resume(self, watch_id: str, high: int) -> Watch:
        """Unpause a watch, its watermark moved up to ``high`` (never back): it alerts on
        what enters the index from now on, not on what came while it was paused."""
        w = t.watches
        with self.store.tx() as conn:
            conn.execute(update(w).where(w.c.id == watch_id, w.c.watermark < high)
                         .values(watermark=high))
        return self.update(watch_id, paused=False)

    def get(self, ref: str) -> Watch | None:
        """A watch by id or by name."""
        w = t.watches
        with self.engine.connect() as conn:
            row = conn.execute(select(w).where((w.c.id == ref) | (w.c.name == ref))).first()
        return _watch(row) if row is not None else None

    def all(self) -> list[Watch]:
        """Every watch, by name."""
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(_ALL_WATCHES).all()
        return [_watch_from_driver(r) for r in rows]

    def remove(self, watch_id: str) -> None:
        with self.store.tx() as conn:
            conn.execute(delete(t.alerts).where(t.alerts.c.watch_id == watch_id))
            conn.execute(delete(t.watch_stories).where(t.watch_stories.c.watch_id == watch_id))
            conn.execute(
                update(t.outbox)
                .where(t.outbox.c.watch_id == watch_id, t.outbox.c.status == "pending")
                .values(status="cancelled", last_error="the watch was removed")
            )
            conn.execute(delete(t.watches).where(t.watches.c.id == watch_id))

    def remove_recipient(self, watch_id: str, email: str) -> bool:
        """Take ``email`` off the watch (and cancel its pending mail); False if not on it."""
        w = t.watches
        with self.store.tx() as conn:
            row = conn.execute(select(w.c.recipients).where(w.c.id == watch_id)).first()
            if row is None:
                return False
            recipients = json.loads(row.recipients)
            kept = [r for r in recipients if r.casefold() != email.casefold()]
            if len(kept) == len(recipients):
                return False
            conn.execute(update(w).where(w.c.id == watch_id).values(recipients=json.dumps(kept)))
            conn.execute(
                update(t.outbox)
                .where(t.outbox.c.watch_id == watch_id, t.outbox.c.status == "pending",
                       func.lower(t.outbox.c.recipient) == email.casefold())
                .values(status="cancelled", last_error="the recipient unsubscribed")
            )
            return True

    # evaluation ---------------------------------------------------------------------------
    def articles_between(self, lower: int, upper: int, limit: int | None = None) -> list[ArticleRow]:
        """Articles whose ingest sequence number lies in (lower, upper], in ingest order
        (the first ``limit`` of them)."""
        a = t.articles
        return self._article_rows(_ARTICLE_ROW.where(a.c.ingest_seq > lower, a.c.ingest_seq <= upper)
                                  .order_by(a.c.ingest_seq).limit(limit))

    def _article_rows(self, query: Any) -> list[ArticleRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            ArticleRow(
                id=r.id, seq=int(r.ingest_seq), story_id=r.story_id or "",
                duplicate_of=r.duplicate_of, novelty=r.novelty,
                additions=json.loads(r.novelty_detail or "{}").get("additions", {}),
                title=r.title, url=r.url, source=r.source, published=r.published_at,
                text=r.text[:2000], language=r.language or "",
            )
            for r in rows
        ]

    def published_since(self, since: datetime, upper: int) -> list[tuple[str, int, str]]:
        """(id, seq, story) of the articles up to ``upper`` published (or first seen) since."""
        a = t.articles
        query = (select(a.c.id, a.c.ingest_seq, a.c.story_id).order_by(a.c.ingest_seq).where(
            a.c.ingest_seq > 0, a.c.ingest_seq <= upper,
            func.coalesce(a.c.published_at, a.c.first_seen_at) >= since))
        with self.engine.connect() as conn:
            return [(r.id, int(r.ingest_seq), r.story_id or "") for r in conn.execute(query)]

    def articles_with_ids(self, ids: Sequence[str]) -> list[ArticleRow]:
        """The indexed articles among ``ids`` (as :meth:`articles_between`), in ingest order."""
        a = t.articles
        found: list[ArticleRow] = []
        for i in range(0, len(ids), 500):
            found += self._article_rows(_ARTICLE_ROW.where(a.c.id.in_(list(ids[i : i + 500])),
                                                           a.c.ingest_seq.is_not(None)))
        return sorted(found, key=lambda r: r.seq)

    def merged_into(self, story_ids: Iterable[str]) -> dict[str, str]:
        """For each merged-away story among ``story_ids``, the story it was merged into."""
        s = t.stories
        wanted = list(set(story_ids))
        out: dict[str, str] = {}
        while wanted:
            with self.engine.connect() as conn:
                rows = conn.execute(select(s.c.id, s.c.merged_into).where(
                    s.c.id.in_(wanted), s.c.merged_into.is_not(None))).all()
            step = {r.id: r.merged_into for r in rows if r.id not in out}
            out.update(step)
            wanted = [v for v in step.values() if v not in out]
        for start in list(out):  # follow chains to their end
            seen, end = {start}, out[start]
            while end in out and end not in seen:
                seen.add(end)
                end = out[end]
            out[start] = end
        return out

    def merged_from(self, story_ids: Iterable[str]) -> dict[str, str]:
        """Each of ``story_ids`` and every story merged into it (directly or through
        others), mapped to it: the ids under which a watch may have known it."""
        s = t.stories
        root = {i: i for i in story_ids}
        frontier = list(root)
        while frontier:
            found: list[str] = []
            with self.engine.connect() as conn:
                for i in range(0, len(frontier), 500):
                    for r in conn.execute(select(s.c.id, s.c.merged_into).where(
                            s.c.merged_into.in_(frontier[i : i + 500]))):
                        if r.id not in root:
                            root[r.id] = root[r.merged_into]
                            found.append(r.id)
            frontier = found
        return root

    def following(self, story_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        """The watches that have alerted about any of ``story_ids`` (also under the id of a
        story merged into it since): watch -> story -> last alerted ingest number."""
        root = self.merged_from(story_ids)
        ws = t.watch_stories
        ids = sorted(root)
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(ids), 500):
                query = select(ws.c.watch_id, ws.c.story_id, ws.c.last_seq).where(
                    ws.c.story_id.in_(ids[i : i + 500]))
                for watch_id, story_id, seq in conn.execute(query):
                    known = out.setdefault(watch_id, {})
                    story = root[story_id]
                    known[story] = max(known.get(story, 0), int(seq))
        return out

    def new_story_articles(self, article_ids: Sequence[str]) -> set[tuple[str, str]]:
        """(watch, article) of the "new story" alerts that showed one of ``article_ids``."""
        al = t.alerts
        found: set[tuple[str, str]] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(article_ids), 500):
                query = select(al.c.watch_id, al.c.article_id).where(
                    al.c.kind == "new-story", al.c.article_id.in_(list(article_ids[i : i + 500])))
                found |= {(r.watch_id, r.article_id) for r in conn.execute(query)}
        return found

    def known_stories(self, watch_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """For each watch, the stories it has alerted about and the last alerted sequence."""
        ws = t.watch_stories
        out: dict[str, dict[str, int]] = {w: {} for w in watch_ids}
        with self.engine.connect() as conn:
            for i in range(0, len(watch_ids), 500):
                chunk = list(watch_ids[i : i + 500])
                for r in conn.execute(select(ws).where(ws.c.watch_id.in_(chunk))):
                    out[r.watch_id][r.story_id] = int(r.last_seq)
        return out

    def story_facts(self, story_ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        """(title, outlets so far) of each story."""
        ids = list(set(story_ids))
        if not ids:
            return {}
        a, s = t.articles, t.stories
        with self.engine.connect() as conn:
            titles = dict(conn.execute(select(s.c.id, s.c.title).where(s.c.id.in_(ids))).all())
            outlets: dict[str, int] = dict(conn.execute(
                select(a.c.story_id, func.count(func.distinct(a.c.source)))
                .where(a.c.story_id.in_(ids)).group_by(a.c.story_id)
            ).all())
        return {i: (titles.get(i, ""), int(outlets.get(i, 0))) for i in ids}

    def story_seqs(self, story_ids: Iterable[str], after: int) -> dict[str, list[int]]:
        """The ingest sequence numbers above ``after`` of each story's articles, ascending."""
        a = t.articles
        ids = sorted(set(story_ids))
        out: dict[str, list[int]] = {i: [] for i in ids}
        with self.engine.connect() as conn:
            for i in range(0, len(ids), 500):
                rows = conn.execute(
                    select(a.c.story_id, a.c.ingest_seq)
                    .where(a.c.story_id.in_(ids[i : i + 500]), a.c.ingest_seq > after)
                    .order_by(a.c.ingest_seq)
                )
                for story_id, seq in rows:
                    out[story_id].append(int(seq))
        return out

    def commit_evaluation(
        self,
        now: datetime,
        upper: int,
        watch_ids: Sequence[str],
        alerts: Sequence[dict[str, Any]],
        outbox: Sequence[dict[str, Any]],
        stories: Sequence[dict[str, Any]],
    ) -> int:
        """Store a batch's alerts, their emails and the stories' alert state, and move the
        watches' watermarks to ``upper`` — all in one transaction. Returns new alerts."""
        w, ws = t.watches, t.watch_stories
        with self.store.tx() as conn:
            created = insert_ignore(conn, t.alerts, alerts)
            insert_ignore(conn, t.outbox, outbox)
            fresh = [{k: v for k, v in r.items() if k != "known"} for r in stories
                     if not r["known"]]
            if fresh:
                dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
                conn.execute(dialect.insert(ws).on_conflict_do_nothing(), fresh)
            moved = [{"w": r["watch_id"], "s": r["story_id"], "seq": r["last_seq"],
                      "at": r["last_alert_at"]} for r in stories if r["known"]]
            if moved:
                conn.execute(
                    update(ws)
                    .where(ws.c.watch_id == bindparam("w"), ws.c.story_id == bindparam("s"),
                           ws.c.last_seq < bindparam("seq"))
                    .values(last_alert_at=bindparam("at"), last_seq=bindparam("seq")),
                    moved,
                )
            for i in range(0, len(watch_ids), 500):
                conn.execute(
                    update(w)
                    .where(w.c.id.in_(list(watch_ids[i : i + 500])), w.c.watermark < upper)
                    .values(watermark=upper, last_evaluated_at=now)
                )
        return created

    # digests ------------------------------------------------------------------------------
    def undigested(self, watch_id: str, before: datetime) -> list[AlertRow]:
        al = t.alerts
        query = (
            select(al)
            .where(al.c.watch_id == watch_id, al.c.digest_key.is_(None), al.c.created_at < before)
            .order_by(al.c.created_at, al.c.key)
        )
        with self.engine.connect() as conn:
            return [AlertRow(**r._mapping) for r in conn.execute(query)]

    def commit_digest(
        self, watch_id: str, period_end: datetime, digest_key: str, alert_keys: Sequence[str],
        outbox: Sequence[dict[str, Any]],
    ) -> None:
        with self.store.tx() as conn:
            insert_ignore(conn, t.outbox, outbox)
            for i in range(0, len(alert_keys), 500):
                conn.execute(update(t.alerts).where(t.alerts.c.key.in_(alert_keys[i : i + 500]))
                             .values(digest_key=digest_key))
            conn.execute(update(t.watches).where(t.watches.c.id == watch_id)
                         .values(last_digest_at=period_end))

    # the watch's own feed -----------------------------------------------------------------
    def recent_alerts(self, watch_id: str, limit: int = 50) -> list[AlertRow]:
        al = t.alerts
        query = (select(al).where(al.c.watch_id == watch_id)
                 .order_by(al.c.created_at.desc(), al.c.key.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [AlertRow(**r._mapping) for r in conn.execute(query)]
