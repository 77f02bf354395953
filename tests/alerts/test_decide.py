"""The pure parts of alerting: story-level decisions, backoff, digest periods, addresses,
alert JSON and the Atom feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import feedparser
import pytest

from alerts.atom import FeedAlert, render_atom
from alerts.content import AlertContent, AlertItem, DigestStory, content_from_json, content_to_json
from alerts.decide import Matched, decide
from alerts.delivery import backoff
from alerts.stage import period_end
from alerts.tokens import sign_feed, verify_feed
from alerts.watches import check_email
from core.errors import InvalidRequestError

EVIL = '<script>alert("x")</script> Shells & <b>co</b>\x00\x1b'


def m(article: str, story: str, seq: int, novelty: float | None = 0.5, dup: str | None = None) -> Matched:
    return Matched(article, story, seq, novelty, dup)


def test_new_story_once_then_follow_ups_by_novelty() -> None:
    decisions = decide("w", 0.3, [
        m("a3", "s1", 3, 0.2), m("a1", "s1", 1, 1.0), m("a2", "s1", 2, 0.9),
        m("a4", "s1", 4, 0.0, dup="a1"), m("a5", "s2", 5, 0.0), m("a6", "", 6, 1.0),
    ], known_stories=())
    assert [(d.kind, d.article_id) for d in decisions] == [
        ("new-story", "a1"), ("follow-up", "a2"), ("new-story", "a5")]
    assert decisions[0].key == "w:s1:new-story" and decisions[1].key == "w:s1:follow-up:a2"


def test_known_story_gets_no_second_new_story_and_duplicates_never_alert() -> None:
    decisions = decide("w", 0.5, [m("a1", "s1", 1, 0.49), m("a2", "s1", 2, 0.5),
                                  m("a3", "s1", 3, 1.0, dup="a2")], known_stories={"s1"})
    assert [(d.kind, d.article_id) for d in decisions] == [("follow-up", "a2")]
    assert decide("w", 0.0, [m("a1", "s9", 1, None)], {"s9"}) == []  # no novelty: no follow-up


def test_decisions_do_not_depend_on_input_order() -> None:
    items = [m(f"a{i}", f"s{i % 3}", i, (i % 5) / 4) for i in range(30)]
    assert decide("w", 0.3, items, ()) == decide("w", 0.3, list(reversed(items)), ())


def test_backoff_grows_then_caps() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]


def test_digest_periods_end_on_the_hour_and_at_midnight_utc() -> None:
    now = datetime(2026, 11, 21, 14, 35, 12, tzinfo=UTC)
    assert period_end("hourly", now) == datetime(2026, 11, 21, 14, tzinfo=UTC)
    assert period_end("daily", now) == datetime(2026, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["", "no-at", "a@b", "A <a@example.org>", "a@example.org\r\nBcc: x@y.z",
                                 "a b@example.org", "a@example.org, b@example.org"])
def test_bad_addresses_are_refused(bad: str) -> None:
    with pytest.raises(InvalidRequestError):
        check_email(bad)


def test_good_address_passes() -> None:
    assert check_email(" analyst@example.org ") == "analyst@example.org"


def alert(kind: str = "follow-up") -> AlertContent:
    item = AlertItem("a1", EVIL, "https://news.example/a1", "Wire <i>Service</i>",
                     datetime(2026, 11, 10, 9, 30, tzinfo=UTC), "snippet " + EVIL, 0.8,
                     {"new_speakers": ["Vasily Nebenzia"], "new_sentences": ["They denied it."],
                      "new_outlet": "Wire"})
    if kind == "digest":
        return AlertContent("digest", "Watch", ("a@example.org",), idempotency_key="k",
                            stories=(DigestStory("s1", EVIL, (item,), 5, 2),))
    return AlertContent(kind, "Watch", ("a@example.org",), story_id="s1", story_title=EVIL,  # type: ignore[arg-type]
                        items=(item,), outlets_count=5, new_count=2, idempotency_key="k")


@pytest.mark.parametrize("kind", ["new-story", "follow-up", "digest"])
def test_alert_json_round_trip(kind: str) -> None:
    content = alert(kind)
    assert content_from_json(content_to_json(content)) == content


def test_atom_feed_is_well_formed_and_escaped() -> None:
    now = datetime(2026, 11, 21, tzinfo=UTC)
    alerts = [FeedAlert("w:s1:follow-up:a1", now, alert()),
              FeedAlert("w:s1:new-story", now - timedelta(hours=1), alert("new-story"))]
    body = render_atom("w", "Watch " + EVIL, alerts, "https://api.example/watches/w/feed?token=t",
                       "https://api.example", now)
    ET.fromstring(body)
    parsed = feedparser.parse(body)
    assert not parsed.bozo and len(parsed.entries) == 2
    assert parsed.entries[0].title.startswith("Update:") and "<script>" in parsed.entries[0].title
    assert b"<script>" not in body  # escaped in the document; a reader shows it as text
    assert "Vasily Nebenzia" in parsed.entries[0].summary
    assert parsed.entries[0].link == "https://news.example/a1"


def test_feed_tokens_open_one_feed_only() -> None:
    token = sign_feed("w1", "secret")
    assert verify_feed(token, "w1", "secret")
    assert not verify_feed(token, "w2", "secret") and not verify_feed(token, "w1", "other")
    assert not verify_feed("x" * 500, "w1", "secret")
