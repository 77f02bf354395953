"""Entity lookup for autocompletion: gazetteer surfaces and stored entities by name prefix.

Two sources are combined by :func:`lookup`:

* the gazetteer (``enrich.gazetteer``): every surface form (canonical names, aliases,
  capitals, demonyms, abbreviations) in its normalised form, matched at the start of the
  surface (``north k`` → North Korea) or at the start of a later word (``korea`` → North
  Korea, South Korea);
* the entities stored with articles (``article_entities``): names matched the same way,
  case-insensitively, counted by the articles that mention them.

A gazetteer entry seen in stored articles carries that article count. Results are ranked:
matches at the start of the name before matches at a later word, then more articles first,
then shorter names.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, or_, select

from core import schema as t
from enrich.entities import clean_surface
from enrich.gazetteer import GazEntry, Gazetteer, normalise, slug

MAX_RESULTS = 20


@dataclass(frozen=True)
class EntitySuggestion:
    """One entity a prefix may mean."""

    id: str  # Wikidata QID or key:<type>:<slug>, as used by the ``entity`` filters
    name: str
    type: str
    kind: str | None  # gazetteer kind (country, capital, demonym, …); None if not in it
    matched: str  # the (normalised) surface or stored name that matched
    articles: int  # stored articles that mention the entity
    in_gazetteer: bool
    word_start: bool  # matched at a later word rather than at the start

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "type": self.type, "kind": self.kind,
            "matched": self.matched, "articles": self.articles, "in_gazetteer": self.in_gazetteer,
        }


@dataclass(frozen=True)
class _Key:
    key: str  # the normalised surface, or its tail from a word start
    surface: str  # the whole normalised surface
    word_start: bool
    entry: GazEntry


class GazetteerPrefixIndex:
    """Prefix search over every surface form of a :class:`Gazetteer`."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        keys: list[_Key] = []
        for surface, entry in _surfaces(gazetteer):
            keys.append(_Key(surface, surface, False, entry))
            for i, ch in enumerate(surface):
                if ch == " " and i + 1 < len(surface):
                    keys.append(_Key(surface[i + 1 :], surface, True, entry))
        keys.sort(key=lambda k: (k.key, k.word_start, k.surface))
        self._keys = keys
        self._sorted = [k.key for k in keys]

    def search(self, text: str, limit: int = MAX_RESULTS) -> list[EntitySuggestion]:
        """Entries with a surface starting with ``text`` (or with a word that does)."""
        prefix = normalise(text)
        if not prefix:
            return []
        best: dict[str, tuple[tuple[int, int, int, str], EntitySuggestion]] = {}
        start = bisect.bisect_left(self._sorted, prefix)
        for k in self._keys[start:]:
            if not k.key.startswith(prefix):
                break
            entry = k.entry
            canonical = normalise(entry.name) == k.surface
            rank = (int(k.word_start), int(not canonical), len(k.surface), k.surface)
            current = best.get(entry.id)
            if current is None or rank < current[0]:
                best[entry.id] = (rank, EntitySuggestion(
                    id=entry.id, name=entry.name, type=entry.type, kind=entry.kind,
                    matched=k.surface, articles=0, in_gazetteer=True, word_start=k.word_start,
                ))
        ranked = sorted(best.values(), key=lambda item: item[0])
        return [suggestion for _rank, suggestion in ranked[:limit]]


@functools.lru_cache(maxsize=1)
def bundled_index() -> GazetteerPrefixIndex:
    """The prefix index of the bundled gazetteer, built once per process."""
    return GazetteerPrefixIndex(Gazetteer.load())


def _surfaces(gazetteer: Gazetteer) -> list[tuple[str, GazEntry]]:
    """Every normalised surface with its entry.

    The gazetteer exposes its entries but not its alias tables; those are read here (and
    only here) so autocompletion also knows aliases such as DPRK or Pyongyang. Should the
    tables change, the canonical names of :meth:`Gazetteer.entries` still work.
    """
    found: dict[str, GazEntry] = {}
    for entry in gazetteer.entries():
        found.setdefault(normalise(entry.name), entry)
    folded: dict[str, GazEntry] = getattr(gazetteer, "_folded", {})
    exact: dict[str, GazEntry] = getattr(gazetteer, "_exact", {})
    for surface, entry in [*folded.items(), *exact.items()]:
        key = normalise(surface)
        if key:
            found.setdefault(key, entry)
    return sorted(found.items())


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def stored_entities(engine: Engine, text: str, limit: int = MAX_RESULTS) -> list[EntitySuggestion]:
    """Entities of stored articles whose name (or a later word of it) starts with ``text``,
    case-insensitively, most mentioned first."""
    prefix = " ".join(text.split()).lower()
    if not prefix:
        return []
    ae = t.article_entities
    name = func.lower(ae.c.name)
    pattern = _like_escape(prefix)
    starts = name.like(pattern + "%", escape="\\")
    query = (
        select(ae.c.entity_id, func.min(ae.c.name).label("name"), func.min(ae.c.type).label("type"),
               func.count(func.distinct(ae.c.article_id)).label("articles"))
        .where(or_(starts, name.like("% " + pattern + "%", escape="\\")))
        .group_by(ae.c.entity_id)
        .order_by(func.count(func.distinct(ae.c.article_id)).desc(), ae.c.entity_id)
        .limit(limit * 3)  # word-start matches are ranked after start matches below
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    found = [
        EntitySuggestion(
            id=r.entity_id, name=r.name, type=r.type, kind=None, matched=r.name,
            articles=int(r.articles), in_gazetteer=False,
            word_start=not r.name.lower().startswith(prefix),
        )
        for r in rows
    ]
    found.sort(key=lambda s: (s.word_start, -s.articles, len(s.name), s.name))
    return found[:limit]


def article_counts(engine: Engine, ids: list[str]) -> dict[str, int]:
    """How many stored articles mention each of these entity ids."""
    if not ids:
        return {}
    ae = t.article_entities
    query = (
        select(ae.c.entity_id, func.count(func.distinct(ae.c.article_id)))
        .where(ae.c.entity_id.in_(ids))
        .group_by(ae.c.entity_id)
    )
    with engine.connect() as conn:
        return {entity_id: int(n) for entity_id, n in conn.execute(query)}


def lookup(engine: Engine, text: str, limit: int = MAX_RESULTS) -> list[EntitySuggestion]:
    """Gazetteer matches and stored entities for a prefix, merged by id and ranked."""
    limit = max(1, min(limit, MAX_RESULTS))
    gazetteer = bundled_index().search(text, limit * 3)
    stored = stored_entities(engine, text, limit)
    counts = article_counts(engine, [s.id for s in gazetteer])
    merged: dict[str, EntitySuggestion] = {}
    for s in gazetteer:
        merged[s.id] = EntitySuggestion(
            id=s.id, name=s.name, type=s.type, kind=s.kind, matched=s.matched,
            articles=counts.get(s.id, 0), in_gazetteer=True, word_start=s.word_start,
        )
    for s in stored:
        known = merged.get(s.id)
        if known is None:
            merged[s.id] = s
        elif s.word_start < known.word_start:  # the stored name matched better
            merged[s.id] = EntitySuggestion(
                id=known.id, name=known.name, type=known.type, kind=known.kind,
                matched=s.matched, articles=known.articles, in_gazetteer=True,
                word_start=False,
            )
    ranked = sorted(
        merged.values(), key=lambda s: (s.word_start, -s.articles, len(s.name), s.name, s.id)
    )
    return ranked[:limit]


def resolve_entity(name: str) -> tuple[str, ...]:
    """Entity ids a user's ``--entity`` value may mean: the gazetteer's canonical id (a
    demonym or capital standing for its country), else the normalised key of any type."""
    gazetteer = Gazetteer.load()
    name = clean_surface(name) or name.strip()
    if name.startswith(("Q", "key:")) and " " not in name and (name[1:].isdigit() or ":" in name):
        return (name,)
    entry = gazetteer.lookup(name)
    if entry is not None:
        if entry.kind in ("demonym", "capital") and entry.country_id:
            return (entry.country_id,)
        return (entry.id,)
    key = slug(normalise(name))
    kinds = ("person", "organisation", "place", "group", "event", "law", "product")
    return tuple(f"key:{kind}:{key}" for kind in kinds)
