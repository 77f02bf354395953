"""The enrich stage: language, entities, quotes and topics for every article revision that
has none yet, in batches (spaCy's ``nlp.pipe``), stored in the state store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select

from core import schema as t
from core.errors import ConfigError, NewswatchError
from core.models import Article, Enrichment, RunReport
from core.runtime import NoProgress, Progress, Runtime

log = logging.getLogger(__name__)
BATCH = 64


def _with_copies(rt: Runtime, batch: Sequence[Article], docs: Sequence[Any],
                 analyze: Callable[[list[Any]], list[Enrichment]]) -> list[Enrichment]:
    """Each document's enrichment, analysing each distinct (title, text, declared language)
    once: an exact copy (a syndicated wire story, an unchanged re-post) reuses what its
    original got — in this batch or already stored — instead of running NER again. The
    result is the same as analysing it: the analysis is a pure function of that input."""
    key = [(a.text_hash, a.title, a.language) for a in batch]
    stored = _stored_copies(rt, batch)
    todo: dict[tuple[str, str, str], int] = {}
    for n, k in enumerate(key):
        if k not in stored and k not in todo:
            todo[k] = n
    fresh = dict(zip(todo, analyze([docs[n] for n in todo.values()]), strict=True))
    return [stored.get(k) or fresh[k] for k in key]


def _stored_copies(rt: Runtime, batch: Sequence[Article]) -> dict[tuple[str, str, str], Enrichment]:
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


def enrich_pending(rt: Runtime, report: RunReport | None = None,
                   progress: Progress | None = None) -> int:
    """Enrich every article whose newest revision is not enriched yet; returns the count.

    When the NLP model cannot be loaded, articles still get their language and are marked,
    so indexing is never blocked; the reason is added to the report's warnings.
    """
    from enrich.analyze import Document, analyze
    from enrich.gazetteer import Gazetteer
    from enrich.language import detect_language
    from enrich.topics import load_taxonomy

    progress = progress or NoProgress()
    taxonomy = load_taxonomy(rt.settings.taxonomy_path)  # re-read each run: edits apply
    gazetteer = Gazetteer.load()
    nlp = None
    try:
        from enrich.nlp import load_model

        nlp = load_model(rt.settings.nlp_model)
    except (NewswatchError, ConfigError) as exc:
        if report is not None:
            report.warnings.append(f"entities and topics skipped: {exc}")
    done = 0
    while True:
        batch = rt.store.articles_to_enrich(limit=BATCH)
        if not batch:
            return done
        if done == 0:
            progress.start("enriching articles", len(batch))
        docs = [Document(a.title, a.text, a.language) for a in batch]
        if nlp is not None:
            results = _with_copies(rt, batch, docs, lambda todo: analyze(todo, nlp, gazetteer, taxonomy))
        else:
            results = [
                Enrichment(detect_language(d.title, d.text, d.declared_language)[0],
                           skipped="no NLP model: entities and topics skipped")
                for d in docs
            ]
        for article, result in zip(batch, results, strict=True):
            rt.store.save_enrichment(article.id, article.revision, result)
            progress.advance()
        done += len(batch)
