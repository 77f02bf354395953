"""What tells one event from another: the evidence an article brings, and its comparison with
a story's profile as named features. Pure: no I/O.

Same-kind events close in time (two shootings in one week, a shipment and a sanctions package
in one conflict) share most of their vocabulary. What differs is who (the people and
organisations at the centre), where (the places), the figures (ages, casualty counts,
quantities) and the headline and lede, which name the event in a few words. ``features``
turns each of these into a number in [0, 1] (plus the time gap and the story's size) for the
decision in ``stories/decision.py``.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core.models import Entity
from enrich.gazetteer import DATA_DIR
from enrich.languages import ENGLISH, SUPPORTED
from stories import concepts as lexicon
from stories import facts
from stories.similarity import Profile, entity_weights, term_counts, tfidf, words

LEDE_WORDS = 60  # the lede: the first sentences, up to this many words
ACTOR_SALIENCE = 0.2  # an entity must matter this much to the article to be an actor
ACTORS_KEPT = 12  # actors of each kind remembered by a story
FIGURES_KEPT = 60
FIGURE = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\d,])|(?<![\w.])\d+(?:\.\d+)?(?![\d.])")
NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "dozen": "12",
    "fifteen": "15", "twenty": "20", "hundred": "100", "thousand": "1000",
}
TEXT_WEIGHT, GRACE_DAYS, DECAY_DAYS = 0.6, 1.0, 3.0  # the time-decayed blend of terms and entities
DATES_KEPT = 30
MAX_DATE_DAYS = 400  # a date further back is history, not the event
WEEKDAYS = {d: n for n, d in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
RELATIVE = {"yesterday": -1, "today": 0, "tonight": 0, "last night": -1, "this morning": 0}
RELATIVE_DAY = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tonight"
    r"|last night|this morning)\b", re.IGNORECASE)
MONTHS = {m: n for n, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MONTH = (r"(jan(?:uary|\.)?|feb(?:ruary|\.)?|mar(?:ch|\.)?|apr(?:il|\.)?|may|june?|july?"
          r"|aug(?:ust|\.)?|sep(?:t(?:ember|\.)?|\.)?|oct(?:ober|\.)?|nov(?:ember|\.)?|dec(?:ember|\.)?)")
MONTH_DAY = re.compile(
    rf"(?:\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b|\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH})"
    r"(?:,?\s+((?:19|20)\d\d)\b)?",
    re.IGNORECASE)
PEOPLE_TYPES = frozenset({"person"})
PLACE_TYPES = frozenset({"place"})
ORG_TYPES = frozenset({"organisation", "group"})
# language-free actors (``Evidence.ids``): who and where weigh most; a country or a capital
# ("Moscow" for Russia's government) is named by most reports of a conflict, so it weighs little
KIND_WEIGHTS = {"person": 1.0, "place": 1.0, "product": 0.8, "event": 0.8, "organisation": 0.6,
                "group": 0.5}
BROAD_PLACE_WEIGHT = 0.3
OTHER_KIND_WEIGHT = 0.4
IDS_KEPT = 20
AMOUNTS_KEPT = 80

# the order of the model's weights (stories/model.json); a new feature means a new model
FEATURES = (
    "similarity", "text", "entities", "title", "lede", "people", "people_both", "places", "places_both",
    "orgs", "orgs_both", "figures", "figures_both", "dates", "dates_both", "gap",
)


@dataclass(frozen=True)
class Evidence:
    """An article as the story decision sees it."""

    terms: dict[str, float]  # TF-IDF of title + body (the similarity vector)
    title: dict[str, float]  # TF-IDF of the title alone
    lede: dict[str, float]  # TF-IDF of the first sentences
    entities: dict[str, float]  # entity id -> salience
    people: dict[str, float]  # name token -> salience (surnames match full names)
    places: dict[str, float]  # entity id -> salience
    orgs: dict[str, float]
    figures: frozenset[str]
    when: datetime
    dates: frozenset[int] = frozenset()  # days the text says things happened (proleptic ordinals)
    # what does not depend on the language (stories/crosslingual.py)
    language: str = ""
    concepts: frozenset[str] = frozenset()  # stories/concepts.py
    amounts: frozenset[str] = frozenset()  # figures in one spelling (stories/facts.py)
    ids: dict[str, float] = field(default_factory=dict)  # entity id -> salience x kind weight
    names: dict[str, str] = field(default_factory=dict)  # entity id -> name, for explanations


def lede_of(text: str) -> str:
    """The first words of the body, cut at a sentence end near LEDE_WORDS."""
    taken: list[str] = []
    for token in text.split():
        taken.append(token)
        if (len(taken) >= LEDE_WORDS // 2 and token.endswith((".", "!", "?"))) or len(taken) >= LEDE_WORDS:
            break
    return " ".join(taken)


def figures(text: str) -> frozenset[str]:
    """Quantities in the text (digits and spelled small numbers), years left out: an age,
    a casualty count, a number of shells or a sum tells one event from a similar one."""
    found = set()
    for m in FIGURE.finditer(text):
        value = m.group(0).replace(",", "")
        number = float(value)
        if 1900 <= number <= 2100 and "." not in value:  # a year says little about the event
            continue
        if number > 1:
            found.add(value)
    for word in re.findall(r"[A-Za-z]+", text):
        spelled = NUMBER_WORDS.get(word.lower())
        if spelled:
            found.add(spelled)
    return frozenset(found)


def mentioned_dates(text: str, published: datetime) -> frozenset[int]:
    """The days the text says things happened, resolved against the publication date:
    "on Saturday" (the last Saturday up to the publication day), "yesterday", "last night",
    "today", and "March 5" / "5 March" / "Mar. 5" (in the publication's year, or the year
    before when that would be in the future). Two reports of one shooting agree on
    "Saturday night"; two shootings in the same week mostly do not."""
    day = published.date().toordinal()
    found: set[int] = set()
    for m in RELATIVE_DAY.finditer(text):
        word = m.group(1).lower()
        if word in WEEKDAYS:
            found.add(day - (published.weekday() - WEEKDAYS[word]) % 7)
        else:
            found.add(day + RELATIVE[word])
    for m in MONTH_DAY.finditer(text):
        month = MONTHS[(m.group(1) or m.group(4))[:3].lower()]
        number = int(m.group(2) or m.group(3))
        when = facts.day_of(int(m.group(5)) if m.group(5) else None, month, number, published)
        if when is not None:
            found.add(when)
    return frozenset(d for d in found if day - MAX_DATE_DAYS <= d <= day + 1)


def actors(
    entities: Sequence[Entity], df: Mapping[str, int], n_docs: int,
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """People (by name token, so "Shannon" meets "Alicia Shannon"), places and organisations,
    each weighted by salience times the rarity of its name: two stories sharing a rare name
    are far likelier one event than two sharing the president's."""
    people: dict[str, float] = {}
    places: dict[str, float] = {}
    orgs: dict[str, float] = {}
    for e in entities:
        if e.salience < ACTOR_SALIENCE:
            continue
        tokens = _name_tokens(e.name)
        if not tokens:
            continue
        if e.type in PEOPLE_TYPES:
            for token in tokens:
                people[token] = max(people.get(token, 0.0), e.salience * _idf(token, df, n_docs))
        else:
            rarity = max(_idf(token, df, n_docs) for token in tokens)
            if e.type in PLACE_TYPES:
                places[e.id] = max(places.get(e.id, 0.0), e.salience * rarity)
            elif e.type in ORG_TYPES:
                orgs[e.id] = max(orgs.get(e.id, 0.0), e.salience * rarity)
    return people, places, orgs


def _idf(token: str, df: Mapping[str, int], n_docs: int) -> float:
    return math.log((1 + n_docs) / (1 + df.get(token, 0))) + 1


def evidence(
    title: str, text: str, entities: Sequence[Entity], df: Mapping[str, int], n_docs: int,
    when: datetime, *, terms: dict[str, float] | None = None, language: str = ENGLISH,
) -> Evidence:
    """What the article brings. ``language`` is the article's (ISO 639-1): English figures and
    days are read as before; another supported language's through stories/facts.py."""
    people, places, orgs = actors(entities, df, n_docs)
    whole = f"{title}\n{text}"
    lang = language if language in SUPPORTED else ENGLISH
    amounts = facts.amounts(whole, lang)
    if lang == ENGLISH:
        found, dates = figures(whole), mentioned_dates(whole, when)
    else:
        found, dates = amounts, facts.mentioned_dates(whole, lang, when)
    return Evidence(
        terms=terms if terms is not None else tfidf(term_counts(title, text), df, n_docs),
        title=tfidf(Counter(words(title)), df, n_docs),
        lede=tfidf(Counter(words(lede_of(text))), df, n_docs),
        entities=entity_weights(entities),
        people=people, places=places, orgs=orgs,
        figures=found,
        when=when,
        dates=dates,
        language=language,
        concepts=frozenset(lexicon.find(whole, lang)),
        amounts=amounts,
        ids=kind_weighted(entities),
        names={e.id: e.name for e in entities},
    )


def kind_weighted(entities: Sequence[Entity]) -> dict[str, float]:
    """The article's actors by entity id (the same in every language once linked): salience
    times how much the kind of entity tells one event from another (``KIND_WEIGHTS``)."""
    broad = _broad_places()
    out: dict[str, float] = {}
    for e in entities:
        if e.salience < ACTOR_SALIENCE:
            continue
        kind = BROAD_PLACE_WEIGHT if e.id in broad else KIND_WEIGHTS.get(e.type, OTHER_KIND_WEIGHT)
        out[e.id] = max(out.get(e.id, 0.0), e.salience * kind)
    return out


@functools.lru_cache(maxsize=1)
def _broad_places() -> frozenset[str]:
    """The ids of the gazetteer's countries and capitals (enrich/gazetteer/countries.tsv)."""
    rows = csv.DictReader(io.StringIO((DATA_DIR / "countries.tsv").read_text(encoding="utf-8")),
                          delimiter="\t")
    return frozenset(row[c] for row in rows for c in ("qid", "capital_qid") if row.get(c))


def features(ev: Evidence, profile: Profile, last_updated: datetime) -> dict[str, float]:
    """The article compared with a story, one number per name in FEATURES."""
    people, people_both = _overlap(ev.people, profile.people)
    places, places_both = _overlap(ev.places, profile.places)
    orgs, orgs_both = _overlap(ev.orgs, profile.orgs)
    story_figures = set(profile.figures)
    figures_both = float(bool(ev.figures) and bool(story_figures))
    shared = len(ev.figures & story_figures)
    story_dates = set(profile.dates)
    dates_both = float(bool(ev.dates) and bool(story_dates))
    near = sum(1 for d in ev.dates if {d - 1, d, d + 1} & story_dates)
    gap_days = abs((ev.when - last_updated).total_seconds()) / 86400
    text = _cosine(ev.terms, profile.terms)
    entities = _weighted_overlap(ev.entities, _scaled(profile.entities))
    decay = math.exp(-max(0.0, gap_days - GRACE_DAYS) / DECAY_DAYS)
    return {
        "similarity": (TEXT_WEIGHT * text + (1 - TEXT_WEIGHT) * entities) * decay,
        "text": text,
        "entities": entities,
        "title": _cosine(ev.title, profile.title),
        "lede": _cosine(ev.lede, profile.lede),
        "people": people, "people_both": people_both,
        "places": places, "places_both": places_both,
        "orgs": orgs, "orgs_both": orgs_both,
        "figures": shared / min(len(ev.figures), len(story_figures)) if figures_both else 0.0,
        "figures_both": figures_both,
        "dates": near / len(ev.dates) if dates_both else 0.0,
        "dates_both": dates_both,
        "gap": math.log1p(gap_days),
    }


def absorb_evidence(profile: Profile, ev: Evidence) -> Profile:
    """The profile with the article's title, lede, actors and figures folded in (call it
    before ``absorb``, which counts the article)."""
    n = profile.count
    return replace(
        profile,
        title=_mean(profile.title, ev.title, n),
        lede=_mean(profile.lede, ev.lede, n),
        people=_summed(profile.people, ev.people),
        places=_summed(profile.places, ev.places),
        orgs=_summed(profile.orgs, ev.orgs),
        figures=list(dict.fromkeys([*profile.figures, *sorted(ev.figures)]))[:FIGURES_KEPT],
        dates=sorted(set(profile.dates) | ev.dates)[-DATES_KEPT:],
        languages=list(dict.fromkeys([*profile.languages, *([ev.language] if ev.language else [])])),
        concepts={c: profile.concepts.get(c, 0) + (c in ev.concepts)
                  for c in sorted(set(profile.concepts) | ev.concepts)},
        amounts=list(dict.fromkeys([*profile.amounts, *sorted(ev.amounts)]))[:AMOUNTS_KEPT],
        ids=_summed(profile.ids, ev.ids, IDS_KEPT),
    )


def explain(values: Mapping[str, float]) -> dict[str, Any]:
    """Features rounded for the record ``story ID --why`` shows."""
    return {k: round(v, 3) for k, v in values.items()}


def _name_tokens(name: str) -> list[str]:
    tokens = [w.casefold() for w in re.findall(r"[^\W\d_][\w'’-]*", name)]
    return [w for w in tokens if len(w) > 2 and w not in {"jr", "sr", "mr", "mrs", "ms", "dr"}]


def _overlap(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[float, float]:
    """(weighted overlap, whether both sides have any): no actors on one side is no evidence."""
    if not a or not b:
        return 0.0, 0.0
    return _weighted_overlap(_scaled(a), _scaled(b)), 1.0


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    norm = math.sqrt(sum(v * v for v in b.values()))
    if not norm:
        return 0.0
    return sum(w * b.get(t, 0.0) for t, w in a.items()) / norm


def _mean(old: Mapping[str, float], new: Mapping[str, float], n: int) -> dict[str, float]:
    merged = {t: (old.get(t, 0.0) * n + new.get(t, 0.0)) / (n + 1) for t in set(old) | set(new)}
    return dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:60])


def _summed(old: Mapping[str, float], new: Mapping[str, float], kept: int = ACTORS_KEPT) -> dict[str, float]:
    merged = {k: old.get(k, 0.0) + new.get(k, 0.0) for k in set(old) | set(new)}
    return dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:kept])


def _scaled(weights: Mapping[str, float]) -> dict[str, float]:
    top = max(weights.values(), default=0.0)
    return {k: v / top for k, v in weights.items()} if top else {}


def _weighted_overlap(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    keys = set(a) | set(b)
    low = sum(min(a.get(k, 0.0), b.get(k, 0.0)) for k in keys)
    high = sum(max(a.get(k, 0.0), b.get(k, 0.0)) for k in keys)
    return low / high if high else 0.0
