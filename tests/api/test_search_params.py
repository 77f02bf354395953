"""GET /search and /stories take the CLI's names (limit, since, until; the old size, from and
to still work), sort by relevance or date, and refuse parameters they do not take: over real
HTTP, on data from a real pipeline run over the demo site."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the API needs the api extra (fastapi, uvicorn)")
pytest.importorskip("spacy", reason="these tests need the nlp extra (spaCy) for entities")

import httpx
from conftest import make_settings
from fixtures.apiserver import serving

from api.app import create_app
from api.schemas import Problem, SearchPage, StoriesPage
from core.settings import Settings
from newswatch.demo.catalog import load_articles
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, demo: DemoSite) -> Settings:
    settings = make_settings(Path(tmp_path_factory.mktemp("params")) / "home")
    rt = open_runtime(settings)
    try:
        for url in demo.feed_urls():
            add_feed(rt, url)
        assert run_once(rt).indexed == len(load_articles())
    finally:
        rt.close()
    return settings


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[httpx.Client]:
    with serving(create_app(settings)) as base, httpx.Client(base_url=base, timeout=30) as c:
        yield c


def _get(client: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = dict(response.json())
    Problem.model_validate(body)
    return body


def test_limit_since_and_until_are_the_cli_names(client: httpx.Client) -> None:
    body = _get(client, "/search", q="", limit=2)
    SearchPage.model_validate(body)
    assert len(body["hits"]) == 2 and body["limit"] == body["size"] == 2
    everything = _get(client, "/search", q="", limit=100)
    assert everything["total"] == len(load_articles()) > 2
    dated = sorted(h["published"] for h in everything["hits"] if h["published"])
    middle = dated[len(dated) // 2][:10]
    later = _get(client, "/search", q="", since=middle, limit=100)
    earlier = _get(client, "/search", q="", until=middle, limit=100)
    assert later["hits"] and all(h["published"][:10] >= middle for h in later["hits"])
    assert earlier["hits"] and all(h["published"][:10] <= middle for h in earlier["hits"])


def test_the_old_names_still_work_and_mean_the_same(client: httpx.Client) -> None:
    middle = "2026-11-12"
    new = _get(client, "/search", q="shells", since=middle, until="2026-11-14", limit=3)
    old = _get(client, "/search", q="shells", **{"from": middle, "to": "2026-11-14", "size": 3})
    assert new == old
    assert _get(client, "/stories", size=2)["stories"] == _get(client, "/stories", limit=2)["stories"]
    page = _get(client, "/stories", limit=2)
    StoriesPage.model_validate(page)
    assert len(page["stories"]) == 2 and page["limit"] == 2


def test_a_new_and_an_old_name_that_disagree_are_a_422(client: httpx.Client) -> None:
    body = _problem(client.get("/search", params={"limit": 2, "size": 3}), 422)
    assert body["errors"][0]["location"] == ["query", "size"] and "limit" in body["detail"]
    assert client.get("/search", params={"limit": 2, "size": 2}).status_code == 200


@pytest.mark.parametrize(("path", "params", "unknown", "hint"), [
    ("/search", {"q": "shells", "limitt": "2"}, ["limitt"], "limit"),
    ("/search", {"q": "shells", "sise": "2", "zzz": "1"}, ["sise", "zzz"], "size"),
    ("/stories", {"topics": "sanctions"}, ["topics"], "topic"),
    ("/entities", {"q": "Korea", "max": "3"}, ["max"], ""),
    ("/health", {"verbose": "1"}, ["verbose"], ""),
])
def test_unknown_parameters_are_a_400_problem(client: httpx.Client, path: str,
                                              params: dict[str, str], unknown: list[str],
                                              hint: str) -> None:
    body = _problem(client.get(path, params=params), 400)
    assert body["type"].endswith("#unknown-parameter") and body["unknown"] == unknown
    assert all(name in body["detail"] for name in unknown)
    if hint:
        assert f"did you mean {hint!r}" in body["detail"] and hint in body["known"]


def test_sort_by_date_or_relevance(client: httpx.Client) -> None:
    best = _get(client, "/search", q="artillery shells Tobruk", limit=50)
    newest = _get(client, "/search", q="artillery shells Tobruk", limit=50, sort="date")
    assert best["sort"] == "relevance" and newest["sort"] == "date"
    assert {h["id"] for h in best["hits"]} == {h["id"] for h in newest["hits"]}
    scores = [h["score"] for h in best["hits"]]
    assert scores == sorted(scores, reverse=True)
    dates = [h["published"] for h in newest["hits"]]
    assert dates == sorted(dates, reverse=True) and all(h["score"] > 0 for h in newest["hits"])
    assert [h["id"] for h in best["hits"]] != [h["id"] for h in newest["hits"]]
    bad = _problem(client.get("/search", params={"q": "x", "sort": "oldest"}), 422)
    assert bad["errors"][0]["location"] == ["query", "sort"]


def test_hits_give_the_snippet_plain_with_highlight_offsets(client: httpx.Client) -> None:
    body = _get(client, "/search", q="Tobruk", limit=5)
    assert body["hits"]
    for hit in body["hits"]:
        text, spans = hit["snippet_text"], hit["highlights"]
        assert "**" not in text and hit["snippet"].replace("**", "") == text
        assert spans and all(text[a:b].lower() == "tobruk" for a, b in spans)


def test_the_story_page_for_people_takes_any_parameters(client: httpx.Client) -> None:
    story = _get(client, "/stories", limit=1)["stories"][0]["id"]
    response = client.get(f"/stories/{story}/page", params={"utm_source": "email"})
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
