"""The embedded index's analysed terms (:mod:`search.analysis`): an FTS5 table ``docs_terms``
beside ``docs_fts``, one row per article that has Cyrillic, Hangul or CJK text, same rowid.

Its tokenizer splits at spaces only, in effect (``unicode61`` sees runs of letters, digits and
``_``, which is all a term is made of) and changes nothing else, so the terms are matched as
:func:`search.analysis.index_terms` wrote them. A file made before this table existed gets it
on opening, filled from the stored titles and bodies in the same transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from search.analysis import index_terms

TERMS_TABLE = "docs_terms"

_DDL = (
    "CREATE VIRTUAL TABLE docs_terms USING fts5 (title, body, "
    "tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")",
    "CREATE VIRTUAL TABLE IF NOT EXISTS docs_terms_vocab USING fts5vocab (docs_terms, 'row')",
    "CREATE TRIGGER IF NOT EXISTS docs_terms_ad AFTER DELETE ON docs BEGIN "
    "DELETE FROM docs_terms WHERE rowid = old.rowid; END",
)


def ensure_terms(conn: sqlite3.Connection) -> None:
    """Create ``docs_terms`` when missing and fill it from the documents already stored, in
    one transaction (the caller's, when one is open)."""
    if _exists(conn):
        return
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN IMMEDIATE")
    try:
        if not _exists(conn):  # another process may have been faster
            _create(conn)
            rows = conn.execute("SELECT rowid, title, body, language FROM docs").fetchall()
            conn.executemany(
                "INSERT INTO docs_terms (rowid, title, body) VALUES (?, ?, ?)",
                [row for row in map(_terms_row, rows) if row is not None],
            )
        if own:
            conn.execute("COMMIT")
    except BaseException:
        if own:
            conn.execute("ROLLBACK")
        raise


def write_terms(conn: sqlite3.Connection, rowid: int, title: str, body: str, lang: str) -> None:
    """Replace one article's terms (inside the caller's transaction)."""
    conn.execute("DELETE FROM docs_terms WHERE rowid = ?", (rowid,))
    row = _terms_row((rowid, title, body, lang))
    if row is not None:
        conn.execute("INSERT INTO docs_terms (rowid, title, body) VALUES (?, ?, ?)", row)


def copy_terms(source: sqlite3.Connection, dest: sqlite3.Connection, rowids: Sequence[int]) -> None:
    """Copy the terms of ``rowids`` from one index to another (the scratch index of match),
    creating the table there when it has none yet."""
    if not _exists(dest):
        _create(dest)
    if not rowids:
        return
    marks = ",".join("?" * len(rowids))
    rows = source.execute(
        f"SELECT rowid, title, body FROM docs_terms WHERE rowid IN ({marks})", list(rowids)
    ).fetchall()
    dest.executemany("INSERT INTO docs_terms (rowid, title, body) VALUES (?, ?, ?)", rows)


def _create(conn: sqlite3.Connection) -> None:
    for statement in _DDL:
        conn.execute(statement)


def _exists(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'docs_terms'").fetchone()
    return found is not None


def _terms_row(row: tuple[int, str, str, str]) -> tuple[int, str, str] | None:
    rowid, title, body, lang = row
    title_terms, body_terms = index_terms(title, lang), index_terms(body, lang)
    if not title_terms and not body_terms:
        return None
    return rowid, title_terms, body_terms


def ranking(rank: str, rank_terms: str) -> tuple[str, str, list[str]]:
    """Joins, score expression and their parameters for ranking by the positive leaves:
    ``bm25`` (title ×10) over ``docs_fts`` for ``rank`` plus over ``docs_terms`` for
    ``rank_terms`` (MATCH strings, either may be empty); a document found by neither scores 0."""
    joins, scores, args = [], [], []
    for alias, table, match in (("r", "docs_fts", rank), ("t", TERMS_TABLE, rank_terms)):
        if match:
            joins.append(
                f"LEFT JOIN (SELECT rowid AS rid, bm25({table}, 10.0, 1.0) AS bm FROM {table} "
                f"WHERE {table} MATCH ?) {alias} ON {alias}.rid = d.rowid"
            )
            scores.append(f"COALESCE(-{alias}.bm, 0.0)")
            args.append(match)
    return " ".join(joins), " + ".join(scores) or "0.0", args
