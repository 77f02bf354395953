"""Watches follow stories: a topic or query watch that has matched a story hears of its later
developments by their novelty even when the new article alone does not match it; a muted
story or a paused watch still gets nothing; a story split off one a watch was alerted about
is a new story for the watches it matches, once (``newswatch.pipeline.split_story``, what
`newswatch story split` calls). A small news site of our own on loopback,
the real pipeline (runs one after another as the site publishes), a real SMTP server; on
SQLite and on PostgreSQL.

The topic is one of our own taxonomy (``ferry-inquiry``: articles that mention the
regulator), so which article carries it — and which does not — is known."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from fixtures.pages import article_page, rss
from fixtures.smtp import SmtpServer

from alerts.stage import tell_split
from alerts.store import WatchStore
from alerts.watches import add_watch, mute_story, pause_watch
from core.runtime import Runtime
from core.settings import Settings
from ingest.urls import canonicalize
from newswatch.demo.server import Route, SiteServer
from newswatch.pipeline import add_feed, run_once, split_story
from newswatch.resources import open_runtime
from search.stage import index_stories
from stories.stage import merge

pytest.importorskip("spacy", reason="alert tests need the nlp extra (spaCy)")

PUBLIC = "https://news.example.test"
TOPIC = "ferry-inquiry"
TAXONOMY = f"""
topics:
  {TOPIC}:
    label: Ferry inquiry
    description: the maritime regulator looks into an incident
    threshold: 0.2
    terms:
      regulator: 3.0
"""
FOLLOWS = "follows a story you were alerted about, which this article develops"

# event 1: a ferry runs aground; the first report names the regulator (the topic)
GROUNDING = ("Ferry Northern Star runs aground off Port Ellis", [
    "The passenger ferry Northern Star ran aground on a sandbank outside Port Ellis harbour "
    "early on Tuesday, and the coastguard took all 212 passengers ashore in lifeboats, the "
    "operator Bayline Ferries said.",
    "The maritime regulator opened an inquiry into the grounding on Tuesday afternoon. The "
    "regulator said its inspectors would board the Northern Star once the tide had lifted "
    "the ferry off the sandbank.",
    "Bayline Ferries cancelled its remaining crossings between Port Ellis and Carrick Island "
    "for the day and said passengers would be refunded.",
])
# its development: new people, figures and facts; no regulator, so not the topic
CAPTAIN = ("Northern Star captain was on his first winter crossing, Bayline Ferries says", [
    "The captain of the Northern Star, the ferry that ran aground outside Port Ellis harbour "
    "on Tuesday, was making his first winter crossing of the route, Bayline Ferries said on "
    "Wednesday.",
    "Chief executive Miriam Okafor told reporters in Port Ellis that the captain, Tomas "
    "Brennan, had 14 years of experience on other routes and had passed every assessment.",
    "Divers found a 9-metre gash in the hull, and salvage crews pumped about 300 tonnes of "
    "water out of the Northern Star overnight, Okafor said.",
    "Seven passengers were treated in hospital for hypothermia and released on Wednesday "
    "morning, the Carrick Island health board said.",
    "A chartered catamaran will sail between Port Ellis and Carrick Island from Friday while "
    "the ferry is repaired, at a cost the company put at 1.2 million euros.",
])
# a near rewrite of the first report: nothing new, and no regulator either
REWRITE = ("Passengers taken off Northern Star after it runs aground near Port Ellis", [
    "All 212 passengers of the Northern Star were taken ashore in lifeboats by the coastguard "
    "early on Tuesday after the passenger ferry ran aground on a sandbank outside Port Ellis "
    "harbour, Bayline Ferries said.",
    "Bayline Ferries said it had cancelled its remaining crossings of the day between Port "
    "Ellis and Carrick Island, and that passengers would be refunded.",
    "Inspectors would board the Northern Star once the tide had lifted the ferry off the "
    "sandbank, an inquiry into the grounding said on Tuesday afternoon.",
])
# event 2, another town, other people: also the topic
BRIDGE = ("Kingsford closes Mill Lane bridge after cracks found in its arches", [
    "Kingsford council closed the Mill Lane road bridge over the river Wend on Monday after "
    "engineers found cracks in two of its Victorian brick arches during a routine survey.",
    "The rail and road regulator asked the council for a full structural report. The "
    "regulator said buses would be diverted through Ashby Cross until the bridge reopens.",
    "Council leader Priya Raman said repairs could take until the spring and would cost "
    "about 800,000 pounds.",
])
# event 1 again, later: the regulator's first findings (the topic)
FINDINGS = ("Regulator says Northern Star left Port Ellis with a faulty echo sounder", [
    "The maritime regulator said on Thursday that the Northern Star left Port Ellis harbour "
    "with a faulty echo sounder before it ran aground on a sandbank outside the harbour.",
    "In its first findings on the grounding, the regulator said Bayline Ferries had reported "
    "the fault two days earlier and that a replacement part was still on order.",
    "Bayline Ferries said it would check the echo sounders of its four other ferries on the "
    "Carrick Island route before they sail again.",
])


class NewsSite:
    """One outlet on loopback whose feed grows as the test publishes."""

    def __init__(self, server: SiteServer) -> None:
        self.server = server
        self.items: list[dict[str, str]] = []
        self.feed_url = server.url("/feed.xml")

    def publish(self, slug: str, story: tuple[str, list[str]], hours_ago: int) -> str:
        title, paragraphs = story
        path = f"/{slug}.html"
        self.server.set(path, Route(article_page(title, paragraphs,
                                                 site="Port Ellis Gazette").encode()))
        when = datetime.now(UTC) - timedelta(hours=hours_ago)
        self.items.append({"title": title, "link": self.server.url(path),
                           "date": format_datetime(when, usegmt=True)})
        self.server.set("/feed.xml", Route(rss("Port Ellis Gazette", self.items),
                                           "application/rss+xml"))
        return self.server.url(path)


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with SiteServer() as server:
        yield NewsSite(server)


@pytest.fixture
def mrt(settings: Settings, smtp: SmtpServer, tmp_path: Path) -> Iterator[Runtime]:
    taxonomy = tmp_path / "taxonomy.yaml"
    taxonomy.write_text(TAXONOMY, encoding="utf-8")
    rt = open_runtime(dataclasses.replace(
        settings, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
        public_url=PUBLIC, unsubscribe_secret="test-secret", taxonomy_path=taxonomy))
    yield rt
    rt.close()


def text_of(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if m["To"] == address]


def article(rt: Runtime, url: str) -> tuple[str, str, list[str], float | None]:
    """(id, story, topic tags, novelty) of the article at ``url``."""
    article_id = rt.store.article_id_for_url(canonicalize(url))
    assert article_id, url
    [row] = WatchStore(rt.store).articles_with_ids([article_id])
    assert row.story_id, url
    tags = [t.tag for t in rt.store.enrichment(article_id).topics]
    return article_id, row.story_id, tags, row.novelty


def test_a_watch_follows_the_story_it_matched_to_its_developments(
    mrt: Runtime, smtp: SmtpServer, site: NewsSite
) -> None:
    topic = add_watch(mrt, "ferry topic", ["topic@example.org"], topic=TOPIC)
    query = add_watch(mrt, "ferry query", ["query@example.org"], query="regulator")
    muted = add_watch(mrt, "ferry muted", ["muted@example.org"], topic=TOPIC)
    paused = add_watch(mrt, "ferry paused", ["paused@example.org"], topic=TOPIC)
    first = site.publish("grounding", GROUNDING, hours_ago=30)
    add_feed(mrt, site.feed_url)
    run_once(mrt)
    _, story, tags, _ = article(mrt, first)
    assert TOPIC in tags
    for address in ("topic@example.org", "query@example.org", "muted@example.org",
                    "paused@example.org"):
        mails = to(smtp.messages, address)
        assert [str(m["Subject"]) for m in mails] == [f"New story: {GROUNDING[0]}"], address
        assert f"/web/stories/{story}" in text_of(mails[0])
    mute_story(mrt, muted.name, story)
    pause_watch(mrt, paused.name)

    # the development: joins the story, adds a lot, but carries neither topic nor query
    before = len(smtp.messages)
    second = site.publish("captain", CAPTAIN, hours_ago=20)
    run_once(mrt, force=True)
    _, joined, tags, novelty = article(mrt, second)
    assert joined == story and TOPIC not in tags
    assert novelty is not None and novelty >= 0.3  # "materially develops" (the default)
    found = mrt.index.match([topic.request(), query.request()],
                            [mrt.store.article_id_for_url(canonicalize(second)) or ""])
    assert [set(o.ids) for o in found] == [set(), set()]  # alone it matches neither watch
    sent = smtp.messages[before:]
    for address, watch in (("topic@example.org", "ferry topic"),
                           ("query@example.org", "ferry query")):
        mails = to(sent, address)
        assert len(mails) == 1, address
        subject, text = str(mails[0]["Subject"]), text_of(mails[0])
        assert subject.startswith(f"Update: {CAPTAIN[0]}"), subject
        assert second in text and f"/web/stories/{story}" in text
        assert f'your watch "{watch}": {FOLLOWS}' in " ".join(text.split())
    assert to(sent, "muted@example.org") == [] and to(sent, "paused@example.org") == []

    # a near rewrite joins the story too, and brings nothing: no alert for anyone
    before = len(smtp.messages)
    third = site.publish("rewrite", REWRITE, hours_ago=10)
    run_once(mrt, force=True)
    _, joined, tags, novelty = article(mrt, third)
    assert joined == story and TOPIC not in tags
    assert novelty is None or novelty < 0.3  # (a near-duplicate has none)
    assert smtp.messages[before:] == []


def test_a_story_split_off_is_a_new_story_for_the_watches_it_matches_once(
    mrt: Runtime, smtp: SmtpServer, site: NewsSite
) -> None:
    # "early" hears of both events as the new stories they are
    add_watch(mrt, "early", ["early@example.org"], topic=TOPIC)
    add_watch(mrt, "bridge", ["bridge@example.org"], query="Kingsford")  # event 2 only
    grounding = site.publish("grounding", GROUNDING, hours_ago=30)
    bridge = site.publish("bridge", BRIDGE, hours_ago=28)
    add_feed(mrt, site.feed_url)
    run_once(mrt)
    _, s1, _, _ = article(mrt, grounding)
    bridge_id, s2, _, _ = article(mrt, bridge)
    assert s1 != s2, "two different events: two stories"
    assert sorted(str(m["Subject"]) for m in to(smtp.messages, "early@example.org")) == sorted(
        [f"New story: {GROUNDING[0]}", f"New story: {BRIDGE[0]}"])

    # a person merges them by mistake; "late", made afterwards, hears of the story with
    # both events in it as one new story when it develops
    merge(mrt, s1, s2)
    index_stories(mrt, [s1, s2])
    for name in ("late", "late-muted", "late-paused"):
        add_watch(mrt, name, [f"{name}@example.org"], topic=TOPIC)
    later = site.publish("findings", FINDINGS, hours_ago=5)
    run_once(mrt, force=True)
    assert article(mrt, later)[1] == s1
    for name in ("late", "late-muted", "late-paused"):
        late = to(smtp.messages, f"{name}@example.org")
        assert [str(m["Subject"]) for m in late] == [f"New story: {GROUNDING[0]}"], name
    mute_story(mrt, "late-muted", s1)
    pause_watch(mrt, "late-paused")
    early = to(smtp.messages, "early@example.org")[2:]  # it knew both parts: no new story
    assert not any(str(m["Subject"]).startswith("New story:") for m in early)
    # "bridge" knew the story merged away: it follows the one that holds it now
    novelty = article(mrt, later)[3]
    assert novelty is not None and novelty >= 0.3
    assert [str(m["Subject"]).split(" — ")[0] for m in to(smtp.messages, "bridge@example.org")
            ] == [f"New story: {BRIDGE[0]}", f"Update: {FINDINGS[0]}"]

    # the split: the bridge is a story of its own again
    before = len(smtp.messages)
    part, alerted = split_story(mrt, s1, [bridge_id])  # what `newswatch story split` does
    assert alerted == 1
    run_once(mrt, force=True)
    sent = smtp.messages[before:]
    assert [str(m["Subject"]) for m in to(sent, "late@example.org")] == [
        f"New story: {BRIDGE[0]}"]
    text = " ".join(text_of(to(sent, "late@example.org")[0]).split())
    assert f"/web/stories/{part.id}" in text and bridge in text
    assert 'your watch "late": a story split off one you were alerted about' in text
    for address in ("early@example.org", "bridge@example.org"):  # had it as a new story
        assert to(sent, address) == [], address
    assert len(sent) == 1  # nothing for the watch that muted the story, or is paused

    # once: the next runs send nothing more
    run_once(mrt, force=True)
    run_once(mrt, force=True)
    assert len(smtp.messages) == before + 1
    assert tell_split(mrt, part.id) == 0  # told already (and a split off again: the same)
