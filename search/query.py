"""The query language: Lucene-style strings parsed once (with luqum) into a small immutable AST.

Every backend compiles this AST, never the raw string, so a saved search means the same thing
everywhere. Semantics (see ``docs/query-language.md``): the default operator is AND (adjacent
terms must all match); precedence is NOT/``-`` > AND > OR > implicit AND, so ``a b OR c`` means
``a AND (b OR c)``; ``+term`` is the same as ``term`` and ``-term`` the same as ``NOT term``.
A part repeated under the same AND or OR is kept once (``a a`` is ``a``).

What a query may cost is bounded here, for every backend and every caller (API, CLI, watches):
its length, nesting, words and phrases, wildcard words (each one is expanded against the
indexed words) and wildcard words that start with a wildcard (each one is looked up in all of
them); :data:`QUERY_TIME_BUDGET_MS` bounds how long the backends let one search run. A query
over a limit raises :class:`QueryLimitError`, whose message names the limit and its value.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from luqum import tree as lq
from luqum.thread import parse as _luqum_parse

from core.errors import QuerySyntaxError

KNOWN_FIELDS: frozenset[str] = frozenset({"title", "body"})
MAX_QUERY_CHARS = 2000
MAX_DEPTH = 32
MAX_WILDCARD_WORD = 64  # characters of one wildcard word; Elasticsearch refuses far longer
MAX_WILDCARDS = 16  # * and ? in one word (their automaton grows with each one)
MAX_TERMS = 200  # words and phrases in one query (repeated under one AND/OR: counted once)
MAX_WILDCARD_TERMS = 10  # words with * or ? in one query, as written (each is expanded)
MAX_LEADING_WILDCARDS = 3  # of those, words starting with * or ? (each scans every indexed word)
QUERY_TIME_BUDGET_MS = 2000  # a search (or its facets) running longer is stopped, on both backends


class QueryLimitError(QuerySyntaxError):
    """A query over one of the cost limits: ``limit`` names it, ``maximum`` is its value."""

    def __init__(
        self, message: str, limit: str, maximum: int, position: int | None = None
    ) -> None:
        super().__init__(message, position)
        self.limit = limit
        self.maximum = maximum


def time_limit_error(budget_ms: float) -> QueryLimitError:
    """What a backend raises when a search ran out of its time budget."""
    return QueryLimitError(
        f"the search ran longer than the time limit of {budget_ms:g} ms; make the query more "
        "specific (fewer wildcards, more words or filters)",
        "time_ms", int(budget_ms),
    )


@dataclass(frozen=True)
class Term:
    """One word; ``wildcard`` when ``text`` contains ``*`` (any run) or ``?`` (one character)."""

    text: str
    field: str | None = None
    wildcard: bool = False


@dataclass(frozen=True)
class Phrase:
    """Words that must appear next to each other, in this order."""

    text: str
    field: str | None = None


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class MatchAll:
    """Every document: the empty query or ``*``."""


Node = Term | Phrase | And | Or | Not | MatchAll

_LOCK = threading.Lock()  # PLY's parser object keeps state between calls
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_LEADING_APOSTROPHE = re.compile(r"(?:^|(?<=[\s(:+\-]))'")
_OPERATOR_WORDS = {"&&": "AND", "||": "OR", "!": "NOT"}
_UNSUPPORTED = {
    lq.Range: "ranges ([a TO b]) are not supported; use the since/until filters for dates",
    lq.From: "ranges (>x) are not supported; use the since/until filters for dates",
    lq.To: "ranges (<x) are not supported; use the since/until filters for dates",
    lq.Fuzzy: "fuzzy search (~) is not supported",
    lq.Proximity: 'proximity search ("…"~n) is not supported',
    lq.Boost: "boosts (^) are not supported",
    lq.Regex: "regular expressions (/…/) are not supported",
}


def parse_query(text: str) -> Node:
    """Parse a user's query string; raises :class:`QuerySyntaxError` and nothing else."""
    if not isinstance(text, str):
        raise QuerySyntaxError("the query must be a string")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryLimitError(
            f"the query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}",
            "query_chars", MAX_QUERY_CHARS, MAX_QUERY_CHARS,
        )
    if not text.strip():
        return MatchAll()
    bad = next((i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff"), None)
    if bad is not None:
        raise QuerySyntaxError("the query is not valid Unicode text (lone surrogate)", bad)
    _check_nesting(text)
    # A leading ' cannot start a luqum term; blank it (same length, so positions hold).
    cleaned = _LEADING_APOSTROPHE.sub(" ", text)
    if not cleaned.strip():
        return MatchAll()
    try:
        with _LOCK:
            tree = _luqum_parse(cleaned)
    except Exception as exc:  # luqum/PLY raise ParseError, but also ValueError, AssertionError…
        raise _syntax_error(text, str(exc)) from None
    wildcards = _Wildcards()
    try:
        node = _convert(tree, None, 0, 0, wildcards)
    except QuerySyntaxError:
        raise
    except Exception as exc:  # RecursionError or a luqum surprise: still a syntax error
        raise QuerySyntaxError(f"cannot understand the query ({type(exc).__name__})") from None
    if node is None:
        raise QuerySyntaxError("the query has no searchable words (letters or digits)", 0)
    wildcards.check()
    _check_terms(node)
    return node


class _Wildcards:
    """Where the wildcard words of one query are, as written (a repeated one counts again)."""

    def __init__(self) -> None:
        self.all: list[int] = []
        self.leading: list[int] = []

    def add(self, word: str, position: int) -> None:
        self.all.append(position)
        if word[:1] in ("*", "?"):
            self.leading.append(position)

    def check(self) -> None:
        if len(self.leading) > MAX_LEADING_WILDCARDS:
            raise QueryLimitError(
                f"the query has {len(self.leading)} words starting with * or ?; "
                f"the limit is {MAX_LEADING_WILDCARDS}",
                "leading_wildcards", MAX_LEADING_WILDCARDS, self.leading[MAX_LEADING_WILDCARDS],
            )
        if len(self.all) > MAX_WILDCARD_TERMS:
            raise QueryLimitError(
                f"the query has {len(self.all)} words with wildcards (* or ?); "
                f"the limit is {MAX_WILDCARD_TERMS}",
                "wildcard_terms", MAX_WILDCARD_TERMS, self.all[MAX_WILDCARD_TERMS],
            )


def _leaves(node: Node) -> int:
    if isinstance(node, MatchAll):
        return 0
    if isinstance(node, Not):
        return _leaves(node.item)
    if isinstance(node, And | Or):
        return sum(_leaves(i) for i in node.items)
    return 1


def _check_terms(node: Node) -> None:
    count = _leaves(node)
    if count > MAX_TERMS:
        raise QueryLimitError(
            f"the query has {count} words and phrases; the limit is {MAX_TERMS}",
            "terms", MAX_TERMS,
        )


def _syntax_error(text: str, message: str) -> QuerySyntaxError:
    """Turn a luqum error message into our error, with the best position we can find."""
    m = re.search(r"unexpected\s+'(.*)' at position (\d+)", message, re.DOTALL)
    if m:
        token, pos = m.group(1), int(m.group(2))
        if token == ")":
            return QuerySyntaxError("unbalanced parenthesis: ')' without '('", pos)
        return QuerySyntaxError(f"unexpected {token!r}", pos)
    m = re.search(r"Illegal character '(.)", message, re.DOTALL)
    pos_m = re.search(r"at position (\d+)", message)
    if m and pos_m:
        char, pos = m.group(1), int(pos_m.group(1))
        if char == '"':
            return QuerySyntaxError("unbalanced quote: '\"' without a closing '\"'", pos)
        return QuerySyntaxError(f"unexpected character {char!r}", pos)
    quote, paren = _unbalanced(text)
    if quote is not None:
        return QuerySyntaxError("unbalanced quote: '\"' without a closing '\"'", quote)
    if paren is not None:
        return QuerySyntaxError("unbalanced parenthesis: '(' without ')'", paren)
    return QuerySyntaxError(
        "unexpected end of query (an operator or field is missing what follows it)", len(text)
    )


def _unbalanced(text: str) -> tuple[int | None, int | None]:
    """Positions of an unclosed quote and of an unclosed parenthesis, if any."""
    opens: list[int] = []
    quote: int | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            quote = i if quote is None else None
        elif quote is None and ch == "(":
            opens.append(i)
        elif quote is None and ch == ")" and opens:
            opens.pop()
        i += 1
    return quote, (opens[0] if opens else None)


def _check_nesting(text: str) -> None:
    """Refuse deep parenthesis nesting before luqum builds (and we walk) a deep tree."""
    depth, in_quote, i = 0, False, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            in_quote = not in_quote
        elif not in_quote and ch == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep(i)
        elif not in_quote and ch == ")":
            depth -= 1
        i += 1


def _too_deep(position: int | None) -> QueryLimitError:
    return QueryLimitError(f"the query is nested deeper than {MAX_DEPTH} levels", "depth",
                           MAX_DEPTH, position)


def _convert(
    item: lq.Item, field: str | None, depth: int, steps: int, wildcards: _Wildcards
) -> Node | None:
    """Map one luqum node to ours; ``None`` means "no searchable words here" (dropped)."""
    if depth > MAX_DEPTH or steps > 4 * MAX_DEPTH:
        raise _too_deep(item.pos)
    steps += 1
    for cls, message in _UNSUPPORTED.items():
        if isinstance(item, cls):
            raise QuerySyntaxError(message, item.pos)
    if isinstance(item, lq.Phrase):
        words = _ESCAPED.sub(r"\1", item.value[1:-1]).lower()
        return Phrase(words, field) if _searchable(words) else None
    if isinstance(item, lq.Word):
        return _word(item, field, wildcards)
    if isinstance(item, lq.SearchField):
        return _search_field(item, field, depth, steps, wildcards)
    if isinstance(item, lq.BaseGroup):
        return _convert(item.expr, field, depth, steps, wildcards)
    if isinstance(item, lq.Plus):
        return _convert(item.a, field, depth, steps, wildcards)
    if isinstance(item, lq.Not | lq.Prohibit):
        inner = _convert(item.a, field, depth + 1, steps, wildcards)
        return None if inner is None else Not(inner)
    if isinstance(item, lq.AndOperation | lq.UnknownOperation | lq.OrOperation):
        parts = [_convert(op, field, depth + 1, steps, wildcards) for op in item.operands]
        items = tuple(p for p in parts if p is not None)
        if isinstance(item, lq.OrOperation):
            return _or(items)
        return _and(items)
    raise QuerySyntaxError(f"unsupported syntax {str(item)!r}", item.pos)


def _word(item: lq.Word, field: str | None, wildcards: _Wildcards) -> Node | None:
    raw: str = item.value
    if raw in _OPERATOR_WORDS:
        raise QuerySyntaxError(f"use {_OPERATOR_WORDS[raw]} instead of {raw!r}", item.pos)
    if not item.has_wildcard():
        text = item.unescaped_value.lower()
        return Term(text, field) if _searchable(text) else None
    if set(raw) <= {"*"}:
        return MatchAll()
    if not all(ch.isalnum() or ch in "*?" for ch in raw) or not _searchable(raw):
        raise QuerySyntaxError(
            f"wildcards (* and ?) work on single words of letters and digits, not {raw!r}",
            item.pos,
        )
    too_long = len(raw) > MAX_WILDCARD_WORD
    if too_long or sum(ch in "*?" for ch in raw) > MAX_WILDCARDS:
        raise QueryLimitError(
            f"a word with wildcards may have at most {MAX_WILDCARDS} of them and "
            f"{MAX_WILDCARD_WORD} characters",
            "wildcard_word_chars" if too_long else "wildcards_per_word",
            MAX_WILDCARD_WORD if too_long else MAX_WILDCARDS, item.pos,
        )
    wildcards.add(raw, item.pos)
    return Term(raw.lower(), field, wildcard=True)


def _search_field(
    item: lq.SearchField, field: str | None, depth: int, steps: int, wildcards: _Wildcards
) -> Node | None:
    name = str(item.name).lower()
    if field is not None:
        raise QuerySyntaxError(f"field {name!r} cannot be nested inside field {field!r}", item.pos)
    if name not in KNOWN_FIELDS:
        hint = "; filter by source with the source option" if name == "source" else ""
        raise QuerySyntaxError(
            f"unknown field {name!r}; known fields are {', '.join(sorted(KNOWN_FIELDS))}"
            f" (put text containing ':' in quotes){hint}",
            item.pos,
        )
    return _convert(item.expr, name, depth, steps, wildcards)


def _searchable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _and(items: tuple[Node, ...]) -> Node | None:
    items = tuple(i for i in items if not isinstance(i, MatchAll)) or items[:1]
    items = tuple(dict.fromkeys(x for i in items for x in (i.items if isinstance(i, And) else (i,))))
    if not items:
        return None
    return items[0] if len(items) == 1 else And(items)


def _or(items: tuple[Node, ...]) -> Node | None:
    if any(isinstance(i, MatchAll) for i in items):
        return MatchAll()
    items = tuple(dict.fromkeys(x for i in items for x in (i.items if isinstance(i, Or) else (i,))))
    if not items:
        return None
    return items[0] if len(items) == 1 else Or(items)
