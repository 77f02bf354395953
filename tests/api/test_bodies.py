"""Request bodies over a real socket (uvicorn on loopback): a route that needs the API key
answers a request without it before reading its body, and every body is capped (413)."""

from __future__ import annotations

import dataclasses
import json
import select
import socket
import time
from collections.abc import Iterator
from http.client import HTTPResponse
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the API needs the api extra (fastapi, uvicorn)")

import httpx
from conftest import make_settings
from fixtures.apiserver import serving

from api.app import create_app
from api.bodies import MAX_BODY, MAX_WATCH_BODY
from api.schemas import Problem

KEY = "body-test-key"
HUGE = 300 * 1024 * 1024  # what the unauthenticated request announced: 300 MB


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = dataclasses.replace(
        make_settings(Path(tmp_path_factory.mktemp("bodies")) / "home"), api_key=KEY)
    with serving(create_app(settings)) as url:
        yield url


def _connect(base: str) -> socket.socket:
    host, port = httpx.URL(base).host, httpx.URL(base).port
    return socket.create_connection((host, port), timeout=10)


def _head(base: str, method: str, target: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {httpx.URL(base).netloc.decode()}",
             *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], dict[str, Any]]:
    response = HTTPResponse(sock)
    response.begin()
    body = json.loads(response.read())
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def _problem(status: int, headers: dict[str, str], body: dict[str, Any], want: int) -> None:
    assert status == want, body
    assert headers["content-type"].startswith("application/problem+json")
    Problem.model_validate(body)
    assert body["status"] == want


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("wrong", 403)])
def test_a_huge_body_without_the_key_is_refused_before_it_is_sent(
    base: str, key: str | None, status: int
) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(HUGE)}
    if key:
        headers["X-API-Key"] = key
    with _connect(base) as sock:
        began = time.monotonic()
        sock.sendall(_head(base, "POST", "/watches", headers) + b'{"name": "x", ')
        # the other 300 MB are never sent: the answer must come without them
        got, answer_headers, body = _answer(sock)
        took = time.monotonic() - began
    _problem(got, answer_headers, body, status)
    assert took < 5 and answer_headers["connection"] == "close"


def test_a_chunked_body_without_the_key_is_refused_before_it_is_sent(base: str) -> None:
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    with _connect(base) as sock:
        sock.sendall(_head(base, "POST", "/watches", headers) + b"4\r\n{\"na\r\n")
        got, answer_headers, body = _answer(sock)
    _problem(got, answer_headers, body, 401)


def test_an_announced_body_over_the_cap_is_a_413_before_it_is_sent(base: str) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(HUGE), "X-API-Key": KEY}
    with _connect(base) as sock:
        sock.sendall(_head(base, "POST", "/watches", headers) + b"{")
        got, answer_headers, body = _answer(sock)
    _problem(got, answer_headers, body, 413)
    assert body["type"].endswith("#payload-too-large") and body["maximum"] == MAX_WATCH_BODY
    assert f"at most {MAX_WATCH_BODY} bytes" in body["detail"]


def test_a_chunked_body_over_the_cap_is_cut_off_with_a_413(base: str) -> None:
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked",
               "X-API-Key": KEY}
    chunk = b"2000\r\n" + b" " * 0x2000 + b"\r\n"  # 8 KiB of JSON whitespace
    sent = 0
    with _connect(base) as sock:
        sock.sendall(_head(base, "POST", "/watches", headers))
        while sent < 50 * MAX_WATCH_BODY:  # stop sending as soon as the answer is there
            if select.select([sock], [], [], 0)[0]:
                break
            sock.sendall(chunk)
            sent += 0x2000
            time.sleep(0.005)
        got, answer_headers, body = _answer(sock)
    _problem(got, answer_headers, body, 413)
    assert body["maximum"] == MAX_WATCH_BODY
    assert sent < 4 * MAX_WATCH_BODY  # cut off near the cap, not after the whole body


def test_bodies_within_the_cap_still_work(base: str) -> None:
    watch = {"name": "ferries", "emails": ["desk@example.org"], "query": "ferry",
             "entities": [f"Entity {i}" for i in range(40)]}
    with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=30) as client:
        created = client.post("/watches", json=watch)
        assert created.status_code == 201, created.text

        def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
            text = json.dumps({**watch, "name": "ferries, chunked"}).encode()
            yield from (text[i : i + 100] for i in range(0, len(text), 100))

        chunked = client.post("/watches", content=chunks(),
                              headers={"Content-Type": "application/json"})
        assert chunked.status_code == 201, chunked.text
        assert chunked.json()["entities"] == watch["entities"]
        names = [w["name"] for w in client.get("/watches").json()["watches"]]
        assert {"ferries", "ferries, chunked"} <= set(names)


def test_other_routes_take_small_bodies_only(base: str) -> None:
    too_big = b"x" * (MAX_BODY + 1)
    response = httpx.post(f"{base}/unsubscribe", params={"token": "t"}, content=too_big)
    _problem(response.status_code, dict(response.headers), response.json(), 413)
    assert response.json()["maximum"] == MAX_BODY
    on_get = httpx.request("GET", f"{base}/health", content=too_big)
    assert on_get.status_code == 413
    form = httpx.post(f"{base}/unsubscribe", params={"token": "t"},
                      data={"List-Unsubscribe": "One-Click"})
    assert form.status_code == 400  # read and judged: the token is not valid
