"""Candidate selection for watch matching (``search.percolate``): what ``match`` finds with it
is exactly what every watch's own search finds in the batch, on both backends."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import esserver
import pytest

from core.errors import QuerySyntaxError
from core.models import IndexDoc, SearchRequest
from core.settings import Settings
from search.backend import IndexBackend
from search.factory import open_index
from search.percolate import BatchDoc, QueryCache, candidates, quick_parse
from search.query import parse_query
from search.terms import fts_fold_map, query_terms, text_terms

NOW = datetime(2026, 11, 20, tzinfo=UTC)
PLAIN = ["shells", "artillery", "drones", "port", "cargo", "envoy", "summit", "grain", "oil",
         "tanker", "border", "talks", "frigate", "convoy", "rockets", "kremlin", "covid"]
ODD = ["café", "zürich", "sanctions'", "u.s.", "covid-19", "Øresund", "naïve", "мир",
       "straße", "ﬁnance", "2026", "x"]
TOPICS = ["conflict", "energy", "sports"]
SOURCES = ["The Ledger", "Newsroom24", "Harbour Post"]


def make_docs(rng: random.Random, n: int) -> list[IndexDoc]:
    docs = []
    for i in range(n):
        words = [rng.choice(PLAIN + ODD) for _ in range(rng.randint(3, 25))]
        title = " ".join(rng.choice(PLAIN + ODD) for _ in range(rng.randint(2, 6)))
        docs.append(IndexDoc(
            id=f"d{i:03d}", url=f"https://news.example/{i}", title=title.capitalize(),
            body=" ".join(words), source=rng.choice(SOURCES), published=NOW - timedelta(hours=i),
            ingested=NOW, language=rng.choice(["en", "en", "de", "ru"]),
            entities=tuple({(f"Q{rng.randint(1, 6)}", f"Entity {i}", "org")
                            for _ in range(rng.randint(0, 2))}),
            topics=tuple(rng.sample(TOPICS, rng.randint(0, 2))),
        ))
    return docs


def make_requests(rng: random.Random, n: int) -> list[SearchRequest]:
    """Watches: words, phrases, NOT, OR, wildcards, fields, entity/topic/source/language
    filters, match-all, words in no document, and a few malformed queries."""

    def word() -> str:
        roll = rng.random()
        return rng.choice(ODD) if roll < 0.2 else "absentword" if roll < 0.3 else rng.choice(PLAIN)

    def leaf() -> str:
        roll, w = rng.random(), word()
        if roll < 0.15:
            return f'"{w} {word()}"'
        if roll < 0.3 and w.isalnum() and len(w) > 3:
            return w[: rng.randint(1, len(w) - 1)] + rng.choice("*?")
        if roll < 0.35:
            return "*" + rng.choice(PLAIN)[1:3] + "*"
        if roll < 0.45:
            return f"title:{w}"
        return w

    def query(depth: int = 0) -> str:
        roll = rng.random()
        if depth > 2 or roll < 0.35:
            return leaf()
        left, right = query(depth + 1), query(depth + 1)
        if roll < 0.6:
            return f"({left} OR {right})"
        if roll < 0.8:
            return f"{left} {right}"
        if roll < 0.9:
            return f"{left} -{leaf()}"
        return f"NOT {left}"

    out = []
    for _ in range(n):
        roll = rng.random()
        q = "" if roll < 0.05 else "(broken" if roll < 0.07 else query()
        out.append(SearchRequest(
            query=q,
            entities=(f"Q{rng.randint(1, 8)}",) if rng.random() < 0.15 else (),
            topic=rng.choice(TOPICS) if rng.random() < 0.1 else None,
            source=rng.choice(SOURCES).upper() if rng.random() < 0.08 else None,
            language=rng.choice(["EN", "ru"]) if rng.random() < 0.05 else None,
        ))
    return out


@pytest.fixture(scope="module", params=["embedded", "elasticsearch"])
def indexed(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IndexBackend, list[IndexDoc]]]:
    home = tmp_path_factory.mktemp("percolate") / "home"
    if request.param == "embedded":
        idx = open_index(Settings(home=home))
    else:
        settings = esserver.settings_for(request.getfixturevalue("es_url"), home)
        request.addfinalizer(lambda: esserver.drop_indices(settings))
        idx = open_index(settings)
    docs = make_docs(random.Random(5), 80)
    idx.upsert_many(docs)
    yield idx, docs
    idx.close()


def test_match_finds_exactly_what_each_watch_search_finds(
    indexed: tuple[IndexBackend, list[IndexDoc]],
) -> None:
    idx, docs = indexed
    requests = make_requests(random.Random(9), 400)
    batch = [*[d.id for d in docs][::2], "not-indexed"]
    outcomes = idx.match(requests, batch)
    again = idx.match(requests, batch)  # from the cache of parsed queries: the same
    assert outcomes == again
    hit = 0
    for request, outcome in zip(requests, outcomes, strict=True):
        try:
            brute = {h.id for h in idx.search(replace(request, limit=1000)).hits} & set(batch)
        except QuerySyntaxError as exc:
            assert outcome.error and not outcome.ids, request
            assert outcome.error == str(exc)
            continue
        assert not outcome.error, (request, outcome.error)
        assert outcome.ids == brute, request
        hit += bool(brute)
    assert hit > 100 and hit < len(requests) - 50  # the set is informative both ways


def test_watches_that_cannot_match_are_not_run() -> None:
    docs = [BatchDoc("Artillery shells", "A convoy at the port.", "the ledger", "en", ("Q1",),
                     ("conflict",))]
    requests = [SearchRequest("shells"), SearchRequest("drones"), SearchRequest("shel*"),
                SearchRequest("dro*"), SearchRequest("NOT drones"), SearchRequest(""),
                SearchRequest("shells", topic="sports"), SearchRequest("", entities=("Q1",)),
                SearchRequest('"artillery shells" OR drones'), SearchRequest("drones convoy"),
                SearchRequest("(broken")]
    found = candidates(requests, docs, QueryCache())
    assert found[:10] == [frozenset({0}), frozenset(), frozenset({0}), frozenset(), None, None,
                          frozenset(), frozenset({0}), frozenset({0}), frozenset()]
    assert isinstance(found[10], QuerySyntaxError)


def test_quick_parse_is_parse_query() -> None:
    rng = random.Random(3)
    vocab = ["a", "b", "cd", "x1", "or", "and", "not", "to", "9"]
    checked = 0
    for _ in range(4000):
        parts = []
        for _ in range(rng.randint(1, 6)):
            w, roll = rng.choice(vocab), rng.random()
            parts.append(w if roll < 0.4 else f"-{w}" if roll < 0.55 else
                         f'"{w} {rng.choice(vocab)}"' if roll < 0.65 else f"{w}*" if roll < 0.75
                         else "OR" if roll < 0.9 else f'-"{w}"')
        text = " ".join(parts)
        quick = quick_parse(text)
        if quick is not None:
            checked += 1
            assert quick == parse_query(text), text
    assert checked > 1000
    assert quick_parse("a  b") is None and quick_parse("A") is None  # left to the parser


def test_words_cover_what_fts5_finds() -> None:
    """Every ASCII token FTS5 makes of a text is among ``text_terms``; a query word's
    ``query_terms`` are what FTS5 makes of it, or None."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize='unicode61 remove_diacritics 2')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')")
    samples = ["Zürich's café, U.S.-led", "Øresund BJØRN ﬁnance", "naïve Ⅻ ﬀ", "İstanbul",
               "abc北京def", "x" * 300, "Kelvin K sign", "ǅemal"]
    conn.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", list(enumerate(samples, 1)))
    for doc, text in enumerate(samples, 1):
        tokens = {term for term, in conn.execute("SELECT term FROM v WHERE doc = ?", (doc,))}
        assert {t for t in tokens if t.isascii() and t.isalnum()} <= text_terms(text), text
    assert fts_fold_map()[ord("É")] == "e" and ord("Ø") not in fts_fold_map()  # as FTS5 does
    assert query_terms("zürich") == ("zurich",)
    assert query_terms("covid-19") == ("covid", "19")
    assert query_terms("мир") is None


def test_compiled_requests_are_kept_errors_too() -> None:
    cache, made = QueryCache(size=2), []

    def make(node: object, request: SearchRequest) -> dict[str, str]:
        made.append(request.query)
        if request.query == "bad":
            raise QuerySyntaxError("refused")
        return {"q": request.query}

    first = cache.compiled(SearchRequest("shells"), parse_query("shells"), make)
    assert first == {"q": "shells"}
    assert cache.compiled(SearchRequest("shells"), parse_query("shells"), make) is first
    assert cache.compiled(SearchRequest("shells", topic="sports"), parse_query("shells"),
                          make) == {"q": "shells"}  # other filters: compiled on its own
    error = cache.compiled(SearchRequest("bad"), parse_query("bad"), make)
    assert isinstance(error, QuerySyntaxError)
    assert cache.compiled(SearchRequest("bad"), parse_query("bad"), make) is error
    assert made == ["shells", "shells", "bad"]
    cache.compiled(SearchRequest("shells"), parse_query("shells"), make)  # dropped: size 2
    assert made == ["shells", "shells", "bad", "shells"]
