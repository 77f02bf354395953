"""Enrichment in real runs: stored, shown, indexed and filterable; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fixtures.pages import FERRY, article_page, rss

from core.models import SearchRequest
from core.runtime import Runtime
from newswatch.demo.catalog import load_articles
from newswatch.demo.server import Route, SiteServer
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from search.entities import resolve_entity

pytest.importorskip("spacy", reason="enrichment tests need the nlp extra (spaCy)")

FRENCH = [
    "Les autorités portuaires avancent le premier ferry du matin à 7 h 15 à partir de lundi, "
    "afin de laisser aux équipages le temps d'effectuer les contrôles de sécurité exigés.",
    "Les usagers du bateau de 6 h 50 pourront emprunter une navette gratuite jusqu'au quai "
    "nord, où un petit bateau continuera de circuler à l'ancien horaire jusqu'à fin janvier.",
]


def test_demo_articles_are_enriched_and_filterable(rt: Runtime, demo: DemoSite) -> None:
    for url in demo.feed_urls():
        add_feed(rt, url)
    report = run_once(rt)
    assert report.enriched == len(load_articles()) and report.warnings == []
    original = next(a for a in load_articles() if a.role == "original")
    from ingest.urls import canonicalize

    article_id = rt.store.article_id_for_url(canonicalize(demo.article_url(original)))
    assert article_id
    enrichment = rt.store.enrichment(article_id)
    assert enrichment.language == "en"
    ids = [e.id for e in enrichment.entities]
    assert {"Q423", "Q159"} <= set(ids[:5])
    assert {t.tag for t in enrichment.topics} >= {"arms-transfers", "dprk-russia"}
    assert all(t.evidence for t in enrichment.topics)

    by_name = {}
    for name in ("North Korea", "DPRK", "Pyongyang", "north korean", "Q423"):
        request = SearchRequest(entities=resolve_entity(name), limit=100)
        by_name[name] = {h.id for h in rt.index.search(request).hits}
    assert len({frozenset(v) for v in by_name.values()}) == 1 and article_id in by_name["DPRK"]
    sports = rt.index.search(SearchRequest(topic="sports", limit=100)).hits
    assert sports and article_id not in {h.id for h in sports}
    arms = rt.index.search(
        SearchRequest(query="artillery", entities=resolve_entity("North Korea"),
                      topic="arms-transfers", limit=100)
    )
    assert article_id in {h.id for h in arms.hits}
    again = run_once(rt)
    assert again.enriched == 0


def test_other_languages_are_stored_indexed_and_marked(rt: Runtime) -> None:
    with SiteServer() as site:
        site.set("/fr.html", Route(article_page("Nouveaux horaires du ferry", FRENCH).encode()))
        site.set("/en.html", Route(article_page("Ferry timetable changes", FERRY).encode()))
        site.set("/feed.xml", Route(rss("Gazette", [
            {"title": "Nouveaux horaires", "link": site.url("/fr.html")},
            {"title": "Ferry", "link": site.url("/en.html")},
        ]), "application/rss+xml"))
        add_feed(rt, site.url("/feed.xml"))
        report = run_once(rt)
    assert (report.new, report.indexed) == (2, 2)
    from ingest.urls import canonicalize

    fr = rt.store.article_id_for_url(canonicalize(site.url("/fr.html")))
    result = rt.store.enrichment(fr)
    assert result.language == "fr" and result.entities == () and "skipped" in result.skipped
    assert rt.store.get_article(fr).language == "fr"
    hits = rt.index.search(SearchRequest(query="navette", language="fr"))
    assert [h.id for h in hits.hits] == [fr]
    assert rt.index.search(SearchRequest(query="navette", language="en")).total == 0
