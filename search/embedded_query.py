"""Our query AST (:mod:`search.query`) compiled to FTS5 MATCH expressions and SQL filters for
the embedded index (wildcards expanded against the index vocabulary, with a cap).

Any part of a query FTS5 can express by itself — words, phrases, prefixes and wildcards of
the word index joined by AND and OR, and ``NOT`` under an AND that has positive parts — is
compiled to ONE MATCH expression, so FTS5 intersects the posting lists itself instead of
SQL materialising each word's whole list (``a AND b`` with a common ``b`` read all of
``b``). What FTS5 cannot say (a query without positive parts, ``a OR -b``, match-all, the
analysed terms of ``docs_terms``) stays SQL around the leaves, as before: the same rows.
"""

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
    """Compiles one query AST to a SQL boolean expression plus its parameters.

    With ``combine`` (the default) every part FTS5 can express by itself becomes one MATCH
    (see the module's docstring); ``combine=False`` makes one MATCH per leaf (the reference
    the tests compare with). ``ranked`` and ``ranked_terms`` are the same either way."""

    def __init__(self, conn: sqlite3.Connection, combine: bool = True) -> None:
        self.conn = conn
        self.combine = combine
        self.params: list[Any] = []
        self.ranked: list[str] = []  # MATCH strings of leaves not under an odd number of NOTs
        self.ranked_terms: list[str] = []  # the same for leaves searched in docs_terms
        self.single: str | None = None  # the query's one MATCH when it compiled to one
        self.exact_rank = False  # whether bm25 over ``single`` equals bm25 over the ranked
        self._expanded: dict[tuple[str, str, bool], list[str]] = {}

    def sql(self, node: Node) -> str:
        """The SQL condition on ``d.rowid`` for ``node``; its parameters go to ``params``."""
        if self.combine and not isinstance(node, MatchAll | Not):
            combined = self._fts(node, True)
            if combined is not None:
                self.single = combined[0]
                self.exact_rank = _rank_exact(node, combined[1])
        return self._part(node, True)

    def _part(self, node: Node, positive: bool) -> str:
        if self.combine and not isinstance(node, MatchAll | Not):
            combined = self._fts(node, positive)
            if combined is not None:
                expr, leaves = combined
                self.ranked.extend(m for m, pos in leaves if pos)
                if expr is None:
                    return "0"
                self.params.append(expr)
                return _LEAF_SQL.format("docs_fts")
        return self._sql(node, positive)

    def _sql(self, node: Node, positive: bool) -> str:
        if isinstance(node, MatchAll):
            return "1"
        if isinstance(node, Not):
            return f"NOT ({self._part(node.item, not positive)})"
        if isinstance(node, And | Or):
            op = " AND " if isinstance(node, And) else " OR "
            return _balanced([self._part(item, positive) for item in node.items], op)
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

    def _fts(
        self, node: Node, positive: bool
    ) -> tuple[str | None, list[tuple[str, bool]]] | None:
        """``node`` as one FTS5 expression on ``docs_fts`` (``None`` in it: matches nothing)
        and its leaves' MATCH strings with their polarity, in the query's order; ``None``
        when FTS5 cannot express it by itself."""
        if isinstance(node, MatchAll | Not):
            return None
        if isinstance(node, Term | Phrase):
            if node.field is not None and node.field not in _COLUMNS:
                raise QuerySyntaxError(f"the embedded index cannot search field {node.field!r}")
            if analysed(node.text):
                return None
            match = self._leaf(node)
            return (None if match is None else f"({match})"), (
                [] if match is None else [(match, positive)])
        leaves: list[tuple[str, bool]] = []
        parts: list[str | None] = []
        negated: list[str | None] = []
        for item in node.items:
            if isinstance(item, Not):
                if isinstance(node, Or):
                    return None  # a OR -b: not a MATCH
                inner = self._fts(item.item, not positive)
                if inner is None:
                    return None
                negated.append(inner[0])
            else:
                inner = self._fts(item, positive)
                if inner is None:
                    return None
                parts.append(inner[0])
            leaves.extend(inner[1])
        if isinstance(node, Or):
            found = [p for p in parts if p is not None]
            return ("(" + " OR ".join(found) + ")" if found else None), leaves
        if not parts:
            return None  # only negative parts: not a MATCH
        if any(p is None for p in parts):
            return None, leaves
        expr = "(" + " AND ".join(p for p in parts if p is not None) + ")"
        excluded = [n for n in negated if n is not None]  # NOT nothing: everything
        if excluded:  # one NOT of their OR: FTS5's NOT is binary, a chain would nest deep
            expr = f"({expr} NOT ({' OR '.join(excluded)}))"
        return expr, leaves

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
        key = (pattern, vocab, fold)
        if key not in self._expanded:
            self._expanded[key] = self._lookup(pattern, vocab, fold)
        return self._expanded[key]

    def _lookup(self, pattern: str, vocab: str, fold: bool) -> list[str]:
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


def _rank_exact(node: Node, leaves: list[tuple[str, bool]]) -> bool:
    """Whether ``bm25`` over the one MATCH of ``node`` scores every document it finds as
    ``bm25`` over the OR of its positive leaves (the ranking). FTS5 counts a phrase's hits
    only where the part of the expression holding it matched, so that holds for an AND of
    ORs of leaves: every part of the AND matched, and in an OR each leaf counts where it is.
    A NOT of an OR of leaves directly under that AND adds phrases no found document holds
    (exactly 0). A repeated leaf would count twice; an AND under an OR, or a NOT deeper
    down, would leave out or add words the ranking counts otherwise."""
    positives = [m for m, pos in leaves if pos]
    if len(set(positives)) != len(positives):
        return False
    items = node.items if isinstance(node, And) else (node,)
    return all(_only_or(i.item if isinstance(i, Not) else i) for i in items)


def _only_or(node: Node) -> bool:
    return isinstance(node, Term | Phrase) or (
        isinstance(node, Or) and all(_only_or(i) for i in node.items))


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


def filter_sql(
    request: SearchRequest, language_index: bool = True
) -> tuple[list[str], list[Any]]:
    """The request's filters as SQL conditions on ``d`` (``docs`` or ``doc_facets``) and their
    parameters; without ``language_index`` the language is tested row by row (``+d.language``:
    most documents share one, so its index would read most of the table before a sort)."""
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
        sql.append("d.language = ?" if language_index else "+d.language = ?")
        args.append(request.language.lower())
    if request.since is not None:
        sql.append("d.published >= ?")
        args.append(iso_utc(request.since))
    if request.until is not None:
        sql.append("d.published <= ?")
        args.append(iso_utc(request.until))
    return sql, args
