"""Our query AST (:mod:`search.query`) compiled to Elasticsearch's query DSL, with the
filters, sort and paging of a search request; text prepared as the index holds it."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from core.errors import NewswatchError
from core.models import SearchRequest
from search.analysis import Variant, analysed, query_variants, wildcard_pattern
from search.backend import (
    FACET_FIELDS,
    MAX_LIMIT,
    iso_utc,
)
from search.query import And, MatchAll, Node, Not, Or, Phrase, Term

TITLE_BOOST = 10.0  # a word in the title counts ten times as much, as on the embedded index


MAX_NESTED_DEPTH = 30  # indices.query.bool.max_nested_depth (the default)


MAX_RESULT_WINDOW = 10_000  # index.max_result_window in the templates: offset + limit cap


_ASCII_WORDS = {i: (chr(i) if chr(i).isalnum() else " ") for i in range(128)}


def compile_query(node: Node) -> dict[str, Any]:
    """Our AST as Elasticsearch query DSL (see the module docstring)."""
    if isinstance(node, MatchAll):
        return {"match_all": {}}
    if isinstance(node, Not):
        return {"bool": {"filter": [{"match_all": {}}], "must_not": [compile_query(node.item)]}}
    if isinstance(node, And):
        must = [compile_query(i) for i in node.items if not isinstance(i, Not)]
        must_not = [compile_query(i.item) for i in node.items if isinstance(i, Not)]
        clauses: dict[str, Any] = {"must": must} if must else {"filter": [{"match_all": {}}]}
        if must_not:
            clauses["must_not"] = must_not
        return {"bool": clauses}
    if isinstance(node, Or):
        return {
            "bool": {"should": [compile_query(i) for i in node.items], "minimum_should_match": 1}
        }
    return _leaf(node)


def _leaf(node: Term | Phrase) -> dict[str, Any]:
    """One word, phrase or wildcard, in the title and body (or the one field named); in
    Cyrillic, Hangul or CJK, in their analysed terms (``title_terms``, ``body_terms``)."""
    names = (node.field,) if node.field else ("title", "body")
    on_terms = analysed(node.text)
    suffix = "_terms" if on_terms else "_words"
    boosts = {f"{name}{suffix}": TITLE_BOOST if name == "title" else 1.0 for name in names}
    if on_terms and not (isinstance(node, Term) and node.wildcard):
        return _terms_leaf(query_variants(node.text), boosts)
    if isinstance(node, Term) and node.wildcard:  # letters, digits, * and ? only
        pattern = "".join(p if p in "*?" else words(p) for p in re.split(r"([*?])", node.text))
        if on_terms:
            pattern = wildcard_pattern(node.text)
        should = [
            {"wildcard": {field: {"value": pattern, "case_insensitive": True, "boost": boost}}}
            for field, boost in boosts.items()
        ]
        return should[0] if len(should) == 1 else {"bool": {"should": should}}
    text = words(node.text)
    if len(boosts) == 1:
        ((field, boost),) = boosts.items()
        return {"match_phrase": {field: {"query": text, "boost": boost}}}
    fields = [f"{field}^{boost:g}" for field, boost in boosts.items()]
    # tie_breaker 1: the scores of title and body add up, as in FTS5's weighted bm25
    return {"multi_match": {"query": text, "type": "phrase", "fields": fields, "tie_breaker": 1.0}}


def _terms_leaf(variants: tuple[Variant, ...], boosts: dict[str, float]) -> dict[str, Any]:
    """Any of the term sequences, each a phrase (or a prefix for a lone CJK character) in
    the analysed fields; nothing when there are none."""
    if not variants:
        return {"match_none": {}}
    fields = [f"{field}^{boost:g}" for field, boost in boosts.items()]
    should: list[dict[str, Any]] = []
    for variant in variants:
        text = " ".join(variant.terms)
        if variant.prefix:
            should.extend({"prefix": {f: {"value": text, "boost": b}}} for f, b in boosts.items())
        elif len(fields) == 1:
            ((field, boost),) = boosts.items()
            should.append({"match_phrase": {field: {"query": text, "boost": boost}}})
        else:
            should.append({"multi_match": {"query": text, "type": "phrase", "fields": fields,
                                           "tie_breaker": 1.0}})
    return should[0] if len(should) == 1 else {"bool": {"should": should}}


def query_depth(query: dict[str, Any]) -> int:
    """How deeply ``bool`` queries nest, as Elasticsearch counts them."""
    inner = query.get("bool")
    if inner is None:
        return 1
    children = [c for key in ("must", "should", "must_not", "filter") for c in inner.get(key, [])]
    return 1 + max((query_depth(c) for c in children), default=0)


def has_positive(node: Node, positive: bool = True) -> bool:
    """Whether some word or phrase counts for relevance (is not under an odd number of NOTs)."""
    if isinstance(node, MatchAll):
        return False
    if isinstance(node, Not):
        return has_positive(node.item, not positive)
    if isinstance(node, And | Or):
        return any(has_positive(i, positive) for i in node.items)
    return positive


def sort_clause(ranked: bool, by_date: bool = False) -> list[dict[str, Any]]:
    """Best first (ties newest first) when ``ranked``; newest first otherwise or when
    ``by_date`` (the search then asks for scores with ``track_scores``)."""
    newest = [
        {"published": {"order": "desc", "missing": "_last"}},
        {"ingested": {"order": "desc"}},
        {"id": {"order": "asc"}},
    ]
    return [{"_score": {"order": "desc"}}, *newest] if ranked and not by_date else newest


def filter_clauses(request: SearchRequest) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if request.source:
        filters.append({"term": {"source_key": request.source.casefold()}})
    if request.entities:
        filters.append({"terms": {"entity_ids": list(request.entities)}})
    if request.topic:
        filters.append({"term": {"topics": request.topic}})
    if request.language:
        filters.append({"term": {"language": request.language.lower()}})
    story_id = getattr(request, "story_id", None)  # when SearchRequest gains the field
    if story_id:
        filters.append({"term": {"story_id": story_id}})
    dates: dict[str, str | None] = {}
    if request.since is not None:
        dates["gte"] = iso_utc(request.since)
    if request.until is not None:
        dates["lte"] = iso_utc(request.until)
    if dates:
        filters.append({"range": {"published": dates}})
    return filters


def check_facets(fields: Sequence[str]) -> None:
    unknown = [f for f in fields if f not in FACET_FIELDS]
    if unknown:
        raise NewswatchError(
            f"unknown facet {unknown[0]!r}; known facets are {', '.join(FACET_FIELDS)}"
        )


def page_window(limit: int, offset: int) -> tuple[int, int]:
    limit, offset = max(0, min(limit, MAX_LIMIT)), max(0, offset)
    if offset + limit > MAX_RESULT_WINDOW:
        raise NewswatchError(
            f"Elasticsearch pages stop at result {MAX_RESULT_WINDOW:,} "
            f"(offset {offset} + limit {limit}); narrow the search with filters"
        )
    return limit, offset


def words(text: str) -> str:
    """The text as newswatch searches it, one character for one (offsets stay valid).

    Letters and digits lose their accents (``ü`` → ``u``, when that gives one character);
    combining marks stay; everything else (punctuation, symbols, spaces) becomes a space.
    """
    out = text.translate(_ASCII_WORDS)
    if out.isascii():
        return out
    return "".join(_word_char(ch) for ch in out)


@functools.lru_cache(maxsize=8192)
def _word_char(ch: str) -> str:
    if ch.isascii():
        return ch
    category = unicodedata.category(ch)
    if category[0] not in "LNM" and category != "Co":
        return " "
    if category[0] == "M":
        return ch
    decomposed = unicodedata.normalize("NFD", ch)
    base = unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    )
    return base if len(base) == 1 else ch
