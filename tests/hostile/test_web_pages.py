"""Hostile titles, outlet names and queries on the web app's pages (both backends, behind
the real server): every value is escaped, so the only script on a page is ours and no
attribute the page did not write (an event handler, a javascript: link) appears."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest
from hostile.plan import MARKUP_TITLE, XSS_TITLE, HostileRun, article_at

from core.runtime import Runtime

OUR_SCRIPT = "/web/static/web.js"


@pytest.fixture(scope="module")
def rt(hostile: HostileRun) -> Iterator[Runtime]:
    runtime = hostile.open()
    yield runtime
    runtime.close()


class Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.handlers: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "iframe", "object", "embed", "img", "base", "meta") and (
                tag != "meta" or "http-equiv" in found):
            self.scripts.append(f"{tag} {found.get('src')}")
        self.handlers += [name for name, _v in attrs if name.startswith("on")]
        self.links += [v for name, v in attrs if name in ("href", "src", "action", "formaction")
                       and v is not None]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check(response: httpx.Response) -> str:
    """The page's text, after checking that nothing in it runs or loads anything."""
    assert response.status_code in (200, 400, 404), response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page = Markup()
    page.feed(response.text)
    assert page.scripts == [f"script {OUR_SCRIPT}?v=0.1.0"], page.scripts
    assert page.handlers == []
    assert not [u for u in page.links if u.strip().lower().startswith(("javascript:", "data:"))]
    assert "<script>alert" not in response.text and "<img src=x" not in response.text
    return "".join(page.text)


def test_pages_escape_hostile_titles_outlets_and_queries(
        client: httpx.Client, hostile: HostileRun, rt: Runtime) -> None:
    xss = article_at(rt, hostile.cases["xss"].url)
    markup = article_at(rt, hostile.cases["markup"].url)
    assert xss is not None and markup is not None and xss.story_id
    article = check(client.get(f"/web/articles/{xss.id}"))
    assert XSS_TITLE in article  # shown as the text it is
    assert "&lt;script&gt;" in client.get(f"/web/articles/{xss.id}").text
    assert MARKUP_TITLE in check(client.get(f"/web/articles/{markup.id}"))
    assert XSS_TITLE in check(client.get(f"/web/stories/{xss.story_id}"))
    for path in ("/web/", "/web/?days=90", "/web/stories", "/web/search",
                 "/web/search?q=title:lights", "/web/login"):
        check(client.get(path))
    listed = check(client.get("/web/search", params={"q": "title:lights"}))
    assert XSS_TITLE in listed
    echoed = client.get("/web/search", params={"q": '<script>alert(1)</script> "x'})
    assert '<script>alert(1)</script> "x' in check(echoed)  # the query, as text
    filtered = client.get("/web/stories", params={"outlet": "<script>alert(2)</script>",
                                                  "entity": "<img src=x onerror=alert(3)>"})
    check(filtered)
    missing = client.get("/web/articles/<img src=x onerror=alert(4)>")
    assert missing.status_code == 404 and "<img src=x onerror=alert(4)>" in check(missing)
