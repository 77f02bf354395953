"""The search contract: the same tests on every backend (SQLite FTS5 and a real Elasticsearch).

A saved search or alert must find the same articles whichever backend runs it, so every test
here runs on both; ranking may differ slightly, so most compare sets of ids.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import esserver
import pytest

from core.errors import NewswatchError, QuerySyntaxError
from core.models import IndexDoc, SearchRequest, SearchResult, StoryDoc
from core.settings import Settings
from newswatch.demo.catalog import OUTLETS, load_articles
from search.backend import SNIPPET_END, SNIPPET_START, IndexBackend
from search.factory import open_index

BACKENDS = ["embedded", "elasticsearch"]


def day(month: int, d: int) -> datetime:
    return datetime(2024, month, d, tzinfo=UTC)


def doc(
    doc_id: str, title: str, body: str, source: str, published: datetime | None, **more: Any
) -> IndexDoc:
    return IndexDoc(
        id=doc_id,
        url=f"https://news.example/{doc_id}",
        title=title,
        body=body,
        source=source,
        published=published,
        ingested=datetime(2024, 8, 1, tzinfo=UTC),
        language=more.pop("language", "en"),
        extra={"feed": "https://news.example/rss"},
        **more,
    )


SEVERN = ("Q19686", "River Severn", "place")
SPAIN = ("Q29", "Spain", "place")
SHELL = ("Q154950", "Shell", "organisation")
FED = ("Q53536", "Federal Reserve", "organisation")
EUROPE = ("Q46", "Europe", "place")
ZURICH = ("Q72", "Zürich", "place")
RUSSIA = ("Q159", "Russia", "place")
BAVARIA = ("Q980", "Bayern", "place")

CORPUS = [
    doc(
        "flood-1",
        "Flood waters swamp homes in Shrewsbury",
        "Emergency crews evacuated residents after the River Severn burst its banks overnight. "
        "The Environment Agency kept a severe flood warning in place for the town centre.",
        "BBC News",
        day(2, 10),
        entities=(SEVERN,),
        topics=("weather",),
        story_id="s-flood",
    ),
    doc(
        "drought-1",
        "Drought tightens grip on southern Spain",
        "Reservoirs in Andalusia are at record lows and farmers warn that the olive harvest "
        "will suffer. Officials ruled out a flood of emergency aid before the summer.",
        "Reuters",
        day(3, 5),
        entities=(SPAIN,),
        topics=("weather", "agriculture"),
        story_id="s-drought",
    ),
    doc(
        "shell-1",
        "Shell reports higher quarterly profit",
        "The oil major said refining margins recovered in the third quarter. Analysts had "
        "expected a weaker result after a warm winter.",
        "Reuters",
        day(4, 1),
        entities=(SHELL,),
        topics=("markets",),
    ),
    doc(
        "markets-1",
        "Markets steady ahead of central bank decision",
        "Investors shall wait for the interest rate announcement on Thursday, traders said. "
        "Bond yields edged lower, the U.S. dollar held firm and shellfish exporters rallied.",
        "AP",
        None,
        entities=(FED,),
        topics=("markets",),
    ),
    doc(
        "climate-1",
        "Climate talks end without a deal",
        "Negotiators failed to agree on how to phase out fossil fuels. Campaigners said real "
        "change would not come from the summit.",
        "The Guardian",
        day(5, 20),
        topics=("climate",),
    ),
    doc(
        "climate-2",
        "Scientists warn on climate change",
        "A new report says climate change is driving more extreme weather, including floods "
        "and heatwaves across Europe.",
        "BBC News",
        day(6, 1),
        entities=(EUROPE,),
        topics=("climate", "weather"),
    ),
    doc(
        "cafe-1",
        "Zürich café wins national award",
        "The small café near the lake was praised by judges for its coffee and pastries.",
        "SwissInfo",
        day(1, 15),
        entities=(ZURICH,),
    ),
    doc(
        "covid-1",
        "Covid-19 cases rise again",
        "Hospitals reported more covid-19 admissions this week. Russia's health ministry "
        "said 19 regions saw covid cases double.",
        "AP",
        day(7, 1),
        entities=(RUSSIA,),
        topics=("health",),
    ),
    doc(
        "de-1",
        "Hochwasser in Bayern",
        "Die Pegel der Donau steigen weiter; in Passau wurde der Katastrophenfall ausgerufen.",
        "Tagesschau",
        day(7, 2),
        language="de",
        entities=(BAVARIA,),
        topics=("weather",),
    ),
]
EVERYTHING = {d.id for d in CORPUS}
NEWEST_FIRST = [
    "de-1", "covid-1", "climate-2", "climate-1", "shell-1", "drought-1", "flood-1", "cafe-1",
    "markets-1",
]  # fmt: skip


def _open(kind: str, request: pytest.FixtureRequest, home: Path) -> IndexBackend:
    if kind == "embedded":
        return open_index(Settings(home=home))
    settings = esserver.settings_for(request.getfixturevalue("es_url"), home)
    request.addfinalizer(lambda: esserver.drop_indices(settings))
    return open_index(settings)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IndexBackend]:
    """An empty index on each backend, for tests that write."""
    idx = _open(request.param, request, tmp_path / "home")
    yield idx
    idx.close()


@pytest.fixture
def index(backend: IndexBackend) -> IndexBackend:
    """The corpus, indexed on each backend, for tests that change it."""
    assert backend.upsert_many(CORPUS) == len(CORPUS)
    return backend


@pytest.fixture(scope="module", params=BACKENDS)
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IndexBackend]:
    """The corpus, indexed once per backend, shared by the tests that only read."""
    idx = _open(request.param, request, tmp_path_factory.mktemp("corpus") / "home")
    assert idx.upsert_many(CORPUS) == len(CORPUS)
    yield idx
    assert idx.count() == len(CORPUS)  # nobody wrote to it
    idx.close()


def search(idx: IndexBackend, query: str = "", **filters: Any) -> SearchResult:
    return idx.search(SearchRequest(query=query, **filters))


def ids(idx: IndexBackend, query: str, **filters: Any) -> set[str]:
    result = search(idx, query, limit=100, **filters)
    assert result.total == len(result.hits)
    return {h.id for h in result.hits}


# -- writing -------------------------------------------------------------------------------


def test_index_and_count(backend: IndexBackend) -> None:
    assert backend.count() == 0
    assert search(backend, "flood").total == 0
    assert backend.upsert_many(CORPUS) == len(CORPUS)
    assert backend.count() == len(CORPUS)
    assert backend.upsert_many(CORPUS[:3]) == 3  # idempotent: ids are article ids
    assert backend.count() == len(CORPUS)
    assert backend.upsert_many([]) == 0
    backend.ensure_schema()  # idempotent
    assert backend.count() == len(CORPUS)


def test_revision_update_replaces_text(index: IndexBackend) -> None:
    new = replace(
        CORPUS[0],
        title="Clean-up begins in Shrewsbury",
        body="Volunteers cleared mud from shops as the water receded.",
        revision=2,
        topics=("recovery",),
        entities=(),
    )
    assert index.upsert_many([new]) == 1
    assert index.count() == len(CORPUS)
    assert ids(index, "flood") == {"drought-1"}  # old words no longer match
    assert ids(index, "severn") == set()
    assert ids(index, "volunteers") == {"flood-1"}
    assert ids(index, "title:shrewsbury") == {"flood-1"}
    assert ids(index, "", topic="weather") == {"drought-1", "climate-2", "de-1"}
    assert ids(index, "", topic="recovery") == {"flood-1"}
    assert ids(index, "", entities=(SEVERN[0],)) == set()


def test_optimize_keeps_every_result(index: IndexBackend) -> None:
    index.upsert_many(CORPUS[:3])  # replaced documents leave deleted rows and segments behind
    before = {q: ids(index, q) for q in ("flood", "title:shrewsbury", "shell* -markets")}
    index.optimize()
    index.optimize()  # idempotent
    assert index.count() == len(CORPUS)
    assert {q: ids(index, q) for q in before} == before
    assert before["flood"]  # the comparison is not between empty sets


def test_delete(index: IndexBackend) -> None:
    assert index.delete(["shell-1", "markets-1", "no-such-id", "shell-1"]) == 2
    assert index.count() == len(CORPUS) - 2
    assert ids(index, "shell*") == set()
    assert ids(index, "", topic="markets") == set()
    assert index.delete([]) == 0
    assert index.delete(["shell-1"]) == 0


# -- the query language --------------------------------------------------------------------


def test_terms_ignore_case_and_accents(corpus: IndexBackend) -> None:
    assert ids(corpus, "flood") == {"flood-1", "drought-1"}
    assert ids(corpus, "FLOOD") == {"flood-1", "drought-1"}
    assert ids(corpus, "floods") == {"climate-2"}  # no stemming
    assert ids(corpus, "nonexistentword") == set()
    assert ids(corpus, "cafe") == ids(corpus, "café") == ids(corpus, "CAFÉ") == {"cafe-1"}
    assert ids(corpus, "zurich") == ids(corpus, "Zürich") == {"cafe-1"}


def test_punctuation_splits_words(corpus: IndexBackend) -> None:
    assert ids(corpus, "russia") == {"covid-1"}  # in "Russia's"
    assert ids(corpus, "russia's") == {"covid-1"}
    assert ids(corpus, "covid-19") == {"covid-1"}
    assert ids(corpus, "covid-19 -title:covid-19") == set()
    assert ids(corpus, "u.s.") == ids(corpus, "U.S") == {"markets-1"}
    assert ids(corpus, "19") == {"covid-1"}
    assert ids(corpus, '"19 covid"') == set()
    assert ids(corpus, "pegel; donau!") == {"de-1"}


def test_phrases(corpus: IndexBackend) -> None:
    assert ids(corpus, "climate change") == {"climate-1", "climate-2"}
    assert ids(corpus, '"climate change"') == {"climate-2"}
    assert ids(corpus, '"change climate"') == set()
    assert ids(corpus, '"flood warning"') == {"flood-1"}
    assert ids(corpus, '"covid cases"') == {"covid-1"}
    assert ids(corpus, '"Zürich CAFE"') == {"cafe-1"}


def test_boolean_operators(corpus: IndexBackend) -> None:
    assert ids(corpus, "shell OR drought") == {"shell-1", "drought-1"}
    assert ids(corpus, "river banks") == {"flood-1"}  # implicit AND
    assert ids(corpus, "river AND drought") == set()
    assert ids(corpus, "flood AND NOT reservoirs") == {"flood-1"}
    assert ids(corpus, "flood -reservoirs") == {"flood-1"}
    assert ids(corpus, "flood +reservoirs") == {"drought-1"}
    assert ids(corpus, "(drought OR shell) AND reservoirs") == {"drought-1"}
    assert ids(corpus, "climate (deal OR heatwaves)") == {"climate-1", "climate-2"}
    assert ids(corpus, "climate NOT (deal OR heatwaves)") == set()
    # precedence: AND binds tighter than OR, OR tighter than implicit AND
    assert ids(corpus, "flood AND olive OR shell") == {"drought-1", "shell-1"}
    assert ids(corpus, "emergency flood OR olive") == {"flood-1", "drought-1"}
    assert ids(corpus, "climate deal OR heatwaves") == {"climate-1", "climate-2"}
    assert ids(corpus, "NOT NOT flood") == {"flood-1", "drought-1"}
    assert ids(corpus, "flood OR -climate") == EVERYTHING - {"climate-1", "climate-2"}


def test_pure_negative_queries(corpus: IndexBackend) -> None:
    assert ids(corpus, "NOT climate") == EVERYTHING - {"climate-1", "climate-2"}
    assert ids(corpus, "-climate -flood") == EVERYTHING - {
        "climate-1", "climate-2", "flood-1", "drought-1",
    }  # fmt: skip
    result = search(corpus, "NOT climate", limit=100)
    assert [h.id for h in result.hits] == [i for i in NEWEST_FIRST if not i.startswith("climate")]
    assert all(h.score == 0.0 for h in result.hits)


def test_fields(corpus: IndexBackend) -> None:
    assert ids(corpus, "title:change") == {"climate-2"}
    assert ids(corpus, "body:change") == {"climate-1", "climate-2"}
    assert ids(corpus, 'title:"climate change"') == {"climate-2"}
    assert ids(corpus, 'body:"climate change"') == {"climate-2"}
    assert ids(corpus, "title:flood") == {"flood-1"}
    assert ids(corpus, "title:(drought OR shell)") == {"drought-1", "shell-1"}
    assert ids(corpus, "title:(flood OR -shell*)") == EVERYTHING - {"shell-1"}
    assert ids(corpus, "shell -title:shell") == set()


def test_wildcards(corpus: IndexBackend) -> None:
    assert ids(corpus, "shell") == {"shell-1"}
    assert ids(corpus, "shell*") == {"shell-1", "markets-1"}
    assert ids(corpus, "SHELL*") == {"shell-1", "markets-1"}
    assert ids(corpus, "title:shell*") == {"shell-1"}
    assert ids(corpus, "sh?ll") == {"shell-1", "markets-1"}  # shell, shall
    assert ids(corpus, "title:sh?ll") == {"shell-1"}
    assert ids(corpus, "*fish") == {"markets-1"}
    assert ids(corpus, "caf*") == ids(corpus, "zür*") == {"cafe-1"}
    assert ids(corpus, "q*rter*") == {"shell-1"}
    assert ids(corpus, "zz?zz") == set()
    assert ids(corpus, "-shell*") == EVERYTHING - {"shell-1", "markets-1"}
    assert ids(corpus, "*") == EVERYTHING


def test_ranking_title_above_body(backend: IndexBackend) -> None:
    backend.upsert_many(
        [
            doc("body-only", "Greek tourism season opens",
                "Operators hope the wildfire risk stays low this summer.", "AP", day(6, 1)),
            doc("in-title", "Wildfire forces evacuations on Evia",
                "Thousands left their homes as flames reached hillside villages overnight.",
                "AP", day(5, 1)),
            doc("filler-1", "Ferry strike", "Ports were closed for a day.", "AP", day(5, 2)),
            doc("filler-2", "Olive prices", "Growers expect a smaller crop.", "AP", day(5, 3)),
        ]
    )  # fmt: skip
    result = backend.search(SearchRequest(query="wildfire"))
    assert [h.id for h in result.hits] == ["in-title", "body-only"]
    assert result.hits[0].score > result.hits[1].score > 0


def test_hits_and_snippets(corpus: IndexBackend) -> None:
    result = search(corpus, "flood OR warning", limit=100)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    by_id = {h.id: h for h in result.hits}
    hit = by_id["flood-1"]
    assert f"{SNIPPET_START}flood{SNIPPET_END}" in hit.snippet
    assert f"{SNIPPET_START}warning{SNIPPET_END}" in hit.snippet
    assert (hit.url, hit.title, hit.source) == (
        "https://news.example/flood-1", "Flood waters swamp homes in Shrewsbury", "BBC News",
    )  # fmt: skip
    assert hit.published == day(2, 10)
    assert hit.published is not None and hit.published.tzinfo is not None
    # the snippet shows the text as published, accents and punctuation included
    (cafe,) = search(corpus, "cafe").hits
    assert f"{SNIPPET_START}café{SNIPPET_END}" in cafe.snippet
    (covid,) = search(corpus, "russia").hits
    assert f"{SNIPPET_START}Russia{SNIPPET_END}'s" in covid.snippet
    # no positive words: the lead of the body
    (lead,) = [h for h in search(corpus, "-flood", limit=100).hits if h.id == "cafe-1"]
    assert lead.snippet == CORPUS[6].body and lead.score == 0.0


def test_empty_query_lists_newest_first(corpus: IndexBackend) -> None:
    result = search(corpus, "", limit=100)
    assert result.total == len(CORPUS)
    assert [h.id for h in result.hits] == NEWEST_FIRST  # no date: last
    assert search(corpus, "*", limit=100) == result


def test_sort_by_date_keeps_the_hits_and_their_scores(corpus: IndexBackend) -> None:
    query = "flood OR warning OR drought OR russia OR shell"
    best = search(corpus, query, limit=100)
    newest = search(corpus, query, limit=100, sort="date")
    assert newest.total == best.total == len(best.hits) >= 4
    assert [h.id for h in newest.hits] == [i for i in NEWEST_FIRST if i in {h.id for h in best.hits}]
    assert [h.id for h in newest.hits] != [h.id for h in best.hits]  # the order did change
    scores = {h.id: h.score for h in best.hits}
    assert all(h.score == pytest.approx(scores[h.id]) and h.score > 0 for h in newest.hits)
    assert all(SNIPPET_START in h.snippet for h in newest.hits if h.id == "flood-1")
    paged = [search(corpus, query, limit=2, offset=o, sort="date").hits for o in (0, 2)]
    assert [h.id for page in paged for h in page] == [h.id for h in newest.hits][:4]
    assert search(corpus, "", limit=100, sort="date") == search(corpus, "", limit=100)


@pytest.mark.parametrize(
    ("query", "position"),
    [('"flood', 0), ("flood AND", 9), ("(flood", 0), ("author:x", 0), ("flood)", 5),
     ("flood~2", 0), ("a && b", 2)],
)  # fmt: skip
def test_malformed_query_raises(corpus: IndexBackend, query: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        search(corpus, query)
    assert info.value.position == position
    with pytest.raises(QuerySyntaxError):
        corpus.facets(SearchRequest(query=query))


HOSTILE = [
    "'; DROP TABLE docs; --",
    '"; DROP TABLE docs_fts; --"',
    "1 OR 1=1",
    '{"query": {"match_all": {}}}',
    "_id:1",
    "title:*",
    "flood\x00warning",
    "ÅÄÖ ñ ß İ 東京 🔥",
    "\u202eflood",
    "a*b*c?d",
    "NOT NOT NOT flood",
    "(((((((((((((((((((((((((((((((flood)))))))))))))))))))))))))))))))",
    "a (b OR (c (d OR (e (f OR (g (h OR (i (j OR (k (l OR (m (n OR (o p))))))))))))))",
    " ".join(["flood"] * 333),
    " OR ".join(f"word{i}" for i in range(150)) + " OR shellfish",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_break_the_backend(corpus: IndexBackend, query: str) -> None:
    with contextlib.suppress(QuerySyntaxError):
        search(corpus, query)
    assert corpus.count() == len(CORPUS)


def test_long_queries_match(corpus: IndexBackend) -> None:
    assert ids(corpus, HOSTILE[-2]) == {"flood-1", "drought-1"}
    assert ids(corpus, HOSTILE[-1]) == {"markets-1"}


# -- filters -------------------------------------------------------------------------------


def test_entity_filter_is_any_of(corpus: IndexBackend) -> None:
    assert ids(corpus, "", entities=(SPAIN[0],)) == {"drought-1"}
    assert ids(corpus, "", entities=(SPAIN[0], ZURICH[0], "Q-none")) == {"drought-1", "cafe-1"}
    assert ids(corpus, "flood", entities=(SPAIN[0], SEVERN[0])) == {"drought-1", "flood-1"}
    assert ids(corpus, "olive", entities=(SEVERN[0],)) == set()


def test_topic_filter(corpus: IndexBackend) -> None:
    assert ids(corpus, "", topic="weather") == {"flood-1", "drought-1", "climate-2", "de-1"}
    assert ids(corpus, "flood", topic="agriculture") == {"drought-1"}
    assert ids(corpus, "", topic="Weather") == set()  # topic tags are exact
    assert ids(corpus, "", topic="none") == set()


def test_source_filter_is_case_insensitive_exact(corpus: IndexBackend) -> None:
    assert ids(corpus, "", source="reuters") == {"drought-1", "shell-1"}
    assert ids(corpus, "", source="REUTERS") == {"drought-1", "shell-1"}
    assert ids(corpus, "", source="bbc news") == {"flood-1", "climate-2"}
    assert ids(corpus, "flood", source="Reuters") == {"drought-1"}
    assert ids(corpus, "", source="Reut") == set()
    assert ids(corpus, "", source="BBC") == set()


def test_date_filters_are_inclusive(corpus: IndexBackend) -> None:
    assert ids(corpus, "", since=day(7, 1)) == {"covid-1", "de-1"}
    assert ids(corpus, "", until=day(1, 15)) == {"cafe-1"}
    assert ids(corpus, "", since=day(3, 5), until=day(4, 1)) == {"drought-1", "shell-1"}
    assert ids(corpus, "flood", since=day(3, 1)) == {"drought-1"}
    cet = timezone(timedelta(hours=1))  # the same instant in another zone
    assert ids(corpus, "", since=datetime(2024, 7, 2, 1, 0, tzinfo=cet)) == {"de-1"}
    assert ids(corpus, "", until=datetime(2024, 1, 15)) == {"cafe-1"}  # naive means UTC
    assert "markets-1" not in ids(corpus, "", since=day(1, 1))  # no date: not in a range


def test_language_filter(corpus: IndexBackend) -> None:
    assert ids(corpus, "", language="de") == {"de-1"}
    assert ids(corpus, "", language="DE") == {"de-1"}
    assert ids(corpus, "bayern OR flood", language="en") == {"flood-1", "drought-1"}


def test_filters_combine(corpus: IndexBackend) -> None:
    found = ids(
        corpus, "flood OR climate OR pegel", topic="weather", source="bbc news",
        since=day(2, 1), until=day(6, 30), language="en",
    )  # fmt: skip
    assert found == {"flood-1", "climate-2"}


# -- facets, pages ---------------------------------------------------------------------------


def test_facets(corpus: IndexBackend) -> None:
    facets = corpus.facets(SearchRequest())
    assert list(facets) == ["source", "topics", "entity_names", "language"]
    assert facets["source"] == [
        ("AP", 2), ("BBC News", 2), ("Reuters", 2), ("SwissInfo", 1), ("Tagesschau", 1),
        ("The Guardian", 1),
    ]  # fmt: skip
    assert facets["topics"] == [
        ("weather", 4), ("climate", 2), ("markets", 2), ("agriculture", 1), ("health", 1),
    ]  # fmt: skip
    assert facets["entity_names"][:3] == [("Bayern", 1), ("Europe", 1), ("Federal Reserve", 1)]
    assert len(facets["entity_names"]) == 8
    assert facets["language"] == [("en", 8), ("de", 1)]


def test_facets_follow_query_and_filters(corpus: IndexBackend) -> None:
    request = SearchRequest(query="flood OR climate OR pegel", topic="weather", limit=1)
    facets = corpus.facets(request, fields=("source", "entity_ids", "language"), size=2)
    assert facets == {
        "source": [("BBC News", 2), ("Reuters", 1)],
        "entity_ids": [(SEVERN[0], 1), (SPAIN[0], 1)],
        "language": [("en", 3), ("de", 1)],
    }
    assert corpus.facets(SearchRequest(query="nonexistentword")) == {
        "source": [], "topics": [], "entity_names": [], "language": [],
    }  # fmt: skip
    assert corpus.facets(SearchRequest(), fields=("topics",), size=0) == {"topics": []}
    with pytest.raises(NewswatchError, match="unknown facet 'author'"):
        corpus.facets(SearchRequest(), fields=("author",))


def test_pagination_and_total(corpus: IndexBackend) -> None:
    pages = [search(corpus, "", limit=4, offset=offset) for offset in (0, 4, 8, 12)]
    assert [p.total for p in pages] == [len(CORPUS)] * 4
    assert [len(p.hits) for p in pages] == [4, 4, 1, 0]
    assert [h.id for p in pages for h in p.hits] == NEWEST_FIRST
    ranked = search(corpus, "flood OR climate", limit=1, offset=1)
    assert ranked.total == 4 and len(ranked.hits) == 1
    assert search(corpus, "flood", limit=0) == SearchResult(total=2, hits=[])
    whole = [h.id for h in search(corpus, "flood OR climate OR weather", limit=100).hits]
    paged = [
        h.id for o in range(0, 6, 2)
        for h in search(corpus, "flood OR climate OR weather", limit=2, offset=o).hits
    ]  # fmt: skip
    assert paged == whole


# -- stories -------------------------------------------------------------------------------


def story(story_id: str, updated: datetime, **more: Any) -> StoryDoc:
    return StoryDoc(
        id=story_id,
        title=more.pop("title", f"Story {story_id}"),
        first_seen=updated - timedelta(days=2),
        last_updated=updated,
        article_ids=more.pop("article_ids", (f"{story_id}-a", f"{story_id}-b")),
        outlets=more.pop("outlets", ("AP", "Reuters")),
        **more,
    )


STORIES = [
    story("s1", day(3, 1), topics=("weather",), entities=(SEVERN[:2],)),
    story("s2", day(5, 1), topics=("markets", "weather"), entities=(SHELL[:2], FED[:2])),
    story("s3", day(4, 1), topics=("climate",), entities=(EUROPE[:2],)),
    story("s4", day(6, 1)),
]


def test_stories(backend: IndexBackend) -> None:
    assert backend.list_stories() == []
    assert backend.upsert_stories(STORIES) == 4
    assert backend.list_stories() == [STORIES[3], STORIES[1], STORIES[2], STORIES[0]]
    assert [s.id for s in backend.list_stories(topic="weather")] == ["s2", "s1"]
    assert [s.id for s in backend.list_stories(entities=(FED[0], EUROPE[0]))] == ["s2", "s3"]
    assert [s.id for s in backend.list_stories(topic="weather", entities=(SEVERN[0],))] == ["s1"]
    assert [s.id for s in backend.list_stories(limit=2, offset=1)] == ["s2", "s3"]
    assert backend.list_stories(limit=0) == []
    assert backend.count() == 0  # stories are not articles
    grown = replace(STORIES[0], title="Severn floods spread", last_updated=day(7, 1),
                    article_ids=("s1-a", "s1-b", "s1-c"), topics=("weather", "flood"))
    assert backend.upsert_stories([grown]) == 1
    listed = backend.list_stories()
    assert listed[0] == grown and len(listed) == 4
    assert [s.id for s in backend.list_stories(topic="flood")] == ["s1"]
    assert backend.delete_stories(["s2", "nope", "s2"]) == 1
    assert [s.id for s in backend.list_stories()] == ["s1", "s4", "s3"]
    assert backend.list_stories(entities=(FED[0],)) == []
    assert backend.delete_stories([]) == 0


# -- the demo site: the same hits on both backends -------------------------------------------

TOPIC_ENTITIES = {
    "dprk-russia": (("Q423", "North Korea", "place"), ("Q159", "Russia", "place")),
    "arms-transfers": (("Q1016", "Libya", "place"),),
    "sanctions": (("Q458", "European Union", "organisation"),),
    "weather": (("key:place:riverton", "Riverton", "place"),),
    "markets": (("key:organisation:central-bank", "Central Bank", "organisation"),),
}


def demo_docs() -> list[IndexDoc]:
    """The demo site's articles, as the pipeline would index them (entities from topics)."""
    names = {o.slug: o.name for o in OUTLETS}
    docs = []
    for a in load_articles():
        entities = tuple(e for t in a.topics for e in TOPIC_ENTITIES.get(t, ()))
        docs.append(
            IndexDoc(
                id=f"{a.outlet}--{a.slug}", url=f"http://{a.outlet}.demo.test{a.path()}",
                title=a.title, body="\n\n".join(a.paragraphs), source=names[a.outlet],
                published=a.published, ingested=a.published, language="en",
                entities=tuple(dict.fromkeys(entities)), topics=a.topics, story_id=a.story,
            )
        )  # fmt: skip
    return docs


DEMO_QUERIES = [
    "North Korea artillery",
    '"artillery shells"',
    "Tobruk -Libya",
    "title:sanctions",
    "weather OR storm",
    "Pyongyang OR DPRK",
    '"North Korean"',
    "shell*",
    "title:(north korea)",
    "Russia's",
    "sanction* -iranian",
    "drone* OR missile*",
    '"central bank"',
    "fire NOT warehouse",
    "sh?ll?",
    "NOT korea",
    "",
]
DEMO_TOP = {  # queries whose best hit is clear: the same on both backends
    "weather OR storm": "channel9--storm-warning-damaging-winds-heavy-rain-friday-night",
    "title:(north korea)": None,
    '"central bank"': "ledger--central-bank-holds-rates-signals-cut-early-next-year",
    "Pyongyang OR DPRK": "newsroom24--pyongyang-secretly-sending-munitions-to-moscow-via-libya",
}


@pytest.fixture(scope="module")
def demo_backends(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[dict[str, IndexBackend]]:
    """The demo site indexed on both backends."""
    home = tmp_path_factory.mktemp("demo") / "home"
    backends = {kind: _open(kind, request, home) for kind in BACKENDS}
    docs = demo_docs()
    for backend in backends.values():
        assert backend.upsert_many(docs) == len(docs)
    yield backends
    for backend in backends.values():
        backend.close()


@pytest.mark.parametrize("query", DEMO_QUERIES)
def test_demo_site_same_hits_on_both_backends(
    demo_backends: dict[str, IndexBackend], query: str
) -> None:
    results = {
        name: b.search(SearchRequest(query=query, limit=100)) for name, b in demo_backends.items()
    }
    found = {name: {h.id for h in r.hits} for name, r in results.items()}
    assert found["embedded"], f"{query!r} should find something in the demo"
    assert found["elasticsearch"] == found["embedded"]
    assert results["elasticsearch"].total == results["embedded"].total == len(found["embedded"])
    if query in DEMO_TOP:
        tops = {name: r.hits[0].id for name, r in results.items()}
        assert tops["elasticsearch"] == tops["embedded"]
        assert DEMO_TOP[query] in (None, tops["embedded"])
    for name, result in results.items():  # snippets mark what matched, on both
        for hit in result.hits:
            assert hit.snippet, (name, hit.id)


@pytest.mark.parametrize(
    "filters",
    [
        {"entities": ("Q423",)},
        {"topic": "sports"},
        {"source": "the daily ledger"},
        {"since": datetime(2026, 11, 12, tzinfo=UTC)},
        {"query": "munitions OR shells", "source": "NEWSROOM24"},
    ],
)
def test_demo_site_same_filters_and_facets(
    demo_backends: dict[str, IndexBackend], filters: dict[str, Any]
) -> None:
    request = SearchRequest(limit=100, **filters)
    found = {n: {h.id for h in b.search(request).hits} for n, b in demo_backends.items()}
    assert found["embedded"] and found["elasticsearch"] == found["embedded"]
    facets = {n: b.facets(request, size=20) for n, b in demo_backends.items()}
    assert facets["elasticsearch"] == facets["embedded"]


def test_random_queries_agree_on_both_backends(demo_backends: dict[str, IndexBackend]) -> None:
    """Differential check: random queries over the demo's words find the same articles."""
    rng = random.Random(11)
    docs = demo_docs()
    vocabulary = sorted({w.lower() for d in docs for w in d.title.split()} | {
        "north", "korea", "russia's", "shells", "artillery", "tobruk", "libya", "u.s.",
        "sanctions", "storm", "café", "iran", "drones", "covid-19", "rates", "the", "said",
    })  # fmt: skip

    def leaf() -> str:
        word, roll = rng.choice(vocabulary), rng.random()
        if roll < 0.15:
            return f'"{word} {rng.choice(vocabulary)}"'
        if roll < 0.3 and word.isalnum() and len(word) > 3:
            return word[: rng.randint(2, len(word) - 1)] + rng.choice("*?")
        if roll < 0.4:
            return f"{rng.choice(['title', 'body'])}:{word}"
        return word

    def query(depth: int = 0) -> str:
        roll = rng.random()
        if depth > 2 or roll < 0.3:
            return leaf()
        left, right = query(depth + 1), query(depth + 1)
        if roll < 0.65:
            return f"({left} OR {right})"
        if roll < 0.8:
            return f"{left} {right}"
        if roll < 0.9:
            return f"{left} -{leaf()}"
        return f"NOT {left}"

    outcomes = []
    for _ in range(400):
        text = query()
        found = {}
        for name, backend in demo_backends.items():
            try:
                found[name] = {h.id for h in backend.search(SearchRequest(text, limit=100)).hits}
            except QuerySyntaxError:
                found[name] = None
        assert found["elasticsearch"] == found["embedded"], text
        outcomes.append(found["embedded"])
    assert sum(1 for o in outcomes if o and len(o) < len(docs)) > 150  # mostly informative


# -- matching watches against a batch of new documents -------------------------------------


def test_match_agrees_with_search_on_both_backends(demo_backends: dict[str, IndexBackend]) -> None:
    """Watches are matched with ``match`` over a batch of document ids: it must find exactly
    what ``search`` finds among those ids, on both backends, and a bad query must only fail
    its own request."""
    docs = demo_docs()
    batch = [d.id for d in docs][::2]
    requests = [SearchRequest(query=q) for q in DEMO_QUERIES] + [
        SearchRequest(entities=("Q423",)), SearchRequest(topic="sports"),
        SearchRequest(source="the daily ledger"), SearchRequest(query="", topic="sanctions"),
        SearchRequest(query="munitions OR shells", source="NEWSROOM24"),
        SearchRequest(query="NOT shells"), SearchRequest(query="shel*"),
        SearchRequest(query="(unbalanced"),
    ]
    matched = {}
    for name, backend in demo_backends.items():
        outcomes = backend.match(requests, batch)
        assert len(outcomes) == len(requests)
        assert outcomes[-1].error and not outcomes[-1].ids  # the malformed query
        for request, outcome in zip(requests[:-1], outcomes[:-1], strict=True):
            assert not outcome.error, (name, request, outcome.error)
            found = {h.id for h in backend.search(replace(request, limit=100)).hits}
            assert outcome.ids == found & set(batch), (name, request)
        matched[name] = [o.ids for o in outcomes]
    assert matched["elasticsearch"] == matched["embedded"]
    assert any(matched["embedded"])
    assert all(not o.ids for o in demo_backends["embedded"].match(requests, []))
