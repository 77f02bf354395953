"""Script, HTML, console markup and terminal escapes from hostile pages on their way out:
the API's JSON (both backends), the CLI as a user runs it, and an alert email. Titles are
kept as the plain text the page showed; every output escapes them for its own medium."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostile.plan import MARKUP_TITLE, SCRIPT_MARK, XSS_TITLE, HostileRun, article_at
from rich.console import Console

from core.models import Article
from core.runtime import Runtime
from newswatch import console as out

EXE = str(Path(sys.executable).parent / "newswatch")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
UNSAFE_IN_TEXT = (SCRIPT_MARK, "onerror=alert(3)", "onload", "javascript:", "<iframe", "<svg")


@pytest.fixture(scope="module")
def rt(hostile: HostileRun) -> Iterator[Runtime]:
    runtime = hostile.open()
    yield runtime
    runtime.close()


def _article(hostile: HostileRun, rt: Runtime, case: str) -> Article:
    article = article_at(rt, hostile.cases[case].url)
    assert article is not None, case
    return article


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _json(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")  # never text/html
    body = response.json()
    assert not [s for s in _strings(body) if CONTROL.search(s)]
    return body


def _urls(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "url" or k == "urls":
                yield from ([v] if isinstance(v, str) else v)
            else:
                yield from _urls(v)
    elif isinstance(value, list):
        for v in value:
            yield from _urls(v)


def test_the_api_returns_hostile_titles_as_json_data(client: httpx.Client, hostile: HostileRun,
                                                     rt: Runtime) -> None:
    xss = _article(hostile, rt, "xss")
    everything = _json(client.get("/search", params={"size": 100}))
    titles = {h["title"] for h in everything["hits"]}
    assert XSS_TITLE in titles and MARKUP_TITLE in titles  # data, neither mangled nor run
    found = _json(client.get("/search", params={"q": "title:lights"}))
    assert [h["id"] for h in found["hits"]] == [xss.id]
    assert not any(f in found["hits"][0]["snippet"] for f in UNSAFE_IN_TEXT)
    article = _json(client.get(f"/articles/{xss.id}"))
    assert article["title"] == XSS_TITLE
    assert not any(f in article["text"] for f in UNSAFE_IN_TEXT)
    stories = _json(client.get("/stories", params={"size": 100}))["stories"]
    assert stories
    timelines = [_json(client.get(f"/stories/{s['id']}")) for s in stories]
    urls = list(_urls([everything, article, timelines]))
    assert urls and all(u.startswith("http://127.0.0.2:") for u in urls), urls
    missing = client.get("/articles/<script>alert(1)</script>")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def _cli(home: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update(NEWSWATCH_HOME=str(home), COLUMNS="200")
    done = subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=120)
    return done.returncode, done.stdout, done.stderr


def test_the_cli_prints_hostile_text_literally(hostile: HostileRun, rt: Runtime) -> None:
    markup = _article(hostile, rt, "markup")
    xss = _article(hostile, rt, "xss")
    story_id = markup.story_id
    commands = {
        "search-all": ("search", "", "--limit", "50"),
        "search-markup-no-hits": ("search", '"[/foo] bar"'),  # was a MarkupError crash
        "show-markup": ("show", markup.id),
        "show-xss-json": ("show", xss.id, "--json"),
        "story-why": ("story", str(story_id), "--why"),
        "feeds-list": ("feeds", "list"),
        "feeds-health": ("feeds", "health"),
        "bad-query": ("search", "[/bold"),
    }
    with ThreadPoolExecutor(4) as pool:
        runs = dict(zip(commands, pool.map(lambda a: _cli(hostile.settings.home, *a),
                                           commands.values()), strict=True))
    for name, (code, stdout, stderr) in runs.items():
        assert code == (1 if name == "bad-query" else 0), (name, stderr)
        assert "Traceback" not in stderr and "internal error" not in stderr, (name, stderr)
        for text in (stdout, stderr):  # no terminal control sequence from the data
            assert "\x1b" not in text and "\x07" not in text, (name, text[:500])
    assert MARKUP_TITLE in runs["search-all"][1] and MARKUP_TITLE in runs["show-markup"][1]
    assert XSS_TITLE in runs["search-all"][1]
    assert "No articles match" in runs["search-markup-no-hits"][1]
    assert runs["bad-query"][2].startswith("error: invalid query")
    assert json.loads(runs["show-xss-json"][1])["title"] == XSS_TITLE
    assert "[bold]Links[/bold] [/]" in runs["feeds-list"][1]  # the feed's own title


def test_the_run_report_prints_hostile_urls_and_reasons(hostile: HostileRun) -> None:
    buffer = io.StringIO()
    out.print_report(Console(file=buffer, width=200, soft_wrap=True), hostile.report)
    printed = buffer.getvalue()
    assert "[/bold]missing.html" in printed and "data:text/html,<b>x" in printed
    assert "\x1b" not in printed


def test_an_alert_about_a_hostile_article_escapes_it(hostile: HostileRun, rt: Runtime) -> None:
    from alerts.content import AlertContent, AlertItem
    from alerts.render import render_alert

    xss = _article(hostile, rt, "xss")
    item = AlertItem(xss.id, xss.title, xss.url, xss.source, xss.published_at,
                     snippet=xss.text[:300] + ' <a href="javascript:alert(1)">x</a>')
    alert = AlertContent(kind="new-story", watch_name="<b>harbour</b>",
                         recipients=("analyst@example.org",), story_id=xss.story_id or "s",
                         story_title=xss.title, items=(item,), outlets_count=1, new_count=1,
                         idempotency_key="hostile-1")
    rendered = render_alert(alert, "https://newswatch.example/u?t=1", "https://newswatch.example/",
                            now=datetime(2026, 11, 21, tzinfo=UTC))
    html = rendered.html
    assert "<script" not in html and "<img" not in html and "<a href=&#34;" not in html
    hrefs = re.findall(r'(?:href|src)="([^"]*)"', html)
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    assert "&lt;script&gt;" in html and "\n" not in rendered.subject
