"""GET /stories/{id}/page, where alert emails link: a printable HTML page for people, over
real HTTP (uvicorn on loopback), kept out of the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

pytest.importorskip("fastapi", reason="the API needs the api extra (fastapi, uvicorn)")
pytest.importorskip("spacy", reason="these tests need the nlp extra (spaCy)")

import httpx
from fixtures.apiserver import serving
from fixtures.pages import article_page, rss

from api.app import create_app
from core.settings import Settings
from ingest.urls import canonicalize
from newswatch.demo.catalog import load_articles
from newswatch.demo.server import Route, SiteServer
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime

EVIL = 'Shells <script>alert("pwned")</script> <img src=x onerror=alert(1)> & co'


@pytest.fixture
def base(sqlite_settings: Settings) -> Iterator[str]:
    with serving(create_app(sqlite_settings)) as url:
        yield url


def story_id_of(settings: Settings, url: str) -> str:
    rt = open_runtime(settings)
    try:
        article = rt.store.get_article(rt.store.article_id_for_url(canonicalize(url)) or "")
        assert article is not None and article.story_id
        return article.story_id
    finally:
        rt.close()


def test_the_story_page_shows_title_topics_entities_and_timeline(
    sqlite_settings: Settings, demo: DemoSite, base: str
) -> None:
    rt = open_runtime(sqlite_settings)
    try:
        for url in demo.feed_urls():
            add_feed(rt, url)
        run_once(rt)
    finally:
        rt.close()
    roles = {a.role: a for a in load_articles() if a.role}
    story = story_id_of(sqlite_settings, demo.article_url(roles["original"]))
    response = httpx.get(f"{base}/stories/{story}/page", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert "<script" not in page and "<img" not in page and " src=" not in page
    assert "@media print" in page  # printable
    assert "North Korea–Russia" in page and "Arms transfers" in page  # topics, by label
    assert "Main entities" in page and "North Korea" in page
    timeline = page[page.index("<ol>"):]
    positions = [timeline.index(demo.article_url(roles[r])) for r in
                 ("original", "spun", "wire", "tv", "roundup")]
    assert positions == sorted(positions)  # in order of publication
    for outlet in ("The Daily Ledger", "Channel 9 News", "Capital Observer"):
        assert outlet in timeline
    assert "new speakers: Whitfield" in timeline and "near-duplicate" in timeline
    assert re.search(r"2026-11-14 08:00 UTC · Capital Observer", timeline)

    missing = httpx.get(f"{base}/stories/s-no-such-story/page", timeout=30)
    assert missing.status_code == 404
    schema = httpx.get(f"{base}/openapi.json", timeout=30).json()
    assert not any(path.endswith("/page") for path in schema["paths"])


def test_an_untrusted_title_is_escaped_on_the_page(sqlite_settings: Settings, base: str) -> None:
    paragraphs = [
        "Cargo ships carrying artillery shells left the port on Tuesday, according to "
        "officials who have tracked the route for several months.",
        "The shipments were loaded at night and the vessels switched off their transponders "
        "before they crossed the sea, the officials said in a briefing.",
    ]
    rt = open_runtime(sqlite_settings)
    try:
        with SiteServer() as site:
            site.set("/a.html", Route(article_page(EVIL, paragraphs).encode()))
            site.set("/feed.xml", Route(rss("Harbour Gazette", [
                {"title": EVIL, "link": site.url("/a.html")}]), "application/rss+xml"))
            add_feed(rt, site.url("/feed.xml"))
            run_once(rt)
            article_url = site.url("/a.html")
    finally:
        rt.close()
    story = story_id_of(sqlite_settings, article_url)
    page = httpx.get(f"{base}/stories/{story}/page", timeout=30).text
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page
