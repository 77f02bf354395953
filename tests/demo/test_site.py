"""The bundled demo news site, served for real on loopback and fetched with httpx."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from html import escape as html_escape

import feedparser
import httpx
import pytest
import trafilatura

from core.errors import NewswatchError
from newswatch.demo.catalog import (
    OUTLETS,
    TOPICS,
    TRACKED_ARTICLE,
    TRACKING_QUERY,
    DemoArticle,
    load_articles,
)
from newswatch.demo.site import AD_TEXT, COMMENT_MARKER, COOKIE_TEXT, DemoSite, build_routes

ARTICLES = load_articles()
FEED_VERSIONS = {"rss20": "rss20", "atom10": "atom10", "rss10": "rss10"}
ALTERNATE_TYPES = {
    "rss20": "application/rss+xml",
    "rss10": "application/rss+xml",
    "atom10": "application/atom+xml",
    "json11": "application/feed+json",
}


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite(0) as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def _by_outlet(slug: str) -> list[DemoArticle]:
    return [a for a in ARTICLES if a.outlet == slug]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def _jaccard(a: DemoArticle, b: DemoArticle) -> float:
    wa, wb = _words(" ".join(a.paragraphs)), _words(" ".join(b.paragraphs))
    return len(wa & wb) / len(wa | wb)


def test_content_is_complete_and_labelled() -> None:
    assert len(ARTICLES) >= 24
    assert len({(a.outlet, a.slug) for a in ARTICLES}) == len(ARTICLES)
    assert {a.outlet for a in ARTICLES} == {o.slug for o in OUTLETS}
    for a in ARTICLES:
        assert a.published.utcoffset() is not None and a.published.utcoffset().total_seconds() == 0
        assert "2026-11-09" <= a.published.date().isoformat() <= "2026-11-15", a.slug
        assert a.path() == f"/{a.published:%Y/%m/%d}/{a.slug}.html"
        assert a.title and a.author and a.summary and a.story
        assert set(a.topics) <= set(TOPICS)
        assert len(a.paragraphs[0]) >= 150, a.slug
        assert len(a.paragraphs) >= (3 if a.role == "wire" else 4), a.slug
    assert sorted(ARTICLES, key=lambda a: a.published) == ARTICLES
    first_paragraphs = [a.paragraphs[0] for a in ARTICLES]
    assert len(set(first_paragraphs)) == len(first_paragraphs)


def test_developing_story_has_nine_roles_from_seven_outlets() -> None:
    story = [a for a in ARTICLES if a.story == "dprk-shells"]
    assert sorted(a.role for a in story) == [
        "follow-up-ko", "follow-up-ru", "original", "repeat-ko", "repeat-ru", "roundup", "spun",
        "tv", "wire"]
    assert len({a.outlet for a in story}) == 7
    roles = {a.role: a for a in story}
    assert roles["original"].published < roles["spun"].published < roles["roundup"].published
    languages = {o.slug: o.language for o in OUTLETS}
    for lang in ("ru", "ko"):
        repeat, follow_up = roles[f"repeat-{lang}"], roles[f"follow-up-{lang}"]
        assert languages[repeat.outlet] == languages[follow_up.outlet] == lang
        assert roles["original"].published < repeat.published < follow_up.published
    assert all("arms-transfers" in a.topics and "dprk-russia" in a.topics for a in story)
    assert [a.role for a in ARTICLES if a.story != "dprk-shells" and a.role] == []
    roundup = " ".join(roles["roundup"].paragraphs)
    assert "Nebenzia" in roundup and "fabricat" in roundup and "300,000" in roundup


def test_spun_copy_is_a_near_duplicate_and_others_are_not() -> None:
    roles = {a.role: a for a in ARTICLES if a.story == "dprk-shells"}
    original, spun = roles["original"], roles["spun"]
    assert original.title != spun.title
    assert len(original.paragraphs) == len(spun.paragraphs)
    assert 0.7 <= _jaccard(original, spun) <= 0.9
    for role in ("wire", "tv", "roundup"):
        assert _jaccard(original, roles[role]) < 0.45, role


def test_every_feed_parses_with_all_articles(site: DemoSite, client: httpx.Client) -> None:
    urls = site.feed_urls()
    assert len(urls) == len(OUTLETS)
    for outlet, url in zip(OUTLETS, urls, strict=True):
        expected = _by_outlet(outlet.slug)
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Last-Modified"]
        newest = max(a.published for a in expected)
        assert parsedate_to_datetime(response.headers["Last-Modified"]) == newest
        if outlet.feed_format == "json11":
            feed = json.loads(response.content)
            assert feed["version"] == "https://jsonfeed.org/version/1.1"
            items = feed["items"]
            assert len(items) == len(expected)
            links = [item["url"] for item in items]
            assert all(item["id"] and item["date_published"] and item["authors"] for item in items)
        else:
            parsed = feedparser.parse(response.content)
            assert not parsed.bozo, parsed.get("bozo_exception")
            assert parsed.version == FEED_VERSIONS[outlet.feed_format]
            assert len(parsed.entries) == len(expected)
            # RSS 1.0 has only dc:date, which feedparser reports as the updated date.
            dated = [e.get("published_parsed") or e.get("updated_parsed") for e in parsed.entries]
            assert all(dated) and all(e.get("author") for e in parsed.entries)
            assert all(e.get("id") and e.get("summary") for e in parsed.entries)
            links = [e.link for e in parsed.entries]
        for link in links:
            assert link.startswith(site.servers[outlet.slug].base_url + "/2026/11/")
            assert client.get(link).status_code == 200


def test_article_page_carries_text_and_clutter(site: DemoSite, client: httpx.Client) -> None:
    languages = {o.slug: o.language for o in OUTLETS}
    for article in ARTICLES:
        html = client.get(site.article_url(article)).text
        assert f'<html lang="{languages[article.outlet]}">' in html
        assert html_escape(article.paragraphs[0]) in html
        assert COOKIE_TEXT in html
        assert COMMENT_MARKER in html
        assert 'class="cookie-banner"' in html and 'class="comments"' in html
        assert "Related stories" in html and "<nav" in html and "<footer" in html
        assert f'<link rel="canonical" href="{site.article_url(article)}">' in html
        assert f'content="{article.published:%Y-%m-%dT%H:%M:%SZ}"' in html
        assert ('<div class="ad' in html) == (article.outlet == "newsroom24")


def test_extracted_text_drops_the_clutter(site: DemoSite, client: httpx.Client) -> None:
    for outlet in OUTLETS:
        article = _by_outlet(outlet.slug)[0]
        html = client.get(site.article_url(article)).text
        text = trafilatura.extract(html, include_comments=False) or ""
        assert article.paragraphs[0] in text
        assert article.paragraphs[-1] in text
        assert COOKIE_TEXT not in text
        assert COMMENT_MARKER not in text
        assert AD_TEXT not in text


def test_tracked_feed_link_has_a_clean_canonical(site: DemoSite, client: httpx.Client) -> None:
    outlet_slug, slug = TRACKED_ARTICLE
    article = next(a for a in ARTICLES if (a.outlet, a.slug) == TRACKED_ARTICLE)
    outlet = next(o for o in OUTLETS if o.slug == outlet_slug)
    feed = feedparser.parse(client.get(site.servers[outlet_slug].url(outlet.feed_path)).content)
    links = [e.link for e in feed.entries if slug in e.link]
    assert links == [site.article_url(article) + TRACKING_QUERY]
    html = client.get(links[0]).text
    assert f'<link rel="canonical" href="{site.article_url(article)}">' in html
    tracked = [
        e.link for f in site.feed_urls() for e in feedparser.parse(client.get(f).content).entries
    ]
    assert sum("utm_" in link for link in tracked if link) == 1


def test_home_pages_link_their_feeds_and_robots_allow_all(
    site: DemoSite, client: httpx.Client
) -> None:
    for outlet in OUTLETS:
        server = site.servers[outlet.slug]
        html = client.get(site.home_url(outlet.slug)).text
        feed_url = server.url(outlet.feed_path)
        assert f'rel="alternate" type="{ALTERNATE_TYPES[outlet.feed_format]}"' in html
        assert f'href="{feed_url}"' in html
        for article in _by_outlet(outlet.slug):
            assert f'href="{article.path()}"' in html
        robots = client.get(server.url("/robots.txt"))
        assert robots.status_code == 200 and "Allow: /" in robots.text


def test_conditional_get_answers_304(site: DemoSite, client: httpx.Client) -> None:
    for url in site.feed_urls():
        first = client.get(url)
        again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304
        since = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
        assert since.status_code == 304


def test_output_is_deterministic() -> None:
    for outlet in OUTLETS:
        one = build_routes(outlet, "http://127.0.0.1:8765", load_articles())
        two = build_routes(outlet, "http://127.0.0.1:8765", load_articles())
        assert one.keys() == two.keys()
        assert all(one[p].render() == two[p].render() for p in one)
        assert all(one[p].last_modified == two[p].last_modified for p in one)


def test_busy_port_raises_a_clear_error() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        demo = DemoSite(port)
        with pytest.raises(NewswatchError) as err:
            demo.start()
        message = str(err.value)
        assert str(port) in message and "NEWSWATCH_DEMO_PORT" in message
        assert "\n" not in message
        assert demo.servers == {}


def test_consecutive_ports_and_clean_stop() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
    if base + len(OUTLETS) > 65535:
        pytest.skip("no room for consecutive ports above the probed one")
    try:
        demo = DemoSite(base).start()
    except NewswatchError:
        pytest.skip("a consecutive port was taken by another process")
    try:
        ports = [demo.servers[o.slug].port for o in OUTLETS]
        assert ports == [base + i for i in range(len(OUTLETS))]
    finally:
        demo.stop()
    assert demo.servers == {}
    with pytest.raises(NewswatchError):
        demo.article_url(ARTICLES[0])
