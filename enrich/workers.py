"""Enrichment in worker processes: each loads the spaCy model once and runs
:func:`enrich.analyze.analyze` (language, entities, quotes, topics) on the batches it is
handed, so NER uses every core while the calling process coordinates and writes.

The results are those of the serial path: ``analyze`` treats each document on its own
(its output for a document does not depend on the batch it came in), so any split of the
work gives the same enrichments (``tests/enrich/test_parallel.py``).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from core.models import Enrichment
from enrich.analyze import Document

WARM_TEXT = "A warm-up sentence about London, written by Jane Roe."


def _start(owner: int, model: str) -> None:
    """A worker's start: watch the owner, then load the model (a failure is raised again,
    with its message, by the first batch: the pool itself must not break)."""
    threading.Thread(target=_exit_without, args=(owner,), daemon=True).start()
    try:
        from enrich.nlp import load_model

        load_model(model)
    except Exception:
        pass


def _exit_without(owner: int, every: float = 1.0) -> None:
    """End this worker once the process that owns the pool is gone (a SIGKILLed owner
    cannot shut its pool down)."""
    while True:
        time.sleep(every)
        try:
            os.kill(owner, 0)
        except (ProcessLookupError, PermissionError):
            os._exit(0)


def analyze_batch(docs: Sequence[Document], model: str, taxonomy_path: str | None) -> list[Enrichment]:
    """``analyze`` over ``docs`` with this process's model, gazetteer and taxonomy (each
    loaded once per process; the taxonomy again when its file changes)."""
    from enrich.analyze import analyze
    from enrich.gazetteer import Gazetteer
    from enrich.nlp import load_model
    from enrich.topics import load_taxonomy

    taxonomy = load_taxonomy(Path(taxonomy_path) if taxonomy_path else None)
    return analyze(docs, load_model(model), Gazetteer.load(), taxonomy)


class EnrichPool:
    """Runs :func:`analyze_batch` in ``processes`` worker processes, started on first use.

    ``processes`` 0 means one per core; 1 means no pool (``parallel`` is false and the
    enrich stage analyses in the calling process). Thread-safe."""

    def __init__(self, processes: int, model: str, taxonomy_path: Path | None = None) -> None:
        self.processes = processes if processes > 0 else (os.cpu_count() or 1)
        self.model = model
        self.taxonomy_path = str(taxonomy_path) if taxonomy_path is not None else None
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def parallel(self) -> bool:
        return self.processes > 1

    @property
    def started(self) -> bool:
        return self._pool is not None

    def submit(self, docs: Sequence[Document]) -> Future[list[Enrichment]]:
        return self._executor().submit(analyze_batch, list(docs), self.model, self.taxonomy_path)

    def warm(self) -> None:
        """Start every worker and let each load the model (a long-running process's state)."""
        if self.parallel:
            for f in [self.submit([Document("Warm-up", WARM_TEXT)]) for _ in range(self.processes)]:
                f.exception()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # forkserver: never fork a process that has fetch threads running
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(
                    max_workers=self.processes, mp_context=context, initializer=_start,
                    initargs=(os.getpid(), self.model),
                )
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
