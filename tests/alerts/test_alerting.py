"""Alerts end to end: the demo site's feeds, the real pipeline, a real SMTP server on loopback
(aiosmtpd) that receives and parses every message; on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from fixtures.pages import article_page, rss
from fixtures.smtp import SmtpServer

from alerts.delivery import send_outbox
from alerts.stage import make_digests
from alerts.store import WatchStore
from alerts.watches import add_watch, follow_story
from core.runtime import Runtime
from core.settings import Settings
from ingest.urls import canonicalize
from newswatch.demo.catalog import OUTLETS, DemoArticle, load_articles
from newswatch.demo.server import Route, SiteServer
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime
from stories.store import StoryStore

pytest.importorskip("spacy", reason="alert tests need the nlp extra (spaCy)")

PUBLIC = "https://news.example.test"
ANALYST = "analyst@example.org"



def mail_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=smtp.port,
                               smtp_security="none", public_url=PUBLIC,
                               unsubscribe_secret="test-secret")


@pytest.fixture
def mrt(settings: Settings, smtp: SmtpServer) -> Iterator[Runtime]:
    """A runtime on both state stores whose alerts go to the loopback SMTP server."""
    rt = open_runtime(mail_settings(settings, smtp))
    yield rt
    rt.close()


def developing(demo: DemoSite) -> dict[str, DemoArticle]:
    """The demo's developing story, by role: original, spun, wire, tv, roundup."""
    return {a.role: a for a in load_articles() if a.role}


def feeds_by_outlet(demo: DemoSite) -> dict[str, str]:
    return dict(zip([o.slug for o in OUTLETS], demo.feed_urls(), strict=True))


def about(messages: list[EmailMessage], story_id: str) -> list[EmailMessage]:
    """The messages about one story (their links lead to its page)."""
    return [m for m in messages if f"/web/stories/{story_id}" in parts(m)[0]]


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_developing_story_alerts_once_then_only_when_it_develops(
    mrt: Runtime, demo: DemoSite, smtp: SmtpServer
) -> None:
    watch = add_watch(mrt, "DPRK-Russia", [ANALYST, "desk@example.org"], topic="dprk-russia")
    for url in demo.feed_urls():
        add_feed(mrt, url)
    report = run_once(mrt)
    assert report.alerts > 0 and report.deferred == 0 and report.sent == len(smtp.messages)

    roles = developing(demo)
    ids = {role: mrt.store.article_id_for_url(canonicalize(demo.article_url(a)))
           for role, a in roles.items()}
    story = mrt.store.get_article(ids["original"])
    assert story is not None and story.story_id
    row = StoryStore(mrt.store).get(story.story_id)
    assert row is not None and watch.id
    to_analyst = [m for m in smtp.messages if m["To"] == ANALYST]
    assert len(to_analyst) * 2 == len(smtp.messages)  # one message per recipient
    mails = about(to_analyst, story.story_id)
    new = [m for m in mails if str(m["Subject"]).startswith("New story:")]
    updates = [m for m in mails if str(m["Subject"]).startswith("Update:")]
    assert len(new) == 1
    # follow-ups only for the articles that add something: the TV interview, the roundup with
    # the denials, the Russian and the Korean follow-ups; not the wire rewrite nor the Russian
    # and Korean articles that only repeat the English facts, never the spun near-duplicate
    assert len(updates) == 4
    bodies = [parts(m)[0] for m in updates]
    for role in ("tv", "roundup", "follow-up-ru", "follow-up-ko"):
        assert sum(demo.article_url(roles[role]) in b for b in bodies) == 1, role
    for role in ("wire", "spun", "repeat-ru", "repeat-ko"):
        assert not any(demo.article_url(roles[role]) in b for b in bodies), role
    assert any("new speakers" in b or "new entities" in b for b in bodies)  # says what is new

    text, html = parts(new[0])
    assert demo.article_url(roles["original"]) in text
    assert f"{PUBLIC}/web/stories/{story.story_id}" in html
    assert str(new[0]["List-Unsubscribe"]).startswith(f"<{PUBLIC}/unsubscribe?token=")
    assert new[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    ids_seen = Counter(str(m["Message-ID"]) for m in smtp.messages)
    assert max(ids_seen.values()) == 1

    # the same feeds again: nothing new enters the index, nothing is sent again
    before = len(smtp.messages)
    again = run_once(mrt, force=True)
    assert again.alerts == 0 and len(smtp.messages) == before
    assert WatchStore(mrt.store).outbox_counts() == {"sent": before}


def test_followed_story_sends_follow_ups_but_no_new_story(
    mrt: Runtime, demo: DemoSite, smtp: SmtpServer
) -> None:
    roles = developing(demo)
    feeds = feeds_by_outlet(demo)
    add_feed(mrt, feeds[roles["original"].outlet])
    run_once(mrt)
    original = mrt.store.get_article(
        mrt.store.article_id_for_url(canonicalize(demo.article_url(roles["original"]))) or "")
    assert original is not None and original.story_id
    follow_story(mrt, original.story_id, [ANALYST], min_novelty=0.5)
    for outlet, url in feeds.items():
        if outlet != roles["original"].outlet:
            add_feed(mrt, url)
    run_once(mrt)
    subjects = [str(m["Subject"]) for m in smtp.messages]
    assert subjects and all(s.startswith("Update:") for s in subjects)
    bodies = "\n".join(parts(m)[0] for m in smtp.messages)
    assert demo.article_url(roles["roundup"]) in bodies
    assert demo.article_url(roles["spun"]) not in bodies
    assert demo.article_url(roles["wire"]) not in bodies


def test_smtp_down_for_an_hour_then_everything_arrives_once(
    sqlite_settings: Settings, demo: DemoSite
) -> None:
    smtp = SmtpServer()  # not started: connections are refused
    rt = open_runtime(mail_settings(sqlite_settings, smtp))
    try:
        add_watch(rt, "shells", [ANALYST], query="shells OR munitions")
        for url in demo.feed_urls():
            add_feed(rt, url)
        report = run_once(rt)
        assert report.alerts > 0 and report.sent == 0 and report.deferred == report.alerts
        assert any("unreachable" in w for w in report.warnings)
        pending = WatchStore(rt.store).outbox_counts()["pending"]

        clock = [datetime.now(UTC)]
        rt.clock = lambda: clock[0]
        for _ in range(6):  # an hour of retries with the server still down
            clock[0] += timedelta(minutes=10)
            result = send_outbox(rt)
            assert result.sent == 0 and result.deferred == pending
        row = WatchStore(rt.store).outbox_due(clock[0] + timedelta(days=1))[0]
        assert row.attempts == 7 and row.next_attempt_at - clock[0] <= timedelta(minutes=10)

        smtp.start()
        clock[0] += timedelta(minutes=10)
        assert send_outbox(rt).sent == pending
        clock[0] += timedelta(hours=1)
        assert send_outbox(rt).sent == 0
        assert len(smtp.messages) == pending
        assert len({m["Message-ID"] for m in smtp.messages}) == pending
        assert WatchStore(rt.store).outbox_counts() == {"sent": pending}
    finally:
        rt.close()
        smtp.stop()


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    sys.path[:0] = [{root!r}]
    import alerts.stage
    from newswatch.pipeline import open_runtime, run_once
    from core.settings import load_settings

    def die(rt):  # the outbox rows and watermarks are committed; nothing is sent yet
        os.kill(os.getpid(), signal.SIGKILL)

    alerts.stage.make_digests = die
    run_once(open_runtime(load_settings()))
""")


def test_kill_between_outbox_write_and_send_sends_nothing_twice(
    settings: Settings, demo: DemoSite, smtp: SmtpServer, tmp_path: Path
) -> None:
    configured = mail_settings(settings, smtp)
    rt = open_runtime(configured)
    add_watch(rt, "shells", [ANALYST], query="shells OR munitions")
    for url in demo.feed_urls():
        add_feed(rt, url)
    rt.close()

    env = {**os.environ, "NEWSWATCH_HOME": str(configured.home),
           "NEWSWATCH_DATABASE_URL": configured.database_url,
           "NEWSWATCH_PER_HOST_DELAY": "0", "NEWSWATCH_EXTRACT_PROCESSES": "1", "NEWSWATCH_ENRICH_PROCESSES": "1",
           "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8,::1/128",
           "NEWSWATCH_SMTP_HOST": "127.0.0.1", "NEWSWATCH_SMTP_PORT": str(smtp.port),
           "NEWSWATCH_SMTP_SECURITY": "none", "NEWSWATCH_PUBLIC_URL": PUBLIC,
           "NEWSWATCH_UNSUBSCRIBE_SECRET": "test-secret"}
    script = tmp_path / "killed.py"
    script.write_text(KILL_SCRIPT.format(root=str(Path(__file__).parents[2])))
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert smtp.messages == []

    rt = open_runtime(configured)
    try:
        pending = WatchStore(rt.store).outbox_counts().get("pending", 0)
        assert pending > 0
        report = run_once(rt, force=True)  # the next run sends what the killed one queued
        assert report.alerts == 0 and report.sent == pending
        run_once(rt, force=True)
        assert send_outbox(rt).sent == 0
        assert len(smtp.messages) == pending
        assert len({m["Message-ID"] for m in smtp.messages}) == pending
    finally:
        rt.close()


EVIL_TITLE = 'Shells <script>alert("pwned")</script> <img src=x onerror=alert(1)> & co'


def test_html_and_script_in_a_title_arrive_escaped(
    sqlite_settings: Settings, smtp: SmtpServer
) -> None:
    rt = open_runtime(mail_settings(sqlite_settings, smtp))
    try:
        add_watch(rt, "shells", [ANALYST], query="shells")
        paragraphs = [
            "Cargo ships carrying artillery shells left the port on Tuesday, according to "
            "officials who have tracked the route for several months.",
            "The shipments were loaded at night and the vessels switched off their transponders "
            "before they crossed the sea, the officials said in a briefing.",
            "Neither government answered questions about the shells on Wednesday.",
        ]
        with SiteServer() as site:
            site.set("/a.html", Route(article_page(EVIL_TITLE, paragraphs).encode()))
            site.set("/feed.xml", Route(rss("Harbour Gazette", [
                {"title": EVIL_TITLE, "link": site.url("/a.html")}]), "application/rss+xml"))
            add_feed(rt, site.url("/feed.xml"))
            run_once(rt)
        assert len(smtp.messages) == 1
        msg = smtp.messages[0]
        text, html = parts(msg)
        assert "<script" not in html and "<img" not in html
        assert "&lt;script&gt;" in html
        assert "\n" not in str(msg["Subject"]) and "Shells" in str(msg["Subject"])
        assert 'alert("pwned")' in text  # plain text keeps the words, as text
    finally:
        rt.close()


def test_hourly_digest_groups_by_story_once_per_period(
    sqlite_settings: Settings, demo: DemoSite, smtp: SmtpServer
) -> None:
    rt = open_runtime(mail_settings(sqlite_settings, smtp))
    try:
        start = datetime(2026, 11, 21, 10, 20, tzinfo=UTC)
        clock = [start]
        rt.clock = lambda: clock[0]
        add_watch(rt, "digest", [ANALYST], topic="dprk-russia", mode="hourly")
        for url in demo.feed_urls():
            add_feed(rt, url)
        report = run_once(rt, force=True)
        assert report.alerts > 0 and smtp.messages == []  # digest watches send no alert email
        clock[0] = start.replace(minute=55)
        assert make_digests(rt) == 0  # the 10:00–11:00 period has not ended
        clock[0] = start + timedelta(hours=1)
        assert make_digests(rt) == 1
        assert make_digests(rt) == 0
        send_outbox(rt)
        assert len(smtp.messages) == 1
        msg = smtp.messages[0]
        text, html = parts(msg)
        assert str(msg["Subject"]).startswith("Digest: digest")
        assert "since your last digest" in text
        assert "<script" not in html
    finally:
        rt.close()


def test_overlapping_senders_send_each_email_once(
    sqlite_settings: Settings, demo: DemoSite
) -> None:
    import threading

    smtp = SmtpServer()  # down while the run queues the email
    rt = open_runtime(mail_settings(sqlite_settings, smtp))
    try:
        add_watch(rt, "shells", [ANALYST, "desk@example.org"], query="shells OR munitions")
        for url in demo.feed_urls():
            add_feed(rt, url)
        run_once(rt)
        store = WatchStore(rt.store)
        pending = store.outbox_counts()["pending"]
        smtp.start()
        later = datetime.now(UTC) + timedelta(minutes=1)
        rt.clock = lambda: later
        senders = [threading.Thread(target=send_outbox, args=(rt,)) for _ in range(3)]
        for s in senders:
            s.start()
        for s in senders:
            s.join()
        assert len(smtp.messages) == pending
        assert len({m["Message-ID"] for m in smtp.messages}) == pending
    finally:
        rt.close()
        smtp.stop()


def test_evaluation_in_small_rounds_decides_the_same(
    sqlite_settings: Settings, demo: DemoSite, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setattr("alerts.stage.EVAL_CHUNK", 4)  # 29 articles: eight rounds, eight commits
    rt = open_runtime(mail_settings(sqlite_settings, smtp))
    try:
        watch = add_watch(rt, "DPRK-Russia", [ANALYST], topic="dprk-russia")
        for url in demo.feed_urls():
            add_feed(rt, url)
        run_once(rt)
        subjects = [str(m["Subject"]) for m in smtp.messages]
        assert sum(s.startswith("New story:") for s in subjects) >= 1
        original = rt.store.get_article(rt.store.article_id_for_url(canonicalize(
            demo.article_url(developing(demo)["original"]))) or "")
        assert original is not None and original.story_id
        developing_story = [str(m["Subject"]) for m in about(smtp.messages, original.story_id)]
        assert sum(s.startswith("New story:") for s in developing_story) == 1
        assert sum(s.startswith("Update:") for s in developing_story) == 4
        stored = WatchStore(rt.store).get(watch.id)
        assert stored is not None and stored.watermark == rt.store.ingest_high()
    finally:
        rt.close()
