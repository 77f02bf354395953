"""What one query may cost: the limits of the query language (search/query.py) and the time
budget both backends put on a search. Each refusal is a QueryLimitError naming its limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import ConnectionTimeout

from core.models import IndexDoc, SearchRequest
from core.settings import Settings
from search.elastic import ElasticIndex
from search.embedded import EmbeddedIndex
from search.embedded_query import MAX_EXPANSIONS
from search.query import (
    MAX_LEADING_WILDCARDS,
    MAX_TERMS,
    MAX_WILDCARD_TERMS,
    QUERY_TIME_BUDGET_MS,
    And,
    Or,
    QueryLimitError,
    Term,
    parse_query,
)

NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)


def refused(query: str) -> QueryLimitError:
    with pytest.raises(QueryLimitError) as info:
        parse_query(query)
    message = str(info.value)
    assert message.startswith("invalid query") and str(info.value.maximum) in message
    return info.value


def test_the_attack_query_is_refused_at_once() -> None:
    began = time.monotonic()
    error = refused("*q* " * 500)  # 2,000 characters: 20-50 s on 1,000 articles before
    assert time.monotonic() - began < 1
    assert (error.limit, error.maximum) == ("leading_wildcards", MAX_LEADING_WILDCARDS)
    assert "500 words starting with * or ?" in str(error)


def test_leading_wildcards() -> None:
    parse_query(" ".join(f"*{c}x" for c in "abc"[:MAX_LEADING_WILDCARDS]))
    error = refused("*ax ?bx *cx title:*dx")
    assert (error.limit, error.maximum) == ("leading_wildcards", 3)
    assert error.position == len("*ax ?bx *cx title:")  # the first one over the limit


def test_wildcard_words_count_as_written() -> None:
    within = " OR ".join(f"w{i}*" for i in range(MAX_WILDCARD_TERMS))
    assert isinstance(parse_query(within), Or)
    error = refused(within + " OR w10*")
    assert (error.limit, error.maximum) == ("wildcard_terms", MAX_WILDCARD_TERMS)
    assert "11 words with wildcards" in str(error)
    assert refused("shell* " * 11).limit == "wildcard_terms"  # repeated, still expanded each


def test_words_and_phrases() -> None:
    words = [f"w{i}" for i in range(MAX_TERMS)]
    assert len(parse_query(" ".join(words)).items) == MAX_TERMS  # type: ignore[union-attr]
    error = refused(" ".join(words) + ' "one more"')
    assert (error.limit, error.maximum) == ("terms", MAX_TERMS)
    assert "201 words and phrases" in str(error)


def test_a_repeated_part_counts_once() -> None:
    assert parse_query("flood " * 333) == Term("flood")
    a, b, c = Term("a"), Term("b"), Term("c")
    assert parse_query("a b a b OR c OR c") == And((a, b, Or((b, c))))  # a b a (b OR c OR c)
    assert parse_query(" ".join(["(a OR b)"] * 200)) == Or((a, b))
    # the contract suite's long query: 151 different words
    assert len(parse_query(" OR ".join(f"word{i}" for i in range(150)) + " OR shellfish")
               .items) == 151  # type: ignore[union-attr]


def test_the_older_limits_name_themselves() -> None:
    assert refused("x" * 2001).limit == "query_chars"
    assert refused("(" * 33 + "x" + ")" * 33).limit == "depth"
    assert refused("a" + "?*" * 9).limit == "wildcards_per_word"


def test_documented_queries_are_within_the_limits() -> None:
    for query in ['"artillery shells" AND (Libya OR Tobruk) -opinion', "title:sanctions",
                  "shell*", "sh?ll", "*fish", "(drought OR flood) spain", "title:(flood OR drought)",
                  'body:"interest rate"', "NOT climate", "*", 'covid-19 U.S. "10:30"']:
        parse_query(query)


# -- the time budget ---------------------------------------------------------------------


def _vocabulary(n: int) -> list[IndexDoc]:
    """Documents holding ``n`` different words, so scanning the vocabulary takes a while."""
    docs = []
    for d in range(n // 500):
        words = " ".join(f"word{d}x{i}" for i in range(500))
        docs.append(IndexDoc(id=f"d{d}", url=f"https://news.example/{d}", title=f"Doc {d}",
                             body=words, source="Wire", published=NOW, ingested=NOW))
    return docs


@pytest.fixture
def wide(tmp_path: Path) -> Iterator[EmbeddedIndex]:
    with EmbeddedIndex(tmp_path / "wide.sqlite") as index:
        index.upsert_many(_vocabulary(5000))
        yield index


def test_embedded_search_stops_when_its_budget_is_spent(wide: EmbeddedIndex) -> None:
    assert wide.query_budget_ms == QUERY_TIME_BUDGET_MS
    request = SearchRequest(query="*zq*")  # scans 5,000 words, matches none
    assert wide.search(request).total == 0
    wide.query_budget_ms = 0
    for run in (wide.search, wide.facets):
        with pytest.raises(QueryLimitError, match="time limit of 0 ms") as info:
            run(request)  # type: ignore[operator]
        assert (info.value.limit, info.value.maximum) == ("time_ms", 0)
    outcome = wide.match([request], ["d0", "d1"])[0]
    assert outcome.error and "time limit" in outcome.error
    wide.query_budget_ms = QUERY_TIME_BUDGET_MS  # the same connection works afterwards
    assert wide.search(SearchRequest(query="word3x7")).total == 1
    assert wide.facets(SearchRequest(query="word3x7"), ("source",))["source"] == [("Wire", 1)]


def test_embedded_wildcard_expansions_name_their_limit(wide: EmbeddedIndex) -> None:
    with pytest.raises(QueryLimitError) as info:
        wide.search(SearchRequest(query="word?x*"))
    assert (info.value.limit, info.value.maximum) == ("wildcard_expansions", MAX_EXPANSIONS)


class _Client:
    """Stands in for the Elasticsearch client of one search (see ElasticIndex._searching)."""

    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer
        self.options_given: dict[str, Any] = {}
        self.sent: dict[str, Any] = {}

    def options(self, **given: Any) -> _Client:
        self.options_given = given
        return self

    def search(self, **body: Any) -> dict[str, Any]:
        self.sent = body
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _elastic(tmp_path: Path, client: _Client) -> ElasticIndex:
    settings = Settings(home=tmp_path, index="elasticsearch", es_url="http://127.0.0.1:9")
    index = ElasticIndex(settings, ensure_schema=False)
    index.client.close()
    index.client = client  # type: ignore[assignment]
    return index


def test_elasticsearch_searches_carry_the_budget_and_refuse_partial_answers(
    tmp_path: Path,
) -> None:
    partial = {"timed_out": True, "hits": {"total": {"value": 3}, "hits": []},
               "aggregations": {}}
    client = _Client(partial)
    index = _elastic(tmp_path, client)
    with pytest.raises(QueryLimitError, match=f"time limit of {QUERY_TIME_BUDGET_MS} ms"):
        index.search(SearchRequest(query="ferry"))
    assert client.sent["timeout"] == f"{QUERY_TIME_BUDGET_MS}ms"
    assert client.options_given == {"request_timeout": QUERY_TIME_BUDGET_MS / 1000 + 5.0,
                                    "retry_on_timeout": False}
    with pytest.raises(QueryLimitError):
        index.facets(SearchRequest(query="ferry"), ("source",))
    assert client.sent["timeout"] == f"{QUERY_TIME_BUDGET_MS}ms"


def test_elasticsearch_client_timeout_is_the_time_limit(tmp_path: Path) -> None:
    index = _elastic(tmp_path, _Client(ConnectionTimeout("timed out")))
    index.query_budget_ms = 250
    with pytest.raises(QueryLimitError, match="time limit of 250 ms") as info:
        index.search(SearchRequest(query="ferry"))
    assert (info.value.limit, info.value.maximum) == ("time_ms", 250)
