"""Queries written to cost the server, against BOTH backends (the hostile run's articles on
the embedded index and on a real Elasticsearch), directly and through the real API: each is
refused at once with the limit it is over, before the backend works on it."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("fastapi", reason="the API needs the api extra (fastapi, uvicorn)")

import httpx

from api.schemas import Problem
from core.models import SearchRequest
from search.backend import IndexBackend
from search.query import QueryLimitError

COSTLY: dict[str, tuple[str, str]] = {
    "leading-wildcards-500": ("*q* " * 500, "leading_wildcards"),
    "leading-wildcards-4": ("*ferry *bridge *harbour *timetable", "leading_wildcards"),
    "wildcards-11": (" OR ".join(f"fer{c}*" for c in "abcdefghijk"), "wildcard_terms"),
    "same-wildcard-11": ("ferr* " * 11, "wildcard_terms"),
    "words-201": (" ".join(f"w{i}" for i in range(201)), "terms"),
    "phrases-201": (" ".join(f'"p{i} q"' for i in range(201)), "terms"),
}


@pytest.mark.parametrize("name", COSTLY)
def test_costly_queries_are_refused_at_once(index: IndexBackend, name: str) -> None:
    query, limit = COSTLY[name]
    for run in (index.search, index.facets):
        began = time.monotonic()
        with pytest.raises(QueryLimitError) as info:
            run(SearchRequest(query=query))  # type: ignore[operator]
        assert time.monotonic() - began < 2
        assert info.value.limit == limit and str(info.value.maximum) in str(info.value)


@pytest.mark.parametrize("name", COSTLY)
def test_costly_queries_over_the_api_name_their_limit(client: httpx.Client, name: str) -> None:
    query, limit = COSTLY[name]
    began = time.monotonic()
    response = client.get("/search", params={"q": query})
    assert time.monotonic() - began < 5
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    Problem.model_validate(body)
    assert body["title"] == "Invalid query" and body["limit"] == limit
    assert f"the limit is {body['maximum']}" in body["detail"]


def test_ordinary_queries_within_the_budget(index: IndexBackend) -> None:
    for query in ("ferry", "ferry timetable", '"ferry timetable" OR harbour', "fer*", "*rry",
                  "f?rry", "title:ferry -bridge", "ferry " * 300):
        result = index.search(SearchRequest(query=query))
        assert 0 <= result.total <= index.count()
