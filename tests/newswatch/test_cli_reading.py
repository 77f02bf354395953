"""Reading what newswatch collected from the command line, as a new user does after
`make demo`: story listings with full ids and prefixes, snippets on a terminal and in a pipe,
topics and entities, alerts and feed health at 80 columns, the data directory wherever the
command runs, and addresses the network policy refuses. Real processes, a real demo run."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
from pathlib import Path

import pytest
from fixtures.cli import EXE, free_port_block, newswatch

from newswatch.demo.catalog import OUTLETS
from newswatch.lookup import MIN_PREFIX

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("reading") / "home"
    newswatch(home, "demo", "--port", str(free_port_block(len(OUTLETS))), timeout=300)
    return home


def _lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return done.stderr.strip().splitlines()


def _one_error(done: subprocess.CompletedProcess[str], *says: str) -> str:
    assert done.returncode == 1, done.stderr
    lines = _lines(done)
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert all(s in lines[0] for s in says), lines[0]
    assert "Traceback" not in done.stderr
    return lines[0]


def on_terminal(home: Path, *args: str, columns: int = 100) -> str:
    """What the command prints on a real terminal (a pseudo-terminal), escapes included."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "NO_COLOR",
                                                                       "FORCE_COLOR"))}
    env.update({"NEWSWATCH_HOME": str(home), "COLUMNS": str(columns), "TERM": "xterm-256color"})
    leader, follower = pty.openpty()
    proc = subprocess.Popen([EXE, *args], stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError("the command printed nothing for 60 s")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    return b"".join(chunks).decode("utf-8")


# -- stories -------------------------------------------------------------------------------


def test_the_story_listing_shows_whole_ids_at_80_columns(home: Path) -> None:
    listed = json.loads(newswatch(home, "stories", "--json").stdout)
    table = newswatch(home, "stories", env={"COLUMNS": "80"}).stdout
    assert all(len(line) <= 80 for line in table.splitlines()[:-1])  # the legend wraps itself
    rows = [line.split()[0] for line in table.splitlines()[2:] if line.startswith("s")]
    assert rows == [s["id"] for s in listed]  # each id whole, in the listed order
    top = listed[0]
    assert top["outlet_count"] == 7 and top["developing"] and "dprk-russia" in top["topics"]
    assert "dprk-russia" in table and "7 outlets" in table
    single = [s for s in listed if s["outlet_count"] == 1]
    assert single and listed.index(single[0]) > 0


def test_story_filters(home: Path) -> None:
    def ids(*args: str) -> list[str]:
        return [s["id"] for s in json.loads(newswatch(home, "stories", "--json", *args).stdout)]

    everything = ids("--limit", "100")
    assert len(ids("--min-articles", "2")) < len(everything)
    assert all(len(s["article_ids"]) >= 2 for s in json.loads(
        newswatch(home, "stories", "--json", "--min-articles", "2").stdout))
    about = ids("--entity", "Pyongyang")
    assert about and about == ids("--entity", "DPRK") == ids("--entity", "Q423")
    assert set(about) < set(everything)
    late = ids("--since", "2026-11-14", "--limit", "100")
    assert late and set(late) < set(everything)
    assert ids("--since", "2030-01-01") == []
    assert "No story matches" in newswatch(home, "stories", "--since", "2030-01-01").stdout


def test_unknown_topics_and_entities_say_so(home: Path) -> None:
    for command in ("stories", "search"):
        _one_error(newswatch(home, command, "--topic", "sanction", check=False),
                   "no topic 'sanction'", "did you mean 'sanctions'")
        _one_error(newswatch(home, command, "--entity", "Nort Korea", check=False),
                   "no entity 'Nort Korea'", "'North Korea'")
    known = json.loads(newswatch(home, "search", "", "--topic", "Sanctions", "--json").stdout)
    assert known["total"] > 0  # a label or another case of a known tag is that tag


def test_ids_take_unambiguous_prefixes(home: Path) -> None:
    top = json.loads(newswatch(home, "stories", "--json").stdout)[0]
    story, article = top["id"], top["article_ids"][0]
    whole = json.loads(newswatch(home, "story", story, "--json").stdout)
    assert json.loads(newswatch(home, "story", story[:7], "--json").stdout) == whole
    assert json.loads(newswatch(home, "story", story[:9] + "…", "--json").stdout) == whole
    shown = json.loads(newswatch(home, "show", article[:6], "--json").stdout)
    assert shown["id"] == article
    _one_error(newswatch(home, "story", story[: MIN_PREFIX - 1], check=False), "too short")
    _one_error(newswatch(home, "show", "zzzz", check=False), "no article 'zzzz'")
    watches = json.loads(newswatch(home, "watch", "list", "--json").stdout)
    watch = watches[0]["id"]
    muted = json.loads(newswatch(home, "watch", "mute", watch[:6], story[:8], "--json").stdout)
    assert muted["watch_id"] == watch and muted["story_id"] == story and muted["changed"]
    newswatch(home, "watch", "unmute", watch[:6], story[:8])
    alerts = json.loads(newswatch(home, "alerts", "--watch", watch[:6], "--json").stdout)
    assert len(alerts["emails"]) == 5


def test_story_commands_resolve_prefixes_in_merge_and_split(home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    listed = json.loads(newswatch(copy, "stories", "--json", "--limit", "100").stdout)
    big = listed[0]
    part = json.loads(newswatch(copy, "story", "split", big["id"][:8], big["article_ids"][-1][:8],
                                "--json").stdout)
    assert part["story_id"] == big["id"] and part["article_ids"] == [big["article_ids"][-1]]
    merged = json.loads(newswatch(copy, "story", "merge", big["id"][:8],
                                  part["new_story_id"][:10], "--json").stdout)
    assert merged["into"] == big["id"] and merged["article_count"] == 9


# -- search snippets and show --------------------------------------------------------------


def test_snippets_are_bold_on_a_terminal_and_plain_in_a_pipe(home: Path) -> None:
    piped = newswatch(home, "search", "Tobruk").stdout
    assert "Tobruk" in piped and "**" not in piped and "\x1b[" not in piped
    shown = on_terminal(home, "search", "Tobruk")
    assert "**" not in shown
    bold = [m.group(1) for m in re.finditer(r"\x1b\[1m([^\x1b]*)\x1b\[0m", shown)]
    assert "Tobruk" in bold
    plain = ANSI.sub("", shown)
    assert "Tobruk" in plain and "**" not in plain


def test_search_json_gives_the_snippet_plain_with_offsets(home: Path) -> None:
    found = json.loads(newswatch(home, "search", "Tobruk", "--json").stdout)
    assert found["hits"]
    for hit in found["hits"]:
        text = hit["snippet_text"]
        assert "**" in hit["snippet"] and "**" not in text
        assert hit["highlights"] and all(text[a:b] == "Tobruk" for a, b in hit["highlights"])
    newest = json.loads(newswatch(home, "search", "Tobruk", "--sort", "date", "--json").stdout)
    dates = [h["published"] for h in newest["hits"]]
    assert dates == sorted(dates, reverse=True)
    assert {h["id"] for h in newest["hits"]} == {h["id"] for h in found["hits"]}


def test_show_names_the_entities_behind_a_topic(home: Path) -> None:
    top = json.loads(newswatch(home, "stories", "--json").stdout)[0]
    shown = newswatch(home, "show", top["article_ids"][0]).stdout
    evidence = [line for line in shown.splitlines() if line.strip().startswith("dprk-russia:")]
    assert evidence and "North Korea" in evidence[0] and "Russia" in evidence[0]
    assert not re.search(r"\bQ\d+\b", evidence[0]) and "=" not in evidence[0]
    assert f"newswatch story {top['id']} --why" in shown


# -- topics and entities -------------------------------------------------------------------


def test_topics_lists_the_taxonomy_with_counts(home: Path) -> None:
    topics = json.loads(newswatch(home, "topics", "--json").stdout)
    by_tag = {t["tag"]: t for t in topics}
    assert {"dprk-russia", "sanctions", "arms-transfers"} <= set(by_tag)
    assert by_tag["dprk-russia"]["articles"] == 9 and by_tag["dprk-russia"]["stories"] == 1
    assert by_tag["dprk-russia"]["label"] and by_tag["dprk-russia"]["description"]
    assert by_tag["nuclear-weapons"]["articles"] == 0  # in the taxonomy, on no article yet
    table = newswatch(home, "topics").stdout
    assert "dprk-russia" in table and by_tag["dprk-russia"]["label"] in table


def test_entities_most_frequent_first_by_type(home: Path) -> None:
    listed = json.loads(newswatch(home, "entities", "--json", "--limit", "100").stdout)
    counts = [e["articles"] for e in listed]
    assert counts == sorted(counts, reverse=True) and counts[0] > 1
    assert "North Korea" in {e["name"] for e in listed}
    people = json.loads(newswatch(home, "entities", "--type", "person", "--json").stdout)
    assert people and {e["type"] for e in people} == {"person"}
    korea = json.loads(newswatch(home, "entities", "North K", "--json").stdout)
    assert korea[0]["id"] == "Q423"
    _one_error(newswatch(home, "entities", "--type", "planet", check=False), "planet", "person")
    assert "North Korea" in newswatch(home, "entities").stdout


# -- alerts and feed health ----------------------------------------------------------------


def test_alerts_are_readable_rows(home: Path) -> None:
    emails = json.loads(newswatch(home, "alerts", "--json").stdout)["emails"]
    assert {e["watch_name"] for e in emails} == {"DPRK-Russia arms"}
    assert all(e["subject"] for e in emails)
    wide = newswatch(home, "alerts", env={"COLUMNS": "200"}).stdout
    follow_ups = [e for e in emails if e["kind"] == "follow-up"]
    assert len(follow_ups) == 4  # the TV interview, the roundup, the Russian and Korean reports
    for e in follow_ups:  # each says which article it was about, whole, and what it added
        assert e["content"]["items"][0]["title"] in wide
    assert wide.count("DPRK-Russia arms") == 5 and "new story" in wide
    assert "quotes" in wide or "new:" in wide
    narrow = newswatch(home, "alerts", env={"COLUMNS": "80"}).stdout
    assert all(len(line) <= 80 for line in narrow.splitlines())
    # nothing English cut short (rich may still fold a double-width Korean headline with "…")
    english = "\n".join(line for line in narrow.splitlines() if line.isascii())
    assert narrow.count("DPRK-Russia arms") == 5 and "…" not in english


def test_feed_health_states_agree_and_come_with_a_legend(tmp_path: Path) -> None:
    from newswatch.demo.site import DemoSite

    with DemoSite(base_port=0) as site:
        newswatch(tmp_path, "feeds", "add", site.feed_urls()[0])
        newswatch(tmp_path, "run", "--all")
        health = json.loads(newswatch(tmp_path, "feeds", "health", "--json").stdout)
        table = newswatch(tmp_path, "feeds", "health").stdout
    (feed,) = health
    assert feed["last_polled"] and feed["last_success"]
    assert feed["state"] == ("quiet" if feed["stale"] else "ok")  # one state, not two at once
    assert feed["state"] in table.split("\n", 3)[2]
    for word in ("ok:", "quiet:", "failing:", "unhealthy:", "new:", "paused:", "items/day:"):
        assert word in table
    assert "just now" in table or "min ago" in table


# -- the data directory and the network policy ---------------------------------------------


def _bare_env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NEWSWATCH_") and k != "XDG_DATA_HOME"}
    return {**env, "COLUMNS": "200", **more}


def test_the_data_directory_is_the_same_wherever_the_command_runs(tmp_path: Path) -> None:
    user = tmp_path / "user"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    where = []
    for cwd in ("a", "b"):
        done = subprocess.run([EXE, "init"], cwd=tmp_path / cwd, env=_bare_env(HOME=str(user)),
                              capture_output=True, text=True, timeout=120, check=True)
        where.append(done.stdout.splitlines()[0])
    expected = user / ".local" / "share" / "newswatch"
    assert where == [f"Initialised newswatch in {expected}"] * 2
    assert (expected / "newswatch.sqlite").is_file() and not (tmp_path / "a" / ".newswatch").exists()
    xdg = subprocess.run([EXE, "init"], cwd=tmp_path / "a", capture_output=True, text=True,
                         env=_bare_env(HOME=str(user), XDG_DATA_HOME=str(tmp_path / "xdg")),
                         timeout=120, check=True)
    assert f"in {tmp_path / 'xdg' / 'newswatch'}" in xdg.stdout


def test_an_old_data_directory_here_is_pointed_out(tmp_path: Path) -> None:
    old = tmp_path / "project"
    newswatch(old / ".newswatch", "init")
    done = subprocess.run([EXE, "feeds", "list"], cwd=old, env=_bare_env(HOME=str(tmp_path / "u")),
                          capture_output=True, text=True, timeout=120, check=True)
    (note,) = _lines(done)
    assert note.startswith("note: the data directory is now") and "NEWSWATCH_HOME=" in note
    assert str((old / ".newswatch").resolve()) in note


def test_feeds_the_network_policy_refuses_are_not_registered(tmp_path: Path) -> None:
    from newswatch.demo.site import DemoSite

    strict = {"NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": ""}
    with DemoSite(base_port=0) as site:
        feed = site.feed_urls()[0]
        by_name = feed.replace("127.0.0.1", "localhost")
        for url, args in ((feed, ()), (by_name, ()), (feed, ("--no-check",)),
                          ("http://10.1.2.3/rss", ("--no-check",)), ("http://[::1]/rss", ())):
            _one_error(newswatch(tmp_path, "feeds", "add", *args, url, env=strict, check=False),
                       "non-public address", "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS",
                       "nothing registered")
        assert json.loads(newswatch(tmp_path, "feeds", "list", "--json", env=strict).stdout) == []
        added = json.loads(newswatch(tmp_path, "feeds", "add", feed, "--json").stdout)
    assert added[0]["url"] == feed and added[0]["new"] and "entries" in added[0]["note"]
