"""Novelty: what an article adds to its story so far. Pure.

Additions counted: new salient entities, new speakers of direct quotes, new facts
(sentences whose content words the story has mostly not used yet), new figures, and a new
outlet. A rewrite of the same facts uses the same names, places and figures, so its
sentences are not new even when the wording is; a roundup that adds an official's denial
brings a new speaker, new names and new sentences.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.models import Entity, Quote
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


def sentences(text: str) -> list[str]:
    return [s.strip() for line in text.splitlines() for s in SENTENCE.split(line) if s.strip()]


def numbers(text: str) -> set[str]:
    found = set()
    for m in NUMBER.finditer(text):
        value = m.group(0).replace(",", "")
        if len(value.rstrip("%")) >= 2 or value.endswith("%"):  # skip lone digits
            found.add(value)
    return found


def assess(
    text: str, entities: Sequence[Entity], quotes: Sequence[Quote], outlet: str, story: Profile
) -> Novelty:
    """How much ``text`` adds to what ``story`` has said so far, in [0, 1]."""
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


def remember(
    story: Profile, text: str, quotes: Sequence[Quote], outlet: str
) -> Profile:
    """The story's memory after it has taken in this article."""
    story.vocab = unique([*story.vocab, *words(text)])[-VOCAB_CAP:]
    story.numbers = sorted(set(story.numbers) | numbers(text))
    story.speakers = unique([*story.speakers, *(q.speaker for q in quotes)])
    story.outlets = unique([*story.outlets, outlet] if outlet else story.outlets)
    return story
