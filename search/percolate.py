"""Percolator-style candidate selection: which watches can match which articles of a batch.

Running every watch's query over every new batch costs a search per watch, and most
watches cannot match most batches. Each watch's parsed query (:mod:`search.query`) and
filters are read here as a condition on the words (:mod:`search.terms`), entity ids,
topics, source and language an article holds, that every article the watch matches
satisfies (the reverse need not hold):

* a word or phrase needs all its (ASCII) words; a wildcard word needs a word starting with
  its literal prefix; AND needs what each part needs, OR what one of its parts needs;
* NOT, match-all, a leading wildcard and words outside ASCII need nothing (they do not
  narrow the articles); filters need their value.

:func:`candidates` evaluates that condition on a batch: for each request, the positions of
the articles that can match it, or ``None`` when it can match any. The backends then run
only the requests with candidates, each restricted to its candidate articles, with their own
query semantics, so what they find is exactly what running every watch on the whole batch
finds (``tests/search/test_percolate.py`` checks both against that).

:class:`QueryCache` keeps parsed queries per query text across batches (watches rarely
change), with a quick path for the commonest form, lower-case words.
"""

from __future__ import annotations

import bisect
import re
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from core.errors import QuerySyntaxError
from core.models import SearchRequest
from search.query import (
    MAX_WILDCARD_TERMS,
    MAX_WILDCARD_WORD,
    And,
    MatchAll,
    Node,
    Not,
    Or,
    Phrase,
    Term,
    parse_query,
)
from search.terms import prefix_term, query_terms, text_terms

Positions = frozenset[int] | None  # articles of the batch, or None: any of them
T = TypeVar("T")


@dataclass(frozen=True)
class BatchDoc:
    """What candidate selection reads of one indexed article."""

    title: str
    body: str
    source_key: str = ""
    language: str = ""
    entities: tuple[str, ...] = ()  # entity ids
    topics: tuple[str, ...] = ()


# What an article must hold for a query to match it, worked out once per query text:
# ("any",) | ("terms", words) | ("prefix", start) | ("and", needs) | ("or", needs)
Need = tuple[object, ...]
ANY: Need = ("any",)


class QueryCache:
    """Parsed queries (or their syntax errors) and what they need, by query text, and a
    backend's compiled requests; the newest ``size`` of each are kept (watches rarely
    change between batches)."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[Node, Need] | QuerySyntaxError] = OrderedDict()
        self._compiled: OrderedDict[SearchRequest, object] = OrderedDict()

    def entry(self, text: str) -> tuple[Node, Need] | QuerySyntaxError:
        found = self._entries.get(text)
        if found is None:
            node = quick_parse(text)
            try:
                node = node if node is not None else parse_query(text)
                found = (node, need(node))
            except QuerySyntaxError as exc:
                found = exc
            self._entries[text] = found
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return found

    def get(self, text: str) -> Node | QuerySyntaxError:
        found = self.entry(text)
        return found if isinstance(found, QuerySyntaxError) else found[0]

    def compiled(
        self, request: SearchRequest, node: Node, make: Callable[[Node, SearchRequest], T],
    ) -> T | QuerySyntaxError:
        """A backend's compiled form of ``request`` (whose parsed query is ``node``),
        ``make(node, request)`` worked out once per request, or the error it raised. Kept
        like the parsed queries; what is returned is shared: it must not be changed."""
        found = self._compiled.get(request)
        if found is None:
            try:
                found = make(node, request)
            except QuerySyntaxError as exc:
                found = exc
            self._compiled[request] = found
            if len(self._compiled) > self.size:
                self._compiled.popitem(last=False)
        return found  # type: ignore[return-value]


_QUICK_TOKEN = re.compile(r'-?(?:"[a-z0-9]+(?: [a-z0-9]+)*"|[a-z0-9]+\*?)|OR')


def quick_parse(text: str) -> Node | None:
    """``parse_query(text)`` without the parser for the commonest forms of watch queries:
    lower-case words, ``"phrases"`` of them, ``word*``, ``-part`` and ``OR`` between parts,
    separated by single spaces. Anything else: ``None``."""
    if len(text) > 200:
        return None
    tokens = text.split(" ")
    if not all(_QUICK_TOKEN.fullmatch(t) for t in tokens):
        return None
    if "OR" in tokens and any(t.startswith("-") for t in tokens):
        return None  # the parser groups NOT next to OR in its own way
    wild = [t for t in tokens if t.endswith("*")]
    if len(wild) > MAX_WILDCARD_TERMS or any(len(t.lstrip("-")) > MAX_WILDCARD_WORD for t in wild):
        return None  # over a limit: the parser says which
    groups: list[list[Node]] = []
    joined = False
    for i, tok in enumerate(tokens):
        if tok == "OR":
            if i == 0 or i == len(tokens) - 1 or tokens[i - 1] == "OR":
                return None
            joined = True
            continue
        node = _quick_leaf(tok)
        if joined:
            groups[-1].append(node)
        else:
            groups.append([node])
        joined = False
    parts = [_flat(Or, group) for group in groups]
    return _flat(And, parts)


def _quick_leaf(tok: str) -> Node:
    negated, tok = tok.startswith("-"), tok.lstrip("-")
    if tok.startswith('"'):
        node: Node = Phrase(tok[1:-1])
    elif tok.endswith("*"):
        node = Term(tok, wildcard=True)
    else:
        node = Term(tok)
    return Not(node) if negated else node


def _flat(kind: type[And] | type[Or], items: list[Node]) -> Node:
    """``kind`` of ``items`` as the parser builds it: nested ones flattened, repeats kept
    once, a single item alone."""
    flat = tuple(dict.fromkeys(x for i in items for x in (i.items if isinstance(i, kind) else (i,))))
    return flat[0] if len(flat) == 1 else kind(flat)


def need(node: Node) -> Need:
    """What an article must hold for ``node`` to match it (see the module docstring)."""
    if isinstance(node, MatchAll | Not):
        return ANY
    if isinstance(node, And):
        parts = tuple(p for p in (need(i) for i in node.items) if p != ANY)
        return ANY if not parts else parts[0] if len(parts) == 1 else ("and", parts)
    if isinstance(node, Or):
        parts = tuple(need(i) for i in node.items)
        return ANY if ANY in parts else ("or", parts)
    if isinstance(node, Term) and node.wildcard:
        start = prefix_term(node.text)
        return ANY if start is None else ("prefix", start)
    if isinstance(node, Term | Phrase):
        words = query_terms(node.text)
        return ANY if not words else ("terms", words)
    return ANY


class Batch:
    """The words, filters' values and positions of a batch of articles."""

    def __init__(self, docs: Sequence[BatchDoc]) -> None:
        self.size = len(docs)
        self.postings: dict[str, set[int]] = defaultdict(set)
        self.values: dict[tuple[str, str], set[int]] = defaultdict(set)
        for i, doc in enumerate(docs):
            for term in text_terms(doc.title) | text_terms(doc.body):
                self.postings[term].add(i)
            self.values["source", doc.source_key].add(i)
            self.values["language", doc.language].add(i)
            for e in doc.entities:
                self.values["entity", e].add(i)
            for topic in doc.topics:
                self.values["topic", topic].add(i)
        self.vocabulary = sorted(self.postings)

    def terms(self, needed: tuple[str, ...]) -> Positions:
        found: set[int] | None = None
        for word in needed:
            have = self.postings.get(word, set())
            found = set(have) if found is None else found & have
            if not found:
                return frozenset()
        return frozenset(found or ())

    def prefix(self, literal: str) -> Positions:
        start = bisect.bisect_left(self.vocabulary, literal)
        found: set[int] = set()
        for word in self.vocabulary[start:]:
            if not word.startswith(literal):
                break
            found |= self.postings[word]
        return frozenset(found)

    def value(self, kind: str, values: Sequence[str]) -> frozenset[int]:
        found: set[int] = set()
        for v in values:
            found |= self.values.get((kind, v), set())
        return frozenset(found)


def possible(needed: Need, batch: Batch) -> Positions:
    """The articles of ``batch`` that hold what ``needed`` asks (``None``: any of them)."""
    kind = needed[0]
    if kind == "terms":
        return batch.terms(needed[1])  # type: ignore[arg-type]
    if kind == "prefix":
        return batch.prefix(needed[1])  # type: ignore[arg-type]
    if kind == "and":
        found: Positions = None
        for part in needed[1]:  # type: ignore[attr-defined]
            got = possible(part, batch)
            if got is not None:
                found = got if found is None else found & got
                if not found:
                    return frozenset()
        return found
    if kind == "or":
        union: set[int] = set()
        for part in needed[1]:  # type: ignore[attr-defined]
            got = possible(part, batch)
            if got is None:
                return None
            union |= got
        return frozenset(union)
    return None


def request_possible(needed: Need, request: SearchRequest, batch: Batch) -> Positions:
    """:func:`possible` for a query with the request's filters (dates are not looked at)."""
    found = possible(needed, batch)
    filters: list[frozenset[int]] = []
    if request.source:
        filters.append(batch.value("source", [request.source.casefold()]))
    if request.entities:
        filters.append(batch.value("entity", request.entities))
    if request.topic:
        filters.append(batch.value("topic", [request.topic]))
    if request.language:
        filters.append(batch.value("language", [request.language.lower()]))
    for f in filters:
        found = f if found is None else found & f
    return found


def candidates(
    requests: Sequence[SearchRequest], docs: Sequence[BatchDoc], cache: QueryCache
) -> list[Positions | QuerySyntaxError]:
    """For each request, the positions in ``docs`` of the articles it can match (empty: it
    matches none of them, and need not run; ``None``: any), or its syntax error."""
    batch = Batch(docs)
    out: list[Positions | QuerySyntaxError] = []
    for request in requests:
        entry = cache.entry(request.query)
        out.append(entry if isinstance(entry, QuerySyntaxError)
                   else request_possible(entry[1], request, batch))
    return out
