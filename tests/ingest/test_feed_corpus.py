"""feedparser's conformance corpus through our feed parsing and the real state store.

Every one of the corpus's 2,106 files (``../shared/data/feed-corpus``, or
``$NEWSWATCH_SHARED_DATA/feed-corpus``) goes through ``parse_feed`` (with its simulated
``Header:`` lines) into ONE SQLite ``Store``; the logic lives in ``eval/feed_corpus.py``
(also a standalone script) and is imported from there. Nothing of the corpus is copied here.

Measured (2026-11, feedparser 6.0.14, Python 3.11, ~3 s for the whole corpus on 2 cores):

- 2,106 files: 2,105 parsed and stored, 1 refused with FeedParseError (an empty document),
  0 other exceptions escaped (100.0 %).
- 296 ``wellformed/`` checks whose ``Expect:`` speaks only of feed title/link and entry
  title/link/id/parsed dates: 139 hold as written (47.0 %); 288 (97.3 %) hold when titles
  compare as plain text. Storing feedparser's HTML titles instead would give 288 (97.3 %)
  as written; the code before this work held 261 (88.2 %).

The gap between the two figures is deliberate: we store titles as plain text (titles are
shown as text in the console, reports, search hits and alerts), while feedparser keeps the
sanitised HTML of ``type="html"``/``xhtml`` titles, which ~150 corpus checks test. The 8
checks that fail even as plain text are also deliberate or inherent:

- 6 expect two entries with the same id (or, lacking ids, the same link or title) to be two
  entries; the store keys entries by (feed, guid), so they are one;
- 2 expect an entry id kept verbatim (``HTTP://…`` and the relative ``right``), but with a
  document URL feedparser resolves URI-like ids against it (which the corpus itself expects
  in its ``base/`` files); we always have a document URL.

The thresholds below are the measured figures minus a small margin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from script_loader import load_script

REPO = Path(__file__).resolve().parents[2]


feed_corpus = load_script("eval/feed_corpus.py")
CORPUS = feed_corpus.data_dir()
if not CORPUS.is_dir():
    pytest.skip(
        f"feed corpus not found at {CORPUS} (set NEWSWATCH_SHARED_DATA): corpus tests skipped",
        allow_module_level=True,
    )

MIN_FILES = 2000
MIN_HOLDING = 0.45  # measured 0.470 (titles as written)
MIN_HOLDING_PLAIN = 0.95  # measured 0.973 (titles compared as plain text)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Any:
    result = feed_corpus.run(CORPUS, tmp_path_factory.mktemp("feed-corpus"))
    print("\n" + "\n".join(result.lines()))
    return result


def test_no_exception_but_feed_parse_error_escapes(report: Any) -> None:
    assert report.files >= MIN_FILES, f"only {report.files} corpus files found"
    assert report.escaped == [], f"{len(report.escaped)} files raised: {report.escaped[:5]}"
    assert report.parsed + report.refused == report.files


def test_expect_checks_hold_on_what_we_store(report: Any) -> None:
    assert report.checks >= 250, f"only {report.checks} Expect checks counted"
    failing = "\n".join(f"{rel}: {expect}" for rel, expect in report.failing_plain)
    assert report.holding_plain / report.checks >= MIN_HOLDING_PLAIN, failing
    assert report.holding / report.checks >= MIN_HOLDING


def test_the_classifier_counts_only_what_we_store() -> None:
    counted = feed_corpus.counted
    assert counted("not bozo and feed['title'] == 'x'")
    assert counted("not bozo and entries[0]['title_detail']['value'] == 'x'")
    assert counted("entries[0].link == entries[1]['link'] == 'x'")
    assert counted("not bozo and entries[0]['published_parsed'] == (2004, 1, 1, 0, 0, 0, 3, 1, 0)")
    assert counted("not bozo and not entries[0].has_key('link')")
    assert not counted("not bozo")
    assert not counted("not bozo and feed['title_detail']['type'] == 'text/html'")
    assert not counted("not bozo and entries[0]['published'] == 'Thu, 01 Jan 2004'")
    assert not counted("not bozo and len(entries) == 2")
    assert not counted("not bozo and encoding == 'utf-8'")
    assert not counted("entries[0]['links'][0]['href'] == 'x'")
