"""What a search may cost, over real HTTP (uvicorn on loopback, the embedded index): a query
over a limit, or one that runs out of time, is a 400 problem naming the limit and its value;
dates out of range are a 422 problem, not a 500. The CLI shows the same message on one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the API needs the api extra (fastapi, uvicorn)")

import httpx
from conftest import make_settings
from fixtures.apiserver import serving

from api.app import create_app
from api.schemas import Problem, SearchPage
from core.models import IndexDoc
from core.runtime import Runtime
from core.settings import Settings
from newswatch.resources import open_runtime
from search.query import MAX_LEADING_WILDCARDS, MAX_TERMS, MAX_WILDCARD_TERMS

PROBLEM = "application/problem+json"
NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
TOPICS = ["ferry timetable", "artillery shells", "river flood", "grain exports", "shellfish"]


def _docs() -> list[IndexDoc]:
    """A few articles with a wide vocabulary (a vocabulary scan takes a measurable time)."""
    docs = []
    for d in range(12):
        filler = " ".join(f"term{d}x{i}" for i in range(500))
        docs.append(IndexDoc(
            id=f"doc{d:02d}", url=f"https://news.example/{d}", title=f"{TOPICS[d % 5]} {d}",
            body=f"The {TOPICS[d % 5]} report from Tobruk. {filler}", source="Wire",
            published=NOW - timedelta(days=d), ingested=NOW, language="en",
        ))
    return docs


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("limits") / "home")
    rt = open_runtime(settings)
    try:
        rt.index.upsert_many(_docs())
    finally:
        rt.close()
    return settings


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[httpx.Client]:
    with serving(create_app(settings)) as base, httpx.Client(base_url=base, timeout=60) as c:
        yield c


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    Problem.model_validate(body)
    assert body["status"] == status and "Traceback" not in response.text
    return body


def _limit(client: httpx.Client, query: str) -> dict[str, Any]:
    began = time.monotonic()
    body = _problem(client.get("/search", params={"q": query}), 400)
    assert time.monotonic() - began < 5
    assert body["title"] == "Invalid query" and body["type"].endswith("#invalid-query")
    assert body["detail"].startswith("invalid query") and str(body["maximum"]) in body["detail"]
    return body


def test_the_attack_query_is_a_quick_400_naming_the_limit(client: httpx.Client) -> None:
    query = "*q* " * 500  # 2,000 characters; 20-50 s against 1,000 articles before
    body = _limit(client, query)
    assert (body["limit"], body["maximum"]) == ("leading_wildcards", MAX_LEADING_WILDCARDS)
    assert f"the limit is {MAX_LEADING_WILDCARDS}" in body["detail"]


def test_each_limit_is_named(client: httpx.Client) -> None:
    wildcards = " OR ".join(f"term{i}x1*" for i in range(MAX_WILDCARD_TERMS + 1))
    assert _limit(client, wildcards)["limit"] == "wildcard_terms"
    words = " ".join(f"w{i}" for i in range(MAX_TERMS + 1))
    assert (_limit(client, words)["limit"], _limit(client, words)["maximum"]) == (
        "terms", MAX_TERMS)
    assert _limit(client, "term*x1*")["limit"] == "wildcard_expansions"  # over 500 words
    assert _limit(client, "(" * 33 + "ferry" + ")" * 33)["limit"] == "depth"


def test_ordinary_and_documented_queries_still_work(client: httpx.Client) -> None:
    for query, least in [("ferry", 1), ('"artillery shells" AND (Libya OR Tobruk) -opinion', 1),
                         ("title:ferry", 1), ("shell*", 1), ("sh?llfish", 1), ("*fish", 1),
                         ("(flood OR grain) Tobruk", 1), ("ferry " * 300, 1), ("", 12),
                         (" OR ".join(f"word{i}" for i in range(150)) + " OR shellfish", 1)]:
        response = client.get("/search", params={"q": query})
        assert response.status_code == 200, (query, response.text[:300])
        assert SearchPage.model_validate(response.json()).total >= least, query


def _budget(ms: float) -> Any:
    def opener(settings: Settings) -> Runtime:
        rt = open_runtime(settings)
        rt.index.query_budget_ms = ms  # type: ignore[attr-defined]
        return rt

    return opener


def test_a_search_out_of_time_is_a_400_naming_the_budget(settings: Settings) -> None:
    with serving(create_app(settings, opener=_budget(0))) as base:
        response = httpx.get(f"{base}/search", params={"q": "*zq*"}, timeout=30)
    body = _problem(response, 400)
    assert (body["limit"], body["maximum"]) == ("time_ms", 0)
    assert "time limit of 0 ms" in body["detail"] and body["detail"].startswith("invalid query")


@pytest.mark.parametrize("params", [
    {"from": "9999-12-31T23:00:00-05:00"},
    {"to": "9999-12-31T23:30:00-01:00"},
    {"from": "0001-01-01T00:30:00+01:00"},
    {"to": "0001-01-01T00:00:30+00:01"},
])
def test_dates_out_of_range_are_422_problems(client: httpx.Client,
                                             params: dict[str, str]) -> None:
    body = _problem(client.get("/search", params=params), 422)
    (name,) = params
    assert body["errors"][0]["location"] == ["query", name]
    assert "out of range" in body["detail"] and body["type"].endswith("#invalid-request")


@pytest.mark.parametrize("params", [
    {"from": "9999-12-31T23:00:00+00:00", "to": "9999-12-31"},
    {"from": "0001-01-01", "to": "0001-01-01T23:00:00-00:30"},
])
def test_dates_at_the_ends_of_the_range_are_fine(client: httpx.Client,
                                                 params: dict[str, str]) -> None:
    response = client.get("/search", params=params)
    assert response.status_code == 200, response.text[:300]
    assert response.json()["total"] == 0


def test_the_cli_shows_a_limit_as_one_error_line(settings: Settings) -> None:
    env = {**os.environ, "NEWSWATCH_HOME": str(settings.home)}
    done = subprocess.run([sys.executable, "-m", "newswatch.cli", "search", "*q* " * 500],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid query"), done.stderr
    assert f"the limit is {MAX_LEADING_WILDCARDS}" in lines[0]
