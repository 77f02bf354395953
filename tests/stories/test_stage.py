"""Stories in real runs: one event, one story; near-duplicates; novelty; corrections.
On SQLite and on PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
from fixtures.pages import article_page, rss

from core.runtime import Runtime
from core.settings import Settings
from ingest.urls import canonicalize
from newswatch.demo.catalog import DemoArticle, load_articles
from newswatch.demo.server import Route, SiteServer
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime
from search.stage import index_stories
from stories.stage import merge, split
from stories.store import StoryStore

pytest.importorskip("spacy", reason="story tests need the nlp extra (spaCy)")


@pytest.fixture
def rt(settings: Settings, demo: DemoSite) -> Iterator[Runtime]:
    runtime = open_runtime(settings)
    for url in demo.feed_urls():
        add_feed(runtime, url)
    run_once(runtime)
    yield runtime
    runtime.close()


def _ids(rt: Runtime, demo: DemoSite) -> dict[str, DemoArticle]:
    found = {}
    for article in load_articles():
        article_id = rt.store.article_id_for_url(canonicalize(demo.article_url(article)))
        assert article_id
        found[article_id] = article
    return found


def test_one_event_one_story(rt: Runtime, demo: DemoSite) -> None:
    stories = StoryStore(rt.store)
    by_story: dict[str, set[str]] = defaultdict(set)
    fields = {}
    for article_id, article in _ids(rt, demo).items():
        fields[article.role or article_id] = stories.story_fields(article_id)
        by_story[fields[article.role or article_id]["story_id"]].add(article.story)
    assert all(len(events) == 1 for events in by_story.values())  # nothing merged wrongly
    assert len(by_story) == len({a.story for a in load_articles()})  # nothing split
    developing = {fields[r]["story_id"] for r in ("original", "spun", "wire", "tv", "roundup",
                                                  "repeat-ru", "follow-up-ru", "repeat-ko",
                                                  "follow-up-ko")}
    assert len(developing) == 1
    original_id = next(i for i, a in _ids(rt, demo).items() if a.role == "original")
    assert fields["spun"]["duplicate_of"] == original_id and fields["spun"]["novelty"] == 0.0
    assert fields["original"]["novelty"] == 1.0
    assert fields["wire"]["novelty"] < 0.2  # a rewrite of the same facts
    assert fields["roundup"]["novelty"] >= 0.5  # adds the denials
    roundup = fields["roundup"]["detail"]["additions"]
    assert any("Nebenzia" in e for e in roundup["new_entities"])
    story = stories.get(developing.pop())
    assert story is not None and story.article_count == 9
    indexed = rt.index.list_stories(topic="dprk-russia", entities=("Q423",))
    assert story.id in {d.id for d in indexed}
    doc = next(d for d in indexed if d.id == story.id)
    assert len(doc.article_ids) == 9 and len(doc.outlets) == 7 and doc.entities[0][1]
    everything = rt.index.list_stories(limit=100)
    assert len(everything) == len(by_story)
    assert [d.last_updated for d in everything] == sorted(
        (d.last_updated for d in everything), reverse=True)
    updates = [s.last_updated for s in stories.recent(limit=100)]
    assert updates == sorted(updates, reverse=True) and len(updates) == len(by_story)


def test_merge_and_split_are_respected(rt: Runtime, demo: DemoSite) -> None:
    stories = StoryStore(rt.store)
    ids = _ids(rt, demo)
    story_of = {a.story: stories.story_fields(i)["story_id"] for i, a in ids.items()}
    stocks, rates = story_of["markets-stocks"], story_of["markets-rates"]
    merged = merge(rt, rates, stocks)
    index_stories(rt, [rates, stocks])
    assert merged.article_count == 2
    assert stocks not in {d.id for d in rt.index.list_stories(limit=100)}
    assert len(next(d for d in rt.index.list_stories(limit=100) if d.id == rates).article_ids) == 2
    assert stories.resolve(stocks) == rates
    assert stocks not in {s.id for s in stories.recent(limit=100)}

    # a later follow-up of the stocks article now lands in the merged story
    stocks_article = next(a for a in load_articles() if a.story == "markets-stocks")
    with SiteServer() as site:
        follow = [*stocks_article.paragraphs[:3], "Futures pointed higher again before the "
                  "opening bell on Wednesday as the chipmaker's results continued to lift shares."]
        site.set("/follow.html", Route(article_page(stocks_article.title + " again", follow).encode()))
        site.set("/feed.xml", Route(rss("Market Desk", [{
            "title": stocks_article.title + " again", "link": site.url("/follow.html"),
            "date": "Wed, 11 Nov 2026 09:00:00 GMT"}]), "application/rss+xml"))
        add_feed(rt, site.url("/feed.xml"))
        run_once(rt)
        follow_id = rt.store.article_id_for_url(canonicalize(site.url("/follow.html")))
    assert follow_id and stories.story_fields(follow_id)["story_id"] == rates

    rates_article = next(i for i, a in ids.items() if a.story == "markets-rates")
    new_story = split(rt, rates, [rates_article])
    assert stories.story_fields(rates_article)["story_id"] == new_story.id
    assert rates_article not in {a.id for a in stories.articles_of(rates)}
    assert stories.splits_for(rates_article) == {rates}
