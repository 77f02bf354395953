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
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    Elasticsearch,
    TransportError,
    UnsupportedProductError,
)
from elasticsearch.helpers import scan, streaming_bulk

from core.errors import ConfigError, NewswatchError, QuerySyntaxError
from core.models import IndexDoc, SearchHit, SearchRequest, SearchResult, StoryDoc
from core.settings import Settings
from search.backend import (
    DEFAULT_FACETS,
    FACET_FIELDS,
    MATCH_BATCH,
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
from search.query import And, MatchAll, Node, Not, Or, Phrase, Term, parse_query

KINDS = ("articles", "stories")
TEMPLATES_DIR = Path(__file__).parent / "templates"
TITLE_BOOST = 10.0  # a word in the title counts ten times as much, as on the embedded index
MAX_RESULT_WINDOW = 10_000  # index.max_result_window in the templates: offset + limit cap
BULK_CHUNK = 500
BULK_RETRIES = 5  # per chunk, for documents rejected with 429 …
BULK_BACKOFF = 1.0  # … after waiting 1 s, 2 s, 4 s, 8 s, 16 s
REQUEST_TIMEOUT = 30.0
MAX_NESTED_DEPTH = 30  # indices.query.bool.max_nested_depth (the default)
SNIPPET_CHARS = SNIPPET_TOKENS * 7  # ~20 words of English; the highlighter cuts at words

_TEMPLATE_FILE = re.compile(r"^(?P<kind>[a-z]+)-v(?P<version>\d+)\.json$")
_VALID_PREFIX = re.compile(r"^[a-z0-9][a-z0-9._-]{0,100}$")
_HL_START, _HL_END = "\ue000", "\ue001"  # private-use: cannot clash with real text
_HL_SPLIT = re.compile(f"([{_HL_START}{_HL_END}])")
_ARTICLE_SOURCE = ["id", "url", "title", "source", "published", "body", "body_words"]
_ASCII_WORDS = {i: (chr(i) if chr(i).isalnum() else " ") for i in range(128)}


@dataclass(frozen=True)
class MigrationStep:
    """What :meth:`ElasticIndex.migrate` did for one kind of document."""

    kind: str
    alias: str
    old_index: str
    new_index: str
    documents: int
    status: str  # "migrated" | "current" (already at the target version)
    method: str = ""  # "_reindex" | "scan+bulk" (servers without the reindex module)


class ElasticIndex:
    """An :class:`~search.backend.IndexBackend` on an Elasticsearch 8 cluster."""

    def __init__(
        self,
        settings: Settings,
        *,
        templates_dir: Path | None = None,
        ensure_schema: bool = True,
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
        self.url = _display_url(settings.es_url)
        self.templates_dir = templates_dir or TEMPLATES_DIR
        auth = (settings.es_username, settings.es_password) if settings.es_username else None
        try:
            self.client = Elasticsearch(
                _with_port(settings.es_url.strip()),
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

    # -- names and templates -------------------------------------------------------------

    def alias(self, kind: str) -> str:
        """The alias every read and write of ``kind`` goes through."""
        return f"{self.prefix}-{kind}"

    def index_name(self, kind: str, version: int) -> str:
        return f"{self.prefix}-{kind}-v{version}"

    def template_versions(self, kind: str) -> list[int]:
        """Mapping versions shipped as ``KIND-vN.json`` files, ascending."""
        versions = []
        for path in self.templates_dir.glob(f"{kind}-v*.json"):
            m = _TEMPLATE_FILE.match(path.name)
            if m and m["kind"] == kind:
                versions.append(int(m["version"]))
        return sorted(versions)

    def template_body(self, kind: str, version: int) -> dict[str, Any]:
        """The composable template for ``PREFIX-KIND-vN`` (index pattern filled in)."""
        path = self.templates_dir / f"{kind}-v{version}.json"
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"there is no index template {path}") from None
        body: dict[str, Any] = json.loads(raw)
        body["index_patterns"] = [self.index_name(kind, version)]
        meta = dict(body.get("_meta") or {})
        meta["checksum"] = hashlib.sha256(raw.encode()).hexdigest()[:16]
        body["_meta"] = meta
        return body

    def current_version(self, kind: str) -> int | None:
        """The mapping version the alias points at; ``None`` when there is no alias yet."""
        with self._errors():
            return self._current(kind)[1]

    # -- IndexBackend ----------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Put the templates; create the newest index and its alias when the alias is missing.

        Idempotent. An alias pointing at an older version is left alone: that is a migration.
        """
        with self._errors():
            for kind in KINDS:
                versions = self.template_versions(kind)
                if not versions:
                    raise ConfigError(f"no {kind}-vN.json index template in {self.templates_dir}")
                for version in versions:
                    self._put_template(kind, version)
                alias = self.alias(kind)
                if self.client.indices.exists_alias(name=alias):
                    continue
                if self.client.indices.exists(index=alias):
                    raise NewswatchError(
                        f"{alias} on {self.url} is an index, not an alias (written to before "
                        "newswatch created its indices?); delete or rename it"
                    )
                self._create_index(self.index_name(kind, versions[-1]), alias)

    def upsert_many(self, docs: Iterable[IndexDoc]) -> int:
        alias = self.alias("articles")
        actions = (
            {"_op_type": "index", "_index": alias, "_id": doc.id, "_source": _article_source(doc)}
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
            {"_op_type": "index", "_index": alias, "_id": s.id, "_source": _story_source(s)}
            for s in stories
        )
        return self._write(alias, actions)

    def delete_stories(self, ids: Iterable[str]) -> int:
        return self._delete("stories", ids)

    def list_stories(
        self, topic: str | None = None, entities: tuple[str, ...] = (), limit: int = 20,
        offset: int = 0,
    ) -> list[StoryDoc]:
        limit, offset = _page(limit, offset)
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
        return [_story_from_source(hit["_source"]) for hit in resp["hits"]["hits"]]

    def search(self, request: SearchRequest) -> SearchResult:
        node = parse_query(request.query)  # QuerySyntaxError before any request is sent
        limit, offset = _page(request.limit, request.offset)
        ranked = _has_positive(node)
        body: dict[str, Any] = {
            "query": self._query(node, request),
            "track_total_hits": True,
            "from_": offset,
            "size": limit,
            "source": _ARTICLE_SOURCE,
            "sort": _sort(ranked),
        }
        if ranked and limit:
            highlight = {
                "type": "unified",
                "number_of_fragments": 1,
                "fragment_size": SNIPPET_CHARS,
                "no_match_size": 0,
                "pre_tags": [_HL_START],
                "post_tags": [_HL_END],
            }
            body["highlight"] = {"fields": {"body_words": highlight}}
        with self._errors():
            resp = self.client.search(index=self.alias("articles"), **body)
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
                    snippet=_snippet(hit.get("highlight") or {}, src),
                )
            )
        return SearchResult(total=int(resp["hits"]["total"]["value"]), hits=hits)

    def match(self, requests: Sequence[SearchRequest], ids: Sequence[str]) -> list[MatchOutcome]:
        distinct, positions = unique_requests(requests)
        outcomes = self._match(distinct, ids)
        return [outcomes[i] for i in positions]

    def _match(self, requests: Sequence[SearchRequest], ids: Sequence[str]) -> list[MatchOutcome]:
        """Every request restricted to the documents ``ids``, sent in ``_msearch`` batches."""
        if not ids or not requests:
            return [MatchOutcome() for _ in requests]
        out: list[MatchOutcome | None] = [None] * len(requests)
        nodes: dict[str, Node | QuerySyntaxError] = {}
        pending: list[tuple[int, dict[str, Any]]] = []
        only = {"ids": {"values": list(ids)}}
        for i, request in enumerate(requests):
            try:
                if request.query not in nodes:
                    nodes[request.query] = parse_query(request.query)
                node = nodes[request.query]
                if isinstance(node, QuerySyntaxError):
                    raise node
                query = self._query(node, replace(request, since=None, until=None))
            except QuerySyntaxError as exc:
                nodes.setdefault(request.query, exc)
                out[i] = MatchOutcome(error=str(exc))
                continue
            # filter context: no scores to compute, and the clauses can be cached
            body = {"query": {"bool": {"filter": [only, query]}}, "size": len(ids),
                    "_source": False, "sort": ["_doc"], "track_total_hits": False}
            pending.append((i, body))
        alias = self.alias("articles")
        for start in range(0, len(pending), MATCH_BATCH):
            batch = pending[start : start + MATCH_BATCH]
            searches: list[dict[str, Any]] = []
            for _, body in batch:
                searches += [{"index": alias}, body]
            with self._errors():
                resp = self.client.msearch(searches=searches)
            for (i, _), item in zip(batch, resp["responses"], strict=True):
                if "error" in item:
                    reason = item["error"].get("reason") if isinstance(item["error"], dict) else None
                    out[i] = MatchOutcome(error=f"Elasticsearch refused the query: {reason or item['error']}")
                else:
                    out[i] = MatchOutcome(frozenset(h["_id"] for h in item["hits"]["hits"]))
        return [o if o is not None else MatchOutcome() for o in out]

    def facets(
        self, request: SearchRequest, fields: Sequence[str] = DEFAULT_FACETS, size: int = 10
    ) -> dict[str, list[tuple[str, int]]]:
        """The commonest values of ``fields`` among the articles ``request`` finds.

        Counts are of articles; ties are broken by value. Empty values are left out.
        """
        node = parse_query(request.query)
        _check_facets(fields)
        size = max(0, min(size, MAX_LIMIT))
        if size == 0 or not fields:
            return {name: [] for name in fields}
        aggs = {
            name: {"terms": {"field": name, "size": size, "exclude": [""]}} for name in fields
        }
        with self._errors():
            resp = self.client.search(
                index=self.alias("articles"),
                query=self._query(node, request),
                size=0,
                aggs=aggs,
            )
        result = resp.get("aggregations") or {}
        return {
            name: [(str(b["key"]), int(b["doc_count"])) for b in result[name]["buckets"]]
            for name in fields
        }

    # -- migration and maintenance ----------------------------------------------------------

    def migrate(
        self, target_version: int, kinds: Sequence[str] = KINDS, *, delete_old: bool = False
    ) -> list[MigrationStep]:
        """Move each kind to mapping ``target_version``: create ``PREFIX-KIND-vN`` from its
        template, copy every document into it, then flip the alias in one atomic request.

        Copies with the ``_reindex`` API, or with scroll + bulk on servers without the reindex
        module. Writes made to the alias while a copy runs are not in the new index: pause
        ``newswatch run`` during a migration. The old index is kept unless ``delete_old``.
        """
        for kind in kinds:
            if kind not in KINDS:
                raise ConfigError(f"unknown index kind {kind!r}; known: {', '.join(KINDS)}")
        steps = []
        with self._errors():
            self.ensure_schema()
            for kind in kinds:
                steps.append(self._migrate_kind(kind, target_version, delete_old))
        return steps

    def drop(self) -> None:
        """Delete every index and template of this prefix (tests; irreversible)."""
        with self._errors():
            for kind in KINDS:
                pattern = f"{self.prefix}-{kind}-v*"
                own = re.compile(re.escape(pattern[:-1]) + r"\d+")
                found = self.client.options(ignore_status=404).indices.get(index=pattern)
                for name in sorted(n for n in found if own.fullmatch(n)):
                    self.client.indices.delete(index=name)
                templates = self.client.options(ignore_status=404).indices.get_index_template(
                    name=pattern
                )
                for item in templates.get("index_templates", []):
                    if own.fullmatch(item["name"]):
                        self.client.indices.delete_index_template(name=item["name"])

    # -- internals --------------------------------------------------------------------------

    def _query(self, node: Node, request: SearchRequest) -> dict[str, Any]:
        query = compile_query(node)
        filters = _filters(request)
        inner = query.get("bool")
        if inner is not None and "should" not in inner:  # AND / NOT: add the filters to it
            merged = dict(inner)
            merged["filter"] = [*inner.get("filter", []), *filters]
            query = {"bool": merged}
        elif filters:
            query = {"bool": {"must": [query], "filter": filters}}
        if _depth(query) > MAX_NESTED_DEPTH:
            raise QuerySyntaxError(
                f"the query is nested too deeply for Elasticsearch (more than {MAX_NESTED_DEPTH} "
                "levels of AND/OR/NOT); simplify it"
            )
        return query

    def _current(self, kind: str) -> tuple[str | None, int | None]:
        alias = self.alias(kind)
        found = self.client.options(ignore_status=404).indices.get_alias(name=alias)
        names = sorted(
            n for n, v in found.items() if isinstance(v, dict) and alias in (v.get("aliases") or {})
        )
        if not names:
            return None, None
        if len(names) > 1:
            raise NewswatchError(
                f"alias {alias} points at {len(names)} indices ({', '.join(names)}); "
                "it must point at exactly one"
            )
        m = re.search(r"-v(\d+)$", names[0])
        return names[0], int(m.group(1)) if m else None

    def _put_template(self, kind: str, version: int) -> None:
        name = self.index_name(kind, version)
        body = self.template_body(kind, version)
        existing = self.client.options(ignore_status=404).indices.get_index_template(name=name)
        for item in existing.get("index_templates", []):
            if item["index_template"].get("_meta") == body["_meta"]:
                return  # unchanged: no cluster-state update
        self.client.indices.put_index_template(name=name, **body)

    def _create_index(self, name: str, alias: str | None) -> None:
        aliases: dict[str, Any] | None = {alias: {}} if alias else None
        try:
            self.client.indices.create(index=name, aliases=aliases)
        except ApiError as exc:
            if _error_type(exc) != "resource_already_exists_exception":
                raise
            # another process was faster, or an earlier run stopped before the alias existed
            if alias and not self.client.indices.exists_alias(name=alias):
                self.client.indices.put_alias(index=name, name=alias)

    def _migrate_kind(self, kind: str, target: int, delete_old: bool) -> MigrationStep:
        alias = self.alias(kind)
        old, version = self._current(kind)
        if old is None:
            raise NewswatchError(f"alias {alias} does not exist on {self.url}")
        if version == target:
            count = int(self.client.count(index=old)["count"])
            return MigrationStep(kind, alias, old, old, count, "current")
        if target not in self.template_versions(kind):
            raise ConfigError(f"there is no {kind}-v{target}.json template in {self.templates_dir}")
        new = self.index_name(kind, target)
        if self.client.indices.exists(index=new):  # left by an interrupted migration
            self.client.indices.delete(index=new)
        self._create_index(new, None)
        method = self._copy(old, new)
        self.client.indices.refresh(index=new)
        before = int(self.client.count(index=old)["count"])
        after = int(self.client.count(index=new)["count"])
        if before != after:
            raise NewswatchError(
                f"migrating {alias}: {old} has {before} documents but {new} received {after}; "
                f"the alias still points at {old}"
            )
        self.client.indices.update_aliases(
            actions=[
                {"remove": {"index": old, "alias": alias}},
                {"add": {"index": new, "alias": alias}},
            ]
        )
        if delete_old:
            self.client.indices.delete(index=old)
        return MigrationStep(kind, alias, old, new, after, "migrated", method)

    def _copy(self, source: str, dest: str) -> str:
        """Copy every document; server-side ``_reindex`` when the server has it."""
        try:
            started = self.client.reindex(
                source={"index": source}, dest={"index": dest}, wait_for_completion=False
            )
        except ApiError as exc:
            missing = _error_type(exc) == "index_not_found_exception"
            if exc.meta.status not in (400, 404, 405) or missing:
                raise
            # no reindex module (e.g. the integ-test distribution): copy through the client
            docs = scan(self.client, index=source, query={"query": {"match_all": {}}}, size=500)
            actions = (
                {"_op_type": "index", "_index": dest, "_id": d["_id"], "_source": d["_source"]}
                for d in docs
            )
            self._bulk(actions)
            return "scan+bulk"
        task_id = started["task"]
        while True:
            status = self.client.tasks.get(task_id=task_id)
            if status.get("completed"):
                break
            time.sleep(0.5)
        response = status.get("response") or {}
        failures = response.get("failures") or []
        if status.get("error") or failures:
            reason = status.get("error") or failures[0]
            raise NewswatchError(f"_reindex from {source} to {dest} failed: {reason}")
        return "_reindex"

    def _bulk(self, actions: Iterable[dict[str, Any]]) -> tuple[int, int]:
        """Send actions in chunks (429s retried with back-off); returns (done, not found)."""
        done = missing = 0
        errors: list[dict[str, Any]] = []
        with self._errors():
            for ok, item in streaming_bulk(
                self.client,
                actions,
                chunk_size=BULK_CHUNK,
                max_retries=BULK_RETRIES,
                initial_backoff=BULK_BACKOFF,
                max_backoff=30,
                raise_on_error=False,
            ):
                op, info = next(iter(item.items()))
                if ok:
                    done += 1
                elif op == "delete" and info.get("status") == 404:
                    missing += 1
                else:
                    errors.append(info)
        if errors:
            first = errors[0]
            reason = (first.get("error") or {}).get("reason") or first.get("error") or first
            raise NewswatchError(
                f"Elasticsearch at {self.url} rejected {len(errors)} document(s); "
                f"the first ({first.get('_id')}): {reason}"
            )
        return done, missing

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

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn client exceptions into one-line :class:`NewswatchError` messages."""
        try:
            yield
        except NewswatchError:
            raise
        except UnsupportedProductError:
            raise NewswatchError(f"the server at {self.url} is not Elasticsearch") from None
        except AuthenticationException:
            raise NewswatchError(
                f"Elasticsearch at {self.url} refused the credentials "
                "(NEWSWATCH_ES_USERNAME / NEWSWATCH_ES_PASSWORD)"
            ) from None
        except AuthorizationException as exc:
            raise NewswatchError(
                f"Elasticsearch at {self.url} denied the request: {_api_reason(exc)}"
            ) from None
        except ApiError as exc:
            raise NewswatchError(
                f"Elasticsearch at {self.url} answered {exc.meta.status}: {_api_reason(exc)}"
            ) from None
        except TransportError as exc:  # connection refused, DNS, TLS, timeouts
            raise NewswatchError(
                f"cannot reach Elasticsearch at {self.url}: {_transport_reason(exc)}"
            ) from None


# -- query compilation -------------------------------------------------------------------------


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
    """One word, phrase or wildcard, in the title and body (or the one field named)."""
    names = (node.field,) if node.field else ("title", "body")
    boosts = {f"{name}_words": TITLE_BOOST if name == "title" else 1.0 for name in names}
    if isinstance(node, Term) and node.wildcard:  # letters, digits, * and ? only
        pattern = "".join(p if p in "*?" else words(p) for p in re.split(r"([*?])", node.text))
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


def _depth(query: dict[str, Any]) -> int:
    """How deeply ``bool`` queries nest, as Elasticsearch counts them."""
    inner = query.get("bool")
    if inner is None:
        return 1
    children = [c for key in ("must", "should", "must_not", "filter") for c in inner.get(key, [])]
    return 1 + max((_depth(c) for c in children), default=0)


def _has_positive(node: Node, positive: bool = True) -> bool:
    """Whether some word or phrase counts for relevance (is not under an odd number of NOTs)."""
    if isinstance(node, MatchAll):
        return False
    if isinstance(node, Not):
        return _has_positive(node.item, not positive)
    if isinstance(node, And | Or):
        return any(_has_positive(i, positive) for i in node.items)
    return positive


def _sort(ranked: bool) -> list[dict[str, Any]]:
    newest = [
        {"published": {"order": "desc", "missing": "_last"}},
        {"ingested": {"order": "desc"}},
        {"id": {"order": "asc"}},
    ]
    return [{"_score": {"order": "desc"}}, *newest] if ranked else newest


def _filters(request: SearchRequest) -> list[dict[str, Any]]:
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


def _check_facets(fields: Sequence[str]) -> None:
    unknown = [f for f in fields if f not in FACET_FIELDS]
    if unknown:
        raise NewswatchError(
            f"unknown facet {unknown[0]!r}; known facets are {', '.join(FACET_FIELDS)}"
        )


def _page(limit: int, offset: int) -> tuple[int, int]:
    limit, offset = max(0, min(limit, MAX_LIMIT)), max(0, offset)
    if offset + limit > MAX_RESULT_WINDOW:
        raise NewswatchError(
            f"Elasticsearch pages stop at result {MAX_RESULT_WINDOW:,} "
            f"(offset {offset} + limit {limit}); narrow the search with filters"
        )
    return limit, offset


# -- documents ---------------------------------------------------------------------------------


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


def _article_source(doc: IndexDoc) -> dict[str, Any]:
    source: dict[str, Any] = {
        "id": doc.id,
        "url": doc.url,
        "title": doc.title,
        "body": doc.body,
        "source": doc.source,
        "source_key": doc.source.casefold(),
        "published": iso_utc(doc.published),
        "ingested": iso_utc(doc.ingested),
        "language": doc.language,
        "revision": doc.revision,
        "story_id": doc.story_id or None,
        "entity_ids": [e[0] for e in doc.entities],
        "entity_names": [e[1] for e in doc.entities],
        "entity_types": [e[2] for e in doc.entities],
        "topics": list(doc.topics),
        "extra": json.loads(json.dumps(doc.extra, ensure_ascii=False, default=str)),
        "title_words": words(doc.title),
        "body_words": words(doc.body),
    }
    return source


def _story_source(story: StoryDoc) -> dict[str, Any]:
    return {
        "id": story.id,
        "title": story.title,
        "first_seen": iso_utc(story.first_seen),
        "last_updated": iso_utc(story.last_updated),
        "article_ids": list(story.article_ids),
        "article_count": len(story.article_ids),
        "outlets": list(story.outlets),
        "entity_ids": [e[0] for e in story.entities],
        "entity_names": [e[1] for e in story.entities],
        "topics": list(story.topics),
    }


def _story_from_source(src: dict[str, Any]) -> StoryDoc:
    return StoryDoc(
        id=src["id"],
        title=src["title"],
        first_seen=datetime.fromisoformat(src["first_seen"]),
        last_updated=datetime.fromisoformat(src["last_updated"]),
        article_ids=tuple(src.get("article_ids") or ()),
        outlets=tuple(src.get("outlets") or ()),
        entities=tuple(
            zip(src.get("entity_ids") or (), src.get("entity_names") or (), strict=False)
        ),
        topics=tuple(src.get("topics") or ()),
    )


def _snippet(highlight: dict[str, list[str]], src: dict[str, Any]) -> str:
    """The highlighted fragment of ``body_words``, rebuilt from the original body (same
    offsets) with our markers, and ``…`` where text was cut."""
    body: str = src.get("body") or ""
    fragments = highlight.get("body_words")
    if not fragments:
        return lead_snippet(body)
    fragment = fragments[0]
    basis: str = src.get("body_words") or ""
    start = basis.find(fragment.replace(_HL_START, "").replace(_HL_END, ""))
    if start < 0 or len(basis) != len(body):  # cannot place it: show it as it came
        return fragment.replace(_HL_START, SNIPPET_START).replace(_HL_END, SNIPPET_END)
    parts, at = [], start
    for piece in _HL_SPLIT.split(fragment):
        if piece == _HL_START:
            parts.append(SNIPPET_START)
        elif piece == _HL_END:
            parts.append(SNIPPET_END)
        else:
            parts.append(body[at : at + len(piece)])
            at += len(piece)
    text = "".join(parts).strip()
    if body[:start].strip():
        text = SNIPPET_ELLIPSIS + text
    if body[at:].strip():
        text += SNIPPET_ELLIPSIS
    return text








# -- errors ------------------------------------------------------------------------------------


def _display_url(url: str) -> str:
    """The URL without credentials, for messages."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    if parts.username or parts.password:
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def _with_port(url: str) -> str:
    """The client wants a port; a URL without one means the scheme's (80 for http)."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "http" and parts.hostname and parts.port is None:
            return urlunsplit(parts._replace(netloc=f"{parts.netloc}:80"))
    except ValueError:
        pass
    return url


def _error_type(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    return str(error.get("type", "")) if isinstance(error, dict) else ""


def _api_reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        causes = error.get("root_cause") or [error]
        cause = causes[0] if isinstance(causes[0], dict) else error
        reason = f"{cause.get('type', '')}: {cause.get('reason', '')}".strip(": ")
    else:
        reason = str(error or exc.message)
    return " ".join(reason.split())[:300]


def _transport_reason(exc: TransportError) -> str:
    text = str(exc)
    for pattern in (r"\[Errno -?\d+\] ([^)'\"\]]+)", r"(certificate verify failed[^)'\"]*)"):
        m = re.search(pattern, text)
        if m:
            return m.group(1).strip()
    if "timed out" in text.lower() or type(exc).__name__ == "ConnectionTimeout":
        return f"no answer within {REQUEST_TIMEOUT:.0f} s"
    return " ".join(text.split())[:200] or type(exc).__name__
