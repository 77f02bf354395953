"""Novelty: what an article adds to its story so far. Pure.

Additions counted: new salient entities, new speakers of direct quotes, new facts
(sentences whose content words the story has mostly not used yet), new figures, and a new
outlet. A rewrite of the same facts uses the same names, places and figures, so its
sentences are not new even when the wording is; a roundup that adds an official's denial
brings a new speaker, new names and new sentences.

An article in a language none of the story's articles are in cannot be compared by words:
its novelty is judged on what does not depend on the language (``facts_added``): new linked
entities, new speakers (by linked id, or by a name the story already knows as an entity),
new figures (in one spelling: 1 тыс. is 1,000) and new concepts (stories/concepts.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.models import Entity, Quote
from enrich.languages import SUPPORTED
from stories import concepts as lexicon
from stories.facts import amounts as figures_of
from stories.facts import shown
from stories.similarity import Profile, unique, words

SENTENCE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’)]))\s+(?=[\"“A-Z0-9])")
NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*\d%?|(?<![\w.])\d%?")
MIN_SALIENCE = 0.3  # an entity must matter to the article to count as an addition
NEW_SENTENCE_SHARE = 0.5  # a sentence is new when at least this share of its words is
MIN_SENTENCE_WORDS = 5
VOCAB_CAP = 5000
NAMED_TYPES = {"person", "organisation", "place", "event", "law", "product"}  # not "group"


@dataclass(frozen=True)
class Novelty:
    score: float
    additions: dict[str, Any] = field(default_factory=dict)

CALENDAR = frozenset("年月日号時时分년월일시분")  # a number written before one of these is a date or time


def sentences(text: str) -> list[str]:
    return [s.strip() for line in text.splitlines() for s in SENTENCE.split(line) if s.strip()]


def numbers(text: str) -> set[str]:
    found = set()
    for m in NUMBER.finditer(text):
        if text[m.end():m.end() + 1] in CALENDAR:  # "13일", "13日": a day, not a figure
            continue
        value = m.group(0).replace(",", "")
        if len(value.rstrip("%")) >= 2 or value.endswith("%"):  # skip lone digits
            found.add(value)
    return found


def assess(
    text: str, entities: Sequence[Entity], quotes: Sequence[Quote], outlet: str, story: Profile,
    *, language: str = "", concepts: frozenset[str] = frozenset(),
    amounts: frozenset[str] | None = None,
) -> Novelty:
    """How much ``text`` adds to what ``story`` has said so far, in [0, 1]. ``language`` is
    the article's; ``concepts`` and ``amounts`` its concepts and figures in one spelling
    (stories/evidence.py), used when the story holds no article in its language."""
    held = {lang for lang in story.languages if lang in SUPPORTED}
    if language in SUPPORTED and held and language not in held:
        found = figures_of(text, language) if amounts is None else amounts
        return facts_added(entities, quotes, outlet, story, language, concepts, found)
    vocab = set(story.vocab)
    seen_entities = set(story.entities) | set(story.entity_names)
    new_entities = [
        e.name for e in entities
        if e.salience >= MIN_SALIENCE and e.id not in seen_entities and e.type in NAMED_TYPES
    ]
    spoken = {s.casefold() for s in story.speakers}
    new_speakers = unique(q.speaker for q in quotes if q.speaker.casefold() not in spoken)
    new_sentences = []
    for sentence in sentences(text):
        content = set(words(sentence))
        if len(content) >= MIN_SENTENCE_WORDS and len(content - vocab) / len(content) >= NEW_SENTENCE_SHARE:
            new_sentences.append(sentence)
    new_numbers = sorted(numbers(text) - set(story.numbers))
    new_outlet = bool(outlet) and outlet not in story.outlets
    score = (
        0.45 * min(1.0, len(new_sentences) / 3)
        + 0.2 * min(1.0, len(new_entities) / 2)
        + 0.2 * min(1.0, float(len(new_speakers)))
        + 0.1 * min(1.0, len(new_numbers) / 2)
        + 0.05 * new_outlet
    )
    additions = {
        "new_entities": new_entities,
        "new_speakers": new_speakers,
        "new_sentences": new_sentences[:5],
        "new_sentence_count": len(new_sentences),
        "new_numbers": new_numbers[:10],
        "new_outlet": outlet if new_outlet else None,
    }
    return Novelty(round(min(1.0, score), 3), additions)


FACT_WEIGHTS = {"people": 0.3, "speakers": 0.3, "figures": 0.25, "entities": 0.15,
                "unlinked_people": 0.2, "concepts": 0.1, "outlet": 0.05}
MIN_NEW_FIGURE = 10  # smaller numbers are often spelled out in one language and not another
_LINKED = re.compile(r"^(?:Q\d+|key:[a-z]+:[\x00-\x7f]+)$")  # an id every language shares


def facts_added(
    entities: Sequence[Entity], quotes: Sequence[Quote], outlet: str, story: Profile,
    language: str, concepts: frozenset[str], amounts: frozenset[str],
) -> Novelty:
    """Novelty on language-free facts: ``0.3 min(1, people) + 0.3 min(1, speakers) +
    0.25 min(1, figures) + 0.15 min(1, other entities/2) + 0.2 min(1, unlinked people)
    + 0.1 min(1, concepts/2) + 0.05 new outlet``. Only entities linked to an id every
    language shares count as new (a name the gazetteer does not know, written in Cyrillic,
    cannot be compared with the English story's), except people: a new official is the
    news even when unlinked, at lower weight. Figures under 10 and broad concepts
    (stories/concepts.py ``BROAD``) are left out. A report in another language that repeats
    the story's names, figures and kind of event scores ~0."""
    known = set(story.entities) | set(story.entity_names) | set(story.ids)
    fresh = [e for e in entities
             if e.salience >= MIN_SALIENCE and e.id not in known and e.type in NAMED_TYPES]
    new_people = unique(e.name for e in fresh if e.type == "person" and _LINKED.match(e.id))
    unlinked_people = unique(e.name for e in fresh if e.type == "person" and not _LINKED.match(e.id))
    new_others = unique(e.name for e in fresh if e.type != "person" and _LINKED.match(e.id))
    spoken = {s.casefold() for s in story.speakers}
    by_surface = {s.casefold(): e for e in entities for s in (e.name, *e.surfaces)}
    new_speakers = []
    for q in quotes:  # a speaker is known by linked id, or by the name of the entity quoted
        entity = by_surface.get(q.speaker.casefold())
        linked = q.speaker_id or (entity.id if entity else None)
        names = {q.speaker, entity.name if entity else "", story.entity_names.get(linked or "", "")}
        if linked in story.speaker_ids or any(n and n.casefold() in spoken for n in names):
            continue
        new_speakers.append(entity.name if entity else q.speaker)
    new_speakers = unique(new_speakers)
    story_figures = set(story.amounts) | {n.replace(",", "") for n in story.numbers}
    new_figures = sorted((f for f in amounts - story_figures if float(f) >= MIN_NEW_FIGURE),
                         key=lambda f: (-float(f), f))
    new_concepts = sorted(c for c in concepts if c not in story.concepts and c not in lexicon.BROAD)
    new_outlet = bool(outlet) and outlet not in story.outlets
    w = FACT_WEIGHTS
    score = (w["people"] * min(1.0, len(new_people)) + w["speakers"] * min(1.0, len(new_speakers))
             + w["figures"] * min(1.0, float(len(new_figures)))
             + w["entities"] * min(1.0, len(new_others) / 2)
             + w["unlinked_people"] * min(1.0, len(unlinked_people))
             + w["concepts"] * min(1.0, len(new_concepts) / 2) + w["outlet"] * new_outlet)
    additions = {
        "cross_lingual": language,
        "new_entities": [*new_people, *new_others, *unlinked_people],
        "new_speakers": new_speakers,
        "new_sentences": [],
        "new_sentence_count": 0,
        "new_numbers": [shown(f) for f in new_figures[:10]],
        "new_concepts": new_concepts,
        "new_outlet": outlet if new_outlet else None,
    }
    return Novelty(round(min(1.0, score), 3), additions)


def remember(
    story: Profile, text: str, quotes: Sequence[Quote], outlet: str
) -> Profile:
    """The story's memory after it has taken in this article."""
    story.vocab = unique([*story.vocab, *words(text)])[-VOCAB_CAP:]
    story.numbers = sorted(set(story.numbers) | numbers(text))
    story.speakers = unique([*story.speakers, *(q.speaker for q in quotes)])
    story.speaker_ids = unique([*story.speaker_ids, *(q.speaker_id for q in quotes if q.speaker_id)])
    story.outlets = unique([*story.outlets, outlet] if outlet else story.outlets)
    return story
