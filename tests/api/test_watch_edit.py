"""Watch management over real HTTP: PATCH, pause and resume, mutes, destinations with their
secret, and a backfill, against the pipeline running beside the API on the same store (the
demo site in two steps) and a real SMTP server (aiosmtpd) that receives every message."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the API needs the api extra (fastapi, uvicorn)")
pytest.importorskip("spacy", reason="these tests need the nlp extra (spaCy)")

import httpx
from conftest import make_settings
from fixtures.apiserver import serving
from fixtures.smtp import SmtpServer, free_port

from alerts.backfill import MAX_BACKFILL_DAYS
from alerts.delivery import send_outbox
from api.app import create_app
from api.watches import WatchOut, WatchSaved
from core.models import SearchRequest
from core.settings import Settings
from ingest.urls import canonicalize
from newswatch.demo.catalog import OUTLETS, DemoArticle, load_articles
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime

KEY = "watch-edit-test-key"
AUTH = {"X-API-Key": KEY}
HOOK = "https://hooks.example.com/services/T0001/B0002/HOOKPATHTOKEN"


@dataclasses.dataclass
class Stack:
    settings: Settings
    client: httpx.Client
    smtp: SmtpServer
    demo: DemoSite
    story: str = ""  # the developing story, once the first step is indexed
    first: list[EmailMessage] = dataclasses.field(default_factory=list)
    second: list[EmailMessage] = dataclasses.field(default_factory=list)
    answers: dict[str, httpx.Response] = dataclasses.field(default_factory=dict)

    def run(self) -> None:
        rt = open_runtime(self.settings)  # the pipeline beside the API, on the same store
        try:
            run_once(rt)
        finally:
            rt.close()

    def story_of(self, article: DemoArticle) -> str:
        rt = open_runtime(self.settings)
        try:
            found = rt.store.article_id_for_url(canonicalize(self.demo.article_url(article)))
            stored = rt.store.get_article(found or "")
            assert stored is not None and stored.story_id
            return stored.story_id
        finally:
            rt.close()

    def add_feeds(self, urls: list[str]) -> None:
        rt = open_runtime(self.settings)
        try:
            for url in urls:
                add_feed(rt, url)
        finally:
            rt.close()


def roles() -> dict[str, DemoArticle]:
    return {a.role: a for a in load_articles() if a.role}


def post(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    created = stack.client.post("/watches", headers=AUTH, json=body)
    assert created.status_code == 201, created.text
    found: dict[str, Any] = WatchSaved.model_validate(created.json()).model_dump()
    return found


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, demo: DemoSite) -> Iterator[Stack]:
    """Watches made over HTTP; the demo's first outlet indexed; pause, resume and mute over
    HTTP; then the other outlets indexed."""
    smtp = SmtpServer().start()
    port = free_port()
    settings = dataclasses.replace(
        make_settings(Path(tmp_path_factory.mktemp("watch-edit")) / "home"),
        api_key=KEY, public_url=f"http://127.0.0.1:{port}", smtp_host="127.0.0.1",
        smtp_port=smtp.port, smtp_security="none",
    )
    with serving(create_app(settings), port) as base, \
            httpx.Client(base_url=base, timeout=60) as client:
        s = Stack(settings, client, smtp, demo)
        for name in ("control", "paused", "muted"):
            post(s, {"name": name, "emails": [f"{name}@example.org"], "topic": "dprk-russia"})
        post(s, {"name": "edited", "emails": ["edited@example.org"], "query": "zebra"})
        s.answers["pause"] = client.post("/watches/paused/pause", headers=AUTH)
        s.answers["pause again"] = client.post("/watches/paused/pause", headers=AUTH)
        s.answers["patch"] = client.patch("/watches/edited", headers=AUTH, json={
            "query": "shells OR munitions", "add_emails": ["second@example.org"]})
        feeds = dict(zip([o.slug for o in OUTLETS], demo.feed_urls(), strict=True))
        first = roles()["original"].outlet
        s.add_feeds([feeds[first]])
        s.run()
        s.first = list(smtp.messages)
        s.story = s.story_of(roles()["original"])
        s.answers["resume"] = client.post("/watches/paused/resume", headers=AUTH)
        s.answers["mute"] = client.put(f"/watches/muted/mutes/{s.story}", headers=AUTH)
        s.answers["mute again"] = client.put(f"/watches/muted/mutes/{s.story}", headers=AUTH)
        s.answers["muted"] = client.get("/watches/muted", headers=AUTH)
        s.answers["patch back"] = client.patch("/watches/edited", headers=AUTH,
                                               json={"query": "zebra"})
        s.add_feeds([u for slug, u in feeds.items() if slug != first])
        s.run()
        s.second = smtp.messages[len(s.first):]
        yield s
    smtp.stop()


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    return body


def to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if m["To"] == address]


def text(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def of_story(stack: Stack, messages: list[EmailMessage]) -> list[EmailMessage]:
    links = [stack.demo.article_url(a) for a in roles().values()]
    return [m for m in messages if any(u in text(m) for u in links)]


def test_pause_stops_alerts_and_resume_does_not_send_what_came_meanwhile(stack: Stack) -> None:
    paused = WatchOut.model_validate(stack.answers["pause"].json())
    assert stack.answers["pause"].status_code == 200 and paused.state == "paused"
    assert stack.answers["pause again"].json()["state"] == "paused"  # idempotent
    assert of_story(stack, to(stack.first, "control@example.org"))
    assert to(stack.first, "paused@example.org") == []
    assert stack.answers["resume"].json()["state"] == "active"
    resumed = to(stack.second, "paused@example.org")
    assert of_story(stack, resumed)
    original = stack.demo.article_url(roles()["original"])
    assert not any(original in text(m) for m in resumed)


def test_a_mute_stops_alerts_about_that_story_only(stack: Stack) -> None:
    assert stack.answers["mute"].status_code == 204
    assert stack.answers["mute again"].status_code == 204
    assert stack.answers["muted"].json()["muted_stories"] == [stack.story]
    control, muted = to(stack.second, "control@example.org"), to(stack.second, "muted@example.org")
    assert [m for m in of_story(stack, control) if str(m["Subject"]).startswith("Update:")]
    assert of_story(stack, muted) == []
    others = sorted(str(m["Subject"]) for m in control if m not in of_story(stack, control))
    assert sorted(str(m["Subject"]) for m in muted) == others
    client = stack.client
    assert client.delete(f"/watches/muted/mutes/{stack.story}", headers=AUTH).status_code == 204
    assert client.get("/watches/muted", headers=AUTH).json()["muted_stories"] == []
    assert client.delete(f"/watches/muted/mutes/{stack.story}", headers=AUTH).status_code == 204


def test_patch_changes_what_a_watch_matches(stack: Stack) -> None:
    patched = WatchSaved.model_validate(stack.answers["patch"].json())
    assert patched.query == "shells OR munitions" and patched.changed == ["query", "recipients"]
    assert patched.recipients == ["edited@example.org", "second@example.org"]
    assert patched.secret is None
    for address in ("edited@example.org", "second@example.org"):
        first = to(stack.first, address)
        assert first and all("shell" in text(m).lower() or "munition" in text(m).lower()
                             for m in first)
        assert to(stack.second, address) == []  # patched back to "zebra"


def test_destinations_get_a_secret_shown_once_and_are_listed_redacted(stack: Stack) -> None:
    client = stack.client
    made = post(stack, {"name": "hooks", "emails": ["hooks@example.org"], "query": "zebra",
                        "destinations": [HOOK, "tgram://123456:BOTTOKENXYZ/987"]})
    secret = made["secret"]
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    assert made["destinations"] == ["https://hooks.example.com/…", "tgram://…"]
    shown = [client.get("/watches/hooks", headers=AUTH).text,
             client.get("/watches", headers=AUTH).text]
    for body in shown:
        assert secret not in body and "HOOKPATHTOKEN" not in body and "BOTTOKENXYZ" not in body
        assert "https://hooks.example.com/…" in body and "/watches/" in body

    plain = post(stack, {"name": "plain", "emails": ["plain@example.org"], "query": "zebra"})
    assert plain["secret"] is None
    first = client.patch("/watches/plain", headers=AUTH, json={"add_destinations": [HOOK]})
    assert first.status_code == 200 and re.fullmatch(r"[0-9a-f]{64}", first.json()["secret"])
    again = client.patch("/watches/plain", headers=AUTH, json={"add_destinations": [
        "json://receiver.example.net/in"]})
    assert "secret" not in again.json()  # it has one already: never shown again
    rotated = client.patch("/watches/plain", headers=AUTH, json={"rotate_secret": True}).json()
    assert rotated["secret"] not in (first.json()["secret"], None)
    removed = client.patch("/watches/plain", headers=AUTH, json={
        "remove_destinations": ["https://hooks.example.com/…"]}).json()  # as it is shown
    assert removed["destinations"] == ["json://receiver.example.net/…"]


def test_a_backfill_sends_one_digest_per_recipient_once(stack: Stack) -> None:
    rt = open_runtime(stack.settings)
    try:
        since = rt.clock() - timedelta(days=MAX_BACKFILL_DAYS)
        hits = rt.index.search(SearchRequest(query="Tobruk", since=since, limit=500)).hits
        before = len(stack.smtp.messages)
        made = post(stack, {"name": "caught up", "emails": ["a@example.org", "b@example.org"],
                            "query": "Tobruk", "backfill_days": MAX_BACKFILL_DAYS})
        backfill = made["backfill"]
        assert backfill["days"] == MAX_BACKFILL_DAYS and made["secret"] is None
        expected = 2 if hits else 0  # the demo is usually well inside the window
        assert backfill["digests"] == expected and (backfill["stories"] > 0) == bool(hits)
        assert send_outbox(rt).sent == expected
        run_once(rt, force=True)
        assert send_outbox(rt).sent == 0
    finally:
        rt.close()
    digests = stack.smtp.messages[before:]
    assert sorted(m["To"] for m in digests) == ["a@example.org", "b@example.org"][:expected]
    assert all(str(m["Subject"]).startswith("Digest:") for m in digests)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("PATCH", "/watches/control", {"topic": "gardening"}, 400, "unknown topic"),
        ("PATCH", "/watches/control", {"emails": ["not-an-address"]}, 400, "email address"),
        ("PATCH", "/watches/control", {}, 400, "nothing to change"),
        ("PATCH", "/watches/control", {"emails": ["a@example.org"],
                                       "add_emails": ["b@example.org"]}, 400, "not both"),
        ("PATCH", "/watches/control", {"query": "(shells"}, 400, "invalid query"),
        ("PATCH", "/watches/control", {"topic": None}, 400, "a query or a filter"),
        ("PATCH", "/watches/control", {"remove_emails": ["x@example.org"]}, 400,
         "not a recipient"),
        ("PATCH", "/watches/control", {"destinations": ["file:///etc/passwd"]}, 400,
         "does not notify"),
        ("PATCH", "/watches/control", {"min_novelty": 3}, 422, ""),
        ("PATCH", "/watches/control", {"colour": "red"}, 422, ""),
        ("PATCH", "/watches/nope", {"query": "x"}, 404, "no watch"),
        ("POST", "/watches/nope/pause", None, 404, "no watch"),
        ("POST", "/watches/nope/resume", None, 404, "no watch"),
        ("PUT", "/watches/control/mutes/s-no-such-story", None, 404, "no story"),
        ("DELETE", "/watches/control/mutes/s-no-such-story", None, 404, "no story"),
        ("POST", "/watches", {"name": "x", "query": "a", "emails": ["a@example.org"],
                              "destinations": ["not a url"]}, 400, "notification URL"),
        ("POST", "/watches", {"name": "x", "query": "a"}, 400, "at least one email"),
        ("POST", "/watches", {"name": "x", "query": "a", "emails": ["a@example.org"],
                              "backfill_days": 0}, 422, ""),
    ],
)
def test_bad_edits_are_refused_clearly(
    stack: Stack, method: str, path: str, body: dict[str, Any] | None, status: int, says: str
) -> None:
    answer = stack.client.request(method, path, headers=AUTH, json=body)
    assert says in problem(answer, status)["detail"]


def test_edits_need_the_key(stack: Stack) -> None:
    for method, path in [("PATCH", "/watches/control"), ("POST", "/watches/control/pause"),
                         ("POST", "/watches/control/resume"),
                         ("PUT", f"/watches/control/mutes/{stack.story}"),
                         ("DELETE", f"/watches/control/mutes/{stack.story}")]:
        problem(stack.client.request(method, path, json={"query": "x"}), 401)
        problem(stack.client.request(method, path, json={"query": "x"},
                                     headers={"X-API-Key": "wrong"}), 403)


def test_a_followed_story_has_no_filters_to_patch(stack: Stack) -> None:
    made = post(stack, {"name": "followed", "emails": ["f@example.org"], "story_id": stack.story})
    assert made["kind"] == "story"
    found = problem(stack.client.patch("/watches/followed", headers=AUTH,
                                       json={"query": "shells"}), 400)
    assert "follows story" in found["detail"]
    renamed = stack.client.patch("/watches/followed", headers=AUTH, json={"name": "renamed",
                                                                          "mode": "daily"})
    assert renamed.status_code == 200 and renamed.json()["changed"] == ["name", "mode"]
