"""Entities: spaCy mentions, normalised and linked to canonical ids, with salience. Pure
apart from the spaCy model, which the caller loads once per process (``enrich.nlp``).

Linking rules, in order:
- the gazetteer knows the surface form: countries, organisations, people, products get their
  canonical id and type (this also fixes spaCy's systematic errors: a country tagged as an
  organisation, a messaging app tagged as a person);
- a demonym ("North Korean") stands for its country;
- a capital stands for its government ("Pyongyang said…") unless a place preposition comes
  before it ("in Pyongyang"), when it is the city;
- a government seat ("the Kremlin", "the White House") is kept as itself and also counts as
  a mention of its country;
- a surname ("Kirby") joins the full name the article gives ("John Kirby");
- anything else keeps its surface form with a normalised key id ``key:<type>:<slug>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.models import Entity
from enrich.gazetteer import GazEntry, Gazetteer, normalise, slug

LABEL_TYPES = {
    "PERSON": "person",
    "ORG": "organisation",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "NORP": "group",
    "EVENT": "event",
    "LAW": "law",
    "PRODUCT": "product",
}
PLACE_PREPOSITIONS = {
    "in", "at", "near", "outside", "around", "across", "from", "to", "into", "via", "through",
    "toward", "towards", "of", "between", "inside", "over",
}
HONORIFICS = re.compile(
    r"^(?:(?:former|acting|deputy|vice|senior|then)\s+)*"
    r"(?:mr|mrs|ms|miss|dr|prof|sir|dame|gen|general|lt|col|colonel|maj|capt|adm|admiral|sgt|"
    r"sen|senator|rep|representative|congressman|congresswoman|gov|governor|president|"
    r"prime minister|foreign minister|defen[cs]e minister|minister|secretary|"
    r"attorney general|special counsel|speaker|mayor|ambassador|spokesman|spokeswoman|"
    r"spokesperson|chairman|chairwoman|director|commissioner|chancellor|king|queen|prince|"
    r"princess|pope|judge|justice)\.?\s+(?=[A-Z])",
    re.IGNORECASE,
)
NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
EDGE_JUNK = re.compile(r"^[\W_]+|[\W_]+$")
MAX_NAME_CHARS = 120


@dataclass
class _Acc:
    """Mentions of one entity being gathered."""

    id: str
    name: str
    type: str
    mentions: int = 0
    first_pos: int = 1 << 30
    in_title: bool = False
    surfaces: dict[str, None] = field(default_factory=dict)

    def add(self, surface: str, start: int, in_title: bool) -> None:
        self.mentions += 1
        self.first_pos = min(self.first_pos, start)
        self.in_title = self.in_title or in_title
        self.surfaces.setdefault(surface, None)


def clean_surface(text: str) -> str:
    """A mention without leading articles, honorifics, possessives or stray punctuation."""
    text = " ".join(text.split())
    text = re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"['’]s$", "", text)
    text = HONORIFICS.sub("", text)
    return EDGE_JUNK.sub("", text)[:MAX_NAME_CHARS]


@dataclass(frozen=True)
class Mention:
    surface: str  # cleaned
    type: str  # after the gazetteer's corrections
    start: int
    end: int
    previous: str  # the word before, lower-case (tells "in Pyongyang" from "Pyongyang said")


def typed_mentions(doc: Any, gazetteer: Gazetteer) -> list[Mention]:
    """The entity mentions of a spaCy ``doc``, with the model's systematic type errors fixed
    by the gazetteer (a country tagged ORG is a place; a messaging app tagged PERSON is a
    product)."""
    mentions: list[Mention] = []
    for ent in doc.ents:
        kind = LABEL_TYPES.get(ent.label_)
        start_char = ent.start_char
        raw = ent.text
        if "\n" in raw:  # never across a line break (a headline glued to the first line)
            cut = raw.rindex("\n") + 1
            start_char += cut
            raw = raw[cut:]
        surface = clean_surface(raw)
        if kind is None or len(surface) < 2 or not any(c.isalpha() for c in surface):
            continue
        entry = gazetteer.lookup(surface)
        if entry is not None:
            kind = "group" if entry.kind == "demonym" else entry.type
        previous = doc[ent.start - 1].lower_ if ent.start > 0 else ""
        mentions.append(Mention(surface, kind, start_char, ent.end_char, previous))
    return mentions


def extract_entities(doc: Any, title_chars: int, gazetteer: Gazetteer) -> list[Entity]:
    """Linked entities of a spaCy ``doc`` made from ``title + "\\n\\n" + text``.

    ``title_chars`` is ``len(title)``: mentions starting before it are in the title.
    """
    mentions = [(m.surface, m.type, m.start, m.previous) for m in typed_mentions(doc, gazetteer)]
    return link_mentions(mentions, title_chars, len(doc.text), gazetteer)


def link_mentions(
    mentions: Sequence[tuple[str, str, int, str]],
    title_chars: int,
    doc_chars: int,
    gazetteer: Gazetteer,
) -> list[Entity]:
    """Group ``(surface, type, start, previous_word)`` mentions into linked entities."""
    mentions = _repair_title_mentions(mentions, title_chars)
    full_names = _full_person_names(m[0] for m in mentions if m[1] == "person")
    acronyms = _acronyms(m[0] for m in mentions if m[1] in ("organisation", "group", "place"))
    found: dict[str, _Acc] = {}

    def add(id_: str, name: str, kind: str, surface: str, start: int) -> None:
        acc = found.get(id_)
        if acc is None:
            acc = found[id_] = _Acc(id_, name, kind)
        acc.add(surface, start, start < title_chars)

    for surface, kind, start, previous in mentions:
        entry = gazetteer.lookup(surface)
        if entry is None and " " not in surface:
            expansion = acronyms.get(_undot(surface))
            if expansion is not None and expansion[0] != surface:  # "NAACP" after its full name
                name, expanded_kind = expansion
                linked = gazetteer.lookup(name)
                if linked is not None:
                    add(linked.id, linked.name, linked.type, surface, start)
                else:
                    add(_key(expanded_kind, name), name, expanded_kind, surface, start)
                continue
        # a surname joins the full name the article gives, whatever type spaCy guessed
        if entry is None and " " not in surface and surface.casefold() in full_names:
            full = full_names.get(surface.casefold())
            if full is not None:  # "Kirby" after "John Kirby"
                surface_entry = gazetteer.lookup(full)
                if surface_entry is not None:
                    add(surface_entry.id, surface_entry.name, surface_entry.type, surface, start)
                else:
                    add(_key("person", full), full, "person", surface, start)
                continue
        if entry is None:
            add(_key(kind, surface), surface, kind, surface, start)
            continue
        for linked in _resolve(entry, previous in PLACE_PREPOSITIONS, gazetteer):
            add(linked.id, linked.name, linked.type, surface, start)
    return _with_salience(found.values(), doc_chars)


@dataclass(frozen=True)
class Linked:
    """A mention the caller has already matched (languages other than English)."""

    surface: str  # as written in the article
    type: str
    start: int
    entry: GazEntry | None  # None: an entity the gazetteer does not know
    name: str = ""  # for an unknown entity: its canonical (dictionary) form
    key: str = ""  # for an unknown entity: its id, ``key:<type>:<slug>``
    place: bool = False  # written as a place ("в Пхеньяне"): a capital stays the city


def link_known(mentions: Sequence[Linked], title_chars: int, doc_chars: int,
               gazetteer: Gazetteer) -> list[Entity]:
    """Group matched mentions into linked entities, with the same rules as English: a
    capital stands for its government unless written as a place, a government seat also
    counts for its country, a single surname joins the one full name that ends with it."""
    full_names = _full_person_names(m.name for m in mentions if m.entry is None
                                    and m.type == "person")
    found: dict[str, _Acc] = {}

    def add(id_: str, name: str, kind: str, surface: str, start: int) -> None:
        acc = found.get(id_)
        if acc is None:
            acc = found[id_] = _Acc(id_, name, kind)
        acc.add(surface, start, start < title_chars)

    keys = {m.name: m.key for m in mentions if m.entry is None}
    for m in mentions:
        if m.entry is None:
            full = full_names.get(m.name.casefold()) if " " not in m.name else None
            if m.type == "person" and full is not None and full in keys:
                add(keys[full], full, "person", m.surface, m.start)
            else:
                add(m.key, m.name, m.type, m.surface, m.start)
            continue
        for linked in _resolve(m.entry, m.place, gazetteer):
            add(linked.id, linked.name, linked.type, m.surface, m.start)
    return _with_salience(found.values(), doc_chars)


def _repair_title_mentions(
    mentions: Sequence[tuple[str, str, int, str]], title_chars: int
) -> list[tuple[str, str, int, str]]:
    """Headlines in Title Case make the model glue words onto names ("Trump Says",
    "Vicente Fox Slams"): a title mention that the body never uses is replaced by the
    longest body mention it contains as whole words."""
    body = {m[0]: m for m in mentions if m[2] >= title_chars}
    by_length = sorted(body, key=len, reverse=True)
    repaired = []
    for mention in mentions:
        surface, _kind, start, previous = mention
        if start < title_chars and surface not in body:
            inner = next(
                (b for b in by_length if re.search(rf"(?<!\w){re.escape(b)}(?!\w)", surface)), None
            )
            if inner is not None:
                mention = (inner, body[inner][1], start, previous)
        repaired.append(mention)
    return repaired


def _resolve(entry: GazEntry, as_place: bool, gazetteer: Gazetteer) -> list[GazEntry]:
    country = gazetteer.country(entry.country_id) if entry.country_id else None
    if entry.kind == "demonym" and country is not None:
        return [country]
    if entry.kind == "capital" and country is not None and not as_place:
        return [country]  # "Pyongyang denied…": the government
    if entry.kind == "body" and country is not None:
        return [entry, country]  # "the Kremlin said…": itself, and its country
    return [entry]


def _full_person_names(surfaces: Iterable[str]) -> dict[str, str]:
    """Map each single surname to the one full name in the article that ends with it."""
    fulls = {s for s in surfaces if len(s.split()) >= 2}
    by_last: dict[str, set[str]] = {}
    for name in fulls:
        words = [w for w in name.split() if w.casefold().rstrip(".") not in NAME_SUFFIXES]
        if len(words) >= 2:
            by_last.setdefault(words[-1].casefold(), set()).add(name)
    return {last: next(iter(names)) for last, names in by_last.items() if len(names) == 1}


def _acronyms(surfaces: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Initials of multi-word names ("National Association for the Advancement of Colored
    People" → "NAACP"), so a later acronym joins the full name. Also maps each name to
    itself in undotted form ("N.A.A.C.P." and "NAACP" are one)."""
    found: dict[str, tuple[str, str]] = {}
    for surface in surfaces:
        words = surface.split()
        if len(words) >= 3:
            initials = "".join(w[0] for w in words if w[0].isupper())
            if len(initials) >= 3:
                found.setdefault(initials, (surface, "organisation"))
    return found


def _undot(surface: str) -> str:
    return surface.replace(".", "") if re.fullmatch(r"(?:[A-Z]\.){2,}[A-Z]?\.?", surface) else surface


def _key(kind: str, surface: str) -> str:
    return f"key:{kind}:{slug(normalise(_undot(surface))) or 'unknown'}"


def _with_salience(found: Iterable[_Acc], doc_chars: int) -> list[Entity]:
    """Salience from mention count (log-damped), title presence and position of first
    mention, scaled so the most salient entity of the article scores 1."""
    accs = list(found)
    if not accs:
        return []
    length = max(doc_chars, 1)
    # the title bonus needs the body to agree: a name only the headline has is often noise
    raw = {
        a.id: math.log2(1 + a.mentions)
        + 1.5 * (a.in_title and a.mentions > 1)
        + (1 - min(a.first_pos, length) / length)
        for a in accs
    }
    top = max(raw.values())
    entities = [
        Entity(
            id=a.id, name=a.name, type=a.type, mentions=a.mentions, first_pos=a.first_pos,
            in_title=a.in_title, salience=round(raw[a.id] / top, 3), surfaces=tuple(a.surfaces),
        )
        for a in accs
    ]
    return sorted(entities, key=lambda e: (-e.salience, e.first_pos))
