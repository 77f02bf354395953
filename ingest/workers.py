"""CPU-bound work in worker processes: article extraction uses every core."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from core.models import Extracted
from ingest.extract import extract_article


def _warm_up(owner: int) -> None:
    import trafilatura  # noqa: F401  (import once per worker, not per page)

    threading.Thread(target=_exit_without, args=(owner,), daemon=True).start()


def _exit_without(owner: int, every: float = 1.0) -> None:
    """End this worker once the process that owns the pool is gone. A killed owner (SIGKILL,
    the OOM killer) cannot shut the pool down, and its workers would wait for work forever."""
    while True:
        time.sleep(every)
        try:
            os.kill(owner, 0)
        except (ProcessLookupError, PermissionError):  # gone (or its id is another's now)
            os._exit(0)


class ExtractorPool:
    """Runs :func:`extract_article` in a process pool, started on first use.

    ``processes`` 0 means one per core; 1 means in the calling process (no pool). Calls are
    thread-safe: the pipeline's fetch threads hand pages over as they arrive.
    """

    def __init__(self, processes: int = 0) -> None:
        self.processes = processes if processes > 0 else (os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def extract(self, html: bytes, url: str, *, pooled: bool = True) -> Extracted | None:
        if self.processes == 1 or not pooled:
            return extract_article(html, url)
        return self._executor().submit(extract_article, html, url).result()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # forkserver: never fork a process that has fetch threads running
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(
                    max_workers=self.processes, mp_context=context, initializer=_warm_up,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
