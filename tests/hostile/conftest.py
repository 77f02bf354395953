"""ONE real pipeline run over the hostile site (``plan.py``), shared by the hostile suite,
and its articles on both search backends, directly and behind the real API."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

import esserver
import httpx
import pytest
from hostile.plan import HostileRun, hostile_run

from core.settings import Settings
from newswatch.resources import open_runtime
from search.backend import IndexBackend
from search.factory import open_index
from search.reindex import reindex


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileRun]:
    """The hostile site, served for the whole session, and one pipeline run over it."""
    with hostile_run(tmp_path_factory.mktemp("hostile") / "home") as run:
        yield run


@pytest.fixture(scope="session", params=["embedded", "elasticsearch"])
def backend(request: pytest.FixtureRequest, hostile: HostileRun) -> Iterator[Settings]:
    """Settings for one backend holding the hostile run's articles (Elasticsearch gets
    them by ``reindex`` from the same state store)."""
    if request.param == "embedded":
        yield hostile.settings
        return
    es_url: str = request.getfixturevalue("es_url")
    settings = dataclasses.replace(hostile.settings, index="elasticsearch", es_url=es_url,
                                   es_index_prefix=f"nwhostile-{uuid.uuid4().hex[:10]}")
    rt = open_runtime(settings)
    try:
        articles, _stories = reindex(rt)
        assert articles == hostile.report.indexed
    finally:
        rt.close()
    yield settings
    esserver.drop_indices(settings)


@pytest.fixture(scope="session")
def index(backend: Settings) -> Iterator[IndexBackend]:
    opened = open_index(backend)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def client(backend: Settings) -> Iterator[httpx.Client]:
    """A client of the real API (uvicorn on loopback) over ``backend``."""
    pytest.importorskip("fastapi", reason="the API needs the api extra (fastapi, uvicorn)")
    from fixtures.apiserver import serving

    from api.app import create_app

    with serving(create_app(backend)) as base, httpx.Client(base_url=base, timeout=60) as c:
        yield c
