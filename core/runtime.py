"""The open resources one process works with, built once and passed to every stage.

Built by ``newswatch.resources.open_runtime``; the stages only receive it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from core.db import Store
from core.settings import Settings

if TYPE_CHECKING:  # the ground names these resource types for the type checker only
    from enrich.workers import EnrichPool
    from ingest.fetch import Fetcher
    from ingest.robots import RobotsCache
    from ingest.workers import ExtractorPool
    from search.backend import IndexBackend


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
    """State store, search index, HTTP client, robots cache, extraction and enrichment
    workers."""

    settings: Settings
    store: Store
    index: IndexBackend
    fetcher: Fetcher
    robots: RobotsCache
    extractor: ExtractorPool
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    rng: random.Random = field(default_factory=random.Random)
    enricher: EnrichPool | None = None  # enrichment workers; None: enrich in this process

    def close(self) -> None:
        if self.enricher is not None:
            self.enricher.close()
        self.extractor.close()
        self.fetcher.close()
        self.index.close()
        self.store.close()
