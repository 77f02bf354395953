"""Alert e-mails for an article not in English: its language, its original title and, in
English, what it is about; English items render as before."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.content import AlertContent, AlertItem, content_from_json, content_to_json
from alerts.render import render_alert

TITLE = "Шойгу прибыл в Пхеньян для переговоров о поставках"
ABOUT = "About: North Korea, Russia, Sergei Shoigu · topics: Arms transfers"


def _alert(item: AlertItem) -> AlertContent:
    return AlertContent(kind="new-story", watch_name="DPRK arms", recipients=("a@example.org",),
                        story_id="st-1", story_title="Shoigu in Pyongyang", items=(item,),
                        idempotency_key="w1:st-1:a@example.org:v1")


def _item(**kw: str) -> AlertItem:
    return AlertItem("a1", kw.pop("title", TITLE), "https://ria.example/a1", "RIA Example",
                     datetime(2026, 11, 20, 9, 30, tzinfo=UTC), "Текст статьи.", 0.5, {}, **kw)


def test_a_russian_item_shows_language_original_title_and_english_names() -> None:
    mail = render_alert(_alert(_item(language="ru", about=ABOUT)), "https://x.example/u",
                        "https://x.example/")
    assert f"Russian · original title: {TITLE}" in mail.text
    assert ABOUT in mail.text
    assert f"Russian · original title: {TITLE}" in mail.html
    assert "About: North Korea, Russia, Sergei Shoigu · topics: Arms transfers" in mail.html


def test_an_english_item_renders_as_before() -> None:
    english = _item(title="Shoigu arrives in Pyongyang", language="en")
    unknown = _item(title="Shoigu arrives in Pyongyang")
    first = render_alert(_alert(english), "https://x.example/u", "https://x.example/")
    second = render_alert(_alert(unknown), "https://x.example/u", "https://x.example/")
    assert "original title" not in first.text and "original title" not in first.html
    assert (first.text, first.html) == (second.text, second.html)


def test_the_outbox_keeps_language_and_summary() -> None:
    alert = _alert(_item(language="ru", about=ABOUT))
    back = content_from_json(content_to_json(alert))
    assert back.items[0].language == "ru" and back.items[0].about == ABOUT
    old = content_to_json(alert).replace('"language": "ru", ', "")  # a row from before
    assert content_from_json(old).items[0].language == ""
