"""Online story clustering: pure similarity between an article and a story's profile.

A story profile is a running centroid of its articles: TF-IDF term weights (title words
count twice), entity weights (salience), and the time of its latest article. Similarity is
``text_weight * cosine(terms) + entity_weight * weighted_overlap(entities)``, scaled by a
decay over the time gap. Candidates come from an inverted index over the profile's top
entities and terms (``keys``), so the cost per article does not grow with the store.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core.models import Entity

WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|\d[\d,.]*\d|[^\W\d_]", re.UNICODE)
STOPWORDS = frozenset(
    ["a", "about", "above", "after", "again", "against", "all", "also", "although", "am", "among", "an", "and", "another", "any", "are", "around", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "either", "else", "even", "ever", "every", "few", "for", "from", "further", "get", "got", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "last", "least", "less", "like", "made", "make", "many", "may", "me", "might", "more", "most", "much", "must", "my", "myself", "near", "neither", "new", "no", "nor", "not", "now", "of", "off", "often", "on", "once", "one", "only", "or", "other", "others", "our", "ours", "ourselves", "out", "over", "own", "per", "rather", "said", "same", "say", "says", "she", "should", "since", "so", "some", "still", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "though", "through", "to", "too", "under", "until", "up", "upon", "us", "very", "via", "was", "we", "were", "what", "when", "where", "whether", "which", "while", "who", "whom", "whose", "why", "will", "with", "within", "without", "would", "yet", "you", "your", "yours", "yourself", "told", "according", "week", "year", "years", "day", "days", "time", "times", "two", "three", "four", "five", "first", "second"]
)
PROFILE_TERMS = 120
PROFILE_ENTITIES = 30
KEY_TERMS = 10
KEY_ENTITIES = 6
KEY_PEOPLE = 3
KEY_PLACES = 2
ACTOR_KEYS = ("p:", "l:")
MIN_ENTITY_SALIENCE = 0.15


@dataclass(frozen=True)
class Params:
    """Clustering weights and thresholds; the defaults are chosen in docs/stories.md."""

    text_weight: float = 0.6
    entity_weight: float = 0.4
    threshold: float = 0.4  # the join probability (stories/decision.py; docs/stories.md)
    grace_days: float = 1.0  # no decay within this gap (same-day coverage, time zones)
    decay_days: float = 3.0  # beyond the grace, similarity falls to 1/e over this many days
    dormant_days: float = 7.0  # a story quiet this long takes only articles that continue it
    reopen_days: float = 120.0  # ... and none after this long


@dataclass
class Profile:
    """What a story remembers about its articles (stored as JSON)."""

    terms: dict[str, float] = field(default_factory=dict)
    entities: dict[str, float] = field(default_factory=dict)
    entity_names: dict[str, str] = field(default_factory=dict)
    count: int = 0
    # what tells same-kind events apart (stories/evidence.py)
    title: dict[str, float] = field(default_factory=dict)
    lede: dict[str, float] = field(default_factory=dict)
    people: dict[str, float] = field(default_factory=dict)
    places: dict[str, float] = field(default_factory=dict)
    orgs: dict[str, float] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    dates: list[int] = field(default_factory=list)
    # for novelty: what the story has said so far
    vocab: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    outlets: list[str] = field(default_factory=list)
    # what does not depend on the language (stories/crosslingual.py); empty in a profile
    # stored before issue 18 until the story is rebuilt
    languages: list[str] = field(default_factory=list)  # of its articles, first seen first
    concepts: dict[str, int] = field(default_factory=dict)  # concept -> articles naming it
    amounts: list[str] = field(default_factory=list)  # figures in one spelling (stories/facts.py)
    ids: dict[str, float] = field(default_factory=dict)  # entity id -> summed kind-weighted salience
    speaker_ids: list[str] = field(default_factory=list)  # linked speakers of its quotes

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Profile:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class Similarity:
    total: float
    text: float
    entities: float
    time_factor: float
    shared_entities: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": round(self.total, 3), "text": round(self.text, 3),
            "entities": round(self.entities, 3), "time_factor": round(self.time_factor, 3),
            "shared_entities": list(self.shared_entities),
        }


def words(text: str) -> list[str]:
    """Lower-case content words (no stop words, no one-letter words)."""
    return list(_words(text))


@functools.lru_cache(maxsize=64)
def _words(text: str) -> tuple[str, ...]:
    """:func:`words`, kept for the last texts: the story stage reads an article's words for
    its term counts, its evidence and its story's vocabulary (three passes over long bodies)."""
    return tuple(
        w for w in (m.group(0).casefold().replace("’", "'") for m in WORD.finditer(text))
        if len(w) > 1 and w not in STOPWORDS and not w.isdigit()
    )


def term_counts(title: str, text: str) -> Counter[str]:
    counts = Counter(words(text))
    for w in words(title):
        counts[w] += 2
    return counts


def tfidf(counts: Mapping[str, int], df: Mapping[str, int], n_docs: int) -> dict[str, float]:
    """L2-normalised TF-IDF weights of a document (sublinear tf, smoothed idf)."""
    weights = {
        t: (1 + math.log(c)) * math.log((1 + n_docs) / (1 + df.get(t, 0)) + 1)
        for t, c in counts.items()
    }
    return _normalised(_top(weights, PROFILE_TERMS))


def entity_weights(entities: Sequence[Entity]) -> dict[str, float]:
    chosen = [e for e in entities if e.salience >= MIN_ENTITY_SALIENCE]
    return {e.id: e.salience for e in chosen[:PROFILE_ENTITIES]}


def similarity(
    terms: Mapping[str, float],
    entities: Mapping[str, float],
    when: datetime,
    profile: Profile,
    last_updated: datetime,
    params: Params,
) -> Similarity:
    text = sum(w * profile.terms.get(t, 0.0) for t, w in terms.items())
    text /= _norm(profile.terms) or 1.0
    shared = tuple(sorted(set(entities) & set(profile.entities), key=lambda e: -entities[e]))
    overlap = _weighted_overlap(entities, _scaled(profile.entities))
    gap_days = abs((when - last_updated).total_seconds()) / 86400
    factor = math.exp(-max(0.0, gap_days - params.grace_days) / params.decay_days)
    total = (params.text_weight * text + params.entity_weight * overlap) * factor
    return Similarity(total, text, overlap, factor, shared)


def absorb(profile: Profile, terms: Mapping[str, float], entities: Sequence[Entity]) -> Profile:
    """The profile after one more article (running means, trimmed to the top weights)."""
    n = profile.count
    merged_terms = {t: (profile.terms.get(t, 0.0) * n + terms.get(t, 0.0)) / (n + 1)
                    for t in set(profile.terms) | set(terms)}
    weights = entity_weights(entities)
    merged_entities = {e: profile.entities.get(e, 0.0) + weights.get(e, 0.0)
                       for e in set(profile.entities) | set(weights)}
    names = dict(profile.entity_names)
    names.update({e.id: e.name for e in entities if e.id in weights})
    top_entities = _top(merged_entities, PROFILE_ENTITIES)
    return replace(
        profile,
        terms=_top(merged_terms, PROFILE_TERMS),
        entities=top_entities,
        entity_names={k: v for k, v in names.items() if k in top_entities},
        count=n + 1,
    )


def keys_for(terms: Mapping[str, float], entities: Mapping[str, float],
             people: Mapping[str, float] | None = None,
             places: Mapping[str, float] | None = None) -> list[str]:
    """Inverted-index keys: the strongest entities and terms, and the rarest central names
    of people and places (``p:``, ``l:``: so a follow-up weeks later that names the same
    person or place in other words still finds its story; see ``ACTOR_KEYS``)."""
    return ([f"e:{e}" for e in _strongest(entities, KEY_ENTITIES)]
            + [f"t:{t}" for t in _strongest(terms, KEY_TERMS)]
            + [f"p:{p}" for p in _strongest(people or {}, KEY_PEOPLE)]
            + [f"l:{p}" for p in _strongest(places or {}, KEY_PLACES)])


def actor_keys(keys: Sequence[str]) -> list[str]:
    """The keys a dormant story is found by: a story quiet for weeks is continued only by
    the same specific people or places (stories/decision.py ``continues``)."""
    return [k for k in keys if k.startswith(ACTOR_KEYS)]


def _strongest(weights: Mapping[str, float], n: int) -> list[str]:
    return sorted(weights, key=lambda k: (-weights[k], k))[:n]


def _scaled(weights: Mapping[str, float]) -> dict[str, float]:
    top = max(weights.values(), default=0.0)
    return {k: v / top for k, v in weights.items()} if top else {}


def _weighted_overlap(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    keys = set(a) | set(b)
    if not keys:
        return 0.0
    low = sum(min(a.get(k, 0.0), b.get(k, 0.0)) for k in keys)
    high = sum(max(a.get(k, 0.0), b.get(k, 0.0)) for k in keys)
    return low / high if high else 0.0


def _top(weights: Mapping[str, float], n: int) -> dict[str, float]:
    return dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:n])


def _norm(weights: Mapping[str, float]) -> float:
    return math.sqrt(sum(v * v for v in weights.values()))


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    norm = _norm(weights)
    return {k: v / norm for k, v in weights.items()} if norm else {}


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
