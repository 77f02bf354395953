"""The enrich stage: language, entities, quotes and topics for every article revision that
has none yet, in batches (spaCy's ``nlp.pipe``), stored in the state store.

With more than one enrichment worker (``enrich_processes``) the analysis runs in the
worker processes of ``rt.enricher`` and this process only reads, hands over and writes;
:class:`Prefetch` lets the pipeline start it while its pass is still fetching."""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from core import schema as t
from core.errors import ConfigError, NewswatchError
from core.models import Article, Enrichment, RunReport
from core.runtime import NoProgress, Progress, Runtime

if TYPE_CHECKING:
    from enrich.analyze import Document
    from enrich.workers import EnrichPool

log = logging.getLogger(__name__)
BATCH = 64
CHUNK = 4  # documents per task handed to a worker: small, so every core gets work early
IN_FLIGHT = 4  # tasks per worker queued at most while the pass is still fetching
POOL_MIN_DOCS = 16  # below this many documents (and workers not started) analyse in-process
Key = tuple[str, str, str]  # (text hash, title, declared language): what the analysis reads


def _with_copies(rt: Runtime, batch: Sequence[Article], docs: Sequence[Any],
                 analyze: Callable[[list[Any]], list[Enrichment]]) -> list[Enrichment]:
    """Each document's enrichment, analysing each distinct (title, text, declared language)
    once: an exact copy (a syndicated wire story, an unchanged re-post) reuses what its
    original got — in this batch or already stored — instead of running NER again. The
    result is the same as analysing it: the analysis is a pure function of that input."""
    key = [_key(a) for a in batch]
    stored = _stored_copies(rt, batch)
    todo: dict[Key, int] = {}
    for n, k in enumerate(key):
        if k not in stored and k not in todo:
            todo[k] = n
    fresh = dict(zip(todo, analyze([docs[n] for n in todo.values()]), strict=True))
    return [stored.get(k) or fresh[k] for k in key]


def _key(a: Article) -> Key:
    return (a.text_hash, a.title, a.language)


def _doc_key(d: Document) -> Key:
    return (hashlib.sha256(d.text.encode("utf-8")).hexdigest(), d.title, d.declared_language)


def _article_doc_key(a: Article) -> Key:
    """What :func:`_doc_key` gives for the article's document (its text hashed again: a
    stored hash that disagreed would only cost a recomputation, never a wrong result)."""
    return (hashlib.sha256(a.text.encode("utf-8")).hexdigest(), a.title, a.language)


def _stored_copies(rt: Runtime, batch: Sequence[Article]) -> dict[Key, Enrichment]:
    """Enrichments of already enriched articles with the same text and title as articles of
    ``batch`` (found through the text-hash index), when the batch article declares no
    language or the one the original was found to be in."""
    a = t.articles
    ids = [x.id for x in batch]
    wanted = {(x.text_hash, x.title): x.language for x in batch}
    query = select(a.c.id, a.c.text_hash, a.c.title, a.c.language).where(
        a.c.text_hash.in_({x.text_hash for x in batch}), a.c.id.not_in(ids),
        a.c.enriched_revision >= a.c.revision, a.c.enrich_note == "")
    with rt.store.engine.connect() as conn:
        rows = [r for r in conn.execute(query) if (r.text_hash, r.title) in wanted
                and wanted[(r.text_hash, r.title)] in ("", r.language)]  # a declared language agrees
    if not rows:
        return {}
    found = rt.store.enrichments([r.id for r in rows])
    return {(r.text_hash, r.title, wanted[(r.text_hash, r.title)]): found[r.id]
            for r in rows if r.id in found}


class Prefetch:
    """Enrichment started while the pass still fetches: each article is handed over as soon
    as it is stored, ``CHUNK`` at a time, to the enrichment workers; at most ``IN_FLIGHT``
    tasks per worker wait at once (beyond that the caller waits for the oldest, while the
    fetch threads go on). :func:`enrich_pending` then takes the results by content, so what
    it stores is what it would have computed itself."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._workers = rt.enricher if rt.enricher is not None and rt.enricher.parallel else None
        self.pool: EnrichPool | None = None  # set by expect() when the pass is worth it
        self._buffer: list[Article] = []
        self._started: dict[Key, tuple[Future[list[Enrichment]], int]] = {}
        self._queue: deque[Future[list[Enrichment]]] = deque()

    def expect(self, pages: int) -> None:
        """The pass will fetch ``pages`` pages: hand articles over while it does when the
        workers run already or that is enough work to start them for."""
        if self._workers is not None and (self._workers.started or pages >= POOL_MIN_DOCS):
            self.pool = self._workers

    def add(self, article: Article) -> None:
        """Start enriching a stored article (new, or a new revision)."""
        if self.pool is None or _article_doc_key(article) in self._started:
            return
        self._buffer.append(article)
        if len(self._buffer) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Hand what is buffered to the workers (exact copies of stored articles excepted)."""
        from enrich.analyze import Document

        batch, self._buffer = self._buffer, []
        if not batch or self.pool is None:
            return
        stored = _stored_copies(self.rt, batch)
        todo = list({_key(a): a for a in batch if _key(a) not in stored}.values())
        if not todo:
            return
        while len(self._queue) >= IN_FLIGHT * self.pool.processes:
            self._queue.popleft().exception()  # bounded: wait for the oldest
        future = self.pool.submit([Document(a.title, a.text, a.language) for a in todo])
        self._queue.append(future)
        for n, a in enumerate(todo):
            self._started[_article_doc_key(a)] = (future, n)

    def take(self, key: Key) -> tuple[Future[list[Enrichment]], int] | None:
        """The task holding ``key``'s result and its place in that task's results."""
        return self._started.pop(key, None)

    def close(self) -> None:
        """Forget what was not taken (its tasks are cancelled when not running yet)."""
        for future in self._queue:
            future.cancel()
        self._queue.clear()
        self._started.clear()
        self._buffer = []


def _in_workers(pool: EnrichPool, prefetch: Prefetch | None) -> Callable[[list[Document]], list[Enrichment]]:
    """``analyze`` on the workers: documents the prefetch started are taken from it, the
    others are handed over ``CHUNK`` at a time; the results in the documents' order."""
    def run(docs: list[Document]) -> list[Enrichment]:
        if prefetch is not None:
            prefetch.flush()
        taken = [prefetch.take(_doc_key(d)) if prefetch is not None else None for d in docs]
        todo = [d for d, started in zip(docs, taken, strict=True) if started is None]
        tasks = [pool.submit(todo[i:i + CHUNK]) for i in range(0, len(todo), CHUNK)]
        fresh = iter([r for task in tasks for r in task.result()])
        return [started[0].result()[started[1]] if started is not None else next(fresh)
                for started in taken]
    return run


def enrich_pending(rt: Runtime, report: RunReport | None = None,
                   progress: Progress | None = None, prefetch: Prefetch | None = None) -> int:
    """Enrich every article whose newest revision is not enriched yet; returns the count.

    In the enrichment workers when ``rt.enricher`` has more than one and they are started
    or the batch is worth starting them (``POOL_MIN_DOCS``), taking what ``prefetch``
    started; else in this process. When the NLP model cannot be loaded, articles still get
    their language and are marked, so indexing is never blocked; the reason is added to
    the report's warnings.
    """
    from enrich.analyze import Document
    from enrich.topics import load_taxonomy

    progress = progress or NoProgress()
    taxonomy = load_taxonomy(rt.settings.taxonomy_path)  # re-read each run: edits apply
    pool = rt.enricher if rt.enricher is not None and rt.enricher.parallel else None
    serial: list[Callable[[list[Document]], list[Enrichment]] | None] = []
    failed = False
    done = 0
    try:
        while True:
            batch = rt.store.articles_to_enrich(limit=BATCH)
            if not batch:
                return done
            if done == 0:
                progress.start("enriching articles", len(batch))
            docs = [Document(a.title, a.text, a.language) for a in batch]
            results = None
            if not failed:
                run: Callable[[list[Document]], list[Enrichment]] | None
                if pool is not None and (pool.started or len(batch) >= POOL_MIN_DOCS):
                    run = _in_workers(pool, prefetch)
                else:
                    if not serial:
                        serial.append(_in_process(rt, taxonomy, report))
                    run = serial[0]
                try:
                    results = _with_copies(rt, batch, docs, run) if run is not None else None
                except (NewswatchError, ConfigError) as exc:  # raised by a worker: no model
                    _skipped(report, exc)
                failed = results is None
            if results is None:
                results = [_language_only(d) for d in docs]
            for article, result in zip(batch, results, strict=True):
                rt.store.save_enrichment(article.id, article.revision, result)
                progress.advance()
            done += len(batch)
    finally:
        if prefetch is not None:
            prefetch.close()


def _in_process(rt: Runtime, taxonomy: Sequence[Any], report: RunReport | None
                ) -> Callable[[list[Document]], list[Enrichment]] | None:
    """``analyze`` in this process (the model loaded once per process), or None without one."""
    from enrich.analyze import analyze
    from enrich.gazetteer import Gazetteer

    try:
        from enrich.nlp import load_model

        nlp = load_model(rt.settings.nlp_model)
    except (NewswatchError, ConfigError) as exc:
        _skipped(report, exc)
        return None
    gazetteer = Gazetteer.load()
    return lambda todo: analyze(todo, nlp, gazetteer, taxonomy)


def _skipped(report: RunReport | None, exc: Exception) -> None:
    if report is not None:
        report.warnings.append(f"entities and topics skipped: {exc}")


def _language_only(d: Document) -> Enrichment:
    from enrich.language import detect_language

    return Enrichment(detect_language(d.title, d.text, d.declared_language)[0],
                      skipped="no NLP model: entities and topics skipped")
