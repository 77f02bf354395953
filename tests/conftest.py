"""Shared fixtures: real services (PostgreSQL, Elasticsearch, loopback HTTP servers) and
settings."""

from __future__ import annotations

import dataclasses
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import esserver
import pgserver
import pytest
from fixtures.smtp import SmtpServer

from core.runtime import Runtime
from core.settings import LOOPBACK_NETWORKS, Settings, load_settings
from newswatch.demo.site import DemoSite
from newswatch.resources import open_runtime


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer]:
    """A real PostgreSQL server for the session; skipped (or failed in CI) when unavailable."""
    try:
        server = pgserver.start()
    except pgserver.Unavailable as exc:
        if os.environ.get("NEWSWATCH_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL is required (NEWSWATCH_REQUIRE_PG=1) but: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The state store URL: each test that uses it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    server: pgserver.PgServer = request.getfixturevalue("pg_server")
    return server.create_database("t_" + uuid.uuid4().hex[:12])


def make_settings(home: Path, database_url: str = "", **extra: str) -> Settings:
    env = {
        "NEWSWATCH_HOME": str(home),
        "NEWSWATCH_PER_HOST_DELAY": "0",  # politeness tests set their own
        "NEWSWATCH_EXTRACT_PROCESSES": "1",  # pool tests set their own
        "NEWSWATCH_ENRICH_PROCESSES": "1",  # tests/enrich/test_parallel.py and the CLI use the pool
        **{f"NEWSWATCH_{k.upper()}": v for k, v in extra.items()},
    }
    if database_url:
        env["NEWSWATCH_DATABASE_URL"] = database_url
    return load_settings(env=env).with_allowed(*LOOPBACK_NETWORKS)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings on a fresh data directory, loopback allowed, on both state stores."""
    return make_settings(tmp_path / "home", database_url)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings on a fresh data directory with the default SQLite state store."""
    return make_settings(tmp_path / "home")


def _opener(base: Settings) -> Iterator[Callable[..., Runtime]]:
    opened: list[Runtime] = []

    def opener(**changes: object) -> Runtime:
        opened.append(open_runtime(dataclasses.replace(base, **changes)))
        return opened[-1]

    yield opener
    for runtime in opened:
        runtime.close()


@pytest.fixture
def open_rt(settings: Settings) -> Iterator[Callable[..., Runtime]]:
    """Open runtimes on the test's stores (both backends), with setting changes; all are
    closed afterwards."""
    yield from _opener(settings)


@pytest.fixture
def open_sqlite_rt(sqlite_settings: Settings) -> Iterator[Callable[..., Runtime]]:
    """Like ``open_rt``, on SQLite only (for tests about the network, not the store)."""
    yield from _opener(sqlite_settings)


@pytest.fixture
def rt(open_rt: Callable[..., Runtime]) -> Runtime:
    return open_rt()


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoSite]:
    """The bundled demo news site on free loopback ports."""
    with DemoSite(base_port=0) as site:
        yield site


# -- Elasticsearch (the search contract, the hostile suite, the API load benchmark) -----------


def _unavailable(reason: str) -> None:
    if os.environ.get("NEWSWATCH_REQUIRE_ES") == "1":
        pytest.fail(f"Elasticsearch is required (NEWSWATCH_REQUIRE_ES=1) but: {reason}")
    pytest.skip(f"Elasticsearch tests skipped: {reason}")


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    """The URL of a running Elasticsearch 8 for the session.

    ``NEWSWATCH_ES_URL`` when set; otherwise the integ-test distribution started by
    ``tests/esserver.py`` (stopped at the end). Skipped with the reason when it cannot be had,
    or failed when ``NEWSWATCH_REQUIRE_ES=1``.
    """
    try:
        import elasticsearch  # noqa: F401
    except ImportError:
        _unavailable("the Python client is not installed (pip install -e '.[es]')")
    given = os.environ.get("NEWSWATCH_ES_URL", "").strip().rstrip("/")
    server: esserver.EsServer | None = None
    url = given
    try:
        if given and not esserver.healthy(given, wait="10s"):
            raise esserver.Unavailable(f"NEWSWATCH_ES_URL={given} is not a healthy cluster")
        if not given:
            server = esserver.start()
            url = server.url
            print(
                f"\nElasticsearch {esserver.ES_VERSION} started at {url} "
                f"in {server.seconds_to_start:.1f} s",
                file=sys.stderr,
            )
    except esserver.Unavailable as exc:
        _unavailable(str(exc))
    try:
        yield url
    finally:
        if server is not None:
            server.stop()


@pytest.fixture
def es_settings(es_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for the elasticsearch backend with an index prefix of this test's own;
    its indices and templates are deleted afterwards."""
    settings = esserver.settings_for(es_url, tmp_path / "home")
    yield settings
    esserver.drop_indices(settings)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback that keeps every message it accepts."""
    server = SmtpServer().start()
    yield server
    server.stop()
