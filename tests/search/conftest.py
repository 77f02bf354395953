"""A real Elasticsearch for the search tests: ``NEWSWATCH_ES_URL``, or one started here."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import esserver
import pytest

from newswatch.settings import Settings


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
