"""Query strings crafted to break the parser or the backend, against BOTH backends (the
embedded index and a real Elasticsearch holding the hostile run's articles), through
``index.search`` and through the API over real HTTP: each gives a result or a clear
``QuerySyntaxError`` / 4xx problem detail, never a backend error, a 5xx or a traceback."""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi", reason="the API needs the api extra (fastapi, uvicorn)")

import httpx

from api.schemas import Problem, SearchPage
from core.errors import QuerySyntaxError
from core.models import SearchRequest
from search.backend import IndexBackend

PROBLEM = "application/problem+json"
DEEP = "(" * 1000 + "ferry" + ")" * 1000

QUERIES: dict[str, str] = {
    # nesting
    "deep-1000": DEEP,
    "deep-33": "(" * 33 + "ferry" + ")" * 33,
    "deep-32": "(" * 32 + "ferry" + ")" * 32,
    "alternating-deep": "".join(f"w{i} {'AND' if i % 2 else 'OR'} (" for i in range(40))
    + "ferry" + ")" * 40,
    "not-chain": "NOT " * 400 + "ferry",
    "minus-chain": "-" * 1000 + "ferry",
    "quotes-1001": '"' * 1001,
    # size
    "100k-words": "ferry " * 16_667,
    "100k-one-word": "x" * 100_000,
    "2000-chars": "f" * 2000,
    "1000-terms": "a " * 1000,
    "222-ors": "ferry OR " * 222,
    "many-phrases": " OR ".join(['"ferry timetable"'] * 100),
    # unbalanced
    "open-quote": '"ferry timetable',
    "close-quote": 'ferry"',
    "open-paren": "((ferry)",
    "close-paren": "ferry))",
    "open-bracket": "[ferry",
    "close-bracket": "ferry]",
    "braces": "{ferry}",
    "range": "[a TO b}",
    "trailing-backslash": "ferry\\",
    "backslash": "\\",
    "escaped-quote": '"\\"',
    # wildcards
    "star": "*",
    "question-star": "?*",
    "star-question": "*?",
    "double-star": "**",
    "question": "?",
    "infix": "*a*",
    "mixed": "f*r?y",
    "suffix": "*ry",
    "many-questions": "?" * 100 + "a",
    "automaton": "a" + "?*" * 999,
    "title-star": "title:*",
    "star-star": "*:*",
    "leading-wildcards": " OR ".join(f"*{c}" for c in "abcdefghijklmnopqrstuvwxyz"),
    # regex-looking
    "regex-all": "/.*/",
    "regex-field": "title:/.*/",
    "regex-class": "/[a-z]+/",
    "regex-redos": "/(a+)+$/",
    # fields
    "unknown-field": "nosuchfield:ferry",
    "id-field": "_id:1",
    "exists": "_exists_:title",
    "subfield": "title.keyword:ferry",
    "empty-field": "body:",
    "colon": ":",
    "nested-field": "title:body:ferry",
    "proto": "__proto__:ferry",
    "upper-field": "TITLE:ferry",
    # control characters and broken text
    "nul": "\x00",
    "nul-inside": "ferry\x00timetable",
    "nul-2000": "\x00" * 2000,
    "escape": "\x1b[31mferry",
    "whitespace": "\t\n\r\f\v",
    "rtl": "\u202eferry",
    "bom-zwsp": "\ufeff\u200bferry",
    "lone-surrogate": "\ud800",
    "surrogate-inside": "fer\udfffry",
    "half-emoji": "ferry \ud83d",
    # injection and operators
    "sql": "'; DROP TABLE docs; --",
    "json": '{"query":{"match_all":{}}}',
    "jndi": "${jndi:ldap://127.0.0.1/a}",
    "script": "<script>alert(1)</script>",
    "format": "%s%s%s%n%x",
    "fuzzy": "ferry~2",
    "boost": "ferry^1000",
    "proximity": '"ferry bridge"~5',
    "open-range": "title:[* TO *]",
    "bare-not": "NOT",
    "bare-and": "AND",
    "operators-only": "AND OR NOT",
    "c-operators": "ferry && bridge || !harbour",
    "plus-minus": "+-+-ferry",
    # unicode
    "cjk-emoji": "ÅÄÖ 東京 🔥 ferry",
    "ligature": "ﬁ",
    "dotted-i": "İ",
    "combining": "e\u0301" * 500,
    "zwj": "👩\u200d👩\u200d👧",
}

# Requests too long for the HTTP server itself (its request line is limited to 16 KiB).
TOO_LONG_FOR_THE_API = {"100k-words", "100k-one-word"}


def _check_syntax_error(exc: QuerySyntaxError, query: str) -> None:
    text = str(exc)
    assert text.startswith("invalid query") and "\n" not in text and len(text) < 400, text
    assert exc.position is None or 0 <= exc.position <= len(query)


@pytest.mark.parametrize("name", QUERIES)
def test_search_answers_or_refuses_clearly(index: IndexBackend, name: str) -> None:
    query = QUERIES[name]
    count = index.count()
    for request in (SearchRequest(query=query), SearchRequest(query=query, limit=5, offset=5,
                                                              topic="weather", language="en")):
        try:
            result = index.search(request)  # anything but QuerySyntaxError fails the test
        except QuerySyntaxError as exc:
            _check_syntax_error(exc, query)
        else:
            assert 0 <= len(result.hits) <= result.total <= count
            assert all(h.url.startswith("http") for h in result.hits)
        try:
            index.facets(request)
        except QuerySyntaxError as exc:
            _check_syntax_error(exc, query)
    assert index.count() == count


def _problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith(PROBLEM), response.text[:300]
    body = response.json()
    Problem.model_validate(body)
    assert body["status"] == response.status_code and body["detail"]
    return body


@pytest.mark.parametrize("name", QUERIES)
def test_the_api_answers_or_gives_a_problem(client: httpx.Client, name: str) -> None:
    query = QUERIES[name]
    encoded = quote(query.encode("utf-8", "surrogatepass"), safe="")  # lone surrogates too
    response = raw_get(client, f"/search?q={encoded}")  # httpx refuses URLs over 64 KiB
    assert response.status_code < 500 and "Traceback" not in response.text, response.text[:500]
    if name in TOO_LONG_FOR_THE_API:
        # over uvicorn's 16 KiB request-line limit: its own plain 400, before the API runs
        assert response.status_code == 400, response.status_code
        return
    if response.status_code == 200:
        SearchPage.model_validate(response.json())
    else:
        body = _problem(response)
        assert response.status_code in (400, 422), response.status_code
        if response.status_code == 400:
            assert body["title"] == "Invalid query" and body["detail"].startswith("invalid query")


def raw_get(client: httpx.Client, target: str) -> httpx.Response:
    """GET ``target`` exactly as given (any length) with the standard library's client."""
    url = client.base_url
    conn = http.client.HTTPConnection(url.host, url.port, timeout=60)
    try:
        conn.request("GET", target)
        answer = conn.getresponse()
        return httpx.Response(answer.status, headers=answer.getheaders(), content=answer.read())
    finally:
        conn.close()


RAW_QUERY_STRINGS = [
    "q=%ED%A0%80",  # a UTF-16 surrogate encoded as UTF-8 (not valid UTF-8)
    "q=%FF%FE%00",  # not UTF-8 at all
    "q=%C0%AF",  # an overlong "/"
    "q=%",  # a broken percent escape
    "q=ferry&q=bridge",  # the parameter twice
    "q[]=ferry",  # PHP-style array
    "q=" + "%28" * 1000 + "ferry",  # deep nesting, percent-encoded
    "size=100000000000000000000000",
    "page=-1",
    "from=2026-13-45",
    "to=%00",
    "facet_size=-5",
    "entity=%00%ED%A0%80",
    "entity=" + "A" * 5000,
    "topic=%3Cscript%3E",
    "source=' OR 1=1 --",
    "language=" + "x" * 3000,
    "story=..%2F..%2Fetc%2Fpasswd",
]


@pytest.mark.parametrize("raw", RAW_QUERY_STRINGS, ids=range(len(RAW_QUERY_STRINGS)))
def test_raw_query_strings(client: httpx.Client, raw: str) -> None:
    response = client.get("/search?" + raw)
    assert response.status_code < 500 and "Traceback" not in response.text, response.text[:500]
    if response.status_code == 200:
        SearchPage.model_validate(response.json())
    else:
        _problem(response)


OTHER_ENDPOINTS = [
    ("/stories", {"topic": "<script>alert(1)</script>", "entity": "\x00"}),
    ("/stories", {"entity": DEEP[:2000], "page": "99999999999999999999"}),
    ("/entities", {"q": "%_\\"}),
    ("/entities", {"q": "\x00"}),
    ("/entities", {"q": "x" * 101}),
    ("/articles/%3Cscript%3Ealert(1)%3C%2Fscript%3E", {}),
    ("/articles/" + "a" * 201, {}),
    ("/articles/..%2F..%2Fetc%2Fpasswd", {}),
    ("/stories/%00", {}),
    ("/stories/" + "%F0%9F%94%A5" * 10, {}),
]


@pytest.mark.parametrize(("path", "params"), OTHER_ENDPOINTS, ids=range(len(OTHER_ENDPOINTS)))
def test_other_endpoints_with_hostile_input(client: httpx.Client, path: str,
                                            params: dict[str, str]) -> None:
    response = client.get(path, params=params)
    assert response.status_code < 500 and "Traceback" not in response.text, response.text[:500]
    if response.status_code != 200:
        _problem(response)


@pytest.mark.parametrize("query", ["a" + "?*" * 999, "*a*" * 300, "a" + "?" * 1000 + "b",
                                   "abc" + "*" * 17])
def test_wildcards_elasticsearch_cannot_build_are_refused_on_both(index: IndexBackend,
                                                                   query: str) -> None:
    # before the limit, Elasticsearch answered 400 (automaton too complex) and the API a 503
    with pytest.raises(QuerySyntaxError, match="at most 16"):
        index.search(SearchRequest(query=query))
