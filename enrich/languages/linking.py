"""Linked entities of articles in Russian, Ukrainian, Korean, Japanese and Chinese: the same
``Entity`` objects, ids, English canonical names and salience as English articles get.

Per language (docs/enrichment.md says why):

- every language: gazetteer names over the language's tokens (enrich/languages/mentions.py);
- Russian: also natasha's NER spans (persons, places, organisations) the gazetteer does not
  know, kept as ``key:<type>:<slug>`` entities under their dictionary form;
- Japanese: also GiNZA's NER spans (persons, places, organisations), kept the same way;
- Ukrainian, Korean, Chinese: gazetteer names only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.models import Entity
from enrich.entities import Linked, link_known
from enrich.gazetteer import NOT_AN_ENTITY, Gazetteer, fold_name
from enrich.languages.mentions import find_names

LANGUAGES = ("ru", "uk", "ko", "ja", "zh")
WITH_NER = ("ru", "ja")
_EDGE_JUNK = re.compile(r"^[\W_]+|[\W_]+$")
_NON_WORD = re.compile(r"[\W_]+")


def link_documents(lang: str, docs: Sequence[tuple[str, str]], gazetteer: Gazetteer,
                   batch_size: int = 8) -> list[list[Entity]]:
    """The linked entities of each ``(title, text)`` of language ``lang``, best first.
    Offsets count in ``title + "\\n\\n" + text``, as for English."""
    from enrich.nlp import MAX_CHARS

    texts = [f"{title}\n\n{text}"[:MAX_CHARS] for title, text in docs]
    spans = _ner(lang, texts, batch_size)
    return [
        link_known(_mentions(text, lang, gazetteer, found), len(title), len(text), gazetteer)
        for (title, _), text, found in zip(docs, texts, spans, strict=True)
    ]


def _ner(lang: str, texts: list[str], batch_size: int) -> list[list[tuple[int, int, str]]]:
    if lang == "ru":
        from enrich.languages import russian

        return [russian.ner_spans(t) for t in texts]
    if lang == "ja":
        from enrich.languages import japanese

        return japanese.ner_spans(texts, batch_size)
    return [[] for _ in texts]


def _mentions(text: str, lang: str, gazetteer: Gazetteer,
              spans: Sequence[tuple[int, int, str]]) -> list[Linked]:
    """Gazetteer matches first; an NER span that overlaps none of them (nor a name that is
    no entity, such as 日本海) becomes an entity of its own under its dictionary form."""
    matches = find_names(text, lang, gazetteer)
    mentions = [Linked(m.surface, m.entry.type, m.start, m.entry, place=m.place)
                for m in matches if m.entry is not NOT_AN_ENTITY]
    taken = [(m.start, m.end) for m in matches]
    for start, end, kind in spans:
        start, surface = _clean(text, start, end)
        if len(surface) < 2 or not any(c.isalpha() for c in surface):
            continue
        if any(start < e and s < start + len(surface) for s, e in taken):
            continue
        name = _canonical(surface, kind, lang)
        key = f"key:{kind}:{_NON_WORD.sub('-', fold_name(name, lang)).strip('-') or 'unknown'}"
        mentions.append(Linked(surface, kind, start, None, name, key))
    return sorted(mentions, key=lambda m: m.start)


def _clean(text: str, start: int, end: int) -> tuple[int, str]:
    """A span's text without quotes or stray punctuation at its edges and never across a
    line break (a headline glued to the first line), with its new start."""
    raw = text[start:end]
    if "\n" in raw:
        cut = raw.rindex("\n") + 1
        start, raw = start + cut, raw[cut:]
    stripped = _EDGE_JUNK.sub("", raw)
    return start + (raw.find(stripped) if stripped else 0), " ".join(stripped.split())


def _canonical(surface: str, kind: str, lang: str) -> str:
    if lang in ("ru", "uk"):
        from enrich.languages.russian import nominative

        return nominative(surface.split(), kind, lang)
    return surface
