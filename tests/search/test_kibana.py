"""Our Kibana saved objects (search/kibana/newswatch.ndjson) and `newswatch kibana setup`.

Kibana cannot run here, so a small threaded HTTP server on loopback stands in for its
saved-objects import API: it parses the multipart upload, checks what Kibana checks (the
``kbn-xsrf`` header, a ``file`` field named *.ndjson, ``overwrite=true``) and answers the
way Kibana answers.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from core.errors import NewswatchError
from newswatch.commands.kibana import (
    BUNDLED_NDJSON,
    ImportResult,
    kibana,
    load_saved_objects,
    setup_kibana,
)

ROOT = Path(__file__).resolve().parents[2]

# The Elasticsearch mappings (search/templates/*.json): field name -> type.
KEYWORD, TEXT, DATE = "keyword", "text", "date"
ARTICLE_FIELDS = {
    **dict.fromkeys(
        ["id", "url", "source", "source_key", "language", "revision", "entity_ids",
         "entity_names", "entity_types", "topics", "story_id"], KEYWORD),
    "title": TEXT, "body": TEXT, "published": DATE, "ingested": DATE,
}
STORY_FIELDS = {
    **dict.fromkeys(
        ["id", "article_ids", "outlets", "entity_ids", "entity_names", "topics"], KEYWORD),
    "title": TEXT, "first_seen": DATE, "last_updated": DATE,
}
DATA_VIEWS = {
    "newswatch-articles-dataview": ("newswatch-articles", "published", ARTICLE_FIELDS),
    "newswatch-stories-dataview": ("newswatch-stories", "last_updated", STORY_FIELDS),
}
# The newest migration each type has in Kibana 8.x: a higher typeMigrationVersion is refused,
# a missing one makes Kibana run every migration (and the lens 8.6 one drops "formBased").
NEWEST_MIGRATION = {"index-pattern": (8, 0, 0), "lens": (8, 9, 0), "search": (8, 0, 0),
                    "dashboard": (8, 7, 0)}


def saved_objects() -> list[dict[str, Any]]:
    lines = BUNDLED_NDJSON.read_text(encoding="utf-8").splitlines()
    assert lines and all(line.strip() for line in lines)  # NDJSON: one object a line
    return [json.loads(line) for line in lines]


def by_key(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["type"], o["id"]): o for o in objects}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


# -- the NDJSON file ----------------------------------------------------------------------


def test_every_line_is_a_saved_object_with_a_stable_id() -> None:
    objects = saved_objects()
    for obj in objects:
        assert {"type", "id", "attributes", "references"} <= obj.keys(), obj.get("id")
        assert isinstance(obj["attributes"], dict) and obj["attributes"].get("title")
        assert obj["id"].startswith("newswatch-")
        assert obj["coreMigrationVersion"] == "8.8.0"
        assert _version(obj["typeMigrationVersion"]) <= NEWEST_MIGRATION[obj["type"]]
    assert len(by_key(objects)) == len(objects)  # ids unique per type
    kinds = [o["type"] for o in objects]
    assert kinds.count("index-pattern") == 2 and kinds.count("lens") == 3
    assert kinds.count("search") == 1 and kinds.count("dashboard") == 1


def test_data_views_point_at_the_aliases_with_their_time_fields() -> None:
    objects = by_key(saved_objects())
    for view_id, (title, time_field, fields) in DATA_VIEWS.items():
        attributes = objects["index-pattern", view_id]["attributes"]
        assert attributes["title"] == title
        assert attributes["timeFieldName"] == time_field and fields[time_field] == DATE


def test_every_reference_resolves_inside_the_file() -> None:
    objects = saved_objects()
    known = set(by_key(objects))
    for obj in objects:
        names = [r["name"] for r in obj["references"]]
        assert len(names) == len(set(names)), obj["id"]
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in known, f"{obj['id']} -> {ref}"


def test_dashboard_panels_match_their_references() -> None:
    objects = by_key(saved_objects())
    dashboard = objects["dashboard", "newswatch-dashboard"]
    attributes = dashboard["attributes"]
    assert attributes["title"] == "newswatch — news monitoring"
    panels = json.loads(attributes["panelsJSON"])
    refs = {r["name"]: r for r in dashboard["references"]}
    shown = []
    for panel in panels:
        index = panel["panelIndex"]
        assert panel["gridData"]["i"] == index
        assert panel["gridData"]["x"] + panel["gridData"]["w"] <= 48  # the grid is 48 wide
        ref = refs[f"{index}:{panel['panelRefName']}"]
        assert ref["type"] == panel["type"]
        shown.append(ref["id"])
    assert shown == ["newswatch-articles-over-time", "newswatch-top-entities",
                     "newswatch-top-outlets", "newswatch-latest-stories"]
    assert len(refs) == len(panels)
    for key in ("optionsJSON", "kibanaSavedObjectMeta"):
        assert key in attributes
    json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])


def lens_columns(obj: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every column of a Lens object with the data view id its layer reads."""
    refs = {r["name"]: r["id"] for r in obj["references"]}
    state = obj["attributes"]["state"]
    assert "indexpattern" not in state["datasourceStates"]  # the pre-8.6 name
    columns = {}
    for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
        view = refs[f"indexpattern-datasource-layer-{layer_id}"]
        assert sorted(layer["columnOrder"]) == sorted(layer["columns"])
        for column_id, column in layer["columns"].items():
            columns[column_id] = (view, column)
    return columns


def test_lens_visualizations_use_fields_of_the_mapping() -> None:
    objects = saved_objects()
    used: dict[str, set[str]] = {}
    for obj in (o for o in objects if o["type"] == "lens"):
        columns = lens_columns(obj)
        state = obj["attributes"]["state"]
        for layer in state["visualization"]["layers"]:
            accessors = [layer["xAccessor"], *layer["accessors"], layer.get("splitAccessor")]
            assert all(a in columns for a in accessors if a), obj["id"]
        for view, column in columns.values():
            fields = DATA_VIEWS[view][2]
            source = column["sourceField"]
            if column["operationType"] == "count":
                assert source == "___records___"
                continue
            assert source in fields, f"{obj['id']}: {source}"
            if column["operationType"] == "date_histogram":
                assert fields[source] == DATE
            if column["operationType"] == "terms":
                assert fields[source] == KEYWORD  # text fields cannot be aggregated
            used.setdefault(obj["id"], set()).add(source)
    assert used == {
        "newswatch-articles-over-time": {"published", "topics"},
        "newswatch-top-entities": {"entity_names"},
        "newswatch-top-outlets": {"source"},
    }


def test_latest_stories_is_a_saved_search_sorted_by_last_update() -> None:
    search = by_key(saved_objects())["search", "newswatch-latest-stories"]
    attributes = search["attributes"]
    assert attributes["sort"] == [["last_updated", "desc"]]
    assert set(attributes["columns"]) <= set(STORY_FIELDS)
    source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
    [ref] = search["references"]
    assert ref["name"] == source["indexRefName"] and ref["id"] == "newswatch-stories-dataview"


def _template_properties(name: str) -> dict[str, Any] | None:
    """The ``properties`` of the Elasticsearch template whose file name mentions ``name``."""
    for path in sorted((ROOT / "search" / "templates").glob("*.json")):
        if name not in path.name:
            continue
        stack: list[Any] = [json.loads(path.read_text())]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if isinstance(node.get("properties"), dict):
                    return node["properties"]
                stack.extend(node.values())
    return None


@pytest.mark.parametrize(("name", "fields"), [("article", ARTICLE_FIELDS), ("stor", STORY_FIELDS)])
def test_field_list_agrees_with_the_elasticsearch_templates(
    name: str, fields: dict[str, str]
) -> None:
    properties = _template_properties(name)
    if properties is None:
        pytest.skip("search/templates/*.json not written yet")
    for field_name, kind in fields.items():
        if kind == KEYWORD and field_name not in ("id", "revision"):
            assert properties[field_name]["type"] == "keyword", field_name
        elif kind == DATE:
            assert properties[field_name]["type"] == "date", field_name


def test_prefix_renames_only_the_data_view_titles() -> None:
    objects = load_saved_objects(BUNDLED_NDJSON, "acme")
    titles = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert titles == {"newswatch-articles-dataview": "acme-articles",
                      "newswatch-stories-dataview": "acme-stories"}
    assert [o["id"] for o in objects] == [o["id"] for o in saved_objects()]


def test_a_broken_file_is_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ndjson"
    broken.write_text('{"type": "dashboard", "id": "x", "attributes": {}}\n{not json\n')
    with pytest.raises(NewswatchError, match=r"broken.ndjson:2 is not JSON"):
        load_saved_objects(broken)
    with pytest.raises(NewswatchError, match="cannot read"):
        load_saved_objects(tmp_path / "missing.ndjson")


# -- a stand-in for Kibana's import API ---------------------------------------------------

IMPORT_PATH = re.compile(r"(/s/[a-z0-9_-]+)?/api/saved_objects/_import")


@dataclass
class Upload:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    field_name: str
    filename: str
    content_type: str
    objects: list[dict[str, Any]]


@dataclass
class FakeKibana:
    """Answers like Kibana; ``mode`` picks the answer, ``uploads`` records the requests."""

    mode: str = "ok"
    uploads: list[Upload] = field(default_factory=list)
    url: str = ""


def _handler(kib: FakeKibana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            parts = urlsplit(self.path)
            if kib.mode == "slow":
                time.sleep(2)
            if self.headers.get("kbn-xsrf") != "true":
                return self._json(400, {"statusCode": 400, "error": "Bad Request",
                                        "message": "Request must contain a kbn-xsrf header."})
            if kib.mode == "redirect":
                self.send_response(302)
                self.send_header("Location", "/login?next=%2Fapi")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if kib.mode == "unauthorized":
                return self._json(401, {"statusCode": 401, "error": "Unauthorized",
                                        "message": "[security_exception] unable to authenticate"})
            if kib.mode == "html":
                return self._send(200, b"<html>not kibana</html>", "text/html")
            if not IMPORT_PATH.fullmatch(parts.path):
                return self._json(404, {"statusCode": 404, "error": "Not Found",
                                        "message": "Not Found"})
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body
            )
            [part] = [p for p in message.iter_parts()]
            content = part.get_payload(decode=True)
            assert isinstance(content, bytes)
            objects = [json.loads(line) for line in content.decode().splitlines() if line]
            filename = part.get_filename() or ""
            kib.uploads.append(Upload(
                parts.path, parse_qs(parts.query), dict(self.headers.items()),
                str(part.get_param("name", header="content-disposition")), filename,
                part.get_content_type(), objects,
            ))
            if not filename.endswith(".ndjson"):
                return self._json(400, {"statusCode": 400, "error": "Bad Request",
                                        "message": "Invalid file extension .json"})
            if kib.mode == "errors":
                bad = [o for o in objects if o["type"] == "lens"][:2]
                errors = [{
                    "id": bad[0]["id"], "type": "lens",
                    "meta": {"title": bad[0]["attributes"]["title"], "icon": "lensApp"},
                    "error": {"type": "missing_references",
                              "references": [{"type": "index-pattern", "id": "gone"}]},
                }, {
                    "id": bad[1]["id"], "type": "lens", "meta": {"title": "t"},
                    "error": {"type": "unknown", "message": "Unexpected\nfailure",
                              "statusCode": 500},
                }]
                return self._json(200, {"success": False, "successCount": len(objects) - 2,
                                        "errors": errors,
                                        "warnings": [{"type": "simple", "message": "heads up"}]})
            results = [{"type": o["type"], "id": o["id"], "meta": {"title": o["attributes"]
                        .get("title", "")}, "overwrite": True} for o in objects]
            return self._json(200, {"success": True, "successCount": len(objects),
                                    "successResults": results, "warnings": []})

        def _json(self, status: int, data: Any) -> None:
            self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client gave up on a slow answer: the write fails, as it would for Kibana


@pytest.fixture
def fake_kibana() -> Iterator[FakeKibana]:
    kib = FakeKibana()
    server = QuietServer(("127.0.0.1", 0), _handler(kib))
    kib.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield kib
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_setup_uploads_the_file_and_reports_the_count(fake_kibana: FakeKibana) -> None:
    result = setup_kibana(fake_kibana.url + "/", username="elastic", password="changeme")
    assert isinstance(result, ImportResult)
    assert result.imported == result.sent == 7 and result.ok and not result.failures
    assert result.dashboard_url == f"{fake_kibana.url}/app/dashboards#/view/newswatch-dashboard"
    [upload] = fake_kibana.uploads
    assert upload.path == "/api/saved_objects/_import"
    assert upload.query == {"overwrite": ["true"]}
    assert upload.headers["kbn-xsrf"] == "true"
    assert upload.headers["Authorization"].startswith("Basic ")
    assert upload.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert (upload.field_name, upload.filename) == ("file", "newswatch.ndjson")
    assert upload.objects == saved_objects()


def test_setup_with_an_api_key_a_space_and_a_prefix(fake_kibana: FakeKibana) -> None:
    result = setup_kibana(fake_kibana.url, api_key="c2VjcmV0", space="news", prefix="acme")
    assert result.ok and result.url == f"{fake_kibana.url}/s/news"
    [upload] = fake_kibana.uploads
    assert upload.path == "/s/news/api/saved_objects/_import"
    assert upload.headers["Authorization"] == "ApiKey c2VjcmV0"
    titles = {o["attributes"]["title"] for o in upload.objects if o["type"] == "index-pattern"}
    assert titles == {"acme-articles", "acme-stories"}


def test_credentials_in_the_url_become_basic_auth_and_stay_out_of_messages(
    fake_kibana: FakeKibana,
) -> None:
    host = fake_kibana.url.removeprefix("http://")
    result = setup_kibana(f"http://elastic:s3cr%40t@{host}/")
    assert result.url == fake_kibana.url  # no password in what gets printed
    expected = "Basic " + base64.b64encode(b"elastic:s3cr@t").decode()
    assert fake_kibana.uploads[0].headers["Authorization"] == expected
    fake_kibana.mode = "unauthorized"
    with pytest.raises(NewswatchError) as caught:
        setup_kibana(f"http://elastic:s3cr%40t@{host}/")
    assert "s3cr" not in str(caught.value)


def test_refused_objects_are_reported_one_per_line(fake_kibana: FakeKibana) -> None:
    fake_kibana.mode = "errors"
    result = setup_kibana(fake_kibana.url)
    assert not result.ok and result.imported == 5 and result.warnings == ("heads up",)
    assert [str(f) for f in result.failures] == [
        "lens newswatch-articles-over-time (newswatch — articles over time by topic): "
        "missing references: index-pattern gone",
        "lens newswatch-top-entities (t): Unexpected failure",
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("mode", "expected"), [
    ("unauthorized", r"refused the request \(HTTP 401 Unauthorized: \[security_exception\]"),
    ("redirect", r"answered HTTP 302 Found to /login\?next=%2Fapi; give Kibana's own address"),
    ("html", r"but not like Kibana's import API \(no successCount in '<html>not kibana"),
])
def test_kibana_errors_are_one_clear_line(
    fake_kibana: FakeKibana, mode: str, expected: str
) -> None:
    fake_kibana.mode = mode
    with pytest.raises(NewswatchError, match=expected) as caught:
        setup_kibana(fake_kibana.url)
    assert "\n" not in str(caught.value)


def test_wrong_path_unreachable_and_slow_kibana(fake_kibana: FakeKibana) -> None:
    with pytest.raises(NewswatchError, match=r"no saved-objects import API at .*/other/api"):
        setup_kibana(fake_kibana.url + "/other")
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(NewswatchError, match=rf"cannot reach Kibana at {url}: .*refused"):
        setup_kibana(url)
    fake_kibana.mode = "slow"
    with pytest.raises(NewswatchError, match=r"did not answer within 0.5s"):
        setup_kibana(fake_kibana.url, timeout=0.5)


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"url": "localhost:5601"}, "not a Kibana URL"),
    ({"url": "http://k:5601", "space": "Team A"}, "not a Kibana space id"),
    ({"url": "http://k:5601", "api_key": "k", "username": "u", "password": "p"}, "not both"),
    ({"url": "http://k:5601", "username": "u"}, "go together"),
])
def test_bad_arguments_fail_before_any_request(kwargs: dict[str, str], expected: str) -> None:
    with pytest.raises(NewswatchError, match=expected):
        setup_kibana(**kwargs)  # type: ignore[arg-type]


def test_the_click_command(fake_kibana: FakeKibana, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"NEWSWATCH_HOME": str(tmp_path), "NEWSWATCH_ES_INDEX_PREFIX": "acme",
           "NEWSWATCH_KIBANA_API_KEY": "a2V5"}
    result = runner.invoke(kibana, ["setup", "--url", fake_kibana.url], env=env)
    assert result.exit_code == 0, result.output
    assert f"Imported 7 of 7 saved object(s) into Kibana at {fake_kibana.url}." in result.stdout
    assert "/app/dashboards#/view/newswatch-dashboard" in result.stdout
    upload = fake_kibana.uploads[-1]
    assert upload.headers["Authorization"] == "ApiKey a2V5"
    assert {o["attributes"]["title"] for o in upload.objects if o["type"] == "index-pattern"} == {
        "acme-articles", "acme-stories"}

    fake_kibana.mode = "errors"
    result = runner.invoke(kibana, ["setup", "--url", fake_kibana.url, "--prefix", "newswatch"],
                           env=env)
    assert result.exit_code != 0
    assert isinstance(result.exception, NewswatchError)
    assert str(result.exception) == (
        f"2 of 7 saved object(s) were not imported into Kibana at {fake_kibana.url}")
    assert "Imported 5 of 7" in result.stdout
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert failed == [
        "failed: lens newswatch-articles-over-time (newswatch — articles over time by topic): "
        "missing references: index-pattern gone",
        "failed: lens newswatch-top-entities (t): Unexpected failure",
    ]
    assert "warning: heads up" in result.stderr
