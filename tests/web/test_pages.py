"""The web app over real HTTP (uvicorn on loopback, the demo data of one real pipeline
run): every page renders what the API holds, reading follows the API's read setting, and
nothing is written without the key, a session and the form's CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fixtures.apiserver import serving
from fixtures.webapp import KEY, web_settings

from alerts.store import WatchStore
from api.app import create_app
from core.settings import Settings
from newswatch.resources import open_runtime
from stories.store import StoryStore

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LOGIN_TOKEN = re.compile(r'name="token" value="([^"]+)"')


@pytest.fixture(scope="module")
def client(served: tuple[str, Settings]) -> Iterator[httpx.Client]:
    base, _settings = served
    with httpx.Client(base_url=base, timeout=30) as c:
        yield c


def sign_in(client: httpx.Client, key: str = KEY) -> httpx.Response:
    page = client.get("/web/login", params={"next": "/web/watches"})
    token = LOGIN_TOKEN.search(page.text)
    assert token, page.text
    return client.post("/web/login", data={"key": key, "token": token.group(1),
                                           "next": "/web/watches"})


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class Elements(HTMLParser):
    """The tags and attributes of a page, to check what it holds without regexes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


# ---------------------------------------------------------------------------------------
# Reading


def test_every_page_renders_with_the_page_headers(client: httpx.Client, demo_data) -> None:
    assert client.get("/").headers["location"] == "/web/"
    pages = ["/web/", "/web/?days=7", "/web/stories", "/web/stories?min_articles=3",
             f"/web/stories/{demo_data.story_id}", f"/web/articles/{demo_data.article_ids[0]}",
             "/web/search", "/web/search?q=artillery", "/web/login"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        scripts = [a for tag, a in elements(response.text) if tag == "script"]
        assert scripts == [{"src": "/web/static/web.js?v=0.1.0", "defer": None}], path
    assert client.get("/web/static/web.css").status_code == 200


def test_the_overview_leads_to_the_developing_story(client: httpx.Client, demo_data) -> None:
    page = client.get("/web/").text
    developing = page.split('id="developing-h"', 1)[1].split("</section>", 1)[0]
    first = re.search(r'href="/web/stories/([^"]+)"', developing)
    assert first and first.group(1) == demo_data.story_id
    assert "7 outlets" in developing and "What changed last" in developing
    assert "Articles per day by topic" in page and "<svg" in page
    assert "North Korea" in page.split('id="entities-h"', 1)[1]  # top entities, by name


def test_the_stories_page_filters(client: httpx.Client, demo_data) -> None:
    total = len(client.get("/stories", params={"size": 100}).json()["stories"])
    everything = client.get("/web/stories").text
    assert everything.count('class="card story"') == min(total, 20)  # a page
    assert ("Older →" in everything) == (total > 20)
    big = client.get("/web/stories", params={"min_articles": 3}).text
    assert big.count('class="card story"') == 1 and demo_data.story_id in big
    by_entity = client.get("/web/stories", params={"entity": "DPRK"}).text
    assert demo_data.story_id in by_entity
    by_outlet = client.get("/web/stories", params={"outlet": "newsroom24"}).text
    assert demo_data.story_id in by_outlet and "Capital Observer" not in by_outlet.split(
        'class="cards"', 1)[1].split(demo_data.story_id)[0]
    none = client.get("/web/stories", params={"since": "2030-01-01"}).text
    assert "No stories match" in none
    bad = client.get("/web/stories", params={"since": "tomorrow", "topic": "no-such-topic"})
    assert bad.status_code == 200
    assert "is not a date" in bad.text and "there is no topic" in bad.text


def test_the_story_page_shows_the_timeline_and_why(client: httpx.Client, demo_data) -> None:
    page = client.get(f"/web/stories/{demo_data.story_id}").text
    timeline = page.split('class="timeline"', 1)[1]
    for article_id in demo_data.article_ids:
        assert f'id="a-{article_id}"' in timeline
    assert '<mark class="new">' in timeline  # what follow-ups added
    assert "near-duplicate" in timeline and '<details class="dups">' in timeline
    dups = timeline.split('<details class="dups">', 1)[1].split("</details>\n  </li>")[0]
    assert "Newsroom24" in dups  # the copy is folded away under the article it copies
    assert 'class="pushes"' in timeline and "same words" in timeline  # why, as bars
    assert "probability" in timeline and "New figures" in timeline
    assert "Sign in" in page.split('id="fix-h"', 1)[1]  # corrections need the key
    merged_away = client.get("/web/stories/s-no-such-story")
    assert merged_away.status_code == 404 and "Not found" in merged_away.text


def test_the_article_page_marks_what_it_added(client: httpx.Client, demo_data) -> None:
    follow_up = demo_data.article_ids[-1]
    page = client.get(f"/web/articles/{follow_up}").text
    assert f'href="/web/stories/{demo_data.story_id}#a-{follow_up}"' in page
    assert '<mark class="new">' in page.split('id="text-h"', 1)[1]
    assert "because of" in page  # the words that gave it its topics
    assert "=shells" not in page  # evidence as people read it
    assert client.get("/web/articles/nope").status_code == 404


def test_search_highlights_facets_and_saves_as_watch(client: httpx.Client) -> None:
    page = client.get("/web/search", params={"q": "artillery shells", "entity": "DPRK"}).text
    assert "<mark>artillery</mark>" in page and "**" not in page
    facets = page.split('class="facets"', 1)[1]
    assert "Outlets" in facets and "North Korea" in facets
    assert "/web/watches/new?query=artillery+shells&amp;entity=DPRK" in page
    broken = client.get("/web/search", params={"q": '"artillery'})
    assert broken.status_code == 200 and "The query cannot be run" in broken.text


def test_docs_work_offline(client: httpx.Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/docs/assets/") for s in sources), sources
    assert "cdn" not in page.text and "validatorUrl" in page.text
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 1000, source
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/search", "/stories"}


# ---------------------------------------------------------------------------------------
# Signing in and writing


def test_login_sets_a_strict_http_only_session(client: httpx.Client) -> None:
    wrong = sign_in(client, "not-the-key")
    assert wrong.status_code == 403 and "not the API key" in wrong.text
    assert "set-cookie" not in wrong.headers
    client.cookies.clear()
    assert client.get("/web/watches").status_code == 303  # to the login form
    right = sign_in(client)
    assert right.status_code == 303 and right.headers["location"] == "/web/watches"
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/web" in cookie
    assert KEY not in right.headers["set-cookie"]
    assert client.get("/web/watches").status_code == 200
    forged = client.cookies.get("newswatch_session", path="/web")
    assert forged
    client.cookies.set("newswatch_session", forged[:-3] + "AAA", path="/web")
    assert client.get("/web/watches").status_code == 303
    client.cookies.clear()


def _watch_count(settings: Settings) -> int:
    rt = open_runtime(settings)
    try:
        return len(WatchStore(rt.store).all())
    finally:
        rt.close()


def test_nothing_is_written_without_session_token_and_our_origin(
        client: httpx.Client, served: tuple[str, Settings]) -> None:
    _base, settings = served
    before = _watch_count(settings)
    form = {"name": "Forged", "emails": "a@example.org", "query": "shells"}
    client.cookies.clear()
    assert client.post("/web/watches", data=form).status_code == 401  # no session
    sign_in(client)
    token = csrf_of(client.get("/web/watches/new"))
    assert client.post("/web/watches", data=form).status_code == 403  # no token
    assert client.post("/web/watches", data={**form, "csrf": "x" * 32}).status_code == 403
    cross = client.post("/web/watches", data={**form, "csrf": token},
                        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403 and "another site" in cross.text
    assert _watch_count(settings) == before
    client.cookies.clear()


def test_watches_are_created_edited_paused_muted_and_removed(
        client: httpx.Client, served: tuple[str, Settings], demo_data) -> None:
    _base, settings = served
    sign_in(client)
    form = client.get("/web/watches/new", params={"query": "shells OR munitions",
                                                  "entity": "North Korea"})
    assert 'value="shells OR munitions"' in form.text
    created = client.post("/web/watches", data={
        "csrf": csrf_of(form), "name": "Shells", "emails": "analyst@example.org",
        "query": "shells OR munitions", "entities": "North Korea", "mode": "immediate",
        "min_novelty": "0.3"})
    assert created.status_code == 303, created.text[:500]
    page = client.get(created.headers["location"])
    assert "The watch is saved" in page.text and "analyst@example.org" in page.text
    token = csrf_of(page)
    watch = created.headers["location"].split("/")[-1].split("?")[0]
    bad = client.post(f"/web/watches/{watch}", data={
        "csrf": token, "name": "Shells", "emails": "not an address", "query": "shells",
        "mode": "immediate", "min_novelty": "0.3"})
    assert bad.status_code == 400 and "problem" in bad.text
    edited = client.post(f"/web/watches/{watch}", data={
        "csrf": token, "name": "Shells", "emails": "analyst@example.org\nother@example.org",
        "query": "shells", "entities": "North Korea", "mode": "daily", "min_novelty": "0.5"})
    assert edited.headers["location"].endswith("notice=edited")
    assert client.post(f"/web/watches/{watch}/pause", data={"csrf": token}).status_code == 303
    assert "paused" in client.get(f"/web/watches/{watch}").text
    client.post(f"/web/watches/{watch}/resume", data={"csrf": token})
    muted = client.post(f"/web/stories/{demo_data.story_id}/mute",
                        data={"csrf": token, "watch": watch})
    assert muted.headers["location"] == f"/web/stories/{demo_data.story_id}?notice=muted"
    rt = open_runtime(settings)
    try:
        stored = WatchStore(rt.store).get(watch)
        assert stored is not None and stored.mode == "daily" and stored.min_novelty == 0.5
        assert stored.recipients == ("analyst@example.org", "other@example.org")
        assert WatchStore(rt.store).muted([watch])[watch] == {demo_data.story_id}
    finally:
        rt.close()
    assert client.post(f"/web/watches/{watch}/remove", data={"csrf": token}).status_code == 303
    assert client.get(f"/web/watches/{watch}").status_code == 404
    client.cookies.clear()


def test_split_and_merge_correct_a_story(client: httpx.Client, served: tuple[str, Settings],
                                         demo_data) -> None:
    base, settings = served
    sign_in(client)
    story = demo_data.story_id
    token = csrf_of(client.get(f"/web/stories/{story}"))
    last = demo_data.article_ids[-1]
    split = client.post(f"/web/stories/{story}/split", data={"csrf": token, "article": last})
    assert split.status_code == 303
    part = split.headers["location"].split("/")[-1].split("?")[0]
    assert part != story and f'id="a-{last}"' in client.get(f"/web/stories/{part}").text
    assert f'id="a-{last}"' not in client.get(f"/web/stories/{story}").text
    api = httpx.get(f"{base}/stories/{part}", timeout=30).json()  # re-indexed
    assert api["article_ids"] == [last]
    refused = client.post(f"/web/stories/{story}/merge", data={"csrf": token, "other": story})
    assert refused.status_code == 400 and "this story already" in refused.text
    merged = client.post(f"/web/stories/{story}/merge", data={"csrf": token, "other": part})
    assert merged.headers["location"] == f"/web/stories/{story}?notice=merged"
    assert f'id="a-{last}"' in client.get(merged.headers["location"]).text
    assert client.get(f"/web/stories/{part}").headers["location"] == f"/web/stories/{story}"
    rt = open_runtime(settings)
    try:
        assert len(StoryStore(rt.store).articles_of(story)) == len(demo_data.article_ids)
    finally:
        rt.close()
    client.cookies.clear()


def test_reading_follows_the_read_setting(copy_home, demo_data) -> None:
    settings = web_settings(copy_home(), api_read_requires_key="true")
    with serving(create_app(settings)) as base, httpx.Client(base_url=base, timeout=30) as c:
        story = f"/web/stories/{demo_data.story_id}"
        refused = c.get(story)
        assert refused.status_code == 303
        assert refused.headers["location"] == f"/web/login?next={story}"
        assert c.get("/web/search", headers={"X-API-Key": "wrong"}).status_code == 403
        assert c.get("/web/search", headers={"X-API-Key": KEY}).status_code == 200
        assert c.get("/stories").status_code == 401  # the API itself, as before
        sign_in(c)
        assert c.get(story).status_code == 200
    no_key = web_settings(copy_home(), api_key="")
    with serving(create_app(no_key)) as base:
        open_page = httpx.get(f"{base}/web/stories", timeout=30)
        assert open_page.status_code == 200 and "Sign in" not in open_page.text
        login = httpx.get(f"{base}/web/login", timeout=30)
        assert "nobody can sign in" in login.text or "has no API key" in login.text


def test_unknown_pages_are_html_404s(client: httpx.Client) -> None:
    missing = client.get("/web/no/such/page")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")


def test_templates_are_package_data() -> None:
    import web

    root = Path(web.__file__).parent
    assert (root / "templates" / "base.html").is_file() and (root / "static" / "web.js").is_file()
