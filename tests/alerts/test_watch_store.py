"""Reading every watch at once (``WatchStore.all``, one plain select read as the driver
gives it) gives the same watches as reading each through SQLAlchemy (``WatchStore.get``),
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import update

from alerts.store import WatchStore
from core import schema as t
from core.models import Watch
from core.runtime import Runtime

CREATED = datetime(2026, 11, 21, 12, 30, 15, 123456, tzinfo=UTC)


def watches() -> list[Watch]:
    return [
        Watch(id="w1", name="zebra", recipients=("a@example.org", "B@example.org"),
              created_at=CREATED, query='shells OR "artillery rounds"', entities=("Q1", "Q2"),
              entity_names=("Pyongyang", "Moscow"), topic="conflict", source="The Ledger",
              language="en", min_novelty=0.45, watermark=17,
              last_evaluated_at=CREATED + timedelta(minutes=5),
              last_digest_at=datetime(2026, 11, 21, 11, tzinfo=UTC), paused=True,
              destinations=("https://hooks.example.com/x", "tgram://1:TOKEN/2"),
              secret="ab" * 32),
        Watch(id="w2", name="Alpha", recipients=("c@example.org",),
              created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
              story_id="s1", mode="daily", min_novelty=0.0),
        Watch(id="w3", name="middle", recipients=(), created_at=CREATED, query="café"),
    ]


def test_all_reads_what_get_reads(rt: Runtime) -> None:
    store = WatchStore(rt.store)
    for w in watches():
        store.add(w)
        with rt.store.tx() as conn:  # what evaluation and digests set later
            conn.execute(update(t.watches).where(t.watches.c.id == w.id).values(
                last_evaluated_at=w.last_evaluated_at, last_digest_at=w.last_digest_at))
    every = store.all()
    assert [w.id for w in every] == [w.id for w in sorted(every, key=lambda w: w.name)]
    assert {w.id for w in every} == {"w1", "w2", "w3"}
    for w in every:
        one = store.get(w.id)
        assert one is not None
        assert w == one and w.secret == one.secret  # every field, the secret too
        assert w.created_at.tzinfo is not None and w.created_at.utcoffset() == timedelta(0)
    by_id = {w.id: w for w in every}
    assert by_id["w1"].last_evaluated_at == CREATED + timedelta(minutes=5)
    assert by_id["w1"].paused and not by_id["w2"].paused
    assert by_id["w2"].created_at == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert by_id["w1"].destinations == ("https://hooks.example.com/x", "tgram://1:TOKEN/2")
