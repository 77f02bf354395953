"""An exact copy (the same headline and body under another address: a syndicated wire story)
reuses its original's enrichment instead of running NER again, in the same batch or a later
run, and gets exactly what analysing it would give."""

from __future__ import annotations

from typing import Any

import pytest
from fixtures.pages import article_page, rss

import enrich.analyze
from core.runtime import Runtime
from core.settings import Settings
from ingest.urls import canonicalize
from newswatch.demo.server import Route, SiteServer
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime

pytest.importorskip("spacy", reason="enrichment tests need the nlp extra (spaCy)")

TITLE = "Estonian coast guard detains tanker carrying drone parts bound for Russia"
BODY = [
    "The Estonian coast guard boarded and detained the tanker Baltic Pearl in the Gulf of Finland "
    "on Friday, saying crates in its hold held electronics for attack drones.",
    "The ship had left the Iranian port of Bushehr in October and was bound for Ust-Luga, the "
    "navy's spokesman Peeter Kuimet said. Russia's embassy in Tallinn called it piracy.",
]
OTHER = ("Harbour authority moves the first ferry to a quarter past seven",
         ["The harbour authority will move the first morning ferry to 7:15 from Monday after "
          "commuters complained about the early start, its director Mara Lind said."])


def _serve(site: SiteServer, pages: dict[str, tuple[str, list[str]]], feed: str) -> None:
    for slug, (title, body) in pages.items():
        site.set(f"/{slug}.html", Route(article_page(title, body).encode()))
    items = [{"title": title, "link": site.url(f"/{slug}.html")} for slug, (title, _b) in pages.items()]
    site.set(feed, Route(rss("Wire", items), "application/rss+xml"))


def test_exact_copies_reuse_the_enrichment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    analysed: list[str] = []
    real = enrich.analyze.analyze

    def counting(docs: list[Any], *args: Any) -> Any:
        analysed.extend(d.title for d in docs)
        return real(docs, *args)

    monkeypatch.setattr(enrich.analyze, "analyze", counting)
    rt: Runtime = open_runtime(settings)
    try:
        with SiteServer() as site:
            _serve(site, {"a": (TITLE, BODY), "b": (TITLE, BODY), "c": OTHER}, "/one.xml")
            add_feed(rt, site.url("/one.xml"))
            run_once(rt)
            assert sorted(analysed) == sorted([TITLE, OTHER[0]])  # the copy in the batch: once
            _serve(site, {"d": (TITLE, BODY)}, "/two.xml")  # a later run, another outlet
            add_feed(rt, site.url("/two.xml"))
            run_once(rt)
            assert analysed.count(TITLE) == 1
            ids = [rt.store.article_id_for_url(canonicalize(site.url(f"/{s}.html"))) for s in "abd"]
        enriched = [rt.store.enrichment(i or "") for i in ids]
        assert enriched[0].entities and enriched[0].topics
        assert enriched[1] == enriched[0] and enriched[2] == enriched[0]
        names = {e.name for e in enriched[0].entities}
        assert "Baltic Pearl" in names or "Peeter Kuimet" in names
    finally:
        rt.close()
