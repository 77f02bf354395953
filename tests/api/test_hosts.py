"""The Host header over real HTTP (uvicorn on loopback): the API answers only for its own
names, so a page that rebinds its domain to the API's address (DNS rebinding) cannot read it."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the API needs the api extra (fastapi, uvicorn)")

import httpx
from conftest import make_settings
from fixtures.apiserver import serving

from api.app import create_app
from api.hosts import allowed_hosts, host_name
from api.schemas import Problem
from core.errors import ConfigError
from core.settings import Settings, load_settings


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("hosts")) / "home"


@pytest.fixture(scope="module")
def loopback(home: Path) -> Iterator[str]:
    """The API with the default api_host (127.0.0.1) and public_url."""
    with serving(create_app(make_settings(home))) as base:
        yield base


def _status(base: str, host: str, path: str = "/search") -> int:
    response = httpx.get(f"{base}{path}", headers={"Host": host}, timeout=30)
    if response.status_code == 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        Problem.model_validate(body)
        assert body["type"].endswith("#unknown-host") and body["title"] == "Unknown host"
        assert "NEWSWATCH_API_ALLOWED_HOSTS" in body["detail"]
    return response.status_code


def test_loopback_names_are_answered(loopback: str) -> None:
    port = httpx.URL(loopback).port
    for host in (f"127.0.0.1:{port}", "127.0.0.1", f"localhost:{port}", "LOCALHOST",
                 f"[::1]:{port}", "[::1]", "localhost."):
        assert _status(loopback, host) == 200, host


def test_other_hosts_are_a_400_problem(loopback: str) -> None:
    port = httpx.URL(loopback).port
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example",
                 f"localhost.evil.example:{port}", "localhost:x", "[::1", "", "*"):
        assert _status(loopback, host) == 400, host
    for path in ("/health", "/stories", "/openapi.json", "/docs", "/no/such/endpoint"):
        assert _status(loopback, "evil.example", path) == 400, path


def test_two_host_headers_are_refused(loopback: str) -> None:
    url = httpx.URL(loopback)
    with socket.create_connection((url.host, url.port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n")
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    assert b" 400 " in status_line + b" "


def test_public_url_and_configured_hosts(home: Path) -> None:
    settings = dataclasses.replace(make_settings(home), public_url="https://news.example.org/api",
                                   api_allowed_hosts=("newswatch-api", "Proxy.Example:8443"))
    with serving(create_app(settings)) as base:
        for host in ("news.example.org", "news.example.org:443", "newswatch-api:8000",
                     "proxy.example", "localhost"):
            assert _status(base, host) == 200, host
        assert _status(base, "evil.example") == 400


def test_a_star_allows_any_host(home: Path) -> None:
    settings = dataclasses.replace(make_settings(home), api_allowed_hosts=("*",))
    with serving(create_app(settings)) as base:
        assert _status(base, "anything.example") == 200


def test_a_wildcard_address_answers_loopback_and_the_machine_name(home: Path) -> None:
    settings = dataclasses.replace(make_settings(home), api_host="0.0.0.0",
                                   public_url="http://localhost:8000")
    with serving(create_app(settings)) as base:
        for host in (socket.gethostname(), f"{socket.gethostname()}:8000", "localhost:8000",
                     "127.0.0.1:8000", "[::1]:8000"):
            assert _status(base, host) == 200, host
        assert _status(base, "newswatch-api:8000") == 400  # a service name must be configured
        assert _status(base, "evil.example") == 400


def test_allowed_hosts() -> None:
    assert allowed_hosts(Settings()) == {"127.0.0.1", "localhost", "::1"}
    assert allowed_hosts(Settings(api_host="::1")) == {"127.0.0.1", "localhost", "::1"}
    assert allowed_hosts(Settings(api_host="0.0.0.0"), hostname="Box") == {
        "127.0.0.1", "localhost", "::1", "box"}
    assert allowed_hosts(Settings(api_host="::"), hostname="box") == {
        "127.0.0.1", "localhost", "::1", "box"}
    assert allowed_hosts(Settings(api_host="10.0.0.5")) == {"10.0.0.5"}
    assert allowed_hosts(Settings(api_host="10.0.0.5", public_url="https://news.example/")) == {
        "10.0.0.5", "news.example"}
    assert allowed_hosts(Settings(api_allowed_hosts=("a.example", "*"))) is None


@pytest.mark.parametrize(("given", "name"), [
    ("Example.ORG", "example.org"), ("example.org:8000", "example.org"),
    ("example.org.", "example.org"), ("[::1]:8000", "::1"), ("[0:0::1]", "::1"),
    ("::1", "::1"), ("10.0.0.5:80", "10.0.0.5"), ("newswatch_api", "newswatch_api"),
    ("example.org:", None), ("example.org:80x", None), ("[::1]x", None), ("[::1", None), ("[nope]", None),
    ("a b", None), ("-a.example", None), ("a..example", None), ("", None),
    ("user@example.org", None), ("exämple.org", None),
])
def test_host_name(given: str, name: str | None) -> None:
    assert host_name(given) == name


def test_the_setting_is_a_comma_list() -> None:
    env = {"NEWSWATCH_API_ALLOWED_HOSTS": " News.example, newswatch-api:8000 ,, [::1]"}
    assert load_settings(env=env).api_allowed_hosts == (
        "news.example", "newswatch-api:8000", "[::1]")
    assert load_settings(env={}).api_allowed_hosts == ()
    with pytest.raises(ConfigError, match="api_allowed_hosts"):
        load_settings(env={"NEWSWATCH_API_ALLOWED_HOSTS": "news.example, a b"})


def test_an_ip_address_as_host_is_answered(loopback: str) -> None:
    """Probes that dial the address (Kubernetes, load balancers) send it as Host; a page
    rebinding its domain cannot, so addresses are no way in for that attack."""
    port = httpx.URL(loopback).port
    for host in ("10.1.2.3", f"10.1.2.3:{port}", "[2001:db8::7]", "192.0.2.1"):
        assert _status(loopback, host) == 200, host
