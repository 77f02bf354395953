"""feedparser's conformance corpus through newswatch's feed parsing and state store.

    python eval/feed_corpus.py [--data DIR] [--failures N]

Reads ``feed-corpus`` from ``../shared/data`` next to the repository (or
``$NEWSWATCH_SHARED_DATA/feed-corpus``, or ``--data DIR``); nothing from it is copied anywhere.
Every file goes through ``ingest.feeds.parse_feed`` (with the file's simulated ``Header:``
lines as response headers) and then into ONE real SQLite state store (``core.db.Store``),
each file as its own feed. Figures:

- files parsed: the share for which no exception other than ``FeedParseError`` escaped
  (``FeedParseError`` itself is a clean refusal and counts as handled);
- Expect checks: for ``wellformed/`` files whose ``Expect:`` expression speaks only of the
  feed title / link and the entries' title / link / id / parsed dates, the expression is
  evaluated against a feedparser-like dict rebuilt from what the store holds, and we count
  how many hold. The store keeps no entry dates, so ``*_parsed`` dates come from the
  ``FeedEntry`` that was stored under the same guid. ``bozo`` is always 0: recovering from
  malformed input is not something we record per entry. Raw date strings (``published``)
  are not kept (we keep datetimes), so expressions on them are not counted.

Only counted expressions are evaluated, without builtins. Titles: we store plain text, so a
second figure compares titles as plain text (``PlainTitle``) to tell that deliberate choice
apart from real losses.

The corpus serves every file as ``http://127.0.0.1:8097/<path>`` (feedparser's harness does
the same, and its relative-URI expectations assume it), so that is the feed URL we use.
The test ``tests/ingest/test_feed_corpus.py`` imports this module by path.
"""

from __future__ import annotations

import argparse
import ast
import html
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from core import schema  # noqa: E402
from core.db import Store  # noqa: E402
from core.errors import FeedParseError  # noqa: E402
from core.models import Feed, FeedEntry, ParsedFeed  # noqa: E402
from core.rows import EntryState  # noqa: E402
from ingest.feeds import entry_hash, html_to_text, parse_feed  # noqa: E402

DATASET = "feed-corpus"
FOLDERS = ("wellformed", "illformed", "encoding", "entities")
DOC_BASE = "http://127.0.0.1:8097/"
NOW = datetime(2026, 1, 1, tzinfo=UTC)

_EXPECT = re.compile(r"Description:\s*(.*?)\s*Expect:\s*(.*?)\s*-->", re.S)
_HEADER = re.compile(r"^Header:\s+([^:\r\n]+):(.*?)\s*$", re.M)

# What a counted expression may speak of: feedparser keys (and their legacy aliases).
FEED_FIELDS = {"title", "link"}
ENTRY_FIELDS = {"title", "link", "id", "guid", "published_parsed", "updated_parsed"}
ALIASES = {
    "guid": "id",
    "issued_parsed": "published_parsed",
    "modified_parsed": "updated_parsed",
    "date_parsed": "updated_parsed",
}
ENTRY_FIELDS |= set(ALIASES)


def data_dir() -> Path:
    """``$NEWSWATCH_SHARED_DATA/feed-corpus``, else ``<repo>/../shared/data/feed-corpus``."""
    root = os.environ.get("NEWSWATCH_SHARED_DATA") or str(REPO.parent / "shared" / "data")
    return Path(root) / DATASET


@dataclass(frozen=True)
class Case:
    rel: str  # path relative to the corpus root, with forward slashes
    data: bytes
    description: str
    expect: str
    headers: dict[str, str]

    @property
    def url(self) -> str:
        return DOC_BASE + self.rel


def _comment_text(data: bytes) -> str:
    """The file as text, well enough to read its leading comment (ASCII) in any encoding."""
    for encoding in ("utf-32", "utf-16") if b"\x00" in data[:8] else ():
        for variant in (encoding, encoding + "-be", encoding + "-le"):
            text = data.decode(variant, errors="ignore")
            if "Expect:" in text:
                return text
    return data.decode("latin-1")


def load_case(path: Path, root: Path) -> Case:
    data = path.read_bytes()
    text = _comment_text(data)
    match = _EXPECT.search(text)
    description, expect = (match.group(1), match.group(2)) if match else ("", "")
    head = text[: match.end()] if match else text[:2000]
    headers = {k.strip().lower(): v.strip() for k, v in _HEADER.findall(head)}
    return Case(path.relative_to(root).as_posix(), data, description, expect, headers)


def load_corpus(root: Path) -> list[Case]:
    paths = (p for folder in FOLDERS for p in sorted((root / folder).rglob("*.xml")))
    return [load_case(p, root) for p in paths]


# ---- which expressions we count ------------------------------------------------------------
def _chain(node: ast.AST) -> list[Any] | None:
    """``entries[0]['title']`` / ``feed.link`` / ``feed.get('x')`` as ['entries', 0, 'title']."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        inner = _chain(node.value)
        return None if inner is None else [*inner, node.slice.value]
    if isinstance(node, ast.Attribute):
        inner = _chain(node.value)
        return None if inner is None else [*inner, node.attr]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("get", "has_key")
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        inner = _chain(node.func.value)
        return None if inner is None else [*inner, node.args[0].value]
    return None


def _chain_ok(chain: list[Any]) -> bool:
    root, rest = chain[0], chain[1:]
    if rest[-2:] == ["title_detail", "value"]:
        rest = [*rest[:-2], "title"]
    if root in ("feed", "channel"):
        return len(rest) == 1 and rest[0] in FEED_FIELDS
    if root in ("entries", "items"):
        return len(rest) == 2 and isinstance(rest[0], int) and rest[1] in ENTRY_FIELDS
    return root == "bozo" and not rest


def counted(expect: str) -> bool:
    """Whether the expression speaks only of what we store (see the module docstring)."""
    try:
        tree = ast.parse(expect, mode="eval")
    except SyntaxError:
        return False
    found = False

    def visit(node: ast.AST) -> bool:
        nonlocal found
        chain = _chain(node)
        if chain is not None and chain[0] in ("feed", "channel", "entries", "items", "bozo"):
            found = found or chain[0] != "bozo"
            return _chain_ok(chain)
        if isinstance(node, ast.Name):
            return node.id == "datetime"
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            return False  # we eval() what we count: no dunder tricks
        return all(visit(child) for child in ast.iter_child_nodes(node))

    return visit(tree) and found


# ---- the feedparser-like view of what we stored --------------------------------------------
class FPDict(dict[str, Any]):
    """Just enough of feedparser's FeedParserDict: attribute access, aliases, has_key."""

    def __getitem__(self, key: str) -> Any:
        if key == "title_detail" and "title" in self:
            return FPDict(value=dict.__getitem__(self, "title"))
        return dict.__getitem__(self, ALIASES.get(key, key))

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, ALIASES.get(key, key) if isinstance(key, str) else key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default

    def has_key(self, key: str) -> bool:
        return key in self

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


class PlainTitle(str):
    """A stored title that also equals an expected HTML title with the same plain text.

    Only for the secondary figure: we store titles as plain text on purpose, and this tells
    that choice apart from real losses.
    """

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return False
        return str.__eq__(self, other) or str.__eq__(self, plain_text(other))

    def __ne__(self, other: object) -> bool:
        return not self == other


def plain_text(markup: str) -> str:
    """What ``parse_feed`` makes of an HTML title."""
    text = html_to_text(markup) if "<" in markup else html.unescape(markup)
    return " ".join(text.split())


def _compact(title: str, **values: Any) -> FPDict:
    """Like feedparser: absent values are absent keys. We cannot tell an absent title from an
    empty one, so the title is always there."""
    return FPDict(title=title, **{k: v for k, v in values.items() if v is not None and len(v)})


def stored_view(
    feed: Feed,
    states: dict[str, EntryState],
    titles: dict[int, str],
    parsed: ParsedFeed,
    plain: bool = False,
) -> dict[str, Any]:
    """What the store holds for one feed, shaped like feedparser's result.

    ``plain``: titles compare equal to HTML with the same text (see :class:`PlainTitle`).
    """
    kind = PlainTitle if plain else str
    dated = {e.guid: e for e in parsed.entries}
    entries = []
    for state in sorted(states.values(), key=lambda s: s.id):  # ids follow the feed's order
        e: FeedEntry | None = dated.get(state.guid)
        entries.append(
            _compact(
                title=kind(titles.get(state.id, "")),
                link=state.link,
                id=state.guid,
                published_parsed=_struct(e.published if e else None),
                updated_parsed=_struct(e.updated if e else None),
            )
        )
    feed_view = _compact(title=kind(feed.title), link=feed.site_url)
    return {"bozo": 0, "feed": feed_view, "entries": entries}


def stored_entry_titles(store: Store) -> dict[int, str]:
    """Entry titles by entry id (``entry_states`` does not carry them)."""
    query = select(schema.entries.c.id, schema.entries.c.title)
    with store.engine.connect() as conn:
        return {int(i): str(title) for i, title in conn.execute(query)}


def _struct(value: datetime | None) -> time.struct_time | None:
    return value.astimezone(UTC).utctimetuple() if value else None


def check(expect: str, view: dict[str, Any]) -> bool:
    try:
        scope = {"__builtins__": {}, "datetime": __import__("datetime")}
        return bool(eval(expect, scope, view))
    except Exception:  # a missing key or entry is a check that does not hold
        return False


# ---- the run --------------------------------------------------------------------------------
@dataclass
class Report:
    files: int = 0
    parsed: int = 0  # a ParsedFeed came back
    refused: int = 0  # FeedParseError
    escaped: list[tuple[str, str]] = field(default_factory=list)  # (file, exception)
    checks: int = 0
    holding: int = 0
    holding_plain: int = 0  # holding when titles compare as plain text
    failing: list[tuple[str, str]] = field(default_factory=list)  # (file, expect)
    failing_plain: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def handled_share(self) -> float:
        return (self.files - len(self.escaped)) / self.files if self.files else 0.0

    @property
    def holding_share(self) -> float:
        return self.holding / self.checks if self.checks else 0.0

    def lines(self) -> list[str]:
        return [
            f"feed corpus: {self.files} files in {self.seconds:.1f} s",
            f"  parsed to a feed: {self.parsed} ({self.parsed / max(self.files, 1):.1%}),"
            f" refused with FeedParseError: {self.refused},"
            f" other exception escaped: {len(self.escaped)}",
            f"  files without an escaping exception: {self.handled_share:.1%}",
            f"  wellformed Expect checks on stored fields: {self.checks} counted,"
            f" {self.holding} hold ({self.holding_share:.1%});"
            f" {self.holding_plain} ({self.holding_plain / max(self.checks, 1):.1%})"
            " when titles compare as plain text (we store plain-text titles)",
        ]


def run(root: Path, workdir: Path) -> Report:
    """Parse and store every corpus file in one SQLite store, then check what it holds."""
    started = time.perf_counter()
    report = Report()
    stored: list[tuple[Case, ParsedFeed | None]] = []
    store = Store.open(f"sqlite:///{workdir}/s.sqlite")
    try:
        for case in load_corpus(root):
            report.files += 1
            try:
                parsed = parse_feed(
                    case.data, case.url, case.headers.get("content-type", ""), headers=case.headers
                )
                feed, _ = store.add_feed(case.url, NOW)
                store.update_feed(
                    feed.id, title=parsed.title, site_url=parsed.site_url, format=parsed.format
                )
                for entry in parsed.entries:
                    store.save_entry(
                        feed.id, entry.guid, link=entry.link, title=entry.title,
                        entry_hash=entry_hash(entry), now=NOW, article_id=None,
                    )  # fmt: skip
            except FeedParseError:
                report.refused += 1
                stored.append((case, None))
            except Exception as exc:
                report.escaped.append((case.rel, f"{type(exc).__name__}: {exc}"[:300]))
                stored.append((case, None))
            else:
                report.parsed += 1
                stored.append((case, parsed))
        feeds = {f.url: f for f in store.list_feeds()}
        titles = stored_entry_titles(store)
        for case, maybe in stored:
            if not (case.rel.startswith("wellformed/") and counted(case.expect)):
                continue
            report.checks += 1
            if maybe is None:  # a well-formed feed we could not store fails its check
                report.failing.append((case.rel, case.expect))
                report.failing_plain.append((case.rel, case.expect))
                continue
            feed = feeds[case.url]
            states = store.entry_states(feed.id)
            if check(case.expect, stored_view(feed, states, titles, maybe)):
                report.holding += 1
            else:
                report.failing.append((case.rel, case.expect))
            if check(case.expect, stored_view(feed, states, titles, maybe, plain=True)):
                report.holding_plain += 1
            else:
                report.failing_plain.append((case.rel, case.expect))
    finally:
        store.close()
    report.seconds = time.perf_counter() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help=f"the {DATASET} folder (default: shared data)")
    parser.add_argument("--failures", type=int, default=0, help="list N failing checks")
    parser.add_argument("--plain", action="store_true", help="list those failing as plain text")
    args = parser.parse_args(argv)
    root = args.data or data_dir()
    if not root.is_dir():
        print(f"skipped: {root} not found (the shared feed corpus is absent)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        report = run(root, Path(tmp))
    print("\n".join(report.lines()))
    for rel, error in report.escaped:
        print(f"  ESCAPED {rel}: {error}")
    for rel, expect in (report.failing_plain if args.plain else report.failing)[: args.failures]:
        print(f"  FAILS {rel}: {expect}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
