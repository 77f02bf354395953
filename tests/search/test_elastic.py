"""What only the Elasticsearch backend has: templates, aliases, migration, its errors.

The behaviour both backends share is in ``test_contract.py``. These tests need the real
server that ``tests/search/conftest.py`` provides (skipped, or failed in CI, without it).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from core.errors import ConfigError, NewswatchError, QuerySyntaxError
from core.models import IndexDoc, SearchRequest
from core.settings import Settings
from search.factory import open_index

try:
    from search.elastic import ElasticIndex
    from search.elastic_layout import TEMPLATES_DIR
    from search.elastic_query import words
except ImportError as exc:  # the client is the optional extra newswatch[es]
    if os.environ.get("NEWSWATCH_REQUIRE_ES") == "1":
        raise
    pytest.skip(f"Elasticsearch tests skipped: {exc}", allow_module_level=True)

DOCS = [
    IndexDoc(
        id=f"a{i}", url=f"https://news.example/a{i}", title=f"Story number {i}",
        body=f"Body text {i} about the harbour.", source="AP",
        published=datetime(2024, 1, 1 + i, tzinfo=UTC), ingested=datetime(2024, 2, 1, tzinfo=UTC),
        topics=("harbour",), entities=(("Q1", "Riverton", "place"),),
    )
    for i in range(12)
]  # fmt: skip


@pytest.fixture
def index(es_settings: Settings) -> Iterator[ElasticIndex]:
    idx = ElasticIndex(es_settings)
    yield idx
    idx.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_words_keep_offsets() -> None:
    text = "Russia's U.S. café in Zürich — covid-19, 3.5% İstanbul ß 東京 cafe\u0301!"
    out = words(text)
    assert len(out) == len(text)
    assert out.split() == [
        "Russia", "s", "U", "S", "cafe", "in", "Zurich", "covid", "19", "3", "5", "Istanbul",
        "ß", "東京", "cafe\u0301",
    ]  # fmt: skip


def test_indices_templates_and_aliases(index: ElasticIndex) -> None:
    es, prefix = index.client, index.prefix
    for kind in ("articles", "stories"):
        aliases = es.indices.get_alias(name=f"{prefix}-{kind}")
        assert list(aliases) == [f"{prefix}-{kind}-v1"]
        template = es.indices.get_index_template(name=f"{prefix}-{kind}-v1")
        (item,) = template["index_templates"]
        assert item["index_template"]["index_patterns"] == [f"{prefix}-{kind}-v1"]
        assert item["index_template"]["version"] == 1
    assert index.current_version("articles") == 1
    mapping = es.indices.get_mapping(index=f"{prefix}-articles")[f"{prefix}-articles-v1"]
    props = mapping["mappings"]["properties"]
    types = {name: spec["type"] for name, spec in props.items()}
    for name in ("published", "ingested"):
        assert types[name] == "date"
    for name in ("source", "source_key", "language", "entity_ids", "entity_names",
                 "entity_types", "topics", "story_id", "id"):  # fmt: skip
        assert types[name] == "keyword", name
    for name in ("title", "body", "title_words", "body_words"):
        assert types[name] == "text" and props[name].get("analyzer") == "standard"
    assert props["title"]["fields"]["keyword"]["type"] == "keyword"
    assert mapping["mappings"]["dynamic"] == "strict"
    stories = es.indices.get_mapping(index=f"{prefix}-stories")[f"{prefix}-stories-v1"]
    story_types = {n: s["type"] for n, s in stories["mappings"]["properties"].items()}
    assert story_types["last_updated"] == story_types["first_seen"] == "date"
    assert story_types["outlets"] == story_types["entity_names"] == "keyword"


def test_ensure_schema_is_idempotent(index: ElasticIndex, es_settings: Settings) -> None:
    index.upsert_many(DOCS[:3])
    before = index.client.indices.get_index_template(name=f"{index.prefix}-articles-v1")
    index.ensure_schema()
    ElasticIndex(es_settings).close()  # a second process opening the same indices
    after = index.client.indices.get_index_template(name=f"{index.prefix}-articles-v1")
    assert before == after
    assert index.count() == 3


def test_documents_keep_kibana_friendly_fields(index: ElasticIndex) -> None:
    doc = replace(DOCS[0], story_id="s1", language="en", title="Zürich’s café",
                  entities=(("Q72", "Zürich", "place"), ("Q1", "Riverton", "place")))  # fmt: skip
    index.upsert_many([doc])
    src = index.client.get(index=index.alias("articles"), id=doc.id)["_source"]
    assert src["title"] == "Zürich’s café" and src["title_words"] == "Zurich s cafe"
    assert src["entity_ids"] == ["Q72", "Q1"] and src["entity_types"] == ["place", "place"]
    assert src["source_key"] == "ap" and src["story_id"] == "s1"
    assert src["published"].startswith("2024-01-01T00:00:00")
    per_day = index.client.search(
        index=index.alias("articles"), size=0,
        aggs={"days": {"date_histogram": {"field": "published", "calendar_interval": "day"}}},
    )  # fmt: skip
    assert per_day["aggregations"]["days"]["buckets"][0]["doc_count"] == 1


def test_migrate_reindexes_and_flips_the_alias(es_settings: Settings, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    v2 = json.loads((templates / "articles-v1.json").read_text())
    v2["version"] = 2
    v2["_meta"]["mapping_version"] = 2
    v2["template"]["mappings"]["properties"]["source"]["fields"] = {
        "text": {"type": "text", "analyzer": "standard"}
    }
    (templates / "articles-v2.json").write_text(json.dumps(v2))
    with ElasticIndex(es_settings) as old:  # created at v1 (the code of before)
        old.upsert_many(DOCS)
        assert old.current_version("articles") == 1
    with ElasticIndex(es_settings, templates_dir=templates) as idx:
        assert idx.current_version("articles") == 1  # opening never migrates
        before = idx.search(SearchRequest(query="harbour", limit=100))
        steps = idx.migrate(2, kinds=("articles",))
        (step,) = steps
        assert (step.status, step.old_index, step.new_index, step.documents) == (
            "migrated", f"{idx.prefix}-articles-v1", f"{idx.prefix}-articles-v2", len(DOCS),
        )  # fmt: skip
        assert step.method in {"_reindex", "scan+bulk"}
        assert idx.current_version("articles") == 2
        assert list(idx.client.indices.get_alias(name=idx.alias("articles"))) == [step.new_index]
        assert idx.client.indices.exists(index=step.old_index)  # kept until deleted
        after = idx.search(SearchRequest(query="harbour", limit=100))
        assert {h.id for h in after.hits} == {h.id for h in before.hits}
        assert after.total == len(DOCS)
        found = idx.client.search(
            index=idx.alias("articles"), query={"match": {"source.text": "ap"}}
        )
        assert found["hits"]["total"]["value"] == len(DOCS)  # the new mapping is in use
        idx.upsert_many([replace(DOCS[0], id="new")])  # writes go to the new index
        assert idx.client.count(index=step.new_index)["count"] == len(DOCS) + 1
        assert idx.migrate(2, kinds=("articles",))[0].status == "current"
        with pytest.raises(ConfigError, match=r"articles-v3\.json"):
            idx.migrate(3, kinds=("articles",))
        back = idx.migrate(1, kinds=("articles",), delete_old=True)[0]  # and back again
        assert back.status == "migrated" and back.documents == len(DOCS) + 1
        assert not idx.client.indices.exists(index=step.new_index)
        assert idx.current_version("articles") == 1


def test_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    settings = Settings(home=tmp_path, index="elasticsearch", es_url=url)
    with pytest.raises(NewswatchError) as info:
        open_index(settings)
    message = str(info.value)
    assert message.startswith(f"cannot reach Elasticsearch at {url}: ")
    assert "\n" not in message and "refused" in message.lower()
    idx = ElasticIndex(settings, ensure_schema=False)
    with pytest.raises(QuerySyntaxError):  # parsed before any request is sent
        idx.search(SearchRequest(query='"unbalanced'))
    with pytest.raises(NewswatchError, match="cannot reach"):
        idx.search(SearchRequest(query="fine"))
    idx.close()


def test_credentials_are_not_shown(tmp_path: Path) -> None:
    url = f"http://user:secret@127.0.0.1:{_free_port()}"
    settings = Settings(home=tmp_path, index="elasticsearch", es_url=url)
    with pytest.raises(NewswatchError) as info:
        open_index(settings)
    assert "secret" not in str(info.value)


def test_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NEWSWATCH_ES_URL is empty"):
        open_index(Settings(home=tmp_path, index="elasticsearch"))
    with pytest.raises(ConfigError, match="NEWSWATCH_ES_INDEX_PREFIX"):
        ElasticIndex(Settings(home=tmp_path, es_url="http://127.0.0.1:9", es_index_prefix="Bad*"))


def test_an_index_in_the_aliases_place_is_reported(es_settings: Settings) -> None:
    with ElasticIndex(es_settings, ensure_schema=False) as idx:
        idx.client.indices.create(index=idx.alias("articles"))
        with pytest.raises(NewswatchError, match="is an index, not an alias"):
            idx.ensure_schema()


def test_rejected_documents_raise(index: ElasticIndex) -> None:
    bad = replace(DOCS[0], id="bad", revision=2**40)  # not an integer for Elasticsearch
    with pytest.raises(NewswatchError, match=r"rejected 1 document\(s\); the first \(bad\)"):
        index.upsert_many([DOCS[1], bad])
    assert index.count() == 1  # the good one is in


def test_too_deep_query_is_a_query_error(index: ElasticIndex) -> None:
    query = "z0"
    for i in range(1, 31):
        query = f"z{i}{' OR ' if i % 2 else ' '}({query})"
    with pytest.raises(QuerySyntaxError, match="nested too deeply"):
        index.search(SearchRequest(query=query))
    shallow = "z0"
    for i in range(1, 20):
        shallow = f"z{i}{' OR ' if i % 2 else ' '}({shallow})"
    assert index.search(SearchRequest(query=shallow)).total == 0


def test_deep_pages_beyond_the_result_window_are_refused(index: ElasticIndex) -> None:
    with pytest.raises(NewswatchError, match="10,000"):
        index.search(SearchRequest(query="x", offset=9_990, limit=20))
    assert index.search(SearchRequest(query="x", offset=9_990, limit=10)).total == 0


class _Rejecting(BaseHTTPRequestHandler):
    """Forwards to Elasticsearch; answers the first ``rejections`` bulk requests with a 429
    for every item (as a busy cluster does)."""

    upstream = ""
    rejections = 0
    bulk_calls = 0
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        cls = type(self)
        if self.path.split("?")[0].endswith("/_bulk"):
            with cls.lock:
                cls.bulk_calls += 1
                reject = cls.rejections > 0
                cls.rejections -= 1 if reject else 0
            if reject:
                lines = [json.loads(x) for x in body.splitlines() if x.strip()]
                items = [
                    {op: {"_index": spec.get("_index"), "_id": spec.get("_id"), "status": 429,
                          "error": {"type": "es_rejected_execution_exception",
                                    "reason": "rejected by the test"}}}
                    for line in lines for op, spec in line.items()
                    if op in {"index", "delete", "create", "update"}
                ]  # fmt: skip
                self._answer(200, json.dumps({"took": 1, "errors": True, "items": items}).encode())
                return
        skip = {"host", "content-length"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
        r = httpx.request(self.command, cls.upstream + self.path, content=body, headers=headers)
        self._answer(r.status_code, r.content, r.headers.get("content-type", "application/json"))

    def _answer(self, status: int, content: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("x-elastic-product", "Elasticsearch")
        self.send_header("content-length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


def test_bulk_retries_documents_rejected_with_429(
    es_settings: Settings, es_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("search.elastic_client.BULK_BACKOFF", 0.05)
    handler = type("Handler", (_Rejecting,), {"upstream": es_url, "rejections": 2})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        proxied = replace(es_settings, es_url=f"http://127.0.0.1:{server.server_address[1]}")
        with ElasticIndex(proxied) as idx:
            assert idx.upsert_many(DOCS[:5]) == 5
            assert handler.bulk_calls == 3  # rejected twice, then accepted
            assert idx.count() == 5
    finally:
        server.shutdown()
        server.server_close()
