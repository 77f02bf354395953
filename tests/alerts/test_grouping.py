"""Pure pieces behind readable, grouped alerts: old stored alerts still read, one reader's
alerts merged into one, the grouping key, highlighting, the webhook body and signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from alerts.channels import (
    alert_payload,
    channel_of,
    destination_key,
    notification_text,
    payload_bytes,
    sign,
)
from alerts.content import (
    AlertContent,
    AlertItem,
    DigestStory,
    MatchReason,
    content_from_json,
    content_to_json,
    merge_alerts,
)
from alerts.delivery import Claimed, email_groups
from alerts.outbox import OutboxRow
from alerts.render import highlight, render_alert, subject_for, thread_root_id

PUBLIC = "https://nw.example"
WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def item(article_id: str, **additions: object) -> AlertItem:
    return AlertItem(article_id, f"Headline {article_id}", f"https://wire.example/{article_id}",
                     "Global Wire", WHEN, "Lead.", 0.6, dict(additions))


def alert(watch: str, kind: str = "follow-up", *items: AlertItem, **kw: object) -> AlertContent:
    fields: dict[str, object] = {
        "story_id": "s1", "story_title": "Port strike", "items": items or (item("a1"),),
        "outlets_count": 3, "new_count": 1, "idempotency_key": f"{watch}:s1:{kind}",
        "reasons": (MatchReason(watch, f"watch {watch}", query="strike"),),
        "outlets": ("Global Wire", "Ledger", "Observer"),
        "topics": (("labour", "Labour"),), "entities": ("Port of Tobruk",),
    }
    fields.update(kw)
    return AlertContent(kind, f"watch {watch}", ("a@example.org",), **fields)  # type: ignore[arg-type]


def test_an_alert_stored_before_the_new_fields_still_reads() -> None:
    old = json.dumps({
        "kind": "follow-up", "watch_name": "DPRK arms", "recipients": ["a@example.org"],
        "story_id": "s1", "story_title": "Shells", "items": [{
            "article_id": "a1", "title": "T", "url": "https://x.example/a", "source": "W",
            "published": "2026-11-20T09:30:00+00:00", "snippet": "", "novelty": 0.5,
            "additions": {"new_speakers": ["X"]}}],
        "outlets_count": 4, "new_count": 2, "idempotency_key": "k", "mail_from": "n@x.example",
        "stories": []})
    content = content_from_json(old)
    assert content.reasons == () and content.topics == () and content.outlets == ()
    assert content.watch_reasons == (MatchReason("", "DPRK arms"),)
    rendered = render_alert(content, f"{PUBLIC}/u?t=1", PUBLIC)
    assert 'your watch "DPRK arms"' in rendered.text and "Covered by 4 outlets" in rendered.text


def test_new_fields_round_trip() -> None:
    content = alert("w1", "follow-up", item("a1", new_numbers=["300000"]))
    assert content_from_json(content_to_json(content)) == content
    digest = AlertContent("digest", "w", ("a@example.org",), idempotency_key="d", stories=(
        DigestStory("s1", "T", (item("a1"),), 2, 1, (("labour", "Labour"),), ("X",), ("A",),
                    (MatchReason("w", "w", topic="labour"),)),))
    assert content_from_json(content_to_json(digest)) == digest


def test_merging_one_readers_alerts_names_every_watch() -> None:
    merged = merge_alerts([alert("w2"), alert("w1", outlets_count=4, new_count=3)], "k1\nk2")
    assert [r.watch_id for r in merged.watch_reasons] == ["w1", "w2"]  # by name
    assert merged.watch_name == "watch w1, watch w2" and merged.idempotency_key == "k1\nk2"
    assert [i.article_id for i in merged.items] == ["a1"]  # the same article once
    assert (merged.outlets_count, merged.new_count) == (4, 3)
    text = render_alert(merged, f"{PUBLIC}/u?t=1", PUBLIC,
                        watch_links=[("watch w1", f"{PUBLIC}/u?t=1"),
                                     ("watch w2", f"{PUBLIC}/u?t=2")]).text
    assert 'your watch "watch w1": query “strike”' in text and f"{PUBLIC}/u?t=2" in text


def test_merged_digests_show_a_story_once_with_the_watches_that_matched_it() -> None:
    def digest(watch: str, *stories: str) -> AlertContent:
        return AlertContent("digest", watch, ("a@example.org",), idempotency_key=f"{watch}:d",
                            reasons=(MatchReason(watch, watch),), stories=tuple(
                                DigestStory(s, f"Story {s}", (item(f"{s}-{watch}"),), 2, 1)
                                for s in stories))

    merged = merge_alerts([digest("A", "s1", "s2"), digest("B", "s2")], "k")
    assert [s.story_id for s in merged.stories] == ["s1", "s2"]
    both = merged.stories[1]
    assert [r.watch_name for r in both.reasons] == ["A", "B"] and len(both.items) == 2
    assert subject_for(merged).startswith("Digest: A, B — 2 stories")
    assert "Matched by your watches “A”, “B”." in render_alert(
        merged, f"{PUBLIC}/u", PUBLIC).text


def row(n: int, recipient: str, content: AlertContent) -> Claimed:
    return Claimed(OutboxRow(n, f"key{n}", "w", recipient, content.kind, "", "pending", 0,
                             WHEN, WHEN, None, ""), content)


def test_email_groups_one_per_reader_and_development() -> None:
    rows = [
        row(1, "a@example.org", alert("w1", "new-story")),
        row(2, "A@Example.org", alert("w2", "new-story", item("a2"))),  # same story: merged
        row(3, "a@example.org", alert("w1", "follow-up", item("a3"))),
        row(4, "a@example.org", alert("w2", "follow-up", item("a3"))),  # same development
        row(5, "a@example.org", alert("w1", "follow-up", item("a4"))),  # another development
        row(6, "b@example.org", alert("w1", "new-story")),  # another reader
    ]
    assert [g.ids for g in email_groups(rows)] == [[1, 2], [3, 4], [5], [6]]


def test_new_names_and_figures_are_marked_in_a_quoted_sentence() -> None:
    pieces = highlight("Nebenzia said 300,000 shells reached Tobruk in 2026.", ["Nebenzia"],
                       {"300000"})
    assert [p for p, new in pieces if new] == ["Nebenzia", "300,000"]
    assert "".join(p for p, _ in pieces) == "Nebenzia said 300,000 shells reached Tobruk in 2026."


def test_a_thread_id_depends_on_reader_and_story_only() -> None:
    one = thread_root_id("s1", "A@example.org", "n@nw.example")
    assert one == thread_root_id("s1", "a@example.org ", "Newswatch <x@nw.example>")
    assert one.startswith("<story-s1.") and one.endswith("@nw.example>")
    assert one != thread_root_id("s2", "a@example.org", "n@nw.example")
    assert one != thread_root_id("s1", "b@example.org", "n@nw.example")


def test_webhook_body_signature_and_keys() -> None:
    content = alert("w1", "follow-up", item("a1", new_speakers=["Whitfield"]))
    body = payload_bytes(alert_payload(content, "w1:s1:follow-up:a1:webhook:abc", PUBLIC))
    data = json.loads(body)
    assert data["story"]["url"] == f"{PUBLIC}/web/stories/s1"
    assert data["watches"][0]["query"] == "strike" and "recipients" not in data
    expected = hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert sign(body, "k3y") == f"sha256={expected}"
    assert channel_of("https://hooks.example/x") == "webhook"
    assert channel_of("ntfy://ntfy.sh/topic") == channel_of("json://h/p") == "apprise"
    key = destination_key("w1:s1:new-story", "https://hooks.example/t0ken")
    assert key.startswith("w1:s1:new-story:webhook:") and "t0ken" not in key
    assert "quotes Whitfield" in notification_text(content, PUBLIC)
