"""A new watch's backfill over what is indexed already: the demo site through the real
pipeline, a real SMTP server on loopback; and the demo's report of what one run sent."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from fixtures.smtp import SmtpServer

from alerts.backfill import MAX_DIGEST_STORIES, backfill_key
from alerts.delivery import send_outbox
from alerts.store import WatchStore
from alerts.watches import create_watch
from core.errors import InvalidRequestError
from core.models import SearchRequest
from core.runtime import Runtime
from core.settings import Settings
from ingest.urls import canonicalize
from newswatch.demo.catalog import OUTLETS, load_articles
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime

pytest.importorskip("spacy", reason="alert tests need the nlp extra (spaCy)")

QUERY = "shells OR munitions"
READERS = ["analyst@example.org", "desk@example.org"]
NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # two days after the demo's last big day



@pytest.fixture
def mrt(settings: Settings, smtp: SmtpServer) -> Iterator[Runtime]:
    rt = open_runtime(dataclasses.replace(
        settings, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
        public_url="https://news.example.test", unsubscribe_secret="test-secret"))
    yield rt
    rt.close()


def at(rt: Runtime, when: datetime) -> None:
    rt.clock = lambda: when


def digest_stories(rt: Runtime, watch_id: str) -> list[set[str]]:
    """The story ids of each digest queued for the watch, one set per email."""
    return [{s["story_id"] for s in json.loads(r.content)["stories"]}
            for r in WatchStore(rt.store).outbox(watch_id) if r.kind == "digest"]


def matching_stories(rt: Runtime, since: datetime) -> set[str]:
    """What `newswatch search` finds for the watch's query since ``since``, as stories
    (near-duplicates left out: they never alert)."""
    hits = rt.index.search(SearchRequest(query=QUERY, since=since, limit=500)).hits
    found = set()
    for hit in hits:
        article = rt.store.get_article(hit.id)
        assert article is not None and article.story_id
        if not _is_duplicate(rt, hit.id):
            found.add(article.story_id)
    return found


def _is_duplicate(rt: Runtime, article_id: str) -> bool:
    from stories.store import StoryStore

    return bool(StoryStore(rt.store).story_fields(article_id)["duplicate_of"])


def test_backfill_sends_one_digest_per_recipient_of_the_window_and_nothing_twice(
    mrt: Runtime, demo: DemoSite, smtp: SmtpServer
) -> None:
    for url in demo.feed_urls():
        add_feed(mrt, url)
    run_once(mrt)
    assert smtp.messages == []  # no watch yet
    high = mrt.store.ingest_high()

    at(mrt, NOW)
    days = 3  # since 2026-11-13 12:00: the TV interview is before, the roundup after
    added = create_watch(mrt, "Shells, caught up", READERS, query=QUERY, backfill_days=days)
    watch, backfill = added.watch, added.backfill
    assert backfill is not None and watch.watermark == high
    expected = matching_stories(mrt, NOW - timedelta(days=days))
    everything = matching_stories(mrt, NOW - timedelta(days=60))
    assert expected and everything - expected  # the window leaves older stories out
    assert backfill.stories == len(expected) <= MAX_DIGEST_STORIES
    assert backfill.digests == len(READERS) and backfill.left_out == 0
    assert digest_stories(mrt, watch.id) == [expected, expected]

    assert send_outbox(mrt).sent == len(READERS)
    assert sorted(str(m["To"]) for m in smtp.messages) == sorted(READERS)
    assert all(str(m["Subject"]).startswith("Digest:") for m in smtp.messages)
    text = _text(smtp.messages[0])
    roundup = next(a for a in load_articles() if a.role == "roundup")
    tv = next(a for a in load_articles() if a.role == "tv")
    assert demo.article_url(roundup) in text and demo.article_url(tv) not in text

    # the next runs: nothing new is indexed, nothing is sent again
    at(mrt, NOW + timedelta(hours=2))
    again = run_once(mrt, force=True)
    assert again.alerts == 0 and again.sent == 0
    assert send_outbox(mrt).sent == 0 and len(smtp.messages) == len(READERS)
    stored = WatchStore(mrt.store).get(watch.id)
    assert stored is not None and stored.watermark == mrt.store.ingest_high()
    assert {a.digest_key for a in WatchStore(mrt.store).recent_alerts(watch.id)} == {
        backfill_key(watch.id)}


def test_a_backfilled_story_develops_as_follow_ups_not_as_news(
    mrt: Runtime, demo: DemoSite, smtp: SmtpServer
) -> None:
    roles = {a.role: a for a in load_articles() if a.role}
    feeds = dict(zip([o.slug for o in OUTLETS], demo.feed_urls(), strict=True))
    first = roles["original"].outlet
    add_feed(mrt, feeds[first])
    run_once(mrt)
    real_clock = mrt.clock
    at(mrt, NOW)
    added = create_watch(mrt, "DPRK-Russia", READERS[:1], topic="dprk-russia", backfill_days=30)
    mrt.clock = real_clock
    assert added.backfill is not None and added.backfill.stories >= 1
    original = mrt.store.article_id_for_url(canonicalize(demo.article_url(roles["original"])))
    story = mrt.store.get_article(original or "")
    assert story is not None and any(story.story_id in d for d in digest_stories(mrt, added.watch.id))

    for slug, url in feeds.items():
        if slug != first:
            add_feed(mrt, url)
    run_once(mrt)
    links = [demo.article_url(a) for a in roles.values()]
    about = [str(m["Subject"]) for m in smtp.messages if any(u in _text(m) for u in links)]
    # the digest told of the story; its developments (the TV interview, the roundup, the
    # Russian and Korean reports that add something) are updates, and nothing announces it as
    # a new story again
    assert sorted(s.split(":")[0] for s in about) == ["Digest"] + ["Update"] * 4, about
    digests = [m for m in smtp.messages if str(m["Subject"]).startswith("Digest:")]
    assert len(digests) == 1 and demo.article_url(roles["original"]) in _text(digests[0])


def test_a_backfill_that_cannot_be_made_adds_no_watch(sqlite_settings: Settings) -> None:
    rt = open_runtime(sqlite_settings)
    try:
        with pytest.raises(InvalidRequestError, match="1 to"):
            create_watch(rt, "too far", READERS, query=QUERY, backfill_days=10_000)
        assert WatchStore(rt.store).get("too far") is None
    finally:
        rt.close()


def test_the_demo_reports_what_this_run_sent(
    sqlite_settings: Settings, demo: DemoSite, capsys: pytest.CaptureFixture[str]
) -> None:
    from newswatch.commands.demo import _demo_watch, _print_demo_mail

    rt = open_runtime(sqlite_settings)  # no SMTP host: the maildir, as in `make demo`
    try:
        _demo_watch(rt)
        for url in demo.feed_urls():
            add_feed(rt, url)
        started = rt.clock()
        run_once(rt)
        _print_demo_mail(rt, started)
        first = capsys.readouterr().out
        assert "Alert email: 5 message(s) delivered to the maildir" in first
        assert first.count("New story:") == 1 and first.count("Update:") == 4

        started = rt.clock()  # a second run over the same feeds sends nothing
        assert run_once(rt, force=True).sent == 0
        _print_demo_mail(rt, started)
        second = capsys.readouterr().out
        assert "5 message(s) sent by earlier runs, none by this one" in second
        assert "delivered" not in second and "New story:" not in second
    finally:
        rt.close()


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())
