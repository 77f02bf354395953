"""The `newswatch` command as a user runs it: real processes, real loopback servers."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fixtures.cli import EXE, free_port_block, newswatch

from newswatch.demo.catalog import OUTLETS, load_articles


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    home = tmp_path_factory.mktemp("demo")
    port = str(free_port_block(len(OUTLETS)))
    first = newswatch(home, "demo", "--port", port)
    second = newswatch(home, "demo", "--port", port)
    return home, first, second


def test_demo_reports_what_happened_and_a_rerun_adds_nothing(demo_home) -> None:  # type: ignore[no-untyped-def]
    _home, first, second = demo_home
    n = len(load_articles())
    assert f"Polled {len(OUTLETS)} feed(s) (0 failed)" in first.stdout
    assert f"Articles: {n} new, 0 updated, 0 unchanged, 0 failed; {n} indexed." in first.stdout
    assert "Sample search" in first.stdout and "match" in first.stdout
    assert "9 articles from 7 outlets, 1 near-duplicate(s)" in first.stdout
    # the first run removed its feeds: the second registers them again, and finds nothing new
    assert f"Articles: 0 new, 0 updated, {n} unchanged, 0 failed; 0 indexed." in second.stdout
    assert f"Removed the {len(OUTLETS)} demo feeds" in first.stdout


def test_search_and_show_json(demo_home) -> None:  # type: ignore[no-untyped-def]
    home = demo_home[0]
    found = json.loads(newswatch(home, "search", "Tobruk", "--json", "--limit", "50").stdout)
    assert found["total"] >= 4
    hit = found["hits"][0]
    assert {"id", "url", "title", "source", "published"} <= set(hit)
    shown = json.loads(newswatch(home, "show", hit["id"], "--json").stdout)
    assert shown["url"] == hit["url"] and shown["title"] == hit["title"]
    assert shown["published_source"] in {"page", "feed", "first-seen"}
    assert shown["revisions"][0]["revision"] == 1 and "Tobruk" in shown["text"]
    assert shown["language"] == "en"
    assert {"id", "name", "type", "mentions", "salience"} <= set(shown["entities"][0])
    assert {"tag", "score", "evidence"} <= set(shown["topics"][0])
    assert all({"speaker", "text"} <= set(q) for q in shown["quotes"])
    entity = json.loads(newswatch(home, "search", "", "--entity", "DPRK", "--json",
                                  "--limit", "50").stdout)
    same = json.loads(newswatch(home, "search", "", "--entity", "Pyongyang", "--json",
                                "--limit", "50").stdout)
    assert entity["total"] >= 5 and entity == {**same, "query": entity["query"]}
    by_url = json.loads(newswatch(home, "show", hit["url"], "--json").stdout)
    assert by_url["id"] == hit["id"]
    one_source = json.loads(
        newswatch(home, "search", "", "--source", hit["source"], "--json", "--limit", "50").stdout
    )
    assert one_source["total"] >= 1 and {h["source"] for h in one_source["hits"]} == {hit["source"]}
    future = json.loads(newswatch(home, "search", "Tobruk", "--since", "2030-01-01", "--json").stdout)
    assert future["total"] == 0


def test_the_demo_leaves_no_feed_behind(demo_home) -> None:  # type: ignore[no-untyped-def]
    home = demo_home[0]
    assert json.loads(newswatch(home, "feeds", "list", "--json").stdout) == []
    later = newswatch(home, "run", "--all")  # its site is gone: nothing to poll, no errors
    assert "Polled 0 feed(s) (0 failed)" in later.stdout and "error" not in later.stdout.lower()
    found = json.loads(newswatch(home, "search", "", "--json", "--limit", "100").stdout)
    assert found["total"] == len(load_articles())  # the articles stay


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["feeds", "add", "not a url"], {}, "not a feed URL"),
        (["search", '"unbalanced'], {}, "invalid query"),
        (["show", "0123456789abcdef0123"], {}, "no article"),
        (["feeds", "import", "/nonexistent.opml"], {}, "nonexistent.opml"),
        (["init"], {"NEWSWATCH_INDEX": "solr"}, "NEWSWATCH_INDEX"),
        (["init"], {"NEWSWATCH_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}, "cannot reach"),
        (["init"], {"NEWSWATCH_DATABASE_URL": "oracle://x"}, "database URL"),
    ],
)
def test_user_errors_are_one_clear_line(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    done = newswatch(tmp_path, *args, env=env, check=False)
    assert done.returncode == 1, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_opml_import_and_run_once_json(tmp_path: Path) -> None:
    from newswatch.demo.site import DemoSite

    with DemoSite(base_port=0) as site:
        outlines = "".join(f'<outline type="rss" text="o" xmlUrl="{u}"/>' for u in site.feed_urls())
        opml = tmp_path / "feeds.opml"
        opml.write_text(f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>')
        assert "new" in newswatch(tmp_path, "feeds", "import", str(opml)).stdout
        again = newswatch(tmp_path, "feeds", "import", str(opml)).stdout
        assert f"{len(OUTLETS)} feed(s)" in again and "0 new" in again
        report = json.loads(newswatch(tmp_path, "run", "--once", "--json").stdout)
    assert report["articles"]["new"] == len(load_articles())
    assert report["feeds_polled"] == len(OUTLETS)


def test_run_loop_keeps_polling_until_interrupted(tmp_path: Path) -> None:
    import signal
    import time

    from newswatch.demo.site import DemoSite

    with DemoSite(base_port=0) as site:
        newswatch(tmp_path, "feeds", "add", site.feed_urls()[0])
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
        env.update({"NEWSWATCH_HOME": str(tmp_path), "NEWSWATCH_PER_HOST_DELAY": "0",
                    "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8"})
        proc = subprocess.Popen([EXE, "run", "--loop", "--all", "--interval", "1"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and site.servers[OUTLETS[0].slug].hits(
            "/" + site.feed_urls()[0].split("/", 3)[3]
        ) < 4:  # one fetch when the feed was added; the third pass means two have printed
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert out.count("Polled 1 feed(s)") >= 2
    assert proc.returncode == 130 and "Traceback" not in err and "interrupted" in err


def test_feeds_management(tmp_path: Path) -> None:
    from newswatch.demo.site import DemoSite

    with DemoSite(base_port=0) as site:
        home_page = site.servers[OUTLETS[0].slug].url("/")
        added = newswatch(tmp_path, "feeds", "add", home_page).stdout
        assert "Added: feed 1" in added and site.feed_urls()[0] in added and "found on" in added
        newswatch(tmp_path, "feeds", "add", site.feed_urls()[1])
        plain = newswatch(tmp_path, "feeds", "add", "--no-check", "https://example.org/rss").stdout
        assert "Added: feed 3" in plain
        bare = site.servers[OUTLETS[0].slug].url("/robots.txt")
        refused = newswatch(tmp_path, "feeds", "add", bare, check=False)
        assert refused.returncode == 1 and "not a feed" in refused.stderr

        assert "Paused feed 2" in newswatch(tmp_path, "feeds", "pause", "2").stdout
        newswatch(tmp_path, "feeds", "remove", "https://example.org/rss")
        report = json.loads(newswatch(tmp_path, "run", "--once", "--json").stdout)
        assert report["feeds_polled"] == 1  # feed 2 paused, feed 3 removed
        health = json.loads(newswatch(tmp_path, "feeds", "health", "--json").stdout)
        # the demo's articles are dated November 2026: "quiet" once that is weeks ago
        expected = "quiet" if health[0]["stale"] else "ok"
        assert [(h["feed_id"], h["state"]) for h in health] == [(1, expected), (2, "paused")]
        assert health[0]["items_per_day"] >= 0 and health[0]["last_success"]
        assert "paused" in newswatch(tmp_path, "feeds", "health").stdout
        newswatch(tmp_path, "feeds", "resume", "2")
        exported = newswatch(tmp_path, "feeds", "export").stdout
        assert exported.count("<outline") == 2 and site.feed_urls()[1] in exported
        missing = newswatch(tmp_path, "feeds", "pause", "99", check=False)
        assert missing.returncode == 1 and "no feed '99'" in missing.stderr


def test_stories_story_and_show_story_fields(demo_home) -> None:  # type: ignore[no-untyped-def]
    home = demo_home[0]
    listed = json.loads(newswatch(home, "stories", "--json", "--limit", "100").stdout)
    assert {"id", "title", "article_ids", "outlets", "first_seen", "last_updated"} <= set(listed[0])
    newest = json.loads(newswatch(home, "stories", "--json", "--limit", "100", "--sort",
                                  "newest").stdout)
    updates = [s["last_updated"] for s in newest]
    assert updates == sorted(updates, reverse=True)  # newest development first
    assert {s["id"] for s in newest} == {s["id"] for s in listed}
    biggest = max(listed, key=lambda s: len(s["article_ids"]))
    assert len(biggest["article_ids"]) == 9 and len(biggest["outlets"]) == 7
    assert listed[0] == biggest != newest[0]  # the developing seven-outlet story leads
    on_topic = json.loads(newswatch(home, "stories", "--topic", "dprk-russia", "--json").stdout)
    assert biggest["id"] in {s["id"] for s in on_topic}
    assert len(on_topic) < len(listed)
    why = newswatch(home, "story", biggest["id"], "--why").stdout
    assert "near-duplicate" in why and "similarity" in why and "shared:" in why
    shown = json.loads(newswatch(home, "show", biggest["article_ids"][1], "--json").stdout)
    assert shown["story_id"] == biggest["id"]
    assert shown["duplicate_of"] == biggest["article_ids"][0]
    assert shown["novelty"]["score"] == 0.0
    bad = newswatch(home, "story", "merge", biggest["id"], check=False)
    assert bad.returncode == 1 and "usage" in bad.stderr


def test_demo_shows_its_alerts_and_a_rerun_sends_none(demo_home) -> None:  # type: ignore[no-untyped-def]
    import mailbox

    home, first, second = demo_home
    assert "Watch 'DPRK-Russia arms'" in first.stdout
    assert "Alert email: 5 message(s) delivered to the maildir" in first.stdout
    assert first.stdout.count("New story:") == 1 and first.stdout.count("Update:") == 4
    assert "none by this one" in second.stdout  # the same five, sent by the first run
    assert len(mailbox.Maildir(home / "maildir", create=False)) == 5


def test_watch_commands(demo_home, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    import shutil

    shutil.copytree(demo_home[0], home)
    added = json.loads(newswatch(home, "watch", "add", "Shells", "--query", "shells OR munitions",
                                 "--entity", "North Korea", "--email", "a@example.org",
                                 "--email", "b@example.org", "--mode", "daily",
                                 "--min-novelty", "0.5", "--json").stdout)
    assert added["mode"] == "daily" and added["recipients"] == ["a@example.org", "b@example.org"]
    assert added["entities"] == ["North Korea"] and added["feed_url"].startswith("http://")
    story = json.loads(newswatch(home, "stories", "--json").stdout)[0]["id"]
    followed = newswatch(home, "watch", "follow", story, "--email", "c@example.org")
    assert "Added watch" in followed.stdout and "Atom feed:" in followed.stdout
    listed = json.loads(newswatch(home, "watch", "list", "--json").stdout)
    assert {w["name"] for w in listed} >= {"Shells", "DPRK-Russia arms"}
    assert any(w["story_id"] == story for w in listed)
    table = newswatch(home, "watch", "list").stdout
    assert "Shells" in table and "daily" in table

    for args, says in [
        (("watch", "add", "x", "--query", "shells", "--email", "not an address"), "not an email"),
        (("watch", "add", "x", "--query", "(shells", "--email", "a@example.org"), "invalid query"),
        (("watch", "add", "x", "--topic", "gardening", "--email", "a@example.org"), "unknown topic"),
        (("watch", "add", "Shells", "--query", "x", "--email", "a@example.org"), "exists already"),
        (("watch", "follow", "s-nope", "--email", "a@example.org"), "no story"),
        (("watch", "remove", "nope"), "no watch"),
    ]:
        failed = newswatch(home, *args, check=False)
        assert failed.returncode == 1 and says in failed.stderr and "Traceback" not in failed.stderr
        assert len(failed.stderr.strip().splitlines()) == 1

    sent = json.loads(newswatch(home, "send", "--json").stdout)
    assert sent == {"digests": 0, "sent": 0, "deferred": 0, "failed": 0, "errors": []}
    alerts = json.loads(newswatch(home, "alerts", "--json").stdout)
    assert alerts["counts"] == {"sent": 5} and len(alerts["emails"]) == 5
    assert "sent" in newswatch(home, "alerts", "--watch", "DPRK-Russia arms").stdout
    newswatch(home, "watch", "remove", "Shells")
    assert "Shells" not in newswatch(home, "watch", "list").stdout


@pytest.mark.parametrize("env", [{"NEWSWATCH_FETCH_CONCURRENCY": "0"},
                                 {"NEWSWATCH_API_READ_REQUIRES_KEY": "maybe"},
                                 {"NEWSWATCH_TOTAL_TIMEOUT": "nan"}])
def test_a_bad_setting_is_one_error_line_and_a_nonzero_exit(tmp_path: Path, env: dict[str, str]) -> None:
    done = newswatch(tmp_path, "feeds", "list", env=env, check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: setting "), done.stderr
    assert "Traceback" not in done.stderr
