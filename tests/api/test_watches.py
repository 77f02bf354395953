"""Watches through the HTTP API over real HTTP: managed with the API key, read as an Atom
feed with a signed token, unsubscribed from the link in a real email (aiosmtpd)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

pytest.importorskip("fastapi", reason="the API needs the api extra (fastapi, uvicorn)")
pytest.importorskip("spacy", reason="these tests need the nlp extra (spaCy)")

import feedparser
import httpx
from conftest import make_settings
from fixtures.apiserver import serving
from fixtures.smtp import SmtpServer, free_port

from api.app import create_app
from core.settings import Settings
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime

KEY = "watch-api-test-key"
ANALYST = "analyst@example.org"
DESK = "desk@example.org"


@dataclasses.dataclass
class Stack:
    settings: Settings
    client: httpx.Client
    smtp: SmtpServer


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    smtp = SmtpServer().start()
    port = free_port()
    settings = dataclasses.replace(
        make_settings(Path(tmp_path_factory.mktemp("watch-api")) / "home"),
        api_key=KEY, public_url=f"http://127.0.0.1:{port}", smtp_host="127.0.0.1",
        smtp_port=smtp.port, smtp_security="none",
    )
    with serving(create_app(settings), port) as base, \
            httpx.Client(base_url=base, timeout=30) as client:
        yield Stack(settings, client, smtp)
    smtp.stop()


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    return body


def test_watches_need_the_key(stack: Stack) -> None:
    body = {"name": "nope", "emails": [ANALYST], "query": "shells"}
    problem(stack.client.post("/watches", json=body), 401)
    problem(stack.client.post("/watches", json=body, headers={"X-API-Key": "wrong"}), 403)
    problem(stack.client.get("/watches"), 401)


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"name": "x", "emails": ["not-an-address"], "query": "shells"}, 400, "email address"),
        ({"name": "x", "emails": [ANALYST], "topic": "gardening"}, 400, "unknown topic"),
        ({"name": "x", "emails": [ANALYST], "query": "(shells"}, 400, "invalid query"),
        ({"name": "x", "emails": [ANALYST]}, 400, "a query or a filter"),
        ({"name": "x", "emails": [ANALYST], "query": "a", "min_novelty": 2}, 422, ""),
        ({"name": "x", "emails": [ANALYST], "story_id": "s-missing"}, 404, "no story"),
    ],
)
def test_bad_watches_are_refused_clearly(
    stack: Stack, body: dict[str, Any], status: int, says: str
) -> None:
    found = problem(stack.client.post("/watches", json=body, headers={"X-API-Key": KEY}), status)
    assert says in found["detail"]


def test_watch_lifecycle_feed_and_unsubscribe(stack: Stack, demo: DemoSite) -> None:
    client, auth = stack.client, {"X-API-Key": KEY}
    created = client.post("/watches", headers=auth, json={
        "name": "DPRK-Russia", "emails": [ANALYST, DESK], "topic": "dprk-russia"})
    assert created.status_code == 201, created.text
    watch = created.json()
    api_watch = client.get(f"/watches/{watch['id']}", headers=auth).json()
    assert api_watch["recipients"] == [ANALYST, DESK] and api_watch["kind"] == "search"
    assert created.headers["location"] == f"/watches/{watch['id']}"
    problem(client.post("/watches", headers=auth, json={
        "name": "DPRK-Russia", "emails": [ANALYST], "query": "x"}), 400)  # name taken

    rt = open_runtime(stack.settings)  # the pipeline runs beside the API, on the same store
    try:
        for url in demo.feed_urls():
            add_feed(rt, url)
        report = run_once(rt)
    finally:
        rt.close()
    assert report.alerts >= 2 and report.sent == len(stack.smtp.messages) == 2 * report.alerts

    # the Atom feed: token from the watch, no key needed; every alert is an entry
    feed_path = watch["feed_url"].removeprefix(stack.settings.public_url)
    response = client.get(feed_path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    ET.fromstring(response.content)  # well-formed
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo and len(parsed.entries) == report.alerts
    assert any(e.title.startswith("New story:") for e in parsed.entries)
    assert all(e.link.startswith("http") for e in parsed.entries)
    problem(client.get(f"/watches/{watch['id']}/feed"), 401)  # neither token nor key
    problem(client.get(f"/watches/{watch['id']}/feed", params={"token": "forged"}), 403)
    assert client.get(f"/watches/{watch['id']}/feed", headers=auth).status_code == 200

    # unsubscribe with the link from a real email: GET asks, POST does it (RFC 8058)
    mail = next(m for m in stack.smtp.messages if m["To"] == DESK)
    link = re.fullmatch(r"<(.+)>", str(mail["List-Unsubscribe"]))
    assert link is not None
    path = link.group(1).removeprefix(stack.settings.public_url)
    page = client.get(path)
    assert page.status_code == 200 and "<form" in page.text
    assert DESK in client.get(f"/watches/{watch['id']}", headers=auth).json()["recipients"]
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and DESK in done.text
    assert client.get(f"/watches/{watch['id']}", headers=auth).json()["recipients"] == [ANALYST]
    assert client.post(path).status_code == 200  # idempotent
    problem(client.post("/unsubscribe", params={"token": path[-20:]}), 400)

    listed = client.get("/watches", headers=auth).json()["watches"]
    assert [w["id"] for w in listed] == [watch["id"]]
    assert client.delete(f"/watches/{watch['id']}", headers=auth).status_code == 204
    problem(client.get(f"/watches/{watch['id']}", headers=auth), 404)
    problem(client.get(feed_path), 403)  # the token of a removed watch opens nothing
