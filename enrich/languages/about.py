"""What an analyst who does not read an article's language needs to know about it: the
language by name, the title as written, and the English names of its entities and topics.
Used by ``newswatch show``, the API, alert e-mails and the web UI alike. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.models import Entity, TopicTag
from enrich.languages import ENGLISH, NAMES
from enrich.topics import load_taxonomy

MAX_ENTITIES = 6


@dataclass(frozen=True)
class About:
    language: str  # ISO 639-1 code
    language_name: str  # "Russian"
    original_title: str
    entities: tuple[str, ...]  # English names, linked entities first, most salient first
    topics: tuple[str, ...]  # English labels of the taxonomy

    def header(self) -> str:
        """``Russian · original title: <title>``"""
        return f"{self.language_name} · original title: {self.original_title}"

    def summary(self) -> str:
        """``About: North Korea, Russia · topics: Arms transfers`` (parts left out when empty)."""
        parts = []
        if self.entities:
            parts.append("About: " + ", ".join(self.entities))
        if self.topics:
            parts.append(("topics: " if parts else "Topics: ") + ", ".join(self.topics))
        return " · ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {"language": self.language, "language_name": self.language_name,
                "original_title": self.original_title, "entities": list(self.entities),
                "topics": list(self.topics)}


def topic_labels() -> dict[str, str]:
    """Each topic's English label, from the bundled taxonomy."""
    return {t.name: t.label for t in load_taxonomy()}


def about(language: str, title: str, entities: Sequence[Entity], topics: Sequence[TopicTag],
          labels: Mapping[str, str] | None = None) -> About | None:
    """The summary of a non-English article; None when it is English or of no known
    language (nothing to explain). ``labels``: topic name -> label (default: the taxonomy)."""
    if not language or language == ENGLISH:
        return None
    labels = topic_labels() if labels is None and topics else (labels or {})
    ranked = sorted(entities, key=lambda e: (not e.id.startswith("Q"), -e.salience))
    names = tuple(dict.fromkeys(e.name for e in ranked if e.name.strip()))[:MAX_ENTITIES]
    return About(language, NAMES.get(language, language), title, names,
                 tuple(labels.get(t.tag, t.tag) for t in topics))
