"""The embedded index's facet tables (``search.embedded_facets``): counts equal to counting the
documents, kept through updates and deletes, built when an older index is opened, and
never read from the documents table."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.models import IndexDoc, SearchRequest
from search.embedded import SCHEMA_VERSION, EmbeddedIndex
from search.embedded_facets import SCHEMA

NOW = datetime(2026, 11, 20, tzinfo=UTC)
FIELDS = ("source", "language", "topics", "entity_ids", "entity_names")


def make_docs(n: int, seed: int = 1) -> list[IndexDoc]:
    rng = random.Random(seed)
    return [IndexDoc(
        id=f"d{i}", url=f"https://news.example/{i}", title=f"Story {i} " + rng.choice(["port", "oil"]),
        body=rng.choice(["shells at the port", "oil prices", "grain and oil"]),
        source=rng.choice(["Ledger", "Newsroom24", "Harbour Post"]),
        published=NOW - timedelta(hours=i), ingested=NOW, language=rng.choice(["en", "de", ""]),
        entities=tuple({(f"Q{rng.randint(1, 4)}", f"Name {rng.randint(1, 4)}", "org")
                        for _ in range(rng.randint(0, 2))}),
        topics=tuple(rng.sample(["conflict", "energy", "sports"], rng.randint(0, 2))),
    ) for i in range(n)]


def expected(docs: list[IndexDoc], size: int = 10) -> dict[str, list[tuple[str, int]]]:
    """Facets by counting the documents themselves."""
    counters = {
        "source": Counter(d.source for d in docs),
        "language": Counter(d.language for d in docs),
        "topics": Counter(t for d in docs for t in set(d.topics)),
        "entity_ids": Counter(e for d in docs for e in {x[0] for x in d.entities}),
        "entity_names": Counter(e for d in docs for e in {x[1] for x in d.entities}),
    }
    return {name: sorted(((v, n) for v, n in c.items() if v), key=lambda kv: (-kv[1], kv[0]))[:size]
            for name, c in counters.items()}


def test_whole_index_facets_follow_writes(tmp_path: Path) -> None:
    docs = make_docs(60)
    with EmbeddedIndex(tmp_path / "index.sqlite") as idx:
        idx.upsert_many(docs)
        assert idx.facets(SearchRequest(), FIELDS) == expected(docs)
        changed = [IndexDoc(**{**d.__dict__, "source": "Ledger", "language": "fr",
                               "topics": ("energy",), "entities": ()}) for d in docs[:10]]
        idx.upsert_many(changed)  # a new revision moves its counts
        idx.delete([d.id for d in docs[50:]])
        now = changed + docs[10:50]
        assert idx.facets(SearchRequest(), FIELDS) == expected(now)
        assert idx.facets(SearchRequest(), FIELDS, size=2) == expected(now, 2)


def test_facets_of_a_search_count_its_matches(tmp_path: Path) -> None:
    docs = make_docs(60, seed=2)
    with EmbeddedIndex(tmp_path / "index.sqlite") as idx:
        idx.upsert_many(docs)
        for request, keep in [
            (SearchRequest("oil"), lambda d: "oil" in f"{d.title} {d.body}".lower()),
            (SearchRequest(language="de"), lambda d: d.language == "de"),
            (SearchRequest("port", source="ledger"),
             lambda d: "port" in f"{d.title} {d.body}".lower() and d.source == "Ledger"),
            (SearchRequest("NOT oil", topic="energy"),
             lambda d: "oil" not in f"{d.title} {d.body}".lower() and "energy" in d.topics),
        ]:
            assert idx.facets(request, FIELDS) == expected([d for d in docs if keep(d)]), request


def test_an_older_index_gets_its_facet_tables_on_opening(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    docs = make_docs(40, seed=3)
    with EmbeddedIndex(path) as idx:
        idx.upsert_many(docs)
    conn = sqlite3.connect(path)  # as version 3 left it: no facet tables, no triggers
    for kind, name in conn.execute("SELECT type, name FROM sqlite_master WHERE type IN "
                                   "('table', 'trigger') AND (name LIKE '%facet%')").fetchall():
        conn.execute(f"DROP {kind} {name}")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    with EmbeddedIndex(path) as idx:
        assert idx.facets(SearchRequest(), FIELDS) == expected(docs)
        assert idx.facets(SearchRequest("oil"), FIELDS) == expected(
            [d for d in docs if "oil" in f"{d.title} {d.body}".lower()])
        idx.delete(["d0"])
        assert idx.facets(SearchRequest(), FIELDS) == expected(docs[1:])
        assert idx.search(SearchRequest(language="de")).total == sum(d.language == "de" for d in docs[1:])
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    conn.close()


def test_facets_and_counts_never_read_the_documents_table(tmp_path: Path) -> None:
    """The query plans: facet counts and search totals use the narrow facet table and its
    indexes, never a scan of ``docs`` (whose rows hold the bodies)."""
    with EmbeddedIndex(tmp_path / "index.sqlite") as idx:
        idx.upsert_many(make_docs(30))
        conn = sqlite3.connect(tmp_path / "index.sqlite")
        assert "facet_totals" in SCHEMA
        plans = []
        for sql in [
            "SELECT value, n FROM facet_totals WHERE field = 'source' AND n > 0 AND value != '' "
            "ORDER BY n DESC, value LIMIT 10",
            "SELECT count(*) FROM doc_facets d WHERE d.language = 'de'",
            "SELECT d.source, count(*) FROM doc_facets d WHERE d.source_key = 'ledger' GROUP BY 1",
        ]:
            plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
            plans.append(plan)
            assert "docs " not in plan + " " and "SCAN d" not in plan, plan
        assert "USING INDEX facet_totals_top" in plans[0] or "USING COVERING INDEX" in plans[0]
        conn.close()
