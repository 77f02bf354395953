"""`newswatch show` (and the JSON the API serves from it) for an article stored in Russian:
its language by name, its original title, and the English names of its entities and topics;
English articles print as before."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from rich.console import Console

from core.models import Article, Enrichment, Entity, TopicTag
from newswatch import console as out

WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
TITLE = "Шойгу прибыл в Пхеньян для переговоров о поставках снарядов"
ENTITIES = (
    Entity("Q423", "North Korea", "place", 3, 14, True, 1.0, ("Пхеньян", "КНДР")),
    Entity("Q159", "Russia", "place", 2, 80, False, 0.7, ("России",)),
    Entity("Q312412", "Sergei Shoigu", "person", 2, 0, True, 0.9, ("Шойгу",)),
    Entity("key:organisation:минобороны", "Минобороны", "organisation", 1, 120, False, 0.95),
)
TOPICS = (TopicTag("arms-transfers", 0.71, {"terms": {"снаряд": 2}}),)


def _article(language: str, title: str = TITLE) -> Article:
    return Article("a1", "https://ria.example/a1", "RIA Example", title, "Текст статьи.", "h",
                   WHEN, "meta", WHEN, WHEN, language=language)


def _printed(article: Article, enrichment: Enrichment) -> str:
    console = Console(record=True, width=200, color_system=None)
    out.print_article(console, article, [], enrichment)
    return console.export_text()


def test_show_prints_the_language_original_title_and_what_it_is_about() -> None:
    text = _printed(_article("ru"), Enrichment("ru", ENTITIES, TOPICS))
    lines = text.splitlines()
    assert lines[1] == f"Russian · original title: {TITLE}"
    # linked entities by their English names first (most salient first), then the others
    assert lines[2] == ("About: North Korea, Sergei Shoigu, Russia, Минобороны · "
                        "topics: Arms transfers")


def test_show_json_carries_the_english_summary_only_for_other_languages() -> None:
    data = out.article_dict(_article("ru"), [], Enrichment("ru", ENTITIES, TOPICS))
    assert data["about"] == {
        "language": "ru", "language_name": "Russian", "original_title": TITLE,
        "entities": ["North Korea", "Sergei Shoigu", "Russia", "Минобороны"],
        "topics": ["Arms transfers"]}
    english = out.article_dict(_article("en", "Shoigu in Pyongyang"), [],
                               Enrichment("en", ENTITIES, TOPICS))
    assert "about" not in english


def test_an_english_article_prints_as_before() -> None:
    text = _printed(_article("en", "Shoigu in Pyongyang"), Enrichment("en", ENTITIES, TOPICS))
    assert "original title" not in text and "About:" not in text
    assert text.splitlines()[1] == "id:         a1"


def test_story_timeline_items_say_what_a_russian_article_is_about() -> None:
    row = SimpleNamespace(id="st-1", title="Shoigu in Pyongyang", profile={},
                          first_seen=WHEN, last_updated=WHEN)
    articles = [_article("ru"), Article("a2", "https://wire.example/a2", "Wire", "Shoigu visits",
                                        "Text.", "h2", WHEN, "meta", WHEN, WHEN, language="en")]
    details = {a.id: {"detail": {}, "duplicate_of": None, "novelty": None} for a in articles}
    data = out.story_dict(row, articles, details,
                          {"a1": Enrichment("ru", ENTITIES, TOPICS),
                           "a2": Enrichment("en", ENTITIES, TOPICS)})
    first, second = data["timeline"]
    assert first["about"]["language_name"] == "Russian"
    assert first["about"]["topics"] == ["Arms transfers"]
    assert "about" not in second
