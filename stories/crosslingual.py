"""The merge decision across languages: does an article in one language report the event of
a story told in others? Pure.

The shipped model (stories/decision.py) was trained on English pairs: its strongest features
(same words, headline, lede) mean nothing between a Korean article and an English story. When
the article's language is not among the story's, the decision is this rule instead, over what
does not depend on the language:

- ``xl_entities``: the overlap of linked entity ids (КНДР, 북한 and North Korea are one id),
  each weighted by salience and by kind: people and specific places weigh most, a country or a
  capital little (stories/evidence.py ``kind_weighted``), since every report of a conflict
  names its countries;
- ``xl_concepts``: the overlap of the domain's key terms mapped to shared concepts
  (stories/concepts.py: shells, ship, port, missile, launch ...), broad ones at half weight;
- ``xl_figures``: the share of figures in common (stories/facts.py: 1,000 = 1 тыс. = 1천);
- ``xl_dates``: the share of the days the article mentions that the story's articles also
  name (±1 day).

``score = 0.45 entities + 0.35 concepts + 0.15 figures + 0.05 dates``, halved when the two share
no entity and again when they share no concept (when either side names no concept at all, the
entity overlap stands in for the concept one), and decayed with the time gap beyond two days
(to 1/e over a week). The article joins at ``THRESHOLD``; how it was chosen on the authored
set: docs/stories.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from enrich.languages import SUPPORTED
from stories import concepts as lexicon
from stories.evidence import Evidence
from stories.facts import shown
from stories.similarity import Profile

THRESHOLD = 0.38
WEIGHTS = {"xl_entities": 0.45, "xl_concepts": 0.35, "xl_figures": 0.15, "xl_dates": 0.05}
NOTHING_SHARED = 0.5  # the score's factor when no entity (or no concept) is shared
GRACE_DAYS, DECAY_DAYS = 2.0, 7.0
MODEL, CROSS, BOTH = "model", "cross", "both"


def mode(language: str, story_languages: Iterable[str]) -> str:
    """How an article is decided against a story: by the model (same language, or a
    language or story newswatch cannot tell), by this rule (the story holds none of the
    article's language), or by the likelier of the two (the story holds it and others)."""
    held = {lang for lang in story_languages if lang in SUPPORTED}
    if language not in SUPPORTED or not held or held == {language}:
        return MODEL
    return BOTH if language in held else CROSS


@dataclass(frozen=True)
class Link:
    """The article compared with a story across languages: the score and what it shares."""

    score: float
    values: dict[str, float]
    entities: tuple[str, ...]  # names, most weighty first
    concepts: tuple[str, ...]
    figures: tuple[str, ...]
    dates: tuple[str, ...]  # ISO days

    def contributions(self) -> list[tuple[str, float]]:
        """What each piece of evidence added to the score, strongest first (``--why``)."""
        parts = [(name, round(WEIGHTS[name] * self.values[name], 2)) for name in WEIGHTS]
        return sorted((p for p in parts if p[1] > 0), key=lambda kv: (-kv[1], kv[0]))

    def summary(self) -> str:
        """One line for ``story ID --why``: what linked the article to the story."""
        parts = []
        if self.entities:
            parts.append("shared " + ", ".join(self.entities[:5]))
        if self.concepts:
            parts.append("concepts " + ", ".join(self.concepts[:5]))
        if self.figures:
            parts.append("figures " + ", ".join(self.figures[:4]))
        if self.dates:
            parts.append("days " + ", ".join(self.dates[:3]))
        return "cross-lingual: " + ("; ".join(parts) or "nothing shared")

    def explained(self) -> dict[str, Any]:
        return {"probability": round(self.score, 3), "threshold": THRESHOLD,
                "features": {k: round(v, 3) for k, v in self.values.items()},
                "decided_by": self.contributions(), "linked_by": self.summary(),
                "cross_lingual": {"entities": list(self.entities), "concepts": list(self.concepts),
                                  "figures": list(self.figures), "dates": list(self.dates)}}


def compare(ev: Evidence, profile: Profile, last_updated: datetime) -> Link:
    """The cross-lingual score of the article against the story (see the module docstring)."""
    story_ids = profile.ids or _fallback_ids(profile)
    entities, shared_ids = _overlap(ev.ids, story_ids)
    count = max(1, profile.count)
    story_concepts = {c: lexicon.weight(c) * min(1.0, n / count) for c, n in profile.concepts.items()}
    mine = {c: lexicon.weight(c) for c in ev.concepts}
    if mine and story_concepts:
        concepts, shared_concepts = _overlap(mine, story_concepts)
    else:
        concepts, shared_concepts = entities, []
    story_figures = set(profile.amounts) or set(profile.figures)
    common = sorted(ev.amounts & story_figures, key=lambda f: (-float(f), f))
    figures = len(common) / min(len(ev.amounts), len(story_figures)) if ev.amounts and story_figures else 0.0
    story_dates = set(profile.dates)
    near = sorted(d for d in ev.dates if {d - 1, d, d + 1} & story_dates)
    dates = len(near) / len(ev.dates) if ev.dates and story_dates else 0.0
    values = {"xl_entities": entities, "xl_concepts": concepts, "xl_figures": figures, "xl_dates": dates}
    score = sum(WEIGHTS[k] * v for k, v in values.items())
    if not shared_ids:
        score *= NOTHING_SHARED
    if mine and story_concepts and not shared_concepts:
        score *= NOTHING_SHARED
    gap_days = abs((ev.when - last_updated).total_seconds()) / 86400
    score *= math.exp(-max(0.0, gap_days - GRACE_DAYS) / DECAY_DAYS)
    names = {**profile.entity_names, **ev.names}
    return Link(
        score=score, values={**values, "gap": math.log1p(gap_days)},
        entities=tuple(names.get(e, e) for e in shared_ids),
        concepts=tuple(shared_concepts), figures=tuple(shown(f) for f in common),
        dates=tuple(date.fromordinal(d).isoformat() for d in near),
    )


def _fallback_ids(profile: Profile) -> dict[str, float]:
    """A profile stored before issue 18 has no kind-weighted ids: its entity weights and its
    places and organisations stand in."""
    return {**profile.entities, **profile.places, **profile.orgs}


def _overlap(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[float, list[str]]:
    """The mean of the weighted Jaccard overlap and of the share of the article's weight the
    story holds (a short article naming three of the story's ten actors is not a weak match),
    both on weights scaled to the strongest; and the shared keys, weightiest first."""
    if not a or not b:
        return 0.0, []
    sa, sb = _scaled(a), _scaled(b)
    keys = set(sa) | set(sb)
    low = sum(min(sa.get(k, 0.0), sb.get(k, 0.0)) for k in keys)
    high = sum(max(sa.get(k, 0.0), sb.get(k, 0.0)) for k in keys)
    contained = sum(min(v, sb.get(k, 0.0)) for k, v in sa.items()) / sum(sa.values())
    shared = sorted((k for k in sa if k in sb), key=lambda k: (-sa[k] - sb[k], k))
    return 0.5 * (low / high if high else 0.0) + 0.5 * contained, shared


def _scaled(weights: Mapping[str, float]) -> dict[str, float]:
    top = max(weights.values(), default=0.0)
    return {k: v / top for k, v in weights.items() if v > 0} if top else {}
