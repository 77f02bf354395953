"""The Elasticsearch backend: articles and stories in versioned indices behind aliases.

Layout (see ``docs/elasticsearch.md``): for each kind (``articles``, ``stories``) a composable
index template ``PREFIX-KIND-vN`` from ``search/templates/KIND-vN.json`` matches exactly the
index ``PREFIX-KIND-vN``, and every read and write goes through the alias ``PREFIX-KIND``.
A mapping change is a new template file, then :meth:`ElasticIndex.migrate` (new index,
reindex, atomic alias flip).

Searches compile our query AST (:mod:`search.query`), never the raw string, so a saved search
finds the same articles as on the embedded backend. The index must work with the ``standard``
analyzer alone (the integ-test distribution has no analysis-common module: no asciifolding, no
possessive stemmer), so the text is prepared in Python: ``title_words`` / ``body_words`` hold
the title and body with accents folded and every character that is neither a letter, a digit
nor a mark replaced by a space, one character for one (:func:`words`). Tokens are then what
FTS5's ``unicode61 remove_diacritics 2`` makes (``Russia's`` → ``russia`` ``s``, ``U.S.`` →
``u`` ``s``, ``Zürich`` → ``zurich``), and offsets still point into the original text, which is
how snippets are rebuilt from it. Query words go through the same function; every word or
phrase is a ``match_phrase`` (``covid-19`` keeps its parts adjacent, as a quoted FTS5 string
does), wildcards are ``wildcard`` queries on the indexed words, AND/OR/NOT are ``bool``
clauses. ``title`` and ``body`` keep the text as published, analysed by ``standard``, for
Kibana and ad-hoc queries.

Every search, facet count and match carries the time budget ``query_budget_ms`` (by default
:data:`search.query.QUERY_TIME_BUDGET_MS`) as Elasticsearch's ``timeout``; an answer that
says ``timed_out`` is refused with :class:`search.query.QueryLimitError`, never returned as
partial hits, and the client gives up (without retrying) shortly after the budget.

The backend is in four rooms besides this one: ``elastic_client.py`` (errors, bulk writes),
``elastic_layout.py`` (names, templates, aliases, migrations), ``elastic_query.py`` (the query
compiler) and ``elastic_docs.py`` (documents and snippets).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from elasticsearch import (
    ConnectionTimeout,
    Elasticsearch,
)

from core.errors import ConfigError, NewswatchError
from core.models import IndexDoc, SearchHit, SearchRequest, SearchResult, StoryDoc
from core.settings import Settings
from search.backend import (
    DEFAULT_FACETS,
    MAX_LIMIT,
    MatchOutcome,
    parse_iso,
    unique_requests,
)
from search.elastic_client import REQUEST_TIMEOUT
from search.elastic_docs import (
    ARTICLE_SOURCE,
    HL_END,
    HL_START,
    SNIPPET_CHARS,
    article_source,
    display_url,
    snippet_from,
    story_from_source,
    story_source,
    with_port,
)
from search.elastic_layout import KINDS, TEMPLATES_DIR, IndexLayout
from search.elastic_match import match_requests
from search.elastic_query import (
    MAX_NESTED_DEPTH,
    check_facets,
    compile_query,
    filter_clauses,
    has_positive,
    page_window,
    query_depth,
    sort_clause,
)
from search.percolate import QueryCache
from search.query import (
    QUERY_TIME_BUDGET_MS,
    Node,
    QueryLimitError,
    parse_query,
    time_limit_error,
)

CLIENT_SLACK_SECONDS = 5.0  # the client waits this much longer than the budget it sent
_VALID_PREFIX = re.compile(r"^[a-z0-9][a-z0-9._-]{0,100}$")


class ElasticIndex(IndexLayout):
    """An :class:`~search.backend.IndexBackend` on an Elasticsearch 8 cluster."""

    def __init__(
        self,
        settings: Settings,
        *,
        templates_dir: Path | None = None,
        ensure_schema: bool = True,
        query_budget_ms: float = QUERY_TIME_BUDGET_MS,
    ) -> None:
        if not settings.es_url.strip():
            raise ConfigError(
                "NEWSWATCH_INDEX=elasticsearch needs NEWSWATCH_ES_URL (e.g. http://localhost:9200)"
            )
        prefix = settings.es_index_prefix
        if not _VALID_PREFIX.match(prefix):
            raise ConfigError(
                f"NEWSWATCH_ES_INDEX_PREFIX={prefix!r} is not a valid index name prefix "
                "(lower-case letters, digits, '.', '_' and '-', not starting with '.', '_' or '-')"
            )
        self.prefix = prefix
        self.query_budget_ms = query_budget_ms  # how long one search may run
        self._queries = QueryCache()  # parsed watch queries, kept across batches
        self.url = display_url(settings.es_url)
        self.templates_dir = templates_dir or TEMPLATES_DIR
        auth = (settings.es_username, settings.es_password) if settings.es_username else None
        try:
            self.client = Elasticsearch(
                with_port(settings.es_url.strip()),
                basic_auth=auth,
                verify_certs=settings.es_verify_certs,
                request_timeout=REQUEST_TIMEOUT,
                max_retries=2,
                retry_on_timeout=True,
                retry_on_status=(429, 502, 503, 504),
            )
        except ValueError as exc:
            raise ConfigError(f"NEWSWATCH_ES_URL={self.url!r} is invalid: {exc}") from None
        if ensure_schema:
            self.ensure_schema()

    def __enter__(self) -> ElasticIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upsert_many(self, docs: Iterable[IndexDoc]) -> int:
        alias = self.alias("articles")
        actions = (
            {"_op_type": "index", "_index": alias, "_id": doc.id, "_source": article_source(doc)}
            for doc in docs
        )
        return self._write(alias, actions)

    def delete(self, ids: Iterable[str]) -> int:
        return self._delete("articles", ids)

    def count(self) -> int:
        with self._errors():
            return int(self.client.count(index=self.alias("articles"))["count"])

    def optimize(self) -> None:
        """Refresh both aliases and start expunging deleted documents (left by upserts) as a
        background task; a full merge to one segment is for read-only indices, not ours."""
        with self._errors():
            for kind in KINDS:
                alias = self.alias(kind)
                self.client.indices.refresh(index=alias)
                self.client.indices.forcemerge(
                    index=alias, only_expunge_deletes=True, wait_for_completion=False
                )

    def close(self) -> None:
        self.client.close()

    def upsert_stories(self, stories: Iterable[StoryDoc]) -> int:
        alias = self.alias("stories")
        actions = (
            {"_op_type": "index", "_index": alias, "_id": s.id, "_source": story_source(s)}
            for s in stories
        )
        return self._write(alias, actions)

    def delete_stories(self, ids: Iterable[str]) -> int:
        return self._delete("stories", ids)

    def list_stories(
        self, topic: str | None = None, entities: tuple[str, ...] = (), limit: int = 20,
        offset: int = 0,
    ) -> list[StoryDoc]:
        limit, offset = page_window(limit, offset)
        filters: list[dict[str, Any]] = []
        if topic:
            filters.append({"term": {"topics": topic}})
        if entities:
            filters.append({"terms": {"entity_ids": list(entities)}})
        if limit == 0:
            return []
        with self._errors():
            resp = self.client.search(
                index=self.alias("stories"),
                query={"bool": {"filter": filters}},
                sort=[{"last_updated": {"order": "desc"}}, {"id": {"order": "asc"}}],
                from_=offset,
                size=limit,
            )
        return [story_from_source(hit["_source"]) for hit in resp["hits"]["hits"]]

    def search(self, request: SearchRequest) -> SearchResult:
        node = parse_query(request.query)  # QuerySyntaxError before any request is sent
        limit, offset = page_window(request.limit, request.offset)
        ranked = has_positive(node)
        body: dict[str, Any] = {
            "query": self._query(node, request),
            "track_total_hits": True,
            "from_": offset,
            "size": limit,
            "source": ARTICLE_SOURCE,
            "sort": sort_clause(ranked, by_date=request.sort == "date"),
            "timeout": self._timeout,
        }
        if ranked and request.sort == "date":
            body["track_scores"] = True  # sorted by date, still scored
        if ranked and limit:
            highlight = {
                "type": "unified",
                "number_of_fragments": 1,
                "fragment_size": SNIPPET_CHARS,
                "no_match_size": 0,
                "pre_tags": [HL_START],
                "post_tags": [HL_END],
            }
            body["highlight"] = {"fields": {"body_words": highlight}}
        with self._searching() as client:
            resp = self._in_time(client.search(index=self.alias("articles"), **body))
        hits = []
        for hit in resp["hits"]["hits"]:
            src = hit["_source"]
            hits.append(
                SearchHit(
                    id=src["id"],
                    url=src["url"],
                    title=src["title"],
                    source=src["source"],
                    published=parse_iso(src.get("published")),
                    score=float(hit.get("_score") or 0.0) if ranked else 0.0,
                    snippet=snippet_from(hit.get("highlight") or {}, src),
                )
            )
        return SearchResult(total=int(resp["hits"]["total"]["value"]), hits=hits)

    def match(self, requests: Sequence[SearchRequest], ids: Sequence[str]) -> list[MatchOutcome]:
        distinct, positions = unique_requests(requests)
        outcomes = self._match(distinct, ids)
        return [outcomes[i] for i in positions]

    def _match(self, requests: Sequence[SearchRequest], ids: Sequence[str]) -> list[MatchOutcome]:
        """Only the requests that can match (``search.elastic_match``), each restricted to
        its candidate documents, sent in ``_msearch`` batches."""
        with self._errors():
            return match_requests(self.client, self.alias("articles"), requests, ids,
                                  self._queries, self._query, self.query_budget_ms,
                                  str(time_limit_error(self.query_budget_ms)))

    def facets(
        self, request: SearchRequest, fields: Sequence[str] = DEFAULT_FACETS, size: int = 10
    ) -> dict[str, list[tuple[str, int]]]:
        """The commonest values of ``fields`` among the articles ``request`` finds.

        Counts are of articles; ties are broken by value. Empty values are left out.
        """
        node = parse_query(request.query)
        check_facets(fields)
        size = max(0, min(size, MAX_LIMIT))
        if size == 0 or not fields:
            return {name: [] for name in fields}
        aggs = {
            name: {"terms": {"field": name, "size": size, "exclude": [""]}} for name in fields
        }
        query = self._query(node, request)
        with self._searching() as client:
            resp = self._in_time(client.search(
                index=self.alias("articles"), query=query, size=0, aggs=aggs,
                timeout=self._timeout,
            ))
        result = resp.get("aggregations") or {}
        return {
            name: [(str(b["key"]), int(b["doc_count"])) for b in result[name]["buckets"]]
            for name in fields
        }

    def _query(self, node: Node, request: SearchRequest) -> dict[str, Any]:
        query = compile_query(node)
        filters = filter_clauses(request)
        inner = query.get("bool")
        if inner is not None and "should" not in inner:  # AND / NOT: add the filters to it
            merged = dict(inner)
            merged["filter"] = [*inner.get("filter", []), *filters]
            query = {"bool": merged}
        elif filters:
            query = {"bool": {"must": [query], "filter": filters}}
        if query_depth(query) > MAX_NESTED_DEPTH:
            raise QueryLimitError(
                f"the query is nested too deeply for Elasticsearch (more than {MAX_NESTED_DEPTH} "
                "levels of AND/OR/NOT); simplify it",
                "depth", MAX_NESTED_DEPTH,
            )
        return query

    @property
    def _timeout(self) -> str:
        """The time budget as Elasticsearch's ``timeout`` of a search."""
        return f"{max(1, round(self.query_budget_ms))}ms"

    @contextlib.contextmanager
    def _searching(self) -> Iterator[Elasticsearch]:
        """The client for one search: it gives up shortly after the budget the server was
        given, and does not retry a search that ran out of time (that would triple it)."""
        client = self.client.options(
            request_timeout=self.query_budget_ms / 1000 + CLIENT_SLACK_SECONDS,
            retry_on_timeout=False,
        )
        with self._errors():
            try:
                yield client
            except ConnectionTimeout:
                raise time_limit_error(self.query_budget_ms) from None

    def _in_time(self, resp: Any) -> Any:
        """The answer of a search, unless it ran out of time (its hits would be partial)."""
        if resp.get("timed_out"):
            raise time_limit_error(self.query_budget_ms)
        return resp

    def _delete(self, kind: str, ids: Iterable[str]) -> int:
        alias = self.alias(kind)
        unique = list(dict.fromkeys(ids))
        if not unique:
            return 0
        actions = ({"_op_type": "delete", "_index": alias, "_id": i} for i in unique)
        return self._write(alias, actions)

    def _write(self, alias: str, actions: Iterable[dict[str, Any]]) -> int:
        """Bulk-write, then refresh, so what was written is searchable when the call returns
        (also what was written before a document was rejected)."""
        try:
            done, _ = self._bulk(actions)
        except NewswatchError:
            with contextlib.suppress(NewswatchError):
                self._refresh(alias)
            raise
        self._refresh(alias)
        return done

    def _refresh(self, alias: str) -> None:
        """Make what was just written searchable before the call returns."""
        with self._errors():
            self.client.indices.refresh(index=alias)


