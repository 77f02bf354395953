"""Shared fixtures: real services (PostgreSQL, loopback HTTP servers) and settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pgserver
import pytest

from newswatch.settings import LOOPBACK_NETWORKS, Settings, load_settings


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
