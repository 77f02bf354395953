"""Managing watches with the real `newswatch` command: edit, pause and resume, mute, notify
URLs and their secret, the list. The demo site arrives in two steps (first one outlet, then
the other four) through real `newswatch run --once` processes; alerts land in the maildir.

In the first step the developing story S opens (its original report, from the Daily Ledger);
in the second it develops (a wire rewrite, a spun copy, a TV interview, a roundup) and the
other outlets' stories arrive. Each watch has its own address, so the maildir tells which
watch sent what."""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path

import pytest

from core.runtime import Runtime
from newswatch.demo.catalog import OUTLETS, load_articles
from newswatch.demo.site import DemoSite

pytest.importorskip("spacy", reason="alert tests need the nlp extra (spaCy)")

EXE = str(Path(sys.executable).parent / "newswatch")
FIRST_OUTLET = "ledger"  # the outlet of the developing story's original report
HOOK = "https://hooks.example.com/services/T0001/B0002/HOOKPATHTOKEN"
BOT = "tgram://123456:BOTTOKENXYZ/987654"


def newswatch(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update({"NEWSWATCH_HOME": str(home), "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
                "NEWSWATCH_PER_HOST_DELAY": "0", "NEWSWATCH_EXTRACT_PROCESSES": "1", "NEWSWATCH_ENRICH_PROCESSES": "1",
                "COLUMNS": "250"})
    done = subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=240)
    if check and done.returncode != 0:
        raise AssertionError(f"newswatch {args} failed ({done.returncode}):\n{done.stderr}")
    return done


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


def _mail(msg: EmailMessage) -> Mail:
    body = msg.get_body(("plain",))
    return Mail(str(msg["To"]), " ".join(str(msg["Subject"]).split()),
                body.get_content() if body is not None else "")


@dataclass
class Scenario:
    home: Path
    story: str  # S, the developing story
    first_urls: list[str]  # the articles of the first step (the Ledger's)
    roles: dict[str, str]  # role of S's articles -> URL
    first: list[Mail] = field(default_factory=list)  # sent by the first run
    second: list[Mail] = field(default_factory=list)  # sent by the second run
    outputs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)

    def to(self, address: str, step: int) -> list[Mail]:
        return [m for m in (self.first if step == 1 else self.second) if m.to == address]


def _maildir(home: Path) -> dict[str, Mail]:
    box = mailbox.Maildir(home / "maildir", create=True)
    parser = BytesParser(policy=default_policy)
    found = {}
    for key in box.iterkeys():
        msg = parser.parsebytes(box.get_bytes(key))
        assert isinstance(msg, EmailMessage)
        found[key] = _mail(msg)
    return found


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, demo: DemoSite) -> Scenario:
    home = tmp_path_factory.mktemp("watch-management") / "home"
    feeds = dict(zip([o.slug for o in OUTLETS], demo.feed_urls(), strict=True))
    nw = newswatch
    nw(home, "init")
    out: dict[str, subprocess.CompletedProcess[str]] = {}
    nw(home, "watch", "add", "control", "--topic", "dprk-russia", "--email", "control@example.org")
    nw(home, "watch", "add", "paused", "--topic", "dprk-russia", "--email", "paused@example.org")
    out["pause"] = nw(home, "watch", "pause", "paused")
    out["pause again"] = nw(home, "watch", "pause", "paused")
    out["list paused"] = nw(home, "watch", "list", "--json")
    nw(home, "watch", "add", "broad", "--language", "en", "--email", "broad@example.org")
    nw(home, "watch", "add", "muted", "--language", "en", "--email", "muted@example.org")
    nw(home, "watch", "add", "edited", "--query", "zebra", "--email", "old@example.org")
    out["edit"] = nw(home, "watch", "edit", "edited", "--query", "shells OR munitions",
                     "--email", "edited@example.org")
    nw(home, "watch", "add", "late", "--query", "zebra", "--email", "late@example.org")
    out["hooks"] = nw(home, "watch", "add", "hooks", "--query", "zebra", "--email",
                      "hooks@example.org", "--notify", HOOK, "--notify", BOT)
    out["hooks json"] = nw(home, "watch", "edit", "hooks", "--add-notify",
                           "json://receiver.example.net/in", "--json")
    out["rotate"] = nw(home, "watch", "edit", "hooks", "--rotate-secret")

    nw(home, "feeds", "add", feeds[FIRST_OUTLET])
    nw(home, "run", "--once")
    first = _maildir(home)

    ledger = [a for a in load_articles() if a.outlet == FIRST_OUTLET]
    original = next(a for a in ledger if a.role == "original")
    shown = json.loads(nw(home, "show", demo.article_url(original), "--json").stdout)
    story = shown["story_id"]
    out["resume"] = nw(home, "watch", "resume", "paused")
    out["mute"] = nw(home, "watch", "mute", "muted", story)
    out["mute again"] = nw(home, "watch", "mute", "muted", story, "--json")
    out["unknown story"] = nw(home, "watch", "mute", "muted", "s-no-such-story", check=False)
    nw(home, "watch", "edit", "edited", "--query", "zebra")
    nw(home, "watch", "edit", "late", "--query", "shells OR munitions")
    out["list"] = nw(home, "watch", "list")
    out["list json"] = nw(home, "watch", "list", "--json")

    for slug, url in feeds.items():
        if slug != FIRST_OUTLET:
            nw(home, "feeds", "add", url)
    out["second run"] = nw(home, "--debug", "run", "--once")
    second = {k: m for k, m in _maildir(home).items() if k not in first}
    roles = {a.role: demo.article_url(a) for a in load_articles() if a.role}
    return Scenario(home, story, [demo.article_url(a) for a in ledger], roles,
                    list(first.values()), list(second.values()), out)


def _of_story(mails: list[Mail], scenario: Scenario) -> list[Mail]:
    """The mails about S: those that link one of its articles."""
    return [m for m in mails if any(url in m.text for url in scenario.roles.values())]


def _secret(output: str) -> str:
    line = next(x for x in output.splitlines() if x.startswith("Webhook secret"))
    return line.rsplit(" ", 1)[-1]


def test_a_paused_watch_sends_nothing_and_resuming_does_not_send_what_came_meanwhile(
    scenario: Scenario,
) -> None:
    assert "Paused watch" in scenario.outputs["pause"].stdout
    assert "was paused already" in scenario.outputs["pause again"].stdout
    states = {w["name"]: w["state"] for w in json.loads(scenario.outputs["list paused"].stdout)}
    assert states["paused"] == "paused" and states["control"] == "active"
    # while paused: the control watch, the same search, hears about S; the paused one not
    assert _of_story(scenario.to("control@example.org", 1), scenario)
    assert scenario.to("paused@example.org", 1) == []
    assert "Resumed watch" in scenario.outputs["resume"].stdout
    # resumed: it alerts on what comes from then on, and on nothing of the first step
    resumed = scenario.to("paused@example.org", 2)
    assert _of_story(resumed, scenario)
    assert not any(url in m.text for m in resumed for url in scenario.first_urls)


def test_a_muted_story_gives_that_watch_no_alert_and_the_others_stay(scenario: Scenario) -> None:
    assert f"Muted story {scenario.story}" in scenario.outputs["mute"].stdout
    again = json.loads(scenario.outputs["mute again"].stdout)
    assert again["changed"] is False and again["muted_stories"] == [scenario.story]
    unknown = scenario.outputs["unknown story"]
    assert unknown.returncode == 1 and "no story 's-no-such-story'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1 and "Traceback" not in unknown.stderr

    broad, muted = scenario.to("broad@example.org", 2), scenario.to("muted@example.org", 2)
    updates = _of_story(broad, scenario)  # the unmuted twin hears S develop
    assert [m for m in updates if m.subject.startswith("Update:")]
    assert any(scenario.roles["tv"] in m.text for m in updates)
    assert _of_story(muted, scenario) == []
    assert not any(scenario.roles[r] in m.text for m in muted for r in ("tv", "roundup"))
    # every other story still reaches the muted watch, exactly as it reaches its twin
    others = sorted(m.subject for m in broad if m not in updates)
    assert others and sorted(m.subject for m in muted) == others
    # before the mute, the muted watch heard of S like its twin
    assert _of_story(scenario.to("muted@example.org", 1), scenario)


def test_editing_a_watch_changes_what_it_matches_from_then_on(scenario: Scenario) -> None:
    edit = scenario.outputs["edit"].stdout
    assert "Changed watch" in edit and "query, recipients" in edit
    assert "'shells OR munitions'" in edit and "edited@example.org" in edit
    assert scenario.to("old@example.org", 1) == []  # the replaced recipient
    first = scenario.to("edited@example.org", 1)
    assert first and all("shell" in m.text.lower() or "munition" in m.text.lower() for m in first)
    assert scenario.to("edited@example.org", 2) == []  # edited back to "zebra"
    # edited to match after the first step: only what came afterwards
    late = scenario.to("late@example.org", 2)
    assert scenario.to("late@example.org", 1) == [] and late
    assert not any(url in m.text for m in late for url in scenario.first_urls)


def test_the_list_shows_state_redacted_destinations_muted_stories_and_feeds(
    scenario: Scenario,
) -> None:
    listed = {w["name"]: w for w in json.loads(scenario.outputs["list json"].stdout)}
    hooks = listed["hooks"]
    assert hooks["destinations"] == ["https://hooks.example.com/…", "tgram://…",
                                     "json://receiver.example.net/…"]
    assert listed["muted"]["muted_stories"] == [scenario.story]
    assert listed["paused"]["state"] == "active" and listed["broad"]["muted_stories"] == []
    table = scenario.outputs["list"].stdout
    for w in listed.values():
        assert w["feed_url"].startswith("http") and "/feed?token=" in w["feed_url"]
        assert w["feed_url"] in table
    row = next(line for line in table.splitlines() if "│ hooks " in line)
    assert "active" in row and "https://hooks.example.com/…" in row and "tgram://…" in row
    muted_row = next(line for line in table.splitlines() if "│ muted " in line)
    assert muted_row.rstrip(" │").endswith("1")


def test_the_secret_is_shown_once_and_no_secret_or_token_is_listed_or_logged(
    scenario: Scenario,
) -> None:
    out = scenario.outputs
    first, rotated = _secret(out["hooks"].stdout), _secret(out["rotate"].stdout)
    assert len(first) == 64 and int(first, 16) >= 0 and rotated != first
    assert "secret" not in json.loads(out["hooks json"].stdout)  # it had one: not shown again
    assert "Webhook secret" not in out["edit"].stdout  # watches without URLs have none
    shown = [out["list"].stdout, out["list json"].stdout, out["second run"].stdout,
             out["second run"].stderr, out["hooks json"].stdout]
    for text in shown:
        for secret in (first, rotated, "HOOKPATHTOKEN", "BOTTOKENXYZ", "T0001"):
            assert secret not in text
    assert "DEBUG" in out["second run"].stderr or "INFO" in out["second run"].stderr


def test_mutes_and_resume_in_the_store_on_both_databases(rt: Runtime) -> None:
    from alerts.store import WatchStore
    from alerts.watches import add_watch

    store = WatchStore(rt.store)
    watch = add_watch(rt, "w", ["w@example.org"], query="shells")
    now = rt.clock()
    assert store.mute(watch.id, "s1", now) is True and store.mute(watch.id, "s1", now) is False
    assert store.mute(watch.id, "s2", now) is True
    assert store.muted([watch.id]) == {watch.id: {"s1", "s2"}}
    assert store.unmute(watch.id, "s1") is True and store.unmute(watch.id, "s1") is False
    assert store.muted([watch.id, "other"]) == {watch.id: {"s2"}, "other": set()}
    paused = store.update(watch.id, paused=True)
    assert paused.paused and store.resume(watch.id, 7).watermark == 7
    assert store.resume(watch.id, 3).watermark == 7  # never back
    assert store.get(watch.id) == replace(paused, paused=False, watermark=7)
