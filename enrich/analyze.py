"""The enrich stage's pure core: language, entities, quotes and topics for a batch.

English goes through spaCy (``nlp``); Russian, Ukrainian, Korean, Japanese and Chinese through
enrich/languages/linking.py, whose tools are loaded only when an article in that language
occurs; any other language gets its language and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from core.models import Enrichment
from enrich.entities import extract_entities
from enrich.gazetteer import Gazetteer
from enrich.language import detect_language
from enrich.languages.linking import LANGUAGES, link_documents
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
    """Enrich ``docs`` in order. Documents in Russian, Ukrainian, Korean, Japanese and Chinese
    get linked entities and topics (no quotes: their patterns are English); documents in
    other languages get their language and nothing else."""
    languages = [detect_language(d.title, d.text, d.declared_language)[0] for d in docs]
    english = [i for i, lang in enumerate(languages) if lang == ENGLISH]
    texts = (f"{docs[i].title}\n\n{docs[i].text}"[:MAX_CHARS] for i in english)
    results: list[Enrichment | None] = [None] * len(docs)
    spacy_docs = nlp.pipe(texts, batch_size=batch_size) if english else ()
    for i, spacy_doc in zip(english, spacy_docs, strict=True):
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
    for lang in dict.fromkeys(lang for lang in languages if lang in LANGUAGES):
        group = [i for i, found in enumerate(languages) if found == lang]
        linked = link_documents(lang, [(docs[i].title, docs[i].text) for i in group], gazetteer,
                                batch_size)
        for i, entities in zip(group, linked, strict=True):
            topics = tag_topics(docs[i].title, docs[i].text, entities, taxonomy, language=lang)
            results[i] = Enrichment(lang, tuple(entities), tuple(topics))
    for i, lang in enumerate(languages):
        if results[i] is None:
            note = f"language {lang or 'unknown'}: English-only stages skipped"
            results[i] = Enrichment(lang, skipped=note)
    return [r for r in results if r is not None]


def _linker(people: dict[str, str]) -> Callable[[str], str | None]:
    """Speaker name → entity id, by any surface form the article used for the person."""
    return lambda name: people.get(name.casefold())
