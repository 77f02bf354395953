"""Alert emails as a reader gets them: the demo's developing story through the real pipeline
to a real SMTP server on loopback, each message parsed as a mail client parses it. One
reader with two overlapping watches gets one message per development naming both; the
subjects carry the news; follow-ups thread under the story's first message."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from fixtures.smtp import SmtpServer

from alerts.content import AlertContent, AlertItem, content_to_json
from alerts.delivery import send_outbox
from alerts.render import format_figure, message_id_for
from alerts.stage import outbox_rows_for
from alerts.store import WatchStore
from alerts.watches import add_watch
from core.runtime import Runtime
from core.settings import Settings
from ingest.urls import canonicalize
from newswatch.demo.catalog import load_articles
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime

pytest.importorskip("spacy", reason="alert tests need the nlp extra (spaCy)")

PUBLIC = "https://news.example.test"
READER = "analyst@example.org"



@pytest.fixture
def mrt(settings: Settings, smtp: SmtpServer) -> Iterator[Runtime]:
    rt = open_runtime(dataclasses.replace(
        settings, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
        public_url=PUBLIC, unsubscribe_secret="test-secret", mail_from="Newswatch <alerts@nw.example>"))
    yield rt
    rt.close()


def as_client_sees_it(msg: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def bodies(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None, "both a plain-text and an HTML part"
    return text.get_content(), html.get_content()


def assert_self_contained(html: str) -> None:
    """Nothing that runs, and nothing fetched from the network when the message opens."""
    markup = " ".join(re.findall(r"<[^>]+>", html)).lower()  # tags only: titles may say "script"
    for bad in ("<script", "<iframe", "<object", "<embed", "<link", "<img", "<form", "<base",
                "<style", "javascript:", "url(", "@import"):
        assert bad not in markup, bad
    assert not re.search(r"\son\w+\s*=", markup), "an event handler"
    assert not re.search(r"\s(src|srcset|background|poster)\s*=", markup), "a remote resource"
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith(("https://", "http://")) for h in hrefs)


def story_of(rt: Runtime, demo: DemoSite, role: str) -> tuple[str, str]:
    article = next(a for a in load_articles() if a.role == role)
    found = rt.store.get_article(rt.store.article_id_for_url(canonicalize(
        demo.article_url(article))) or "")
    assert found is not None and found.story_id
    return found.story_id, demo.article_url(article)


def test_one_reader_two_watches_one_message_per_development_that_reads_well(
    mrt: Runtime, demo: DemoSite, smtp: SmtpServer
) -> None:
    by_topic = add_watch(mrt, "DPRK-Russia", [READER], topic="dprk-russia")
    by_query = add_watch(mrt, "Shell shipments", [READER.upper()], query="shells OR munitions")
    for url in demo.feed_urls():
        add_feed(mrt, url)
    report = run_once(mrt)
    assert report.deferred == 0 and report.sent > len(smtp.messages)  # rows > messages

    story, original_url = story_of(mrt, demo, "original")
    mine = [as_client_sees_it(m) for m in smtp.messages
            if f"/web/stories/{story}" in bodies(m)[0]]
    subjects = [str(m["Subject"]) for m in mine]
    print("\n".join(subjects))
    # one message per development — the new story, the TV interview, the roundup, the
    # Russian and the Korean report that add something — each for both watches; two outbox
    # rows (one per watch) behind each
    assert sorted(s.split(":")[0] for s in subjects) == ["New story"] + ["Update"] * 4
    assert len(set(subjects)) == 5, subjects  # an inbox shows five distinct lines
    rows = [r for r in WatchStore(mrt.store).outbox(limit=1000) if f":{story}:" in r.key]
    assert len(rows) == 10 and {r.status for r in rows} == {"sent"}
    assert len({m["Message-ID"] for m in smtp.messages}) == len(smtp.messages)
    for raw in (e.content for e in smtp.handler.envelopes):  # as it travelled
        assert re.search(rb"^List-Unsubscribe: <https://news\.example\.test/unsubscribe\?token="
                         rb"[^\s>]+>\r?$", raw, re.M), "one-click link as a plain <URL>"
        assert max(len(line) for line in raw.splitlines()) <= 998

    new = next(m for m in mine if str(m["Subject"]).startswith("New story:"))
    updates = [m for m in mine if m is not new]
    assert new["In-Reply-To"] is None and new["References"] is None
    for update in updates:  # threaded under the story's first message
        assert update["In-Reply-To"] == new["Message-ID"] == update["References"]
    first_row = min((r for r in rows if ":new-story:" in r.key), key=lambda r: r.id)
    assert new["Message-ID"] == message_id_for(first_row.key, mrt.settings.mail_from)

    tv = next(a for a in load_articles() if a.role == "tv")
    roundup = next(a for a in load_articles() if a.role == "roundup")
    foreign = [a for a in load_articles() if a.role in ("follow-up-ru", "follow-up-ko")]
    # the new article's headline, in its language (compared without spaces: between two
    # RFC 2047 encoded words of a folded Korean subject a mail reader drops the space)
    assert {"".join(s.split(" — ")[0].split()) for s in subjects if s.startswith("Update:")} == {
        "".join(f"Update: {a.title}".split()) for a in (tv, roundup, *foreign)}
    assert all(" — " in s for s in subjects if s.startswith("Update:"))  # and what it adds

    for msg in mine:
        text, html = bodies(msg)
        assert_self_contained(html)
        assert msg["List-Unsubscribe"] and msg["Auto-Submitted"] == "auto-generated"
        for body in (text, html):
            # why: both watches, with what each asks for
            assert "DPRK-Russia" in body and "Shell shipments" in body
            assert "topic dprk-russia" in body and "shells OR munitions" in body
            assert "Covered by 7 outlets so far" in body  # the other outlets, named
            assert "Global Wire Service" in body and "Main entities" in body
            assert "North Korea" in body
            assert f"{PUBLIC}/web/stories/{story}" in body
        assert text.count("unsubscribe: https://") == 2  # one link per watch
    new_text, _ = bodies(new)
    assert original_url in new_text and "NEW STORY" in new_text
    foreign_titles = {"".join(a.title.split()) for a in foreign}
    for update in updates:
        text, html = bodies(update)
        assert "WHAT IS NEW" in text and "What is new" in html
        if "".join(str(update["Subject"]).split(" — ")[0].split())[len("Update:"):] in foreign_titles:
            # another language than the story's: what is new are facts, named in English
            assert "original title:" in text and "About:" in text
            continue
        assert re.search(r"^  > \S", text, re.M)  # the new sentences, quoted
        assert '<blockquote style="' in html and "<strong style=\"background" in html
    # the TV interview came after the wire rewrite, the spun copy and the Russian and Korean
    # reports that only repeat the facts, which alerted nobody: "5 articles since your last
    # alert" says what the four not shown are
    tv_text = next(bodies(u)[0] for u in updates if tv.title in str(u["Subject"]))
    assert "5 articles since your last alert" in tv_text

    # nothing new: nothing more is sent
    before = len(smtp.messages)
    assert run_once(mrt, force=True).alerts == 0 and len(smtp.messages) == before
    assert by_topic.id != by_query.id


def test_a_later_first_message_of_another_watch_threads_under_the_first(
    sqlite_settings: Settings, smtp: SmtpServer
) -> None:
    """Two passes: the reader's first watch hears of a story; later a second watch of theirs
    meets it too, then a follow-up comes: both hang under the first message, whose
    Message-ID is never reused."""
    rt = open_runtime(dataclasses.replace(
        sqlite_settings, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
        public_url=PUBLIC, unsubscribe_secret="test-secret"))
    try:
        first = add_watch(rt, "first", [READER], query="alpha")
        second = add_watch(rt, "second", [READER], query="beta")
        store = WatchStore(rt.store)
        now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        rt.clock = lambda: now

        def queue(watch_id: str, kind: str, article: str) -> None:
            watch = store.get(watch_id)
            assert watch is not None
            key = f"{watch.id}:s1:{kind}" + (f":{article}" if kind == "follow-up" else "")
            content = AlertContent(kind, watch.name, watch.recipients, story_id="s1",  # type: ignore[arg-type]
                                   story_title="Port strike", idempotency_key=key,
                                   items=(AlertItem(article, f"Headline {article}",
                                                    f"https://wire.example/{article}",
                                                    "Wire", now, "…"),),
                                   outlets_count=1, new_count=1)
            store.commit_evaluation(now, 0, [], [], outbox_rows_for(
                watch, kind, content_to_json(content), key, now), [])

        queue(first.id, "new-story", "a1")
        assert send_outbox(rt).messages == 1
        queue(second.id, "new-story", "a2")
        queue(first.id, "follow-up", "a3")
        assert send_outbox(rt).messages == 2
        root, later, follow_up = smtp.messages
        assert root["In-Reply-To"] is None
        assert later["In-Reply-To"] == root["Message-ID"] == follow_up["In-Reply-To"]
        assert len({root["Message-ID"], later["Message-ID"], follow_up["Message-ID"]}) == 3
    finally:
        rt.close()


def test_overlapping_digests_of_one_reader_come_as_one(
    sqlite_settings: Settings, demo: DemoSite, smtp: SmtpServer
) -> None:
    rt = open_runtime(dataclasses.replace(
        sqlite_settings, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
        public_url=PUBLIC, unsubscribe_secret="test-secret"))
    try:
        start = datetime(2026, 11, 21, 10, 20, tzinfo=UTC)
        clock = [start]
        rt.clock = lambda: clock[0]
        add_watch(rt, "topic digest", [READER], topic="dprk-russia", mode="hourly")
        add_watch(rt, "query digest", [READER], query="shells OR munitions", mode="hourly")
        for url in demo.feed_urls():
            add_feed(rt, url)
        run_once(rt, force=True)
        clock[0] = start + timedelta(hours=1)
        report = run_once(rt, force=True)
        assert report.sent == 2 and len(smtp.messages) == 1  # two digest rows, one message
        msg = as_client_sees_it(smtp.messages[0])
        text, html = bodies(msg)
        assert_self_contained(html)
        assert str(msg["Subject"]).startswith("Digest: query digest, topic digest — ")
        story, _ = story_of(rt, demo, "original")
        assert text.count(f"/web/stories/{story}") == 1  # the story once, for both watches
        assert "Matched by your watches" in text
    finally:
        rt.close()


@pytest.mark.parametrize(("raw", "shown"), [
    ("300000", "300,000"), ("1250000.5", "1,250,000.5"), ("4500", "4,500"), ("2026", "2026"),
    ("12%", "12%"), ("007", "007"), ("40", "40"), ("1,200", "1,200"), ("n/a", "n/a"),
])
def test_figures_are_formatted_for_reading(raw: str, shown: str) -> None:
    assert format_figure(raw) == shown
