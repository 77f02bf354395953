"""Our query AST (:mod:`search.query`) compiled to FTS5 MATCH expressions and SQL filters for
the embedded index (wildcards expanded against the index vocabulary, with a cap)."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from typing import Any

from core.errors import QuerySyntaxError
from core.models import SearchRequest
from search.analysis import Variant, analysed, query_variants, wildcard_pattern
from search.backend import (
    iso_utc,
)
from search.embedded_terms import TERMS_TABLE
from search.query import And, MatchAll, Node, Not, Or, Phrase, QueryLimitError, Term

MAX_EXPANSIONS = 500  # words a single wildcard such as ``*ing`` may expand to


_COLUMNS = ("title", "body")


_LEAF_SQL = "d.rowid IN (SELECT rowid FROM {0} WHERE {0} MATCH ?)"


class QueryCompiler:
    """Compiles one query AST to a SQL boolean expression plus its parameters."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.params: list[Any] = []
        self.ranked: list[str] = []  # MATCH strings of leaves not under an odd number of NOTs
        self.ranked_terms: list[str] = []  # the same for leaves searched in docs_terms

    def sql(self, node: Node, positive: bool = True) -> str:
        if isinstance(node, MatchAll):
            return "1"
        if isinstance(node, Not):
            return f"NOT ({self.sql(node.item, not positive)})"
        if isinstance(node, And | Or):
            op = " AND " if isinstance(node, And) else " OR "
            return _balanced([self.sql(item, positive) for item in node.items], op)
        if node.field is not None and node.field not in _COLUMNS:
            raise QuerySyntaxError(f"the embedded index cannot search field {node.field!r}")
        on_terms = analysed(node.text)  # Cyrillic, Hangul, CJK: the analysed terms only
        match = self._terms_leaf(node) if on_terms else self._leaf(node)
        if match is None:
            return "0"
        if positive:
            (self.ranked_terms if on_terms else self.ranked).append(match)
        self.params.append(match)
        return _LEAF_SQL.format(TERMS_TABLE if on_terms else "docs_fts")

    def _leaf(self, node: Term | Phrase) -> str | None:
        """The FTS5 MATCH string of one leaf; ``None`` when it can match nothing."""
        column = f"{{{node.field}}} : " if node.field else ""
        if isinstance(node, Phrase) or not node.wildcard:
            return column + _quote(node.text)
        stem = node.text.rstrip("*")
        if "*" not in stem and "?" not in stem:  # trailing * only: a native FTS5 prefix query
            return f"{column}{_quote(stem)} *"
        words = self._expand(node.text)
        if not words:
            return None
        return column + "(" + " OR ".join(_quote(w) for w in words) + ")"

    def _terms_leaf(self, node: Term | Phrase) -> str | None:
        """The MATCH string of a leaf in Cyrillic, Hangul or CJK, on ``docs_terms``: any of
        its term sequences as a phrase (see :func:`search.analysis.query_variants`)."""
        column = f"{{{node.field}}} : " if node.field else ""
        if isinstance(node, Term) and node.wildcard:
            pattern = wildcard_pattern(node.text)
            stem = pattern.rstrip("*")
            if "*" not in stem and "?" not in stem:
                return f"{column}{_quote(stem)} *"
            words = self._expand(pattern, f"{TERMS_TABLE}_vocab", fold=False)
            return column + "(" + " OR ".join(_quote(w) for w in words) + ")" if words else None
        variants = query_variants(node.text)
        if not variants:
            return None
        return column + "(" + " OR ".join(_variant(v) for v in variants) + ")"

    def _expand(self, pattern: str, vocab: str = "docs_vocab", fold: bool = True) -> list[str]:
        """Indexed words matching a wildcard pattern (``*`` any run, ``?`` one character)."""
        glob = (_fold(pattern) if fold else pattern).replace("[", "[[]")
        literal = re.split(r"[*?]", glob, maxsplit=1)[0]
        sql, args = f"SELECT term FROM {vocab} WHERE term GLOB ?", [glob]
        if literal:
            sql += " AND term >= ? AND term < ?"
            args += [literal, literal + "\U0010ffff"]
        rows = self.conn.execute(f"{sql} LIMIT {MAX_EXPANSIONS + 1}", args).fetchall()
        if len(rows) > MAX_EXPANSIONS:
            raise QueryLimitError(
                f"the wildcard {pattern!r} matches more than {MAX_EXPANSIONS} words (the limit); "
                "make it more specific",
                "wildcard_expansions", MAX_EXPANSIONS,
            )
        return [row[0] for row in rows]


def _balanced(parts: list[str], op: str) -> str:
    """Join with ``op`` as a shallow tree (SQLite limits expression depth to 1000)."""
    if len(parts) <= 8:
        return "(" + op.join(parts) + ")"
    middle = len(parts) // 2
    return "(" + _balanced(parts[:middle], op) + op + _balanced(parts[middle:], op) + ")"


def _variant(variant: Variant) -> str:
    """One term sequence as an FTS5 phrase (or a prefix query for a lone CJK character)."""
    return _quote(" ".join(variant.terms)) + (" *" if variant.prefix else "")


def _quote(text: str) -> str:
    """An FTS5 string: the tokenizer splits it; inside it no FTS5 syntax applies.

    NUL would end the expression early in SQLite's C code; it is not a word character anyway.
    """
    return '"' + text.replace('"', '""').replace("\x00", " ") + '"'


def _fold(text: str) -> str:
    """Lowercase and strip diacritics, like ``unicode61 remove_diacritics 2``."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


def filter_sql(request: SearchRequest) -> tuple[list[str], list[Any]]:
    sql: list[str] = []
    args: list[Any] = []
    if request.source:
        sql.append("d.source_key = ?")
        args.append(request.source.casefold())
    if request.entities:
        marks = ",".join("?" * len(request.entities))
        sql.append(
            f"d.rowid IN (SELECT rowid FROM doc_tags WHERE kind = 'entity' AND value IN ({marks}))"
        )
        args.extend(request.entities)
    if request.topic:
        sql.append("d.rowid IN (SELECT rowid FROM doc_tags WHERE kind = 'topic' AND value = ?)")
        args.append(request.topic)
    if request.language:
        sql.append("d.language = ?")
        args.append(request.language.lower())
    if request.since is not None:
        sql.append("d.published >= ?")
        args.append(iso_utc(request.since))
    if request.until is not None:
        sql.append("d.published <= ?")
        args.append(iso_utc(request.until))
    return sql, args
