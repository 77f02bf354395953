"""What must hold after faults and one clean run: nothing lost, nothing twice, the state
store consistent with itself, with the search index and with the mail server."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
from faults.publishing import REVISION_NOTE
from sqlalchemy import select

from alerts.render import message_id_for
from core import schema as t
from core.db import Store
from core.settings import Settings
from newswatch.demo.catalog import DemoArticle


@dataclass
class Tally:
    """What was checked, for the test's printout."""

    articles: int = 0
    revised: int = 0
    stories: int = 0
    alerts: int = 0
    outbox: dict[str, int] = field(default_factory=dict)
    emails: int = 0  # messages the SMTP server received
    duplicates: int = 0  # of which copies of a message already received (same Message-ID)
    runs: dict[str, int] = field(default_factory=dict)


def index_contents(settings: Settings) -> tuple[list[tuple[str, int]], dict[str, set[str]]]:
    """(article id, revision) of every article document (a list: a duplicate would show),
    and each story document's article ids, read from the index itself."""
    if settings.index == "embedded":
        conn = sqlite3.connect(f"file:{settings.resolved_index_path}?mode=ro", uri=True)
        try:
            docs = [(i, int(r)) for i, r in conn.execute("SELECT id, revision FROM docs")]
            stories = {i: set(json.loads(d)["article_ids"])
                       for i, d in conn.execute("SELECT id, doc FROM stories")}
        finally:
            conn.close()
        return docs, stories
    base, prefix = settings.es_url.rstrip("/"), settings.es_index_prefix

    def everything(kind: str, fields: list[str]) -> list[dict[str, Any]]:
        r = httpx.post(f"{base}/{prefix}-{kind}/_search", timeout=30,
                       json={"size": 10000, "_source": fields, "query": {"match_all": {}}})
        r.raise_for_status()
        return list(r.json()["hits"]["hits"])

    docs = [(h["_id"], int(h["_source"]["revision"])) for h in everything("articles", ["revision"])]
    stories = {h["_id"]: set(h["_source"]["article_ids"])
               for h in everything("stories", ["article_ids"])}
    return docs, stories


def check_consistent(
    settings: Settings,
    served: dict[str, DemoArticle] | None = None,
    messages: list[EmailMessage] | None = None,
    max_duplicates: int = 0,
) -> Tally:
    """Assert every invariant after a clean run; ``served`` are the articles the site serves
    now (each must be stored at its newest text), ``messages`` what the SMTP server got."""
    tally = Tally()
    store = Store.open(settings.resolved_database_url, migrate_schema=False)
    try:
        with store.engine.connect() as conn:
            _check_articles(conn, store, served, tally)
            _check_stories(conn, tally)
            docs, story_docs = index_contents(settings)
            _check_index(conn, docs, story_docs)
            _check_alerts(conn, store, settings, messages, max_duplicates, tally)
            tally.runs = dict(Counter(conn.execute(select(t.runs.c.status)).scalars()))
    finally:
        store.close()
    return tally


def _check_articles(conn: Any, store: Store, served: dict[str, DemoArticle] | None,
                    tally: Tally) -> None:
    a = t.articles
    rows = conn.execute(select(a)).all()
    tally.articles = len(rows)
    assert rows, "no articles were collected"
    if served is not None:  # nothing lost: every served article, at its newest text
        by_url = dict(conn.execute(select(t.article_urls.c.url, t.article_urls.c.article_id)).all())
        texts = {r.id: r.text for r in rows}
        missing = sorted(u for u in served if u not in by_url)
        assert not missing, f"{len(missing)} served article(s) never collected: {missing[:3]}"
        for url, article in served.items():
            note = article.paragraphs[-1]  # a revised article ends with its correction
            if note.startswith(REVISION_NOTE):
                assert note in texts[by_url[url]], f"{url}: not stored at its newest revision"
        assert len(rows) == len(served), "articles stored that the site does not serve"
    for r in rows:
        assert r.enriched_revision == r.revision, f"{r.id} not enriched at its newest revision"
        assert r.clustered_revision == r.revision, f"{r.id} not clustered at its newest revision"
        assert r.indexed_revision == r.revision, f"{r.id} not indexed at its newest revision"
        assert r.story_id and r.ingest_seq, f"{r.id} has no story or no ingest number"
    tally.revised = sum(1 for r in rows if r.revision > 1)
    seqs = [int(r.ingest_seq) for r in rows]
    assert len(set(seqs)) == len(seqs), "two articles share an ingest number"
    assert max(seqs) == store.ingest_high(), "the ingest counter disagrees with the articles"
    ids = {r.id for r in rows}
    revisions = Counter(conn.execute(select(t.revisions.c.article_id)).scalars())
    for r in rows:
        assert revisions[r.id] == r.revision, \
            f"{r.id}: {revisions[r.id]} revisions kept for revision {r.revision}"
    latest = {(i, n): h for i, n, h in conn.execute(
        select(t.revisions.c.article_id, t.revisions.c.revision, t.revisions.c.text_hash))}
    assert all(latest[(r.id, r.revision)] == r.text_hash for r in rows), \
        "an article's text is not its newest revision's"
    for table in (t.entries, t.article_urls, t.dedup_signatures):
        referenced = {i for i in conn.execute(select(table.c.article_id)).scalars() if i}
        assert referenced <= ids, f"{table.name} names articles that do not exist"
    entries = conn.execute(select(t.entries.c.article_id, t.entries.c.last_error)).all()
    assert all(e.article_id for e in entries), \
        f"entries without an article: {[e.last_error for e in entries if not e.article_id][:3]}"
    signed = set(conn.execute(select(t.dedup_signatures.c.article_id)).scalars())
    assert signed == ids, "articles without a near-duplicate signature"
    n_docs = conn.execute(select(t.term_stats.c.df).where(t.term_stats.c.term == "#documents"))
    assert n_docs.scalar() == len(rows), "a document was counted twice (or not at all) in TF-IDF"


def _check_stories(conn: Any, tally: Tally) -> None:
    a, s = t.articles, t.stories
    members = Counter(conn.execute(select(a.c.story_id)).scalars())
    stories = conn.execute(select(s.c.id, s.c.article_count, s.c.merged_into)).all()
    live = {r.id for r in stories if not r.merged_into}
    assert set(members) <= live, "articles in stories that do not exist (or were merged away)"
    for r in stories:
        assert r.article_count == members.get(r.id, 0), \
            f"story {r.id} counts {r.article_count} articles but has {members.get(r.id, 0)}"
    tally.stories = sum(1 for r in stories if r.article_count)


def _check_index(conn: Any, docs: list[tuple[str, int]], story_docs: dict[str, set[str]]) -> None:
    a = t.articles
    stored = dict(conn.execute(select(a.c.id, a.c.revision)).all())
    ids = [i for i, _ in docs]
    assert len(ids) == len(set(ids)), "an article is in the index twice"
    assert dict(docs) == stored, (
        f"index and store disagree: {len(set(ids) - set(stored))} only in the index, "
        f"{len(set(stored) - set(ids))} only in the store, revisions differ for "
        f"{sum(1 for i in stored if i in dict(docs) and dict(docs)[i] != stored[i])}"
    )
    by_story: dict[str, set[str]] = {}
    for article_id, story_id in conn.execute(select(a.c.id, a.c.story_id)):
        by_story.setdefault(story_id, set()).add(article_id)
    assert story_docs == by_story, (
        "story documents disagree with the store: "
        f"missing {sorted(set(by_story) - set(story_docs))[:3]}, "
        f"stale {sorted(set(story_docs) - set(by_story))[:3]}, different "
        f"{[i for i in by_story if i in story_docs and story_docs[i] != by_story[i]][:3]}"
    )


def _check_alerts(conn: Any, store: Store, settings: Settings,
                  messages: list[EmailMessage] | None, max_duplicates: int, tally: Tally) -> None:
    high = store.ingest_high()
    watches = conn.execute(select(t.watches)).all()
    for w in watches:
        assert w.watermark == high, f"watch {w.name!r} evaluated up to {w.watermark} of {high}"
    alerts = conn.execute(select(t.alerts)).all()
    tally.alerts = len(alerts)
    articles = dict(conn.execute(select(t.articles.c.id, t.articles.c.story_id)).all())
    per_story = Counter((r.watch_id, r.story_id, r.kind, r.article_id if r.kind != "new-story"
                         else "") for r in alerts)
    assert max(per_story.values(), default=1) == 1, "an alert was stored twice"
    for r in alerts:
        assert articles.get(r.article_id) == r.story_id, f"alert {r.key} names a wrong article"
    known = {(r.watch_id, r.story_id): int(r.last_seq)
             for r in conn.execute(select(t.watch_stories))}
    opened = {(r.watch_id, r.story_id) for r in alerts if r.kind == "new-story"}
    assert opened <= set(known), "a story alerted as new is not known to its watch"
    assert max(known.values(), default=0) <= high, "a watch remembers an unknown article"
    outbox = conn.execute(select(t.outbox)).all()
    tally.outbox = dict(Counter(r.status for r in outbox))
    errors = [r.last_error for r in outbox if r.status != "sent"][:3]
    assert all(r.status == "sent" and r.sent_at for r in outbox), \
        f"undelivered email: {tally.outbox} {errors}"
    recipients = {w.id: json.loads(w.recipients) for w in watches}
    modes = {w.id: w.mode for w in watches}
    wanted = {f"{r.key}:{e.casefold()}" for r in alerts if modes[r.watch_id] == "immediate"
              for e in recipients[r.watch_id]}
    assert {r.key for r in outbox} == wanted, \
        "the outbox does not hold one email per alert and recipient"
    if messages is None:
        return
    received = Counter(str(m["Message-ID"]) for m in messages)
    expected = {message_id_for(r.key, settings.mail_from) for r in outbox}
    tally.emails = len(messages)
    tally.duplicates = len(messages) - len(received)
    assert set(received) == expected, (
        f"the mail server got {len(received)} distinct messages for {len(expected)} sent rows; "
        f"missing {len(expected - set(received))}, unexpected {len(set(received) - expected)}"
    )
    assert tally.duplicates <= max_duplicates, (
        f"{tally.duplicates} duplicate email(s), more than the {max_duplicates} kill(s) that "
        "could have caused them"
    )
