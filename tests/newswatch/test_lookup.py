"""What users type for ids, topics and entities (newswatch.lookup), and the story listing
(newswatch.story_list), on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, update

from core import schema
from core.errors import NewswatchError
from core.models import Article
from core.runtime import Runtime
from newswatch import lookup
from newswatch.story_list import list_stories

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _article(article_id: str, source: str, title: str = "T") -> Article:
    return Article(
        id=article_id, url=f"https://example.org/{article_id}", source=source, title=title,
        text=title, text_hash=hashlib.sha256(article_id.encode()).hexdigest(), published_at=NOW,
        published_source="feed", first_seen_at=NOW, updated_at=NOW,
    )


def _story(rt: Runtime, story_id: str, updated: datetime, outlets: list[str],
           merged_into: str | None = None, tag: str = "", entity: str = "") -> None:
    """A story whose articles come one from each of ``outlets``."""
    with rt.store.tx() as conn:
        conn.execute(insert(schema.stories).values(
            id=story_id, title=f"story {story_id}", first_seen=updated - timedelta(hours=1),
            last_updated=updated, article_count=len(outlets), merged_into=merged_into))
    for i, outlet in enumerate(outlets):
        article_id = f"{story_id[1:]}{i:02d}"
        rt.store.save_article(_article(article_id, outlet, f"{story_id} by {outlet}"), [], NOW)
        with rt.store.tx() as conn:
            conn.execute(update(schema.articles).where(schema.articles.c.id == article_id)
                         .values(story_id=story_id))
            if tag:
                conn.execute(insert(schema.article_topics).values(
                    article_id=article_id, tag=tag, score=0.8, evidence="{}"))
            if entity:
                conn.execute(insert(schema.article_entities).values(
                    article_id=article_id, entity_id=entity, name="Elena Varga", type="person",
                    mentions=2, first_pos=0, in_title=False, salience=0.5, surfaces="[]"))


def test_full_ids_and_unambiguous_prefixes(rt: Runtime) -> None:
    _story(rt, "sabcd1111", NOW, ["A"])
    _story(rt, "sabcd2222", NOW, ["B"])
    _story(rt, "sbeef3333", NOW, ["C"])
    assert lookup.story_id(rt, "sabcd1111") == "sabcd1111"
    assert lookup.story_id(rt, "sabcd1") == "sabcd1111"
    assert lookup.story_id(rt, "sbeef3…") == "sbeef3333"  # pasted from a cut column
    assert lookup.article_id(rt, "beef33") == "beef333300"
    with pytest.raises(lookup.AmbiguousIdError, match=r"sabcd1111 \(story sabcd1111\).*sabcd2222"):
        lookup.story_id(rt, "sabcd")
    with pytest.raises(lookup.AmbiguousIdError, match="at least 4 characters"):
        lookup.story_id(rt, "sab")
    with pytest.raises(NewswatchError, match="no story 'sfeed'"):
        lookup.story_id(rt, "sfeed")
    with pytest.raises(NewswatchError, match="no story 'SABCD1'"):
        lookup.story_id(rt, "SABCD1")  # ids are exact: case counts on every store
    with pytest.raises(NewswatchError, match="no story 'sabcd_'"):
        lookup.story_id(rt, "sabcd_")  # LIKE wildcards are plain characters here


def test_a_prefix_prefers_stories_that_were_not_merged_away(rt: Runtime) -> None:
    _story(rt, "s7777aaaa", NOW, ["A"])
    _story(rt, "s7777bbbb", NOW, ["B"], merged_into="s7777aaaa")
    assert lookup.story_id(rt, "s7777") == "s7777aaaa"
    assert lookup.story_id(rt, "s7777b") == "s7777bbbb"  # the caller follows the merge


def test_watch_references(rt: Runtime) -> None:
    with rt.store.tx() as conn:
        for watch_id, name in (("0123abcd0123abcd", "Arms"), ("0123ffff0123ffff", "Drones")):
            conn.execute(insert(schema.watches).values(
                id=watch_id, name=name, created_at=NOW))
    assert lookup.watch_ref(rt, "Arms") == "Arms"
    assert lookup.watch_ref(rt, "0123ab") == "0123abcd0123abcd"
    assert lookup.watch_ref(rt, "Nothing") == "Nothing"  # the watch functions say it is unknown
    with pytest.raises(lookup.AmbiguousIdError, match=r"Arms.*Drones"):
        lookup.watch_ref(rt, "0123")


def test_unknown_topics_and_entities_name_the_closest(rt: Runtime) -> None:
    assert lookup.check_topic(rt, "sanctions") == "sanctions"
    assert lookup.check_topic(rt, "Sanctions") == "sanctions"
    with pytest.raises(NewswatchError, match=r"no topic 'sanction'; did you mean 'sanctions'"):
        lookup.check_topic(rt, "sanction")
    with pytest.raises(NewswatchError, match=r"known topics: .*arms-transfers"):
        lookup.check_topic(rt, "gardening")
    assert lookup.entity_ids(rt, "DPRK") == lookup.entity_ids(rt, "Pyongyang") == ("Q423",)
    with pytest.raises(NewswatchError, match="did you mean 'North Korea'"):
        lookup.entity_ids(rt, "Nort Korea")
    with pytest.raises(NewswatchError, match="no entity 'Elena Varga'"):
        lookup.entity_ids(rt, "Elena Varga")
    _story(rt, "s1", NOW, ["A"], entity="key:person:elena-varga")
    assert "key:person:elena-varga" in lookup.entity_ids(rt, "Elena Varga")  # stored, so known
    with pytest.raises(NewswatchError, match="did you mean 'Elena Varga'"):
        lookup.entity_ids(rt, "Elena Vraga")


def test_developing_stories_of_several_outlets_come_first(rt: Runtime) -> None:
    _story(rt, "s-wide", NOW - timedelta(hours=50), ["A", "B", "C"], tag="sanctions")
    _story(rt, "s-single", NOW, ["A"])
    _story(rt, "s-pair", NOW - timedelta(hours=20), ["A", "B"], tag="sanctions")
    _story(rt, "s-old-wide", NOW - timedelta(days=10), ["A", "B", "C", "D"])
    _story(rt, "s-old", NOW - timedelta(days=9), ["A"])
    _story(rt, "s-gone", NOW, ["A", "B"], merged_into="s-pair")
    listed = list_stories(rt)
    assert [s["id"] for s in listed] == ["s-wide", "s-pair", "s-single", "s-old", "s-old-wide"]
    assert [s["developing"] for s in listed] == [True, True, False, False, False]
    assert listed[0]["outlet_count"] == 3 and listed[0]["topics"] == ["sanctions"]
    newest = list_stories(rt, order="newest")
    assert [s["id"] for s in newest] == ["s-single", "s-pair", "s-wide", "s-old", "s-old-wide"]
    assert [s["id"] for s in list_stories(rt, min_articles=3)] == ["s-wide", "s-old-wide"]
    assert [s["id"] for s in list_stories(rt, topic="sanctions")] == ["s-wide", "s-pair"]
    since = NOW - timedelta(hours=30)
    assert [s["id"] for s in list_stories(rt, since=since)] == ["s-pair", "s-single"]
    assert list_stories(rt, entities=("Q423",)) == []
    assert [s["id"] for s in list_stories(rt, limit=2)] == ["s-wide", "s-pair"]
