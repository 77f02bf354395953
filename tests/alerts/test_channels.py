"""Webhook and Apprise destinations against real receivers on loopback: the demo's developing
story through the real pipeline, the outbox driven past its backoff by the clock."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network
from typing import Any

import pytest
from sqlalchemy import update

from alerts.channels import SIGNATURE_HEADER, destination_key
from alerts.delivery import send_outbox
from alerts.outbox import OutboxRow
from alerts.store import WatchStore
from alerts.watches import add_watch
from core import schema as t
from core.models import Watch
from core.runtime import Runtime
from core.settings import Settings
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime

pytest.importorskip("spacy", reason="alert tests need the nlp extra (spaCy)")
pytest.importorskip("apprise", reason="Apprise destinations need apprise")

PUBLIC = "https://news.example.test"
SECRET = "webhook-signing-secret-0123456789"
TOKEN = "tok-3f9a8c1d"  # a secret in the destination's path: never shown in full


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """An HTTP server on loopback that records every POST and answers from ``script``:
    the status for the n-th request carrying one idempotency key (the last one repeats)."""

    script: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key", "")
                seen = sum(r.headers.get("Idempotency-Key", "") == key
                           for r in receiver.requests)
                status = receiver.script[min(seen, len(receiver.script) - 1)]
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body,
                                                  status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def url(self, scheme: str = "http") -> str:
        assert self.server is not None
        return f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hooks/{TOKEN}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def runtime(settings: Settings, **changes: Any) -> Runtime:
    return open_runtime(dataclasses.replace(
        settings, public_url=PUBLIC, unsubscribe_secret="test-secret",
        maildir_path=str(settings.home / "maildir"), **changes))


def watch_with(rt: Runtime, destination: str, secret: str = SECRET) -> Watch:
    """A watch on the demo's developing story with one destination and its signing key."""
    watch = add_watch(rt, "DPRK-Russia", ["analyst@example.org"], topic="dprk-russia")
    WatchStore(rt.store).update(watch.id, destinations=(destination,))
    with rt.store.tx() as conn:  # generating the key is the watch commands' job
        conn.execute(update(t.watches).where(t.watches.c.id == watch.id).values(secret=secret))
    found = WatchStore(rt.store).get(watch.id)
    assert found is not None and found.secret == secret
    return found


def destination_rows(rt: Runtime) -> list[OutboxRow]:
    return [r for r in WatchStore(rt.store).outbox(limit=1000) if r.channel != "email"]


def drive(rt: Runtime, passes: int = 40) -> None:
    """Send the outbox again and again, the clock moved past the longest backoff each time,
    until nothing is pending."""
    clock = [datetime.now(UTC)]
    rt.clock = lambda: clock[0]
    for _ in range(passes):
        if not WatchStore(rt.store).outbox_counts().get("pending"):
            return
        clock[0] += timedelta(minutes=11)
        send_outbox(rt)
    raise AssertionError("the outbox never emptied")


def test_webhook_503_twice_then_200_arrives_once_signed_after_the_retries(
    settings: Settings, demo: DemoSite, receiver: Receiver
) -> None:
    receiver.script = [503, 503, 200]
    receiver.start()
    rt = runtime(settings)
    try:
        watch = watch_with(rt, receiver.url())
        for url in demo.feed_urls():
            add_feed(rt, url)
        report = run_once(rt)
        assert report.alerts >= 3 and report.deferred >= 1
        rows = destination_rows(rt)
        assert rows and {r.channel for r in rows} == {"webhook"}
        assert all(r.recipient == receiver.url() for r in rows)
        drive(rt)

        rows = destination_rows(rt)
        assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {2}
        keys = Counter(r.headers["Idempotency-Key"] for r in receiver.requests)
        assert set(keys) == {r.key for r in rows} and set(keys.values()) == {3}
        accepted = [r for r in receiver.requests if r.status == 200]
        assert len(accepted) == len(rows)  # each alert arrives exactly once
        for got in receiver.requests:
            assert got.path == f"/hooks/{TOKEN}"
            assert b"analyst@example.org" not in got.body  # no reader's address in it
            assert got.headers["Content-Type"] == "application/json"
            expected = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
            assert got.headers[SIGNATURE_HEADER] == f"sha256={expected}"
        # the retries carry the very same body
        bodies = {r.headers["Idempotency-Key"]: set() for r in receiver.requests}
        for r in receiver.requests:
            bodies[r.headers["Idempotency-Key"]].add(r.body)
        assert all(len(b) == 1 for b in bodies.values())

        payloads = [json.loads(r.body) for r in accepted]
        kinds = Counter(p["kind"] for p in payloads)
        assert kinds["new-story"] >= 1 and kinds["follow-up"] >= 2
        update_ = next(p for p in payloads if p["kind"] == "follow-up")
        assert update_["event"] == "newswatch.alert" and update_["subject"].startswith("Update:")
        assert update_["watches"][0]["watch_id"] == watch.id
        assert update_["watches"][0]["topic"] == "dprk-russia"
        assert update_["story"]["url"] == f"{PUBLIC}/web/stories/{update_['story']['id']}"
        assert update_["story"]["outlets_count"] == len(update_["story"]["outlets"]) >= 2
        assert {"tag": "dprk-russia", "label": "North Korea–Russia"} in update_["story"]["topics"]
        assert update_["articles"][0]["additions"]["new_sentences"]
        # the pipeline's next runs send nothing again
        assert send_outbox(rt).sent == 0 and len(receiver.requests) == 3 * len(rows)
        alert_key = rows[0].key.rsplit(":webhook:", 1)[0]  # the alert's own key, then
        assert rows[0].key == destination_key(alert_key, receiver.url())  # channel + URL digest
    finally:
        rt.close()


def test_webhook_404_fails_the_row_without_retrying_and_hides_the_url(
    sqlite_settings: Settings, demo: DemoSite, receiver: Receiver
) -> None:
    receiver.script = [404]
    receiver.start()
    rt = runtime(sqlite_settings)
    try:
        watch_with(rt, receiver.url())
        for url in demo.feed_urls():
            add_feed(rt, url)
        report = run_once(rt)
        rows = destination_rows(rt)
        assert rows and {r.status for r in rows} == {"failed"} and {r.attempts for r in rows} == {1}
        assert len(receiver.requests) == len(rows)
        assert all("404" in r.last_error for r in rows)
        shown = " ".join([*(r.last_error for r in rows), *report.warnings])
        assert TOKEN not in shown and "127.0.0.1" in shown  # the host, never the path
        drive(rt)
        assert len(receiver.requests) == len(rows)  # never retried
        # the email of the same alerts went out all the same
        assert WatchStore(rt.store).outbox_counts()["sent"] == report.alerts
    finally:
        rt.close()


def test_a_webhook_to_a_private_address_not_allowed_is_refused(
    sqlite_settings: Settings, demo: DemoSite, receiver: Receiver
) -> None:
    receiver.start()
    # the demo site on 127.0.0.1 may be fetched; the rest of loopback is not allowed
    rt = runtime(sqlite_settings, allowed_private_networks=(ip_network("127.0.0.1/32"),))
    try:
        watch_with(rt, receiver.url().replace("127.0.0.1", "127.0.0.2"))
        for url in demo.feed_urls():
            add_feed(rt, url)
        run_once(rt)
        rows = destination_rows(rt)
        assert rows and {r.status for r in rows} == {"failed"}
        assert all("refused" in r.last_error and "127.0.0.2" in r.last_error for r in rows)
        assert all(TOKEN not in r.last_error for r in rows)
        assert receiver.requests == []
    finally:
        rt.close()


def test_apprise_json_destination_gets_the_alert(
    sqlite_settings: Settings, demo: DemoSite, receiver: Receiver
) -> None:
    receiver.start()
    rt = runtime(sqlite_settings)
    try:
        watch_with(rt, receiver.url("json"), secret="")
        for url in demo.feed_urls():
            add_feed(rt, url)
        run_once(rt)
        rows = destination_rows(rt)
        assert rows and {r.channel for r in rows} == {"apprise"}
        assert {r.status for r in rows} == {"sent"}, [r.last_error for r in rows]
        assert len(receiver.requests) == len(rows)
        sent = [json.loads(r.body) for r in receiver.requests]
        assert all(r.path == f"/hooks/{TOKEN}" for r in receiver.requests)
        titles = [p["title"] for p in sent]
        assert sum(t.startswith("New story:") for t in titles) >= 1
        assert sum(t.startswith("Update:") for t in titles) >= 2
        update_ = next(p for p in sent if p["title"].startswith("Update:"))
        assert "Watch “DPRK-Russia”: topic dprk-russia" in update_["message"]
        assert f"{PUBLIC}/web/stories/" in update_["message"] and "New: " in update_["message"]
    finally:
        rt.close()


def test_a_destination_apprise_cannot_parse_fails_at_once(
    sqlite_settings: Settings, demo: DemoSite
) -> None:
    rt = runtime(sqlite_settings)
    try:
        watch_with(rt, f"nosuchservice://{TOKEN}@example.org/")
        for url in demo.feed_urls():
            add_feed(rt, url)
        run_once(rt)
        rows = destination_rows(rt)
        assert rows and {r.status for r in rows} == {"failed"}
        assert all("cannot use" in r.last_error and TOKEN not in r.last_error for r in rows)
    finally:
        rt.close()
