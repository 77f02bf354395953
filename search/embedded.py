"""The embedded backend: one SQLite file, FTS5 full-text index, BM25 ranking.

The query AST is compiled to SQL (``search.embedded_query``): every part FTS5 can express by
itself (words, phrases, prefixes, wildcards joined by AND / OR, NOT under an AND) becomes ONE
``d.rowid IN (SELECT rowid FROM docs_fts WHERE docs_fts MATCH ?)`` with tokens always
double-quoted; the rest (pure-negative parts, the analysed terms) are SQL boolean operators
around such subqueries. Ranking is ``bm25(docs_fts, 10.0, 1.0)`` (title 10x body) over the OR
of the query's positive leaves; when the query is one MATCH whose own ``bm25`` gives exactly
those scores (``QueryCompiler.exact_rank``), FTS5 finds and scores the page in one pass;
otherwise the OR is joined in. Pages are ranked on the narrow ``doc_facets`` rows and only
the page's documents are read. Queries without positive leaves rank newest first, and so
does ``sort="date"`` (still scored).

Every search, facet count and match runs under a time budget (``query_budget_ms``, by default
:data:`search.query.QUERY_TIME_BUDGET_MS`): one watchdog thread per index interrupts a
statement once its budget is spent (``search.embedded_budget``), and the search fails with
:class:`search.query.QueryLimitError`. Watch matching is in ``search.embedded_match``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from core.models import IndexDoc, SearchHit, SearchRequest, SearchResult, StoryDoc
from search.backend import (
    DEFAULT_FACETS,
    MAX_LIMIT,
    SNIPPET_ELLIPSIS,
    SNIPPET_END,
    SNIPPET_START,
    SNIPPET_TOKENS,
    MatchOutcome,
    iso_utc,
    lead_snippet,
    parse_iso,
    unique_requests,
)
from search.embedded_budget import Deadlines
from search.embedded_facets import facets, upgrade_facets
from search.embedded_match import match_batch
from search.embedded_query import QueryCompiler, filter_sql
from search.embedded_terms import ensure_terms, ranking, write_terms
from search.percolate import QueryCache
from search.query import QUERY_TIME_BUDGET_MS, Node, parse_query

SCHEMA_VERSION = 4  # 4: doc_facets and facet_totals (search.embedded_facets)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    source TEXT NOT NULL,
    source_key TEXT NOT NULL,          -- casefolded source, for case-insensitive filtering
    published TEXT,                    -- ISO 8601, UTC, fixed width: sorts as text
    ingested TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT '',
    revision INTEGER NOT NULL DEFAULT 1,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS docs_published ON docs (published);
CREATE INDEX IF NOT EXISTS docs_source_key ON docs (source_key, published);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5 (
    title, body, content='docs', content_rowid='rowid',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_vocab USING fts5vocab (docs_fts, 'row');
CREATE TRIGGER IF NOT EXISTS docs_ai AFTER INSERT ON docs BEGIN
    INSERT INTO docs_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
CREATE TABLE IF NOT EXISTS doc_tags (      -- filterable keywords: entity ids, topics
    rowid INTEGER NOT NULL,
    kind TEXT NOT NULL,                    -- 'entity' | 'topic'
    value TEXT NOT NULL,
    PRIMARY KEY (kind, value, rowid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_tags_row ON doc_tags (rowid);
CREATE TRIGGER IF NOT EXISTS docs_tags_ad AFTER DELETE ON docs BEGIN
    DELETE FROM doc_tags WHERE rowid = old.rowid;
END;
CREATE TABLE IF NOT EXISTS stories (       -- stories: their own document type
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_updated TEXT NOT NULL,
    doc TEXT NOT NULL                      -- article ids, outlets, entities, topics (JSON)
);
CREATE INDEX IF NOT EXISTS stories_updated ON stories (last_updated);
CREATE TABLE IF NOT EXISTS story_tags (
    story_id TEXT NOT NULL,
    kind TEXT NOT NULL,                    -- 'entity' | 'topic'
    value TEXT NOT NULL,
    PRIMARY KEY (kind, value, story_id)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS docs_ad AFTER DELETE ON docs BEGIN
    INSERT INTO docs_fts (docs_fts, rowid, title, body)
    VALUES ('delete', old.rowid, old.title, old.body);
END;
CREATE TRIGGER IF NOT EXISTS docs_au AFTER UPDATE ON docs BEGIN
    INSERT INTO docs_fts (docs_fts, rowid, title, body)
    VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO docs_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
"""

_UPSERT = """
INSERT INTO docs (id, url, title, body, source, source_key, published, ingested, language,
                  revision, extra)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    url = excluded.url, title = excluded.title, body = excluded.body,
    source = excluded.source, source_key = excluded.source_key,
    published = excluded.published, ingested = excluded.ingested,
    language = excluded.language, revision = excluded.revision, extra = excluded.extra
"""

_HIT_COLUMNS = "d.rowid, d.id, d.url, d.title, d.source, d.published, d.body"


class EmbeddedIndex:
    """An :class:`~search.backend.IndexBackend` in one SQLite file (WAL mode)."""

    def __init__(
        self, path: Path | str, *, query_budget_ms: float = QUERY_TIME_BUDGET_MS
    ) -> None:
        self.path = Path(path)
        self.query_budget_ms = query_budget_ms  # how long one search may run
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()  # the writer connection: one thread at a time
        self._local = threading.local()  # each thread's reader connection
        self._readers: list[sqlite3.Connection] = []
        self._closed = False
        self._queries = QueryCache()  # parsed watch queries, kept across batches
        self._deadlines = Deadlines()  # the readers' time budgets: one thread
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 5000")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self.ensure_schema()

    def __enter__(self) -> EmbeddedIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ensure_schema(self) -> None:
        with self._lock:
            self._conn.executescript(_SCHEMA)
            ensure_terms(self._conn)  # analysed terms (search.analysis); filled when new
            upgrade_facets(self._conn)  # facet tables (search.embedded_facets); filled when new
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def upsert_many(self, docs: Iterable[IndexDoc]) -> int:
        batch = list(docs)
        with self._lock, self._conn:
            self._conn.executemany(_UPSERT, [_doc_row(doc) for doc in batch])
            for doc in batch:
                (rowid,) = self._conn.execute("SELECT rowid FROM docs WHERE id = ?", (doc.id,)).fetchone()
                self._conn.execute("DELETE FROM doc_tags WHERE rowid = ?", (rowid,))
                write_terms(self._conn, rowid, doc.title, doc.body, doc.language)
                tags = {("entity", e[0]) for e in doc.entities} | {("topic", t) for t in doc.topics}
                tags |= {("entity_name", e[1]) for e in doc.entities}  # for facets
                if doc.story_id:
                    tags.add(("story", doc.story_id))
                self._conn.executemany(
                    "INSERT INTO doc_tags (rowid, kind, value) VALUES (?, ?, ?)",
                    [(rowid, kind, value) for kind, value in sorted(tags)],
                )
        return len(batch)

    def delete(self, ids: Iterable[str]) -> int:
        unique = [(i,) for i in dict.fromkeys(ids)]
        with self._lock, self._conn:
            cur = self._conn.executemany("DELETE FROM docs WHERE id = ?", unique)
        return max(cur.rowcount, 0)

    def count(self) -> int:
        with self._reading() as conn:
            return int(conn.execute("SELECT count(*) FROM docs").fetchone()[0])

    def optimize(self) -> None:
        """Merge the FTS5 segments into one, refresh the planner's statistics, and fold the
        write-ahead log back into the file."""
        with self._lock:
            with self._conn:
                self._conn.execute("INSERT INTO docs_fts (docs_fts) VALUES ('optimize')")
            self._conn.execute("PRAGMA optimize")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._deadlines.stop()
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._conn.close()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """This thread's own connection for reads. In WAL mode readers never wait for each
        other or for the writer, and sqlite3 releases the GIL while a statement runs, so
        concurrent API requests use every core; writes keep the one locked connection."""
        if self._closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            self._local.conn = conn
            with self._lock:
                self._readers.append(conn)
        yield conn

    def match(self, requests: Sequence[SearchRequest], ids: Sequence[str]) -> list[MatchOutcome]:
        distinct, positions = unique_requests(requests)
        outcomes = self._match(distinct, ids)
        return [outcomes[i] for i in positions]

    def _match(self, requests: Sequence[SearchRequest], ids: Sequence[str]) -> list[MatchOutcome]:
        """In a scratch copy of the batch, only the requests that can match (see
        ``search.embedded_match``), so thousands cost little whatever the index's size."""
        with self._reading() as conn:
            return match_batch(conn, _SCHEMA, requests, ids, self._queries, self.query_budget_ms)

    def upsert_stories(self, stories: Iterable[StoryDoc]) -> int:
        batch = list(stories)
        with self._lock, self._conn:
            for story in batch:
                doc = json.dumps({"article_ids": story.article_ids, "outlets": story.outlets,
                                  "entities": story.entities, "topics": story.topics})
                self._conn.execute(
                    "INSERT INTO stories (id, title, first_seen, last_updated, doc) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET title = excluded.title, "
                    "first_seen = excluded.first_seen, last_updated = excluded.last_updated, "
                    "doc = excluded.doc",
                    (story.id, story.title, iso_utc(story.first_seen), iso_utc(story.last_updated), doc),
                )
                self._conn.execute("DELETE FROM story_tags WHERE story_id = ?", (story.id,))
                tags = {("entity", e[0]) for e in story.entities} | {("topic", t) for t in story.topics}
                self._conn.executemany(
                    "INSERT INTO story_tags (story_id, kind, value) VALUES (?, ?, ?)",
                    [(story.id, kind, value) for kind, value in sorted(tags)],
                )
        return len(batch)

    def delete_stories(self, ids: Iterable[str]) -> int:
        unique = [(i,) for i in dict.fromkeys(ids)]
        with self._lock, self._conn:
            self._conn.executemany("DELETE FROM story_tags WHERE story_id = ?", unique)
            cur = self._conn.executemany("DELETE FROM stories WHERE id = ?", unique)
        return max(cur.rowcount, 0)

    def list_stories(
        self, topic: str | None = None, entities: tuple[str, ...] = (), limit: int = 20,
        offset: int = 0,
    ) -> list[StoryDoc]:
        sql = "SELECT id, title, first_seen, last_updated, doc FROM stories s WHERE 1"
        args: list[Any] = []
        if topic:
            sql += " AND id IN (SELECT story_id FROM story_tags WHERE kind = 'topic' AND value = ?)"
            args.append(topic)
        if entities:
            marks = ",".join("?" * len(entities))
            sql += (" AND id IN (SELECT story_id FROM story_tags WHERE kind = 'entity' "
                    f"AND value IN ({marks}))")
            args.extend(entities)
        sql += " ORDER BY last_updated DESC, id LIMIT ? OFFSET ?"
        args += [max(0, min(limit, MAX_LIMIT)), max(0, offset)]
        with self._reading() as conn:
            rows = conn.execute(sql, args).fetchall()
        stories = []
        for id_, title, first, last, raw in rows:
            doc = json.loads(raw)
            stories.append(StoryDoc(
                id=id_, title=title, first_seen=datetime.fromisoformat(first),
                last_updated=datetime.fromisoformat(last),
                article_ids=tuple(doc["article_ids"]), outlets=tuple(doc["outlets"]),
                entities=tuple((e[0], e[1]) for e in doc["entities"]),
                topics=tuple(doc["topics"]),
            ))
        return stories

    def search(self, request: SearchRequest) -> SearchResult:
        node = parse_query(request.query)
        limit = max(0, min(request.limit, MAX_LIMIT))
        offset = max(0, request.offset)
        with self._reading() as conn:
            conn.execute("BEGIN")  # one snapshot for expansion, count, page and snippets
            try:
                with self._deadlines.budget(conn, self.query_budget_ms):
                    count, rows, snippets = self._run(conn, node, request, limit, offset)
            finally:
                _end_read(conn)
        self._local.last_total = (_matching(request), count)  # a hint for facets (below)
        hits = [
            SearchHit(
                id=r[1],
                url=r[2],
                title=r[3],
                source=r[4],
                published=parse_iso(r[5]),
                score=float(r[7]),
                snippet=snippets.get(r[0]) or lead_snippet(r[6]),
            )
            for r in rows
        ]
        return SearchResult(total=count, hits=hits)

    def facets(
        self, request: SearchRequest, fields: Sequence[str] = DEFAULT_FACETS, size: int = 10
    ) -> dict[str, list[tuple[str, int]]]:
        """Commonest values of ``fields`` among the articles ``request`` finds (see backend),
        from the facet tables (``search.embedded_facets``), never the documents."""
        node = parse_query(request.query)
        key, total = getattr(self._local, "last_total", (None, None))
        # how many this thread's last search found, when it was this one (the API asks for
        # the hits, then the facets): it only chooses how to count, never what is counted
        matches = total if key == _matching(request) else None
        with self._reading() as conn:
            conn.execute("BEGIN")
            try:
                with self._deadlines.budget(conn, self.query_budget_ms):
                    return facets(conn, node, request, fields, size, matches)
            finally:
                _end_read(conn)

    def _run(
        self, conn: sqlite3.Connection, node: Node, request: SearchRequest, limit: int,
        offset: int,
    ) -> tuple[int, list[Any], dict[int, str]]:
        compiler = QueryCompiler(conn)
        where = compiler.sql(node)
        filters, filter_args = filter_sql(request)
        clause = " AND ".join([where, *filters])
        args = [*compiler.params, *filter_args]
        if compiler.single is not None and not filters:  # FTS5 alone counts its matches
            total = conn.execute("SELECT count(*) FROM docs_fts WHERE docs_fts MATCH ?",
                                 [compiler.single])
        else:
            total = conn.execute(f"SELECT count(*) FROM doc_facets d WHERE {clause}", args)
        count = int(total.fetchone()[0])
        if limit == 0 or offset >= count:
            return count, [], {}
        rank = " OR ".join(f"({m})" for m in dict.fromkeys(compiler.ranked))
        rank_terms = " OR ".join(f"({m})" for m in dict.fromkeys(compiler.ranked_terms))
        by_date = request.sort == "date"
        if compiler.single is not None and compiler.exact_rank and not rank_terms:
            ranked = _page_single(conn, compiler.single, filters, filter_args, limit, offset,
                                  by_date)
        else:
            if not rank and not rank_terms:  # newest first: walk the date index
                filters, filter_args = filter_sql(request, language_index=False)
                clause = " AND ".join([where, *filters])
                args = [*compiler.params, *filter_args]
            ranked = _page(conn, clause, args, rank, limit, offset, by_date, rank_terms)
        rows = _hit_rows(conn, ranked)
        snippets = _snippets(conn, rank, [r[0] for r in rows]) if rank else {}
        return count, rows, snippets


_NEWEST = "d.published DESC NULLS LAST, d.rowid DESC"


def _page(
    conn: sqlite3.Connection, clause: str, args: list[Any], rank: str, limit: int, offset: int,
    by_date: bool = False, rank_terms: str = "",
) -> list[tuple[int, float]]:
    """(rowid, score) of one page; a ranked one on ``doc_facets`` (not reading the documents:
    they hold the body, and SQLite reads past it to reach ``published``)."""
    if not rank and not rank_terms:  # match-all or pure-negative query: newest first
        sql = (f"SELECT d.rowid, 0.0 FROM doc_facets d WHERE {clause} "
               f"ORDER BY {_NEWEST} LIMIT ? OFFSET ?")
        return conn.execute(sql, [*args, limit, offset]).fetchall()
    order = f"{_NEWEST}, score DESC" if by_date else f"score DESC, {_NEWEST}"
    joins, score, rank_args = ranking(rank, rank_terms)
    sql = (
        f"SELECT d.rowid, {score} AS score FROM doc_facets d {joins} "
        f"WHERE {clause} "
        f"ORDER BY {order} LIMIT ? OFFSET ?"
    )
    return conn.execute(sql, [*rank_args, *args, limit, offset]).fetchall()


def _page_single(
    conn: sqlite3.Connection, match: str, filters: list[str], filter_args: list[Any],
    limit: int, offset: int, by_date: bool,
) -> list[tuple[int, float]]:
    """One page of a query that is one FTS5 MATCH whose ``bm25`` is the ranking's
    (``QueryCompiler.exact_rank``): FTS5 finds and scores the matches in one pass."""
    order = f"{_NEWEST}, score DESC" if by_date else f"score DESC, {_NEWEST}"
    where = " AND ".join(filters) or "1"
    sql = (
        "SELECT d.rowid, -r.bm AS score FROM (SELECT rowid AS rid, "
        "bm25(docs_fts, 10.0, 1.0) AS bm FROM docs_fts WHERE docs_fts MATCH ?) r "
        f"JOIN doc_facets d ON d.rowid = r.rid WHERE {where} "
        f"ORDER BY {order} LIMIT ? OFFSET ?"
    )
    return conn.execute(sql, [match, *filter_args, limit, offset]).fetchall()


def _hit_rows(conn: sqlite3.Connection, ranked: Sequence[tuple[int, float]]) -> list[Any]:
    """The documents' columns for a page of (rowid, score), in that order, score last."""
    if not ranked:
        return []
    marks = ",".join("?" * len(ranked))
    found = {r[0]: r for r in conn.execute(
        f"SELECT {_HIT_COLUMNS} FROM docs d WHERE d.rowid IN ({marks})", [r[0] for r in ranked])}
    return [(*found[rowid], score) for rowid, score in ranked if rowid in found]


def _snippets(conn: sqlite3.Connection, rank: str, rowids: Sequence[int]) -> dict[int, str]:
    marks = ",".join("?" * len(rowids))
    sql = (
        "SELECT rowid, snippet(docs_fts, 1, ?, ?, ?, ?) FROM docs_fts "
        f"WHERE docs_fts MATCH ? AND rowid IN ({marks})"
    )
    args = [SNIPPET_START, SNIPPET_END, SNIPPET_ELLIPSIS, SNIPPET_TOKENS, rank, *rowids]
    return {int(rowid): text for rowid, text in conn.execute(sql, args)}


def _matching(request: SearchRequest) -> tuple[Any, ...]:
    """What decides which articles a request finds (not its page or order)."""
    return (request.query, request.source, request.entities, request.topic, request.language,
            request.since, request.until)


def _end_read(conn: sqlite3.Connection) -> None:
    """End the read transaction (an interrupted statement may have ended it already)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _doc_row(doc: IndexDoc) -> tuple[Any, ...]:
    extra = json.dumps(doc.extra, ensure_ascii=False, sort_keys=True, default=str)
    return (
        doc.id, doc.url, doc.title, doc.body, doc.source, doc.source.casefold(),
        iso_utc(doc.published), iso_utc(doc.ingested), doc.language, doc.revision, extra,
    )  # fmt: skip
