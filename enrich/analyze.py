"""The enrich stage's pure core: language, entities, quotes and topics for a batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from core.models import Enrichment
from enrich.entities import extract_entities
from enrich.gazetteer import Gazetteer
from enrich.language import detect_language
from enrich.nlp import MAX_CHARS
from enrich.quotes import find_quotes
from enrich.topics import Topic, tag_topics

ENGLISH = "en"
# Documents per spaCy batch. News articles are long (600-1,200 words): batches of 32 held
# ~800 MB at once and ran slower than batches of 8 (~330 MB; same entities), measured with
# bench/pipeline.py.
NER_BATCH = 8


@dataclass(frozen=True)
class Document:
    title: str
    text: str
    declared_language: str = ""


def analyze(
    docs: Sequence[Document],
    nlp: Any,
    gazetteer: Gazetteer,
    taxonomy: Sequence[Topic],
    batch_size: int = NER_BATCH,
) -> list[Enrichment]:
    """Enrich ``docs`` in order. Non-English documents get their language and nothing else."""
    languages = [detect_language(d.title, d.text, d.declared_language)[0] for d in docs]
    english = [i for i, lang in enumerate(languages) if lang == ENGLISH]
    texts = (f"{docs[i].title}\n\n{docs[i].text}"[:MAX_CHARS] for i in english)
    results: list[Enrichment | None] = [None] * len(docs)
    for i, spacy_doc in zip(english, nlp.pipe(texts, batch_size=batch_size), strict=True):
        doc = docs[i]
        entities = extract_entities(spacy_doc, len(doc.title), gazetteer)
        offset = len(doc.title) + 2
        people = {s.casefold(): e.id for e in entities if e.type == "person" for s in e.surfaces}
        quotes = [
            replace(q, position=q.position + offset)
            for q in find_quotes(doc.text, _linker(people))
        ]
        topics = tag_topics(doc.title, doc.text, entities, taxonomy)
        results[i] = Enrichment(ENGLISH, tuple(entities), tuple(topics), tuple(quotes))
    for i, lang in enumerate(languages):
        if results[i] is None:
            note = f"language {lang or 'unknown'}: English-only stages skipped"
            results[i] = Enrichment(lang, skipped=note)
    return [r for r in results if r is not None]


def _linker(people: dict[str, str]) -> Callable[[str], str | None]:
    """Speaker name → entity id, by any surface form the article used for the person."""
    return lambda name: people.get(name.casefold())
