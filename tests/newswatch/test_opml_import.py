"""`newswatch feeds import` with careless OPML files: wrong or unknown encodings, truncated
files and files far too large each give one line; a large good list goes in bulk with every
feed registered once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.opml import MAX_OPML_BYTES

EXE = str(Path(sys.executable).parent / "newswatch")


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env["NEWSWATCH_HOME"] = str(home)
    return subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=600)


def _opml(entries: list[str], declaration: str = '<?xml version="1.0" encoding="UTF-8"?>') -> str:
    body = "".join(f'<outline type="rss" text="f{i}" xmlUrl="{u}"/>' for i, u in enumerate(entries))
    return f"{declaration}<opml version=\"2.0\"><head><title>t</title></head><body>{body}</body></opml>"


BAD = {
    "latin-1 bytes declared as UTF-8": _opml(["https://example.org/caf\xe9/feed"]).encode("latin-1"),
    "an encoding Python does not know": _opml(
        ["https://example.org/feed"], '<?xml version="1.0" encoding="x-no-such-charset"?>').encode(),
    "truncated": _opml([f"https://example.org/{i}/feed" for i in range(50)]).encode()[:900],
    "not XML at all": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_broken_opml_file_is_one_error_line(tmp_path: Path, case: str) -> None:
    path = tmp_path / "list.opml"
    path.write_bytes(BAD[case])
    done = _cli(tmp_path / "home", "feeds", "import", str(path))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.opml"
    with path.open("wb") as fh:
        fh.truncate(MAX_OPML_BYTES + 1)
    done = _cli(tmp_path / "home", "feeds", "import", str(path))
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: ") and "are refused (split it)" in done.stderr


def test_a_large_good_list_is_registered_in_bulk_once(tmp_path: Path) -> None:
    urls = [f"https://news{i % 97}.example.org/section/{i}/feed.xml" for i in range(20_000)]
    bad = ["http://example.org:99999/feed", "ftp://example.org/feed"]
    path = tmp_path / "big.opml"
    path.write_text(_opml(urls[:10_000] + bad + urls[10_000:]))
    home = tmp_path / "home"
    done = _cli(home, "feeds", "import", str(path))
    assert done.returncode == 0, done.stderr
    assert "20002 feed(s)" in done.stdout and "20000 new" in done.stdout
    assert done.stderr.count("skipped:") == 2
    again = _cli(home, "feeds", "import", str(path))
    assert "0 new" in again.stdout  # nothing registered twice
    listed = _cli(home, "feeds", "list", "--json")
    assert len(json.loads(listed.stdout)) == 20_000
