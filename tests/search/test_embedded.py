"""The embedded SQLite/FTS5 index, on real files in tmp_path."""

from __future__ import annotations

import contextlib
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.errors import NewswatchError, QuerySyntaxError
from core.models import IndexDoc, SearchRequest, SearchResult
from core.settings import Settings
from search.backend import SNIPPET_END, SNIPPET_START
from search.embedded import EmbeddedIndex
from search.factory import open_index

INGESTED = datetime(2024, 6, 2, 8, 0, tzinfo=UTC)


def doc(doc_id: str, title: str, body: str, source: str, published: datetime | None) -> IndexDoc:
    """An article as the pipeline would index it."""
    return IndexDoc(
        id=doc_id,
        url=f"https://news.example/{doc_id}",
        title=title,
        body=body,
        source=source,
        published=published,
        ingested=INGESTED,
        language="en",
        extra={"feed": "https://news.example/rss"},
    )


def day(month: int, d: int) -> datetime:
    return datetime(2024, month, d, tzinfo=UTC)


CORPUS = [
    doc(
        "flood-1",
        "Flood waters swamp homes in Shrewsbury",
        "Emergency crews evacuated residents after the River Severn burst its banks overnight. "
        "The Environment Agency kept a severe flood warning in place for the town centre.",
        "BBC News",
        day(2, 10),
    ),
    doc(
        "drought-1",
        "Drought tightens grip on southern Spain",
        "Reservoirs in Andalusia are at record lows and farmers warn that the olive harvest "
        "will suffer. Officials ruled out a flood of emergency aid before the summer.",
        "Reuters",
        day(3, 5),
    ),
    doc(
        "shell-1",
        "Shell reports higher quarterly profit",
        "The oil major said refining margins recovered in the third quarter. Analysts had "
        "expected a weaker result after a warm winter.",
        "Reuters",
        day(4, 1),
    ),
    doc(
        "markets-1",
        "Markets steady ahead of central bank decision",
        "Investors shall wait for the interest rate announcement on Thursday, traders said. "
        "Bond yields edged lower and shellfish exporters rallied.",
        "AP",
        None,
    ),
    doc(
        "climate-1",
        "Climate talks end without a deal",
        "Negotiators failed to agree on how to phase out fossil fuels. Campaigners said real "
        "change would not come from the summit.",
        "The Guardian",
        day(5, 20),
    ),
    doc(
        "climate-2",
        "Scientists warn on climate change",
        "A new report says climate change is driving more extreme weather, including floods "
        "and heatwaves across Europe.",
        "BBC News",
        day(6, 1),
    ),
    doc(
        "cafe-1",
        "Zürich café wins national award",
        "The small café near the lake was praised by judges for its coffee and pastries.",
        "SwissInfo",
        day(1, 15),
    ),
]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[EmbeddedIndex]:
    idx = EmbeddedIndex(tmp_path / "nested" / "index.sqlite")
    assert idx.upsert_many(CORPUS) == len(CORPUS)
    yield idx
    idx.close()


def search(idx: EmbeddedIndex, query: str = "", **filters: object) -> SearchResult:
    return idx.search(SearchRequest(query=query, **filters))  # type: ignore[arg-type]


def ids(idx: EmbeddedIndex, query: str, **filters: object) -> set[str]:
    result = search(idx, query, limit=100, **filters)
    assert result.total == len(result.hits)
    return {h.id for h in result.hits}


def test_file_is_created_in_wal_mode(index: EmbeddedIndex, tmp_path: Path) -> None:
    path = tmp_path / "nested" / "index.sqlite"
    assert path.is_file()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert index.count() == len(CORPUS)


def test_reopen_keeps_documents(index: EmbeddedIndex, tmp_path: Path) -> None:
    index.close()
    with EmbeddedIndex(tmp_path / "nested" / "index.sqlite") as again:
        again.ensure_schema()  # idempotent
        assert again.count() == len(CORPUS)
        assert ids(again, "shellfish") == {"markets-1"}


def test_terms(index: EmbeddedIndex) -> None:
    assert ids(index, "flood") == {"flood-1", "drought-1"}
    assert ids(index, "FLOOD") == {"flood-1", "drought-1"}
    assert ids(index, "nonexistentword") == set()


def test_no_stemming(index: EmbeddedIndex) -> None:
    assert "climate-2" not in ids(index, "flood")  # it says "floods"
    assert ids(index, "floods") == {"climate-2"}


def test_diacritics_are_folded(index: EmbeddedIndex) -> None:
    assert ids(index, "cafe") == {"cafe-1"}
    assert ids(index, "zurich") == ids(index, "Zürich") == {"cafe-1"}


def test_phrase_needs_adjacent_words(index: EmbeddedIndex) -> None:
    assert ids(index, "climate change") == {"climate-1", "climate-2"}
    assert ids(index, '"climate change"') == {"climate-2"}
    assert ids(index, '"change climate"') == set()


def test_boolean_operators(index: EmbeddedIndex) -> None:
    assert ids(index, "shell OR drought") == {"shell-1", "drought-1"}
    assert ids(index, "river banks") == {"flood-1"}  # implicit AND
    assert ids(index, "river AND drought") == set()
    assert ids(index, "flood AND NOT reservoirs") == {"flood-1"}
    assert ids(index, "flood -reservoirs") == {"flood-1"}
    assert ids(index, "(drought OR shell) AND reservoirs") == {"drought-1"}
    assert ids(index, "climate (deal OR heatwaves)") == {"climate-1", "climate-2"}
    assert ids(index, "climate NOT (deal OR heatwaves)") == set()


def test_pure_negative_query(index: EmbeddedIndex) -> None:
    everything = {d.id for d in CORPUS}
    assert ids(index, "NOT climate") == everything - {"climate-1", "climate-2"}
    assert ids(index, "-climate -flood") == everything - {
        "climate-1",
        "climate-2",
        "flood-1",
        "drought-1",
    }
    result = search(index, "NOT climate", limit=100)
    assert next(h.id for h in result.hits) == "shell-1"  # newest first
    assert all(h.score == 0.0 for h in result.hits)


def test_field_restricts_column(index: EmbeddedIndex) -> None:
    assert ids(index, "title:change") == {"climate-2"}
    assert ids(index, "body:change") == {"climate-1", "climate-2"}
    assert ids(index, 'title:"climate change"') == {"climate-2"}
    assert ids(index, "title:flood") == {"flood-1"}
    assert ids(index, "title:(drought OR shell)") == {"drought-1", "shell-1"}


def test_wildcards(index: EmbeddedIndex) -> None:
    assert ids(index, "shell") == {"shell-1"}
    assert ids(index, "shell*") == {"shell-1", "markets-1"}
    assert ids(index, "title:shell*") == {"shell-1"}
    assert ids(index, "sh?ll") == {"shell-1", "markets-1"}  # shell, shall
    assert ids(index, "title:sh?ll") == {"shell-1"}
    assert ids(index, "*fish") == {"markets-1"}
    assert ids(index, "caf*") == {"cafe-1"}
    assert ids(index, "q*rter*") == {"shell-1"}
    assert ids(index, "zz?zz") == set()
    assert ids(index, "-shell*") == {d.id for d in CORPUS} - {"shell-1", "markets-1"}


def test_title_hit_ranks_above_body_hit(tmp_path: Path) -> None:
    with EmbeddedIndex(tmp_path / "rank.sqlite") as idx:
        idx.upsert_many(
            [
                doc(
                    "body-only",
                    "Greek tourism season opens",
                    "Operators hope the wildfire risk stays low this summer.",
                    "AP",
                    day(6, 1),
                ),
                doc(
                    "in-title",
                    "Wildfire forces evacuations on Evia",
                    "Thousands left their homes as flames reached hillside villages overnight.",
                    "AP",
                    day(5, 1),
                ),
                doc("filler-1", "Ferry strike", "Ports were closed for a day.", "AP", day(5, 2)),
                doc("filler-2", "Olive prices", "Growers expect a smaller crop.", "AP", day(5, 3)),
            ]
        )
        result = idx.search(SearchRequest(query="wildfire"))
        assert [h.id for h in result.hits] == ["in-title", "body-only"]
        assert result.hits[0].score > result.hits[1].score > 0


def test_scores_descend_and_snippets_mark_matches(index: EmbeddedIndex) -> None:
    result = search(index, "flood OR warning", limit=100)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    by_id = {h.id: h for h in result.hits}
    assert f"{SNIPPET_START}flood{SNIPPET_END}" in by_id["flood-1"].snippet
    assert f"{SNIPPET_START}warning{SNIPPET_END}" in by_id["flood-1"].snippet
    hit = by_id["flood-1"]
    assert (hit.url, hit.title, hit.source) == (
        "https://news.example/flood-1",
        "Flood waters swamp homes in Shrewsbury",
        "BBC News",
    )
    assert hit.published == day(2, 10)
    assert hit.published is not None and hit.published.tzinfo is not None


def test_source_filter_is_case_insensitive_exact(index: EmbeddedIndex) -> None:
    assert ids(index, "", source="reuters") == {"drought-1", "shell-1"}
    assert ids(index, "", source="REUTERS") == {"drought-1", "shell-1"}
    assert ids(index, "flood", source="Reuters") == {"drought-1"}
    assert ids(index, "", source="Reut") == set()


def test_date_filters_are_inclusive(index: EmbeddedIndex) -> None:
    assert ids(index, "", since=day(5, 20)) == {"climate-1", "climate-2"}
    assert ids(index, "", until=day(1, 15)) == {"cafe-1"}
    assert ids(index, "", since=day(3, 5), until=day(4, 1)) == {"drought-1", "shell-1"}
    assert ids(index, "flood", since=day(3, 1)) == {"drought-1"}
    # the same instant in another zone, and a naive datetime taken as UTC
    cet = timezone(timedelta(hours=1))
    assert ids(index, "", since=datetime(2024, 6, 1, 1, 0, tzinfo=cet)) == {"climate-2"}
    assert ids(index, "", until=datetime(2024, 1, 15)) == {"cafe-1"}


def test_empty_query_returns_everything_newest_first(index: EmbeddedIndex) -> None:
    result = search(index, "", limit=100)
    assert result.total == len(CORPUS)
    order = [h.id for h in result.hits]
    assert order[0] == "climate-2"
    assert order[-1] == "markets-1"  # no published date: last
    assert search(index, "*", limit=100) == result


def test_pagination_and_total(index: EmbeddedIndex) -> None:
    pages = [search(index, "", limit=3, offset=offset) for offset in (0, 3, 6, 9)]
    assert [p.total for p in pages] == [len(CORPUS)] * 4
    assert [len(p.hits) for p in pages] == [3, 3, 1, 0]
    seen = [h.id for p in pages for h in p.hits]
    assert seen == [h.id for h in search(index, "", limit=100).hits]
    ranked = search(index, "flood OR climate", limit=1, offset=1)
    assert ranked.total == 4 and len(ranked.hits) == 1
    assert search(index, "flood", limit=0).total == 2


def test_reupsert_replaces_text(index: EmbeddedIndex) -> None:
    old = CORPUS[0]
    new = replace(
        old,
        title="Clean-up begins in Shrewsbury",
        body="Volunteers cleared mud from shops as the water receded.",
        revision=2,
    )
    assert index.upsert_many([new]) == 1
    assert index.count() == len(CORPUS)
    assert ids(index, "flood") == {"drought-1"}
    assert ids(index, "severn") == set()
    assert ids(index, "volunteers") == {"flood-1"}
    assert ids(index, "title:shrewsbury") == {"flood-1"}
    index.upsert_many([new, new])  # idempotent
    assert index.count() == len(CORPUS)
    _assert_fts_in_sync(index)


def test_delete(index: EmbeddedIndex) -> None:
    assert index.delete(["shell-1", "markets-1", "no-such-id", "shell-1"]) == 2
    assert index.count() == len(CORPUS) - 2
    assert ids(index, "shell*") == set()
    assert index.delete([]) == 0
    _assert_fts_in_sync(index)


def _assert_fts_in_sync(index: EmbeddedIndex) -> None:
    with sqlite3.connect(index.path) as conn:
        conn.execute("INSERT INTO docs_fts (docs_fts, rank) VALUES ('integrity-check', 1)")


@pytest.mark.parametrize(
    ("query", "position"),
    [('"flood', 0), ("flood AND", 9), ("(flood", 0), ("author:x", 0), ("flood)", 5)],
)
def test_malformed_queries(index: EmbeddedIndex, query: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        search(index, query)
    assert info.value.position == position


HOSTILE = [
    "'; DROP TABLE docs; --",
    "'; DROP TABLE docs;",
    '"; DROP TABLE docs_fts; --"',
    "1 OR 1=1",
    "docs_fts MATCH '*'",
    'NEAR("flood" "warning")',
    "{title}: flood",
    "flood\x00warning",
    '"a""b"',
    '"flood" "',
    "ÅÄÖ ñ ß İ 東京 🔥",
    "\u202eflood",
    "flood \ud800",
    "a*b*c?d",
    "title:(flood OR -shell*)",
    "NOT NOT NOT flood",
    "x" * 2001,
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_break_the_backend(index: EmbeddedIndex, query: str) -> None:
    with contextlib.suppress(QuerySyntaxError):
        search(index, query)
    assert index.count() == len(CORPUS)


def test_random_queries_never_break_the_backend(index: EmbeddedIndex) -> None:
    rng = random.Random(7)
    words = ["flood", "shell", "café", "climate", "AND", "OR", "NOT", "title:", "body:"]
    chars = list("\"'()*?+-:~^\\/ ;,.")
    for _ in range(400):
        query = " ".join(
            rng.choice(words) if rng.random() < 0.6 else rng.choice(chars)
            for _ in range(rng.randint(1, 8))
        )
        with contextlib.suppress(QuerySyntaxError):
            search(index, query)
    assert index.count() == len(CORPUS)


def test_long_flat_queries(index: EmbeddedIndex) -> None:
    assert ids(index, " ".join(["flood"] * 333)) == {"flood-1", "drought-1"}
    many = " OR ".join(f"word{i}" for i in range(150)) + " OR shellfish"
    assert ids(index, many) == {"markets-1"}


def test_open_index(tmp_path: Path) -> None:
    backend = open_index(Settings(home=tmp_path / "home"))
    try:
        assert isinstance(backend, EmbeddedIndex)
        assert backend.path == tmp_path / "home" / "index.sqlite"
        assert backend.count() == 0
    finally:
        backend.close()
    with pytest.raises(NewswatchError, match="not available yet"):
        open_index(Settings(home=tmp_path, index="elasticsearch"))


def test_wildcard_with_too_many_expansions_is_an_error(tmp_path: Path) -> None:
    words = " ".join(f"w{i}" for i in range(600))
    with EmbeddedIndex(tmp_path / "wide.sqlite") as idx:
        idx.upsert_many([doc("list", "Word list", words, "AP", day(1, 1))])
        assert ids(idx, "w1?") == {"list"}
        assert ids(idx, "w*") == {"list"}  # a plain prefix needs no expansion
        with pytest.raises(QuerySyntaxError, match="more specific"):
            search(idx, "w?*")


def test_snippet_without_positive_words_is_the_lead(index: EmbeddedIndex) -> None:
    hit = next(h for h in search(index, "-flood", limit=100).hits if h.id == "cafe-1")
    assert hit.snippet == CORPUS[-1].body
    long_hit = next(h for h in search(index, "", limit=100).hits if h.id == "drought-1")
    assert long_hit.snippet.endswith("…") and SNIPPET_START not in long_hit.snippet


def test_negation_keeps_relevance_ranking(index: EmbeddedIndex) -> None:
    result = search(index, "flood -reservoirs")
    assert [h.id for h in result.hits] == ["flood-1"]
    assert result.hits[0].score > 0
