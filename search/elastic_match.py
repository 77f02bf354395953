"""Watch matching on Elasticsearch: many requests against one batch of documents.

The batch's documents are read once (``mget``: what candidate selection needs of them);
:func:`search.percolate.candidates` picks, for each request, the documents it can match at
all; only requests with candidates are sent, each restricted to its candidates' ids, in
filter context: :data:`NAMED_GROUP` requests in one search as the named filters of a
``filters`` aggregation (a ``terms`` sub-aggregation on ``id`` lists each one's documents),
:data:`NAMED_SEARCHES` such searches per ``_msearch``. A search that fails or runs out of
time (its limit is :data:`GROUP_BUDGETS` time budgets) is sent again request by request,
:data:`MSEARCH_GROUP` to an ``_msearch``, so each gets its own error or answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from core.errors import QuerySyntaxError
from core.models import SearchRequest
from search.backend import MatchOutcome
from search.percolate import BatchDoc, QueryCache, candidates
from search.query import Node

MSEARCH_GROUP = 100  # searches per _msearch request (requests sent on their own)
NAMED_GROUP = 250  # requests in one search, as named clauses
NAMED_SEARCHES = 4  # such searches per _msearch request
GROUP_BUDGETS = 5  # a group's time limit, in time budgets of one request (then: one by one)
NO_MATCH = MatchOutcome()
# What a grouped search's answer needs: each filter's document ids, errors and time-outs
# (the rest of the answer is most of its bytes).
NAMED_FILTER_PATH = ["responses.aggregations.w.buckets.*.ids.buckets.key", "responses.error",
                     "responses.timed_out", "responses.status"]
_FIELDS = ["title", "body", "source_key", "language", "entity_ids", "topics"]

Compile = Callable[[Node, SearchRequest], dict[str, Any]]


def batch_docs(client: Any, alias: str, ids: Sequence[str]) -> dict[str, BatchDoc]:
    """What candidate selection reads of the indexed documents ``ids``, by id."""
    resp = client.mget(index=alias, ids=list(ids), source=_FIELDS)
    docs: dict[str, BatchDoc] = {}
    for hit in resp["docs"]:
        if not hit.get("found"):
            continue
        src = hit["_source"]
        docs[hit["_id"]] = BatchDoc(
            title=src.get("title") or "", body=src.get("body") or "",
            source_key=src.get("source_key") or "", language=src.get("language") or "",
            entities=tuple(src.get("entity_ids") or ()), topics=tuple(src.get("topics") or ()))
    return docs


def match_requests(
    client: Any, alias: str, requests: Sequence[SearchRequest], ids: Sequence[str],
    cache: QueryCache, compile_request: Compile, budget_ms: float, timed_out: str,
) -> list[MatchOutcome]:
    """For each request, which of the documents ``ids`` it finds. ``client`` is the
    Elasticsearch client (errors are the caller's to translate); ``compile_request`` turns a
    parsed query and its request into query DSL (it may raise ``QuerySyntaxError``);
    ``timed_out`` is the error of a request that ran out of its time budget."""
    timeout = f"{max(1, round(budget_ms))}ms"
    group_timeout = f"{max(1, round(budget_ms * GROUP_BUDGETS))}ms"
    if not ids or not requests:
        return [NO_MATCH] * len(requests)
    found = batch_docs(client, alias, ids)
    doc_ids = list(found)
    out = [NO_MATCH] * len(requests)
    pending: list[tuple[int, dict[str, Any], list[str]]] = []  # (request, query, candidates)
    for k, positions in enumerate(candidates(requests, list(found.values()), cache)):
        if isinstance(positions, QuerySyntaxError):
            out[k] = MatchOutcome(error=str(positions))
            continue
        if positions is not None and not positions:
            continue
        node = cache.get(requests[k].query)
        assert not isinstance(node, QuerySyntaxError)
        query = cache.compiled(replace(requests[k], since=None, until=None), node,
                               compile_request)
        if isinstance(query, QuerySyntaxError):
            out[k] = MatchOutcome(error=str(query))
            continue
        only = doc_ids if positions is None else [doc_ids[i] for i in sorted(positions)]
        pending.append((k, query, only))
    found_ids: dict[int, set[str]] = {k: set() for k, _, _ in pending}
    retry: list[tuple[int, dict[str, Any], list[str]]] = []
    groups = [pending[i : i + NAMED_GROUP] for i in range(0, len(pending), NAMED_GROUP)]
    for start in range(0, len(groups), NAMED_SEARCHES):
        chunk = groups[start : start + NAMED_SEARCHES]
        searches: list[dict[str, Any]] = []
        for group in chunk:
            searches += [{"index": alias}, _named(group, group_timeout)]
        resp = client.msearch(searches=searches, filter_path=NAMED_FILTER_PATH)
        for group, item in zip(chunk, resp["responses"], strict=True):
            if "error" in item or item.get("timed_out"):
                retry += group  # one of them is at fault: each on its own
                continue
            buckets = item.get("aggregations", {}).get("w", {}).get("buckets", {})
            for name, bucket in buckets.items():
                found_ids[int(name)].update(b["key"] for b in bucket.get("ids", {}).get("buckets", ()))
    failed = {k for k, _, _ in retry}
    for k, ids_found in found_ids.items():
        if k not in failed:
            out[k] = MatchOutcome(frozenset(ids_found))
    for start in range(0, len(retry), MSEARCH_GROUP):
        batch = retry[start : start + MSEARCH_GROUP]
        searches = []
        for _, query, only in batch:
            searches += [{"index": alias}, _alone(query, only, timeout)]
        resp = client.msearch(searches=searches)
        for (k, _, _), item in zip(batch, resp["responses"], strict=True):
            out[k] = _outcome(item, timed_out)
    return out


def _alone(query: dict[str, Any], only: list[str], timeout: str) -> dict[str, Any]:
    """One request's own search, restricted to its candidates' ids."""
    return {"query": {"bool": {"filter": [{"ids": {"values": only}}, query]}},
            "size": len(only), "_source": False, "sort": ["_doc"],
            "track_total_hits": False, "timeout": timeout}


def _named(group: list[tuple[int, dict[str, Any], list[str]]], timeout: str) -> dict[str, Any]:
    """One search for many requests: each request's query a named filter of a ``filters``
    aggregation over the union of their candidates (what a query finds of the batch is
    among its candidates: ``search.percolate``, so its own ids filter is not needed);
    a ``terms`` sub-aggregation on ``id`` lists each one's documents."""
    filters: dict[str, Any] = {}
    union: dict[str, None] = {}
    for k, query, only in group:
        filters[str(k)] = query
        union.update(dict.fromkeys(only))
    ids_agg = {"terms": {"field": "id", "size": max(1, len(union))}}
    return {"query": {"ids": {"values": list(union)}}, "size": 0, "track_total_hits": False,
            "timeout": timeout,
            "aggs": {"w": {"filters": {"filters": filters}, "aggs": {"ids": ids_agg}}}}


def _outcome(item: dict[str, Any], timed_out: str) -> MatchOutcome:
    if "error" in item:
        error = item["error"]
        reason = error.get("reason") if isinstance(error, dict) else None
        return MatchOutcome(error=f"Elasticsearch refused the query: {reason or error}")
    if item.get("timed_out"):
        return MatchOutcome(error=timed_out)
    return MatchOutcome(frozenset(h["_id"] for h in item["hits"]["hits"]))
