"""Long variant: feedparser's conformance corpus (``../shared/data/feed-corpus``, 2,106
odd, broken and exotic feeds; read in place, never copied) published as feeds on the hostile
site's address, every one registered, and ONE pipeline run over all of them plus a good feed.

Names are not resolved (only IP literals are): the corpus's entry links point at hosts all
over the internet, and the run must record their failures, not contact them.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any

import pytest
from hostile.plan import HOST, LONG_SKIP, article_at, at, hostile_settings
from script_loader import load_script

from newswatch.demo.server import Route, SiteServer
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime

feed_corpus = load_script("eval/feed_corpus.py")
CORPUS = feed_corpus.data_dir()
GOOD = {"/ferry.html": "Ferry timetable changes", "/bridge.html": "Bridge repairs delayed"}

pytestmark = [
    pytest.mark.slow,
    LONG_SKIP,
    pytest.mark.skipif(not CORPUS.is_dir(),
                       reason=f"feed corpus not found at {CORPUS} (set NEWSWATCH_SHARED_DATA)"),
]


def _literal_addresses_only(real: Any) -> Any:
    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(name.split("%", 1)[0])
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, "no name resolution in this test") from None
        return real(host, *args, **kwargs)

    return getaddrinfo


def test_the_feed_corpus_as_published_feeds(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from fixtures.pages import BRIDGE, FERRY, article_page, rss

    cases = feed_corpus.load_corpus(CORPUS)
    assert len(cases) >= 2000
    monkeypatch.setattr(socket, "getaddrinfo", _literal_addresses_only(socket.getaddrinfo))
    with SiteServer(host=HOST) as site:
        for case in cases:
            headers = {k.title(): v for k, v in case.headers.items() if k != "content-type"}
            kind = case.headers.get("content-type", "application/xml")
            site.set("/corpus/" + case.rel, Route(case.data, kind, headers=headers))
        for path, title in GOOD.items():
            site.set(path, Route(article_page(title, FERRY if "ferry" in path else BRIDGE)
                                 .encode()))
        site.set("/good.xml", Route(rss("Harbour Gazette", [
            {"title": title, "link": at(site, path)} for path, title in GOOD.items()]),
            "application/rss+xml"))
        rt = open_runtime(hostile_settings(tmp_path / "home"))
        try:
            add_feed(rt, at(site, "/good.xml"))
            for case in cases:
                add_feed(rt, at(site, "/corpus/" + case.rel))
            report = run_once(rt, force=True)
            assert rt.store.last_runs(1)[0]["status"] == "ok"
            assert report.feeds_polled == len(cases) + 1
            for path in GOOD:
                assert article_at(rt, at(site, path)) is not None
            feeds = rt.store.list_feeds()
            errors = [f.last_error for f in feeds if f.last_error]
            entry_errors = [s.last_error for f in feeds
                            for s in rt.store.entry_states(f.id).values() if s.last_error]
        finally:
            rt.close()
    print(f"\nfeed corpus through the pipeline: {len(cases)} feeds, {report.feeds_failed} "
          f"failed, {sum(o.entries for o in report.feeds)} entries, {report.new} articles, "
          f"{report.failed} entry failures, {report.seconds:.1f} s")
    assert not [e for e in errors + entry_errors if "internal error" in e or "\n" in e]
    assert report.feeds_failed <= len(cases) // 100, errors[:20]
