"""Watch matching on the embedded index: many requests against one batch of documents.

The batch is copied into a scratch in-memory index with the same schema (so the cost does
not depend on the size of the real index); :func:`search.percolate.candidates` picks, for
each request, the documents it can match at all; only requests with candidates run, each
with its own time budget (one watchdog thread for the batch, ``search.embedded_budget``),
so a bad or slow query gets its own error and the others their answers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace

from core.errors import NewswatchError, QuerySyntaxError
from core.models import SearchRequest
from search.backend import MatchOutcome
from search.embedded_budget import Watchdog
from search.embedded_query import QueryCompiler, filter_sql
from search.embedded_terms import copy_terms
from search.percolate import BatchDoc, QueryCache, candidates

CHUNK = 500  # documents copied per query
NO_MATCH = MatchOutcome()


def copy_batch(
    conn: sqlite3.Connection, scratch: sqlite3.Connection, ids: Sequence[str]
) -> list[BatchDoc]:
    """Copy the documents ``ids`` (and their tags) from ``conn`` into ``scratch``; what
    candidate selection reads of them."""
    docs: list[BatchDoc] = []
    for i in range(0, len(ids), CHUNK):
        chunk = list(ids[i : i + CHUNK])
        cur = conn.execute(f"SELECT * FROM docs WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        names = [c[0] for c in cur.description]
        rows = cur.fetchall()
        if not rows:
            continue
        scratch.executemany(f"INSERT INTO docs VALUES ({','.join('?' * len(names))})", rows)
        at = {n: k for k, n in enumerate(names)}
        got = [r[at["rowid"]] for r in rows]
        tags = conn.execute(
            f"SELECT rowid, kind, value FROM doc_tags WHERE rowid IN ({','.join('?' * len(got))})",
            got).fetchall()
        scratch.executemany("INSERT INTO doc_tags VALUES (?, ?, ?)", tags)
        copy_terms(conn, scratch, got)  # the analysed terms (search.embedded_terms)
        by_row: dict[int, dict[str, list[str]]] = {r: {"entity": [], "topic": []} for r in got}
        for rowid, kind, value in tags:
            if kind in ("entity", "topic"):
                by_row[rowid][kind].append(value)
        for r in rows:
            rowid = r[at["rowid"]]
            docs.append(BatchDoc(
                title=r[at["title"]], body=r[at["body"]], source_key=r[at["source_key"]],
                language=r[at["language"]], entities=tuple(by_row[rowid]["entity"]),
                topics=tuple(by_row[rowid]["topic"])))
    return docs


def match_batch(
    conn: sqlite3.Connection, schema: str, requests: Sequence[SearchRequest],
    ids: Sequence[str], cache: QueryCache, budget_ms: float,
) -> list[MatchOutcome]:
    """For each request, which of the documents ``ids`` (read through ``conn``) it finds."""
    if not ids or not requests:
        return [NO_MATCH] * len(requests)
    scratch = sqlite3.connect(":memory:")
    watchdog = Watchdog(scratch)
    try:
        scratch.executescript(schema)
        docs = copy_batch(conn, scratch, ids)
        copy_terms(conn, scratch, [])  # the analysed terms' table, even for no rows
        scratch.execute("INSERT INTO docs_fts (docs_fts) VALUES ('optimize')")  # one segment
        out = [NO_MATCH] * len(requests)
        for k, found in enumerate(candidates(requests, docs, cache)):
            if isinstance(found, QuerySyntaxError):
                out[k] = MatchOutcome(error=str(found))
            elif found is None or found:
                out[k] = _run(scratch, watchdog, cache, requests[k], budget_ms)
        return out
    finally:
        watchdog.stop()
        scratch.close()


def _run(
    conn: sqlite3.Connection, watchdog: Watchdog, cache: QueryCache, request: SearchRequest,
    budget_ms: float,
) -> MatchOutcome:
    """One request over the scratch batch. Not restricted to its candidates' rowids: on a
    scratch of a few hundred documents that measured slower (an IN list per statement),
    and what it finds is among its candidates anyway."""
    node = cache.get(request.query)
    assert not isinstance(node, QuerySyntaxError)  # candidates() reported those
    try:
        with watchdog.budget(budget_ms):
            compiler = QueryCompiler(conn)
            where = compiler.sql(node)
            filters, filter_args = filter_sql(replace(request, since=None, until=None))
            clause = " AND ".join([where, *filters])
            rows = conn.execute(f"SELECT d.id FROM docs d WHERE {clause}",
                                [*compiler.params, *filter_args]).fetchall()
        return MatchOutcome(frozenset(r[0] for r in rows))
    except (NewswatchError, sqlite3.Error) as exc:
        return MatchOutcome(error=str(exc))
