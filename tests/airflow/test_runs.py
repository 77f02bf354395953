"""The DAGs run by real Airflow 3 (``airflow dags test``) against the demo news site and an
SMTP server, both on loopback: articles end up in the index, alerts in a mailbox, and
running everything again changes nothing."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from airflowcli import airflow_env, run_airflow

from alerts.watches import add_watch
from core.models import SearchRequest
from core.settings import Settings, load_settings
from newswatch.demo.catalog import load_articles
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed
from newswatch.resources import open_runtime

ANALYST = "analyst@example.org"
WATCH_QUERY = "sanctions"


@dataclass
class Mailbox:
    """aiosmtpd handler that keeps every message it is given."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class World:
    env: dict[str, str]
    settings: Settings
    airflow_home: Path
    mailbox: Mailbox


@pytest.fixture(scope="module")
def world(demo: DemoSite, airflow_home: Path, tmp_path_factory: pytest.TempPathFactory,
          ) -> Iterator[World]:
    """Feeds and a watch registered; SMTP reached through an Airflow Connection only."""
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    home = tmp_path_factory.mktemp("newswatch")
    env = airflow_env(
        airflow_home, home=str(home), allowed_private_networks="127.0.0.0/8",
        per_host_delay="0", extract_processes="1", unsubscribe_secret="not-so-secret",
        mail_from="alerts@newswatch.test",
    )
    env["AIRFLOW_CONN_NEWSWATCH_SMTP"] = f"smtp://127.0.0.1:{smtp.port}?smtp_security=none"
    settings = load_settings(env=env)
    rt = open_runtime(settings)
    try:
        for url in demo.feed_urls():
            add_feed(rt, url)
        add_watch(rt, "Sanctions", [ANALYST], query=WATCH_QUERY)
    finally:
        rt.close()
    yield World(env, settings, airflow_home, mailbox)
    smtp.stop()


def dags_test(world: World, dag_id: str, *args: str) -> str:
    output = run_airflow(world.env, "dags", "test", dag_id, *args)
    assert f"dag_id={dag_id}" in output and "state=success" in output, output[-3000:]
    return output


def asset_events(world: World) -> list[dict[str, Any]]:
    """The events of the asset newswatch://articles in Airflow's metadata database."""
    with sqlite3.connect(world.airflow_home / "airflow.db") as db:
        rows = db.execute(
            "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
            "WHERE a.uri = 'newswatch://articles/' ORDER BY e.id"
        ).fetchall()
    return [json.loads(extra or "{}") for (extra,) in rows]


@pytest.fixture(scope="module")
def ingested(world: World) -> World:
    # two feeds per mapped task: the seven demo feeds are polled by four tasks
    dags_test(world, "news_ingest", "-c", json.dumps({"feeds_per_task": 2}))
    return world


@pytest.fixture(scope="module")
def alerted(ingested: World) -> World:
    dags_test(ingested, "news_alerts")
    return ingested


@pytest.fixture(scope="module")
def rerun(alerted: World) -> tuple[World, int]:
    """Both DAGs run a second time; returns how many emails there were before."""
    before = len(alerted.mailbox.messages)
    dags_test(alerted, "news_ingest")
    dags_test(alerted, "news_alerts")
    return alerted, before


def test_ingest_indexes_every_demo_article(ingested: World) -> None:
    articles = load_articles()
    rt = open_runtime(ingested.settings)
    try:
        assert rt.store.count_articles() == len(articles)
        assert rt.index.count() == len(articles)
        original = next(a for a in articles if a.story == "dprk-shells" and a.role == "original")
        hits = rt.index.search(SearchRequest(query='"artillery shells" AND Libya', limit=50))
        assert original.title in {h.title for h in hits.hits}
        assert rt.index.list_stories(limit=100)  # stories are indexed too
        runs = rt.store.last_runs(limit=10)
    finally:
        rt.close()
    assert sorted(sum(f["status"] == "ok" for f in r["report"]["feeds"]) for r in runs) == [1, 2, 2, 2]
    assert {r["status"] for r in runs} == {"ok"}
    assert asset_events(ingested) == [{"indexed": len(articles), "ingest_high": len(articles)}]


def test_alerts_reach_the_mailbox(alerted: World) -> None:
    rt = open_runtime(alerted.settings)
    try:
        hits = rt.index.search(SearchRequest(query=WATCH_QUERY, limit=100)).hits
        stories = {h.id: rt.store.get_article(h.id).story_id for h in hits}
        titles = {s.id: s.title for s in rt.index.list_stories(limit=100)}
    finally:
        rt.close()
    expected = {f"New story: {titles[s]}" for s in stories.values()}
    messages = alerted.mailbox.messages
    subjects = [" ".join(m["Subject"].split()) for m in messages]  # unfolded
    new_story = [s for s in subjects if s.startswith("New story: ")]
    assert hits and sorted(new_story) == sorted(expected)  # one per matching story
    assert all(m["To"] == ANALYST and m["From"] == "alerts@newswatch.test" for m in messages)
    body = messages[0].get_body(("plain",))
    assert body is not None and "unsubscribe" in body.get_content().lower()


def test_running_again_changes_nothing(rerun: tuple[World, int]) -> None:
    world, before = rerun
    rt = open_runtime(world.settings)
    try:
        assert rt.index.count() == rt.store.count_articles() == len(load_articles())
    finally:
        rt.close()
    assert len(asset_events(world)) == 1  # nothing new: the asset was not updated again
    assert len(world.mailbox.messages) == before  # and nobody got an email twice


def test_maintenance_keeps_the_index_whole(alerted: World) -> None:
    dags_test(alerted, "news_maintenance")
    rt = open_runtime(alerted.settings)
    try:
        assert rt.index.count() == len(load_articles())
        assert rt.index.search(SearchRequest(query="artillery")).total >= 3
    finally:
        rt.close()
