"""The end-to-end pipeline benchmark runs on a tiny load (``--quick``) and reports every
figure; its load generator publishes what it plans (no timing assertions: timing goals are
checked by running the benchmark, not by tests)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from script_loader import load_script

from ingest.extract import extract_article
from ingest.feeds import parse_feed
from stories import duplicates as dedup

pytest.importorskip("spacy", reason="the pipeline benchmark needs the nlp extra (spaCy)")
pytest.importorskip("aiosmtpd", reason="the pipeline benchmark needs aiosmtpd (dev extra)")

pipeline = load_script("bench/pipeline.py")
STAGES = ("fetch", "enrich", "stories", "index", "alerts")


def test_the_load_has_waves_developing_stories_and_real_pages() -> None:
    corpus = pipeline.plan(feeds=6, hosts=3, per_feed=10, waves=5, seed=3)
    articles = corpus.articles
    assert len(articles) == 60
    assert {a.wave for a in articles} == set(range(5))
    for f in range(6):
        assert sum(1 for a in articles if a.feed == f) == 10
    events: dict[str, list[Any]] = {}
    for a in articles:
        if a.event:
            events.setdefault(a.event, []).append(a)
    assert sum(len(v) for v in events.values()) >= 0.4 * len(articles)
    for items in events.values():
        hosts = [corpus.feeds[a.feed][0] for a in items]
        assert len(set(hosts)) == len(hosts)  # every outlet covers it once
        assert items[0].role == "first"
        assert [a.wave for a in items] == sorted(a.wave for a in items)
    for a in articles:
        assert 600 <= a.words <= 1300 or a.role == "copy", (a.role, a.words)
    copies = [a for a in articles if a.role == "copy"]
    for copy in copies:
        original = events[copy.event][0]
        assert dedup.is_near_duplicate(
            dedup.signature("\n".join(copy.paragraphs)),
            dedup.signature("\n".join(original.paragraphs)))

    site = pipeline.Site(corpus, ("http://127.0.0.1:9001", "http://127.0.0.1:9002",
                                  "http://127.0.0.1:9003"))
    article = articles[0]
    page = site.page(article)
    for part in (b"<nav", b'class="comments"', b"<footer", b'class="related"', b"cookie"):
        assert part in page
    extracted = extract_article(page, site.url(article))
    assert extracted is not None and extracted.title == article.title
    assert extracted.canonical_url == site.url(article)
    assert article.paragraphs[-1] in extracted.text
    assert "Comments are moderated" not in extracted.text
    feed = pipeline.render_feed(corpus, 0, site.base_url(0),
                                [a for a in articles if a.feed == 0 and a.wave < 2])
    entries = parse_feed(feed, site.feed_url(0)).entries
    assert {e.link for e in entries} == {site.url(a) for a in articles
                                         if a.feed == 0 and a.wave < 2}


def test_quick_run_reports_throughput_stages_memory_latency_and_the_floor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pipeline.json"
    assert pipeline.main(["--quick", "--backend", "embedded", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cores" in printed
    assert re.search(r"^\s*embedded\s+\d+\.\d+\s+\d+\.\d+", printed, re.MULTILINE), printed

    figures = json.loads(out.read_text())
    assert figures["config"]["articles"] == 6 and figures["config"]["cores"] >= 1
    [result] = figures["results"]
    assert result["backend"] == "embedded"
    run = result["pipeline"]
    assert run["articles"] == run["planned"] == 6
    assert run["articles_per_second"] > 0 and run["seconds"] > 0
    assert set(run["stage_seconds"]) == set(STAGES)
    assert all(v >= 0 for v in run["stage_seconds"].values())
    assert run["stage_seconds"]["enrich"] > 0
    assert run["passes"] >= 1 and run["idle_passes"]["count"] >= 1
    assert run["emails_sent"] == run["emails_received"] >= 1
    latency = run["latency"]
    assert latency["alerted_articles"] >= 1 and latency["emails"] >= latency["alerted_articles"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["max"]
    floor = result["floor"]
    assert floor["pages"] == 6 and floor["entities"] > 0
    assert floor["seconds"] == pytest.approx(floor["extract_seconds"] + floor["ner_seconds"],
                                             abs=0.01)
    assert result["ratio"] == pytest.approx(run["seconds"] / floor["seconds"], abs=0.01)
    memory = result["memory"]
    assert memory["self_mib"] > 50
    assert memory["largest_descendant_mib"] > 0  # the extraction workers
    # (self_mib is this test process, which holds the suite so far: no ratio to it)
    assert memory["tree_peak_mib"] >= memory["largest_descendant_mib"]
    assert result["stories"]["follow_ups_in_their_story"].count("/") == 1
