"""The enrich stage: language, entities, quotes and topics for every article revision that
has none yet, in batches (spaCy's ``nlp.pipe``), stored in the state store."""

from __future__ import annotations

import logging

from core.errors import ConfigError, NewswatchError
from core.models import Enrichment, RunReport
from core.runtime import NoProgress, Progress, Runtime

log = logging.getLogger(__name__)
BATCH = 64


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
            results = analyze(docs, nlp, gazetteer, taxonomy)
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
