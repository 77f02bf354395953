"""The open resources one process works with, built once and passed to every stage."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ingest.fetch import Fetcher
from ingest.robots import RobotsCache
from newswatch.db import Store
from newswatch.settings import Settings
from newswatch.workers import ExtractorPool
from search.backend import IndexBackend, open_index


class Progress(Protocol):
    """What the pipeline tells a progress display; the CLI renders it with rich."""

    def start(self, label: str, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class NoProgress:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass
class Runtime:
    """State store, search index, HTTP client, robots cache and extraction workers."""

    settings: Settings
    store: Store
    index: IndexBackend
    fetcher: Fetcher
    robots: RobotsCache
    extractor: ExtractorPool
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    rng: random.Random = field(default_factory=random.Random)

    def close(self) -> None:
        self.extractor.close()
        self.fetcher.close()
        self.index.close()
        self.store.close()


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
    )


def robots_for(fetcher: Fetcher) -> RobotsCache:
    """A robots.txt cache that fetches through ``fetcher`` (and so obeys its limits)."""
    return RobotsCache(
        lambda url: fetcher.get(url, accept="text/plain, */*;q=0.5").content,
        agent=fetcher.settings.resolved_user_agent,
        ttl=fetcher.settings.robots_ttl_seconds,
    )
