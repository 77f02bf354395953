"""Terminal escapes from a feed: a channel title carrying clear-screen, window-title and OSC 8
sequences, a CSI byte and a right-to-left override reaches `feeds list`, `feeds health` and
the run report only as visible escapes, never as bytes the terminal acts on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newswatch.console import escape, visible

EXE = str(Path(sys.executable).parent / "newswatch")
EVIL = ("Evil\x1b[2J\x1b]0;pwned\x07 News\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"
        "\u202etxt.exe\u009b31m")
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
FEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{EVIL.replace("&", "&amp;")}</title>
<link>http://127.0.0.1/</link><description>d</description>
<item><title>Item\x1b[31m one</title><link>http://127.0.0.1:1/a</link><guid>a</guid>
<description>{"A long enough summary of the item. " * 10}</description></item>
</channel></rss>""".encode()


class _Feed(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    server.shutdown()
    server.server_close()


def test_the_sanitiser_makes_controls_visible_and_keeps_text() -> None:
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("x\u202ey") == "x\\u202ey"
    assert visible("para one\npara two\tend") == "para one\npara two\tend"
    assert visible("Zürich — 北朝鮮 КНДР") == "Zürich — 北朝鮮 КНДР"
    assert not RAW.search(escape(EVIL))


def test_feed_titles_reach_the_terminal_only_as_visible_escapes(
    tmp_path: Path, feed_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update({"NEWSWATCH_HOME": str(tmp_path), "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
                "NEWSWATCH_PER_HOST_DELAY": "0", "COLUMNS": "250"})

    def run(*args: str) -> str:
        done = subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=300)
        return done.stdout + done.stderr

    run("feeds", "add", feed_url)
    outputs = {"run": run("run", "--once", "--all"), "list": run("feeds", "list"),
               "health": run("feeds", "health")}
    for name, text in outputs.items():
        assert not RAW.search(text.replace("\n", "").replace("\t", "")), (name, text)
    assert "\\x1b" in outputs["list"] and "\\u202e" in outputs["list"]  # shown, not dropped
