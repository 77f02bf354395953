"""The HTTP search API over real HTTP: uvicorn on a loopback port, data from a real pipeline
run over the demo news site (once per module)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the API needs the api extra (fastapi, uvicorn)")
pytest.importorskip("spacy", reason="these tests need the nlp extra (spaCy) for entities")

import httpx
from click.testing import CliRunner
from conftest import make_settings
from fastapi import Depends, FastAPI
from fixtures.apiserver import serving

from api.access import require_key
from api.app import OPENAPI_PATH, create_app, main
from api.schemas import (
    ArticleOut,
    EntitiesOut,
    HealthOut,
    Problem,
    SearchPage,
    StoriesPage,
    StoryOut,
)
from api.search import FACET_FIELDS
from core.settings import Settings
from ingest.urls import canonicalize
from newswatch.cli import cli
from newswatch.demo.catalog import DemoArticle, load_articles
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime
from stories.store import StoryStore

PROBLEM = "application/problem+json"


@dataclasses.dataclass
class Demo:
    settings: Settings
    ids: dict[str, DemoArticle]  # article id -> what the demo site says about it
    pristine: Path  # a copy of the data directory right after the run


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, demo: DemoSite) -> Demo:
    """One real pipeline run over the demo site; the runtime is closed again afterwards."""
    root = tmp_path_factory.mktemp("api")
    settings = make_settings(root / "home")
    rt = open_runtime(settings)
    try:
        for url in demo.feed_urls():
            add_feed(rt, url)
        report = run_once(rt)
        assert report.failed == 0 and report.indexed == len(load_articles())
        ids = {}
        for article in load_articles():
            article_id = rt.store.article_id_for_url(canonicalize(demo.article_url(article)))
            assert article_id
            ids[article_id] = article
    finally:
        rt.close()
    pristine = root / "pristine"
    shutil.copytree(settings.home, pristine)
    return Demo(settings, ids, pristine)


@pytest.fixture(scope="module")
def base(data: Demo) -> Iterator[str]:
    with serving(create_app(data.settings)) as url:
        yield url


@pytest.fixture(scope="module")
def client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as c:
        yield c


def _role(data: Demo, role: str) -> str:
    return next(i for i, a in data.ids.items() if a.role == role)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    assert "Traceback" not in response.text
    Problem.model_validate(body)
    return body


def _search(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get("/search", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    SearchPage.model_validate(body)
    return body


# ---------------------------------------------------------------------------------------
# /search


def test_search_returns_ranked_hits_with_snippets_and_topics(client: httpx.Client,
                                                             data: Demo) -> None:
    body = _search(client, q="artillery shells")
    assert body["query"] == "artillery shells" and body["page"] == 1 and body["size"] == 10
    assert body["total"] >= 4
    hits = body["hits"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert all(h["id"] in data.ids for h in hits)
    assert any("**" in h["snippet"] for h in hits)  # highlight markers as the index gives them
    top = hits[0]
    assert set(top) >= {"id", "url", "title", "source", "published", "score", "snippet",
                        "topics", "story_id"}
    assert "arms-transfers" in {t for h in hits for t in h["topics"]}
    assert all(h["story_id"] for h in hits)


def test_pagination(client: httpx.Client) -> None:
    everything = _search(client, q="", size=100)
    assert everything["total"] == len(everything["hits"]) == len(load_articles())
    first = _search(client, q="", size=4, page=1)
    second = _search(client, q="", size=4, page=2)
    assert first["total"] == second["total"] == everything["total"]
    ids = [h["id"] for h in everything["hits"]]
    assert [h["id"] for h in first["hits"]] == ids[:4]
    assert [h["id"] for h in second["hits"]] == ids[4:8]
    beyond = _search(client, q="", size=100, page=5)
    assert beyond["hits"] == [] and beyond["total"] == everything["total"]


def test_entity_names_aliases_and_capitals_filter_alike(client: httpx.Client) -> None:
    found = {
        name: {h["id"] for h in _search(client, q="shells", entity=name, size=100)["hits"]}
        for name in ("North Korea", "DPRK", "Pyongyang", "Q423", "north korean")
    }
    assert len(found["North Korea"]) >= 4
    assert all(ids == found["North Korea"] for ids in found.values()), found
    unfiltered = _search(client, q="", size=100)["total"]
    assert _search(client, q="", entity="North Korea")["total"] < unfiltered


def test_filters(client: httpx.Client, data: Demo) -> None:
    ledger = _search(client, q="", source="the daily ledger", size=100)
    assert ledger["total"] == sum(1 for a in data.ids.values() if a.outlet == "ledger")
    assert {h["source"] for h in ledger["hits"]} == {"The Daily Ledger"}
    arms = _search(client, topic="arms-transfers", size=100)
    assert arms["total"] >= 4 and all("arms-transfers" in h["topics"] for h in arms["hits"])
    by_language = {lang: sum(1 for a in data.ids.values() if a.outlet == outlet)
                   for outlet, lang in (("vestnik", "ru"), ("hanbit", "ko"))}
    assert _search(client, language="en")["total"] == len(data.ids) - sum(by_language.values())
    for lang, count in by_language.items():  # the Russian and the Korean outlet
        assert count and _search(client, language=lang)["total"] == count
    assert _search(client, language="fr")["total"] == 0
    dates = sorted(a.published for a in data.ids.values())
    day = dates[len(dates) // 2].date()
    after = _search(client, size=100, **{"from": day.isoformat()})
    before = _search(client, size=100, to=day.isoformat())  # the whole day, inclusive
    on_day = sum(1 for d in dates if d.date() == day)
    assert after["total"] == sum(1 for d in dates if d.date() >= day)
    assert before["total"] == sum(1 for d in dates if d.date() <= day)
    assert after["total"] + before["total"] - on_day == len(dates)
    instant = _search(client, size=100, **{"from": f"{day.isoformat()}T00:00:00Z",
                                           "to": f"{day.isoformat()}T23:59:59+00:00"})
    assert instant["total"] == on_day


def test_story_filter(client: httpx.Client, data: Demo) -> None:
    story_id = client.get(f"/articles/{_role(data, 'original')}").json()["story_id"]
    story = client.get(f"/stories/{story_id}").json()
    everything = _search(client, story=story_id, size=100)
    assert everything["total"] == story["article_count"] == 9
    assert {h["id"] for h in everything["hits"]} == set(story["article_ids"])
    facets = everything["facets"]
    assert facets is not None
    assert sum(v["count"] for v in facets["source"]) == 9
    assert any(v["value"] == "Q423" and v["name"] == "North Korea" for v in facets["entities"])
    matched = _search(client, q="Tobruk", story=story_id, size=2)
    all_tobruk = _search(client, q="Tobruk", size=100)
    in_story = [h["id"] for h in all_tobruk["hits"] if h["id"] in story["article_ids"]]
    assert matched["total"] == len(in_story) and [h["id"] for h in matched["hits"]] == in_story[:2]
    _problem(client.get("/search", params={"story": "no-such-story"}), 404)


def test_facets_when_the_index_counts_them(client: httpx.Client) -> None:
    body = _search(client, q="shells")
    from search.embedded import EmbeddedIndex

    if not hasattr(EmbeddedIndex, "facets"):
        assert body["facets"] is None
        return
    facets = body["facets"]
    assert set(facets) >= set(FACET_FIELDS)
    assert sum(v["count"] for v in facets["source"]) == body["total"]
    assert facets["language"] == [{"value": "en", "count": body["total"]}]
    korea = next(v for v in facets["entities"] if v["value"] == "Q423")
    assert korea["name"] == "North Korea" and korea["count"] >= 4
    assert any(v["value"] == "arms-transfers" for v in facets["topics"])
    narrowed = _search(client, q="shells", source="Capital Observer")["facets"]
    assert [v["value"] for v in narrowed["source"]] == ["Capital Observer"]
    assert _search(client, q="shells", facet_size=0)["facets"] is None


def test_malformed_query_is_a_400_problem_with_position(client: httpx.Client) -> None:
    body = _problem(client.get("/search", params={"q": "(artillery AND shells"}), 400)
    assert body["position"] == 0 and "parenthesis" in body["detail"]
    assert body["type"].endswith("#invalid-query") and body["instance"] == "/search"
    quote = _problem(client.get("/search", params={"q": 'shells "from libya'}), 400)
    assert quote["position"] == 7


def test_validation_errors_are_422_problems(client: httpx.Client) -> None:
    body = _problem(client.get("/search", params={"size": 1000}), 422)
    assert body["errors"][0]["location"] == ["query", "size"]
    assert "size" in body["detail"]
    _problem(client.get("/search", params={"from": "last tuesday"}), 422)
    _problem(client.get("/search", params={"page": 0}), 422)
    deep = _problem(client.get("/search", params={"page": 101, "size": 100}), 422)
    assert "10000" in deep["detail"]
    _problem(client.get("/stories", params={"page": 501, "size": 20}), 422)
    _problem(client.get("/entities"), 422)  # q is required
    _problem(client.get("/no/such/endpoint"), 404)
    _problem(client.post("/search"), 405)


# ---------------------------------------------------------------------------------------
# /articles


def test_article_is_what_show_json_prints(client: httpx.Client, data: Demo) -> None:
    article_id = _role(data, "roundup")
    response = client.get(f"/articles/{article_id}")
    assert response.status_code == 200
    body = response.json()
    ArticleOut.model_validate(body)
    assert body["id"] == article_id and body["text"] and body["revisions"]
    assert body["story_id"] and 0.5 <= body["novelty"]["score"] <= 1
    assert any("Nebenzia" in e for e in body["novelty"]["additions"]["new_entities"])
    assert any(e["id"] == "Q423" for e in body["entities"])
    shown = CliRunner().invoke(cli, ["show", article_id, "--json"],
                               env={"NEWSWATCH_HOME": str(data.settings.home)})
    assert shown.exit_code == 0, shown.output
    assert body == json.loads(shown.output)
    spun = client.get(f"/articles/{_role(data, 'spun')}").json()
    assert spun["duplicate_of"] == _role(data, "original") and spun["novelty"]["score"] == 0.0


def test_unknown_article_is_a_404_problem(client: httpx.Client) -> None:
    body = _problem(client.get("/articles/0123456789abcdef"), 404)
    assert "0123456789abcdef" in body["detail"] and body["instance"] == "/articles/0123456789abcdef"


# ---------------------------------------------------------------------------------------
# /stories


def test_stories_newest_development_first(client: httpx.Client, data: Demo) -> None:
    response = client.get("/stories", params={"size": 100})
    assert response.status_code == 200
    body = response.json()
    StoriesPage.model_validate(body)
    stories = body["stories"]
    assert len(stories) == len({a.story for a in data.ids.values()}) and not body["has_more"]
    updated = [s["last_updated"] for s in stories]
    assert updated == sorted(updated, reverse=True)
    first = client.get("/stories", params={"size": 3}).json()
    second = client.get("/stories", params={"size": 3, "page": 2}).json()
    assert first["has_more"] and [s["id"] for s in first["stories"] + second["stories"]] == [
        s["id"] for s in stories[:6]]
    story_id = client.get(f"/articles/{_role(data, 'original')}").json()["story_id"]
    for params in ({"topic": "dprk-russia"}, {"entity": "DPRK"}, {"entity": "Pyongyang"}):
        listed = client.get("/stories", params=params).json()["stories"]
        assert story_id in [s["id"] for s in listed], params
    weather = client.get("/stories", params={"topic": "weather"}).json()["stories"]
    assert story_id not in [s["id"] for s in weather]


def test_story_timeline_with_novelty(client: httpx.Client, data: Demo) -> None:
    story_id = client.get(f"/articles/{_role(data, 'original')}").json()["story_id"]
    response = client.get(f"/stories/{story_id}")
    assert response.status_code == 200 and "content-location" not in response.headers
    story = response.json()
    StoryOut.model_validate(story)
    assert story["id"] == story_id and story["article_count"] == 9 and len(story["outlets"]) == 7
    timeline = story["timeline"]
    assert [item["article_id"] for item in timeline] == story["article_ids"]
    published = [item["published"] for item in timeline]
    assert published == sorted(published)
    by_role = {data.ids[item["article_id"]].role: item for item in timeline}
    assert by_role["original"]["novelty"] == 1.0
    assert by_role["original"]["additions"].get("new_story")
    assert by_role["spun"]["duplicate_of"] == _role(data, "original")
    assert by_role["spun"]["novelty"] == 0.0
    assert by_role["roundup"]["novelty"] >= 0.5
    assert by_role["wire"]["why"]["shared_entities"]  # why it joined, entity names
    assert any(e["id"] == "Q423" for e in story["top_entities"])
    _problem(client.get("/stories/no-such-story"), 404)


def test_merged_story_answers_with_the_story_that_holds_it(data: Demo, tmp_path: Path) -> None:
    from stories.stage import merge

    home = tmp_path / "home"
    shutil.copytree(data.pristine, home)
    settings = dataclasses.replace(data.settings, home=home)
    rt = open_runtime(settings)
    try:
        stories = StoryStore(rt.store)
        ids = {a.story: stories.story_fields(i)["story_id"] for i, a in data.ids.items()}
        merge(rt, ids["markets-rates"], ids["markets-stocks"])
    finally:
        rt.close()
    with serving(create_app(settings)) as base:
        response = httpx.get(f"{base}/stories/{ids['markets-stocks']}")
    assert response.status_code == 200
    assert response.json()["id"] == ids["markets-rates"]
    assert response.headers["content-location"] == f"/stories/{ids['markets-rates']}"


# ---------------------------------------------------------------------------------------
# /entities


def test_entity_autocomplete(client: httpx.Client) -> None:
    response = client.get("/entities", params={"q": "North K"})
    assert response.status_code == 200
    body = response.json()
    EntitiesOut.model_validate(body)
    top = body["entities"][0]
    assert (top["id"], top["name"], top["in_gazetteer"]) == ("Q423", "North Korea", True)
    assert top["articles"] >= 5 and len(body["entities"]) <= 20
    assert all("north" in e["matched"].lower() for e in body["entities"])
    pyongyang = client.get("/entities", params={"q": "pyong"}).json()["entities"]
    assert pyongyang[0]["name"] == "Pyongyang" and pyongyang[0]["kind"] == "capital"
    dprk = client.get("/entities", params={"q": "DPRK"}).json()["entities"]
    assert dprk[0]["id"] == "Q423"
    assert client.get("/entities", params={"q": "zzzzqx"}).json()["entities"] == []
    assert len(client.get("/entities", params={"q": "a", "limit": 5}).json()["entities"]) == 5


def test_entities_seen_only_in_articles_are_found_with_counts(client: httpx.Client,
                                                              data: Demo) -> None:
    article = client.get(f"/articles/{_role(data, 'original')}").json()
    unlinked = next(e for e in article["entities"] if e["id"].startswith("key:")
                    and e["type"] != "place")
    prefix = unlinked["name"][:6].lower()
    found = client.get("/entities", params={"q": prefix}).json()["entities"]
    match = next(e for e in found if e["id"] == unlinked["id"])
    assert match["articles"] >= 1 and match["name"].lower().startswith(prefix)


# ---------------------------------------------------------------------------------------
# /health, OpenAPI


def test_health(client: httpx.Client, data: Demo) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    HealthOut.model_validate(body)
    assert body["status"] == "ok" and body["version"]
    assert body["checks"]["state_store"] == {"status": "ok", "articles": len(data.ids)}
    assert body["checks"]["index"] == {"status": "ok", "documents": len(data.ids)}


def test_served_openapi_is_the_kept_file(client: httpx.Client) -> None:
    served = client.get("/openapi.json").json()
    kept = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert served == kept, "run: python -m api.app --write-openapi"
    assert set(served["paths"]) >= {"/search", "/articles/{article_id}", "/stories",
                                    "/stories/{story_id}", "/entities", "/health"}
    problem = served["paths"]["/search"]["get"]["responses"]["400"]["content"]
    assert list(problem) == [PROBLEM]
    with pytest.raises(SystemExit) as exited:
        main(["--check-openapi"])
    assert exited.value.code == 0


# ---------------------------------------------------------------------------------------
# API keys


def _with_write_route(settings: Settings) -> FastAPI:
    app = create_app(settings)

    @app.post("/test-write", dependencies=[Depends(require_key)])
    def write() -> dict[str, bool]:
        return {"written": True}

    return app


def test_reads_are_open_by_default_and_writes_need_a_configured_key(data: Demo) -> None:
    with serving(_with_write_route(data.settings)) as base:
        assert httpx.get(f"{base}/search").status_code == 200
        assert httpx.get(f"{base}/search", headers={"X-API-Key": "anything"}).status_code == 200
        body = _problem(httpx.post(f"{base}/test-write"), 503)
        assert body["title"] == "API key not configured"


def test_keys_for_reads_and_writes(data: Demo) -> None:
    settings = dataclasses.replace(data.settings, api_key="s3cret-key",
                                   api_read_requires_key=True)
    with serving(_with_write_route(settings)) as base:
        missing = _problem(httpx.get(f"{base}/search", params={"q": "shells"}), 401)
        assert missing["detail"] == "send the API key in the X-API-Key header"
        assert httpx.get(f"{base}/search").headers["www-authenticate"].startswith("ApiKey")
        _problem(httpx.get(f"{base}/stories", headers={"X-API-Key": "wrong"}), 403)
        _problem(httpx.get(f"{base}/articles/x", headers={"X-API-Key": "s3cret-ke"}), 403)
        good = {"X-API-Key": "s3cret-key"}
        assert httpx.get(f"{base}/search", params={"q": "shells"}, headers=good).status_code == 200
        assert httpx.get(f"{base}/entities", params={"q": "Nor"}, headers=good).status_code == 200
        assert httpx.get(f"{base}/health").status_code == 200  # probes need no key
        _problem(httpx.post(f"{base}/test-write"), 401)
        _problem(httpx.post(f"{base}/test-write", headers={"X-API-Key": "nope"}), 403)
        assert httpx.post(f"{base}/test-write", headers=good).json() == {"written": True}


def test_reads_requiring_a_key_without_one_configured_is_a_503(data: Demo) -> None:
    settings = dataclasses.replace(data.settings, api_read_requires_key=True)
    with serving(create_app(settings)) as base:
        body = _problem(httpx.get(f"{base}/search", headers={"X-API-Key": ""}), 503)
        assert body["title"] == "API key not configured"


# ---------------------------------------------------------------------------------------
# Dependencies down, unexpected errors


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_state_store_is_a_503(tmp_path: Path) -> None:
    pytest.importorskip("psycopg", reason="needs the postgres extra")
    url = f"postgresql://newswatch:hunter2@127.0.0.1:{_closed_port()}/newswatch"
    settings = make_settings(tmp_path / "home", url)
    with serving(create_app(settings)) as base:
        health = _problem(httpx.get(f"{base}/health"), 503)
        assert health["checks"]["state_store"]["status"] == "unavailable"
        search = _problem(httpx.get(f"{base}/search", params={"q": "shells"}), 503)
        assert "unavailable" in search["detail"]
        for response in (httpx.get(f"{base}/health"), httpx.get(f"{base}/stories")):
            assert "hunter2" not in response.text and "Traceback" not in response.text


def test_index_down_is_a_503_and_unexpected_errors_a_500(data: Demo) -> None:
    app = create_app(data.settings)

    @app.get("/test-boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with serving(app) as base:
        runtime = app.state.holder.runtime
        assert runtime is not None
        body = _problem(httpx.get(f"{base}/test-boom"), 500)
        assert "secret internals" not in body["detail"]
        runtime.index.close()
        health = _problem(httpx.get(f"{base}/health"), 503)
        assert health["checks"]["state_store"]["status"] == "ok"
        assert health["checks"]["index"] == {"status": "unavailable"}
        assert _problem(httpx.get(f"{base}/search"), 503)["detail"] == (
            "the search index is unavailable; try again later")
        assert httpx.get(f"{base}/articles/{_role(data, 'original')}").status_code == 200
