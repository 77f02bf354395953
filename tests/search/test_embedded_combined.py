"""The embedded index compiles what FTS5 can say by itself to ONE MATCH (``search.embedded_query``)
and counts the facets of a search finding most of the index from the totals
(``search.embedded_facets``): the same totals, hits, order, scores and facets as one MATCH
per word (the compilation before) and as counting the documents themselves."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import QuerySyntaxError
from core.models import IndexDoc, SearchRequest
from search.embedded import EmbeddedIndex, _page
from search.embedded_facets import facets
from search.embedded_query import QueryCompiler, filter_sql
from search.query import parse_query

NOW = datetime(2026, 11, 20, tzinfo=UTC)
WORDS = ["storm", "rates", "shells", "port", "oil", "grain", "bosnia", "herzegovina", "and",
         "the", "stormy", "portal", "oilfield", "ceasefire"]
CYRILLIC = ["москва", "санкции"]
FIELDS = ("source", "language", "topics", "entity_ids", "entity_names")


def make_docs(n: int, seed: int = 3) -> list[IndexDoc]:
    rng = random.Random(seed)

    def text(k: int) -> str:
        words = [rng.choice(WORDS) for _ in range(k)]
        if rng.random() < 0.1:
            words.append(rng.choice(CYRILLIC))
        return " ".join(words)

    return [IndexDoc(
        id=f"d{i}", url=f"https://news.example/{i}", title=text(rng.randint(2, 5)),
        body=text(rng.randint(5, 30)), source=rng.choice(["Ledger", "Harbour Post", "Wire"]),
        published=None if rng.random() < 0.1 else NOW - timedelta(hours=rng.randint(0, 50)),
        ingested=NOW, language=rng.choice(["en", "en", "en", "de", ""]),
        entities=tuple({(f"Q{rng.randint(1, 6)}", f"Name {rng.randint(1, 6)}", "org")
                        for _ in range(rng.randint(0, 3))}),
        topics=tuple(rng.sample(["conflict", "energy", "markets"], rng.randint(0, 2))),
    ) for i in range(n)]


def random_query(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 2 or roll < 0.35:
        word = rng.choice(WORDS + CYRILLIC[:1])
        kind = rng.random()
        if kind < 0.1:
            return f'"{word} {rng.choice(WORDS)}"'
        if kind < 0.2:
            return word[:3] + "*"
        if kind < 0.25:
            return word[:2] + "?" + word[3:4] + "*" if len(word) > 4 else word
        if kind < 0.35:
            return f"{rng.choice(['title', 'body'])}:{word}"
        return word
    parts = [random_query(rng, depth + 1) for _ in range(rng.randint(2, 3))]
    op = rng.choice([" ", " AND ", " OR ", " -", " NOT "])
    joined = op.join(parts) if op != " -" else parts[0] + " -" + " -".join(parts[1:])
    return f"({joined})" if rng.random() < 0.5 else joined


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedIndex, list[IndexDoc]]]:
    docs = make_docs(300)
    index = EmbeddedIndex(tmp_path_factory.mktemp("combined") / "index.sqlite")
    index.upsert_many(docs)
    yield index, docs
    index.close()


def reference(index: EmbeddedIndex, request: SearchRequest) -> tuple[int, list[tuple[str, float]]]:
    """Total and every hit (id, score), best first, as one MATCH per word found them."""
    with index._reading() as conn:
        compiler = QueryCompiler(conn, combine=False)
        where = compiler.sql(parse_query(request.query))
        filters, filter_args = filter_sql(request)
        clause = " AND ".join([where, *filters])
        args = [*compiler.params, *filter_args]
        total = conn.execute(f"SELECT count(*) FROM doc_facets d WHERE {clause}", args)
        count = int(total.fetchone()[0])
        rank = " OR ".join(f"({m})" for m in dict.fromkeys(compiler.ranked))
        rank_terms = " OR ".join(f"({m})" for m in dict.fromkeys(compiler.ranked_terms))
        rows = _page(conn, clause, args, rank, 1000, 0, request.sort == "date", rank_terms)
        ids = dict(conn.execute("SELECT rowid, id FROM docs"))
    return count, [(ids[rowid], score) for rowid, score in rows]


def test_random_queries_find_rank_and_score_as_one_match_per_word(corpus) -> None:
    index, _docs = corpus
    rng = random.Random(11)
    compared = fast = 0
    for _ in range(400):
        query = random_query(rng)
        filters = rng.choice([{}, {}, {"source": "ledger"}, {"language": "en"},
                              {"topic": "energy"}, {"since": NOW - timedelta(hours=20)}])
        request = SearchRequest(query=query, limit=1000, sort=rng.choice(["relevance", "date"]),
                                **filters)  # type: ignore[arg-type]
        try:
            result = index.search(request)
        except QuerySyntaxError:
            continue
        total, hits = reference(index, request)
        assert result.total == total, query
        assert [(h.id, h.score) for h in result.hits] == hits, query
        compared += 1
        with index._reading() as conn:
            compiler = QueryCompiler(conn)
            compiler.sql(parse_query(query))
            fast += compiler.single is not None and compiler.exact_rank
    assert compared > 300
    assert fast > 100  # most queries take the one-MATCH path


@pytest.mark.parametrize(("query", "single", "exact"), [
    ("storm rates", True, True),
    ("storm OR rates", True, True),
    ('"bosnia and" herzegovina -rates', True, True),
    ("title:storm sto* -(oil OR grain)", True, True),
    ("storm (storm OR rates)", True, False),  # storm twice: bm25 would count it twice
    ("storm -(oil grain)", True, False),  # a found document may hold oil
    ("storm OR -rates", False, False),
    ("-storm", False, False),
    ("storm москва", False, False),  # the analysed terms are another table
])
def test_which_queries_become_one_match(corpus, query: str, single: bool, exact: bool) -> None:
    index, _docs = corpus
    with index._reading() as conn:
        compiler = QueryCompiler(conn)
        compiler.sql(parse_query(query))
    assert (compiler.single is not None) is single
    assert compiler.exact_rank is exact or not single


def counted(docs: list[IndexDoc], size: int = 10) -> dict[str, list[tuple[str, int]]]:
    counters = {
        "source": Counter(d.source for d in docs),
        "language": Counter(d.language for d in docs if d.language),
        "topics": Counter(t for d in docs for t in set(d.topics)),
        "entity_ids": Counter(e for d in docs for e in {x[0] for x in d.entities}),
        "entity_names": Counter(e for d in docs for e in {x[1] for x in d.entities}),
    }
    return {name: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:size]
            for name, c in counters.items()}


@pytest.mark.parametrize("request_", [
    SearchRequest(language="en"),
    SearchRequest(query="the"),
    SearchRequest(query="-ceasefire"),
    SearchRequest(query="storm OR the OR and", source="Ledger"),
    SearchRequest(since=NOW - timedelta(hours=40)),
    SearchRequest(query="oil*", topic="energy"),
])
def test_facets_from_the_totals_equal_counting_the_matches(corpus, request_) -> None:
    index, docs = corpus
    found = {h.id for h in index.search(SearchRequest(
        query=request_.query, source=request_.source, topic=request_.topic,
        language=request_.language, since=request_.since, limit=1000)).hits}
    expected = counted([d for d in docs if d.id in found])
    node = parse_query(request_.query)
    for matches in (None, 0, len(found), 10**9):  # the hint only chooses how to count
        with index._reading() as conn:
            assert facets(conn, node, request_, FIELDS, 10, matches) == expected
    assert index.facets(request_, FIELDS, 10) == expected


def test_facets_from_the_totals_follow_writes(tmp_path: Path) -> None:
    docs = make_docs(60, seed=5)
    with EmbeddedIndex(tmp_path / "index.sqlite") as index:
        index.upsert_many(docs)
        changed = [IndexDoc(**{**d.__dict__, "language": "de", "source": "Wire"})
                   for d in docs[:20]]
        index.upsert_many(changed)
        index.delete([d.id for d in docs[50:]])
        now = {d.id: d for d in [*changed, *docs[20:50]]}
        request = SearchRequest(language="de")
        index.search(request)  # the hint: most of the index? counted either way
        expected = counted([d for d in now.values() if d.language == "de"])
        assert index.facets(request, FIELDS, 10) == expected
        with index._reading() as conn:
            assert facets(conn, parse_query(""), request, FIELDS, 10, 10**9) == expected


def test_many_negated_words_in_one_match(corpus) -> None:
    index, docs = corpus
    excluded = ["rates", "shells", "port", "oil", "grain", "bosnia", "and", "ceasefire"]
    query = "storm " + " ".join(f"-{w}{i}" for i in range(150) for w in excluded[:1])
    query += " " + " ".join(f"-{w}" for w in excluded)
    request = SearchRequest(query=query, limit=1000)
    assert [(h.id, h.score) for h in index.search(request).hits] == reference(index, request)[1]
    words = [set(f"{d.title} {d.body}".split()) for d in docs]
    assert index.search(request).total == sum(
        "storm" in w and not w & set(excluded) for w in words)
