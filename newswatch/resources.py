"""Opening the resources one process works with (state store, index, HTTP client, workers)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from core.db import Store
from core.runtime import Runtime
from core.settings import Settings, load_settings
from enrich.workers import EnrichPool
from ingest.fetch import Fetcher
from ingest.robots import RobotsCache
from ingest.workers import ExtractorPool
from search.factory import open_index


def open_runtime(settings: Settings) -> Runtime:
    """Open the state store (migrating it), the search index, an HTTP client and workers."""
    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store.open(settings.resolved_database_url)
    index = open_index(settings)
    index.ensure_schema()
    fetcher = Fetcher(settings)
    return Runtime(
        settings=settings,
        store=store,
        index=index,
        fetcher=fetcher,
        robots=robots_for(fetcher),
        extractor=ExtractorPool(settings.extract_processes),
        enricher=EnrichPool(settings.enrich_processes, settings.nlp_model, settings.taxonomy_path),
    )


def robots_for(fetcher: Fetcher) -> RobotsCache:
    """A robots.txt cache that fetches through ``fetcher`` (and so obeys its limits)."""
    return RobotsCache(
        lambda url: fetcher.get(url, accept="text/plain, */*;q=0.5").content,
        agent=fetcher.settings.resolved_user_agent,
        ttl=fetcher.settings.robots_ttl_seconds,
    )


@contextmanager
def opened(settings: Settings | None = None) -> Iterator[Runtime]:
    """A runtime for one command: opened from ``settings`` (default: loaded), then closed."""
    rt = open_runtime(settings or load_settings())
    try:
        yield rt
    finally:
        rt.close()
