"""The whole pipeline with NEWSWATCH_INDEX=elasticsearch: same results as the embedded
default on the demo site (configuration only, no code change)."""

from __future__ import annotations

import dataclasses

import pytest

from core.models import SearchRequest
from core.settings import LOOPBACK_NETWORKS, Settings
from newswatch.demo.catalog import load_articles
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime
from search.entities import resolve_entity

pytest.importorskip("spacy", reason="needs the nlp extra")


def test_demo_run_on_elasticsearch_matches_embedded(es_settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    es = dataclasses.replace(es_settings.with_allowed(*LOOPBACK_NETWORKS), per_host_delay=0.0,
                             extract_processes=1)
    embedded = dataclasses.replace(es, index="embedded", home=tmp_path / "embedded")
    results = {}
    with DemoSite(base_port=0) as site:
        for name, settings in (("elasticsearch", es), ("embedded", embedded)):
            rt = open_runtime(settings)
            try:
                for url in site.feed_urls():
                    add_feed(rt, url)
                report = run_once(rt)
                assert (report.new, report.indexed) == (len(load_articles()), len(load_articles()))
                queries = [
                    SearchRequest(query='"artillery shells"', limit=50),
                    SearchRequest(query="Tobruk OR Libya", limit=50),
                    SearchRequest(entities=resolve_entity("DPRK"), topic="arms-transfers", limit=50),
                    SearchRequest(query="title:sanctions", limit=50),
                ]
                hits = [{h.url for h in rt.index.search(q).hits} for q in queries]
                sizes = sorted(len(s.article_ids) for s in rt.index.list_stories(limit=100))
                results[name] = (hits, rt.index.count(), sizes)
            finally:
                rt.close()
    assert results["elasticsearch"] == results["embedded"]
    assert all(results["embedded"][0])  # every query finds something
