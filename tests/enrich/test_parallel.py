"""Enrichment in worker processes gives what the serial path gives: the same language,
entities (ids, types, surfaces, offsets), quotes and topics for the same articles, on real
news pages served over loopback — handed over while the pass still fetches, and as a
backlog enriched afterwards."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.models import Enrichment
from core.runtime import Runtime
from core.settings import LOOPBACK_NETWORKS, load_settings
from enrich.stage import enrich_pending
from newswatch.demo.server import Route, SiteServer
from newswatch.pipeline import add_feed, collect, run_once
from newswatch.resources import open_runtime

pytest.importorskip("spacy", reason="enrichment tests need the nlp extra (spaCy)")

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "extraction-dev"
PAGES = 16  # two outlets of each of eight: long, real pages


def _pages() -> list[tuple[str, bytes]]:
    if not (DATA / "ground_truth.json").is_file():
        pytest.skip(f"needs the real pages of {DATA}")
    names = sorted(json.loads((DATA / "ground_truth.json").read_text()))
    chosen = [n for n in names if n.endswith(("_0.html.gz", "_3.html.gz"))][:PAGES]
    return [(n.removesuffix(".html.gz"), gzip.decompress((DATA / "html" / n).read_bytes()))
            for n in chosen]


@pytest.fixture(scope="module")
def site() -> Iterator[SiteServer]:
    """The pages on 127.0.0.2, in one RSS feed."""
    server = SiteServer(host="127.0.0.2")
    base = f"http://127.0.0.2:{server.port}"
    items = ""
    for slug, html in _pages():
        server.set(f"/{slug}.html", Route(html))
        items += f"<item><title>{slug}</title><link>{base}/{slug}.html</link></item>"
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Real</title>{items}</channel></rss>'
    server.set("/feed.xml", Route(feed.encode(), "application/rss+xml"))
    server.set("/robots.txt", Route(b"User-agent: *\nAllow: /\n", "text/plain"))
    server.start()
    yield server
    server.stop()


def _runtime(home: Path, processes: int) -> Runtime:
    settings = load_settings(env={"NEWSWATCH_HOME": str(home)})
    settings = dataclasses.replace(settings, per_host_delay=0.0, extract_processes=1,
                                   enrich_processes=processes)
    return open_runtime(settings.with_allowed(*LOOPBACK_NETWORKS))


def _feed(site: SiteServer) -> str:
    return f"http://127.0.0.2:{site.port}/feed.xml"


def _stored(rt: Runtime) -> dict[str, Any]:
    """Every article's enrichment by URL, as plain values."""
    from sqlalchemy import select

    from core import schema as t

    with rt.store.engine.connect() as conn:
        urls = dict(conn.execute(select(t.articles.c.id, t.articles.c.url)).all())
    found: dict[str, Enrichment] = rt.store.enrichments(list(urls))
    return {urls[i]: dataclasses.asdict(e) for i, e in found.items()}


@pytest.fixture(scope="module")
def serial(site: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    rt = _runtime(tmp_path_factory.mktemp("serial"), 1)
    try:
        add_feed(rt, _feed(site))
        report = run_once(rt)
        assert rt.enricher is not None and not rt.enricher.started  # no workers at all
        assert report.enriched == PAGES
        return _stored(rt)
    finally:
        rt.close()


def _same(parallel: dict[str, Any], serial: dict[str, Any]) -> None:
    assert parallel.keys() == serial.keys() and len(serial) == PAGES
    assert sum(len(e["entities"]) for e in serial.values()) > 10 * PAGES  # real NER ran
    for url, enrichment in serial.items():
        assert parallel[url] == enrichment, url


def test_workers_during_the_pass_give_what_the_serial_path_gives(
    site: SiteServer, serial: dict[str, Any], tmp_path: Path
) -> None:
    rt = _runtime(tmp_path, 2)
    try:
        assert rt.enricher is not None
        rt.enricher.warm()  # a long-running process: the workers are up
        add_feed(rt, _feed(site))
        report = run_once(rt)
        assert report.enriched == PAGES and not report.warnings
        _same(_stored(rt), serial)
    finally:
        rt.close()


def test_a_backlog_enriched_by_the_workers_gives_the_same(
    site: SiteServer, serial: dict[str, Any], tmp_path: Path
) -> None:
    rt = _runtime(tmp_path, 2)
    try:
        feed, _new = add_feed(rt, _feed(site))
        collect(rt, [feed], rt.clock())  # stored, nothing handed over
        assert rt.enricher is not None and not rt.enricher.started
        assert enrich_pending(rt) == PAGES  # 16 documents: worth starting the workers
        assert rt.enricher.started
        _same(_stored(rt), serial)
    finally:
        rt.close()
