"""Rendering alert emails (text + HTML) and signing unsubscribe tokens."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from alerts.content import AlertContent, AlertItem, DigestStory
from alerts.render import describe_additions, render_alert
from alerts.tokens import sign_unsubscribe, verify_unsubscribe

EVIL = 'Shells <script>alert("x")</script> & <b>more</b>'
UNSUB = "https://newswatch.example/unsubscribe?token=abc.def"
PUBLIC = "https://newswatch.example/"


def item(article_id: str = "a1", **kw: object) -> AlertItem:
    fields: dict[str, object] = {
        "title": "Ship unloads artillery shells in Tobruk",
        "url": f"https://wire.example/{article_id}",
        "source": "Global Wire Service",
        "published": datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        "snippet": "A cargo ship unloaded crates at the port.",
        "novelty": 0.4,
        "additions": {},
    }
    fields.update(kw)
    return AlertItem(article_id, **fields)  # type: ignore[arg-type]


def alert(kind: str = "new-story", **kw: object) -> AlertContent:
    fields: dict[str, object] = {
        "kind": kind,
        "watch_name": "DPRK arms",
        "recipients": ("analyst@example.org",),
        "story_id": "st-1",
        "story_title": "Artillery shells reach Libya",
        "items": (item(),),
        "outlets_count": 5,
        "new_count": 2,
        "idempotency_key": "watch-1:st-1:analyst@example.org:v1",
        "mail_from": "Newswatch <alerts@newswatch.example>",
    }
    fields.update(kw)
    return AlertContent(**fields)  # type: ignore[arg-type]


def parse(msg: EmailMessage) -> EmailMessage:
    """Round-trip through bytes, as a mail client would see it."""
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_new_story_headers_and_links() -> None:
    rendered = render_alert(alert(), UNSUB, PUBLIC)
    msg = parse(rendered.message)
    assert msg["Subject"] == "New story: Artillery shells reach Libya"
    assert msg["From"] == "Newswatch <alerts@newswatch.example>"
    assert msg["To"] == "analyst@example.org"
    assert msg["List-Unsubscribe"] == f"<{UNSUB}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"].endswith("@newswatch.example>")
    assert msg.get_content_type() == "multipart/alternative"
    text, html = parts(msg)
    for body in (text, html):
        assert "https://newswatch.example/web/stories/st-1" in body
        assert "https://wire.example/a1" in body
        assert UNSUB in body
    assert '<a href="https://wire.example/a1"' in html


def test_untrusted_title_escaped_in_html_and_plain_in_text() -> None:
    rendered = render_alert(
        alert(
            story_title=EVIL,
            items=(item(title=EVIL, snippet="<img src=x onerror=alert(1)>",
                        url="javascript:alert(1)"),),
        ),
        UNSUB,
        PUBLIC,
    )
    text, html = parts(parse(rendered.message))
    assert "<script>" not in html and "<img" not in html and "<b>more" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;more&lt;/b&gt;" in html
    assert "javascript:" not in html  # only http(s) URLs become links
    assert EVIL in text
    assert "<img src=x onerror=alert(1)>" in text
    assert rendered.subject == f"New story: {EVIL}"


def test_header_injection_flattened() -> None:
    rendered = render_alert(alert(story_title="Title\r\nBcc: victim@example.org"), UNSUB, PUBLIC)
    msg = parse(rendered.message)
    assert msg["Bcc"] is None
    assert msg["Subject"] == "New story: Title Bcc: victim@example.org"


def test_message_id_stable_for_same_key() -> None:
    first = render_alert(alert(), UNSUB, PUBLIC, now=datetime(2026, 11, 20, tzinfo=UTC))
    retry = render_alert(alert(), UNSUB, PUBLIC, now=datetime(2026, 11, 21, tzinfo=UTC))
    other = render_alert(alert(idempotency_key="another"), UNSUB, PUBLIC)
    assert first.message["Message-ID"] == retry.message["Message-ID"] == first.message_id
    assert other.message_id != first.message_id


def test_follow_up_says_what_is_new() -> None:
    additions = {
        "new_outlet": "Tobruk Times",
        "new_speakers": ["Port Director Ali"],
        "new_entities": ["Benghazi", "Wagner Group"],
        "new_sentences": ["The port director said forty containers arrived on Tuesday."],
        "new_sentence_count": 1,
        "new_numbers": ["40"],
    }
    rendered = render_alert(
        alert("follow-up", items=(item("a2", additions=additions),)), UNSUB, PUBLIC
    )
    # the news in the subject: the new article's headline and what it adds
    assert rendered.subject == ("Update: Ship unloads artillery shells in Tobruk — quotes Port "
                                "Director Ali, new: Benghazi, Wagner Group")
    text, html = parts(parse(rendered.message))
    for body in (text, html):
        assert "new outlet: Tobruk Times" in body
        assert "new speakers: Port Director Ali" in body
        assert "new entities: Benghazi, Wagner Group" in body
        assert "new figures: 40" in body
        assert "forty containers arrived" in body
        assert "Covered by 5 outlets so far" in body
        assert "2 articles since your last alert" in body  # one shown: it says what the other is


def test_describe_additions() -> None:
    assert describe_additions({}) == []
    assert describe_additions({"new_story": True}) == ["first article of the story"]
    lines = describe_additions({"new_entities": [f"E{i}" for i in range(8)]})
    assert lines == ["new entities: E0, E1, E2, E3, E4 and 3 more"]


def test_digest_newest_development_first() -> None:
    old = DigestStory("st-old", "Older story", (item("o1", published=datetime(2026, 11, 1,
                                                                              tzinfo=UTC)),), 3, 1)
    new = DigestStory("st-new", "Newer story", (item("n1"),), 5, 2)
    rendered = render_alert(
        alert("digest", story_id="", story_title="", items=(), stories=(old, new)), UNSUB, PUBLIC
    )
    assert rendered.subject == "Digest: DPRK arms — 2 stories with new developments"
    text, html = parts(parse(rendered.message))
    for body in (text, html):
        assert body.index("Newer story") < body.index("Older story")
        assert "5 outlets, 2 new since your last digest" in body
        assert "3 outlets, 1 new since your last digest" in body
        assert "https://newswatch.example/web/stories/st-new" in body


def test_invalid_alerts_rejected() -> None:
    with pytest.raises(ValueError):
        alert("breaking")
    with pytest.raises(ValueError):
        alert("digest", stories=())
    with pytest.raises(ValueError):
        render_alert(alert(), "javascript:alert(1)", PUBLIC)


def test_unsubscribe_token_round_trip() -> None:
    token = sign_unsubscribe("watch-1", "analyst@example.org", "s3cret")
    assert token.replace("-", "").replace("_", "").replace(".", "").isalnum()  # URL-safe
    assert verify_unsubscribe(token, "s3cret") == ("watch-1", "analyst@example.org")
    assert verify_unsubscribe(token, "other-secret") is None


def test_unsubscribe_token_tampering_detected() -> None:
    token = sign_unsubscribe("watch-1", "analyst@example.org", "s3cret")
    payload, signature = token.split(".")
    forged = sign_unsubscribe("watch-2", "analyst@example.org", "guess")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for bad in (
        forged.split(".")[0] + "." + signature,  # another payload, this signature
        payload + "." + flipped,
        payload,
        token + ".x",
        "",
        "é." + signature,
        "!!!." + signature,
    ):
        assert verify_unsubscribe(bad, "s3cret") is None
    with pytest.raises(ValueError):
        sign_unsubscribe("watch-1", "a@example.org", "")
