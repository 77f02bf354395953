"""Russian named entities with natasha's news NER model (shipped inside its wheel), and the
dictionary form of a multi-word name through pymorphy3 ("Министерстве обороны" →
"Министерство обороны", "Ивановой" → "Иванова").

natasha's own normaliser (``MorphVocab``) is not used: it needs pymorphy2, which does not run
on Python 3.11. The model is loaded on the first Russian article of a process and kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from core.errors import NewswatchError
from enrich.languages.tokens import slavic_parses

TYPES = {"PER": "person", "LOC": "place", "ORG": "organisation"}
_PERSON_TAGS = ("Name", "Surn", "Patr")


@lru_cache(maxsize=1)
def _natasha() -> tuple[Any, Any]:
    try:
        from natasha import NewsEmbedding, NewsNERTagger, Segmenter
    except ImportError:
        raise NewswatchError("natasha is not installed: pip install 'newswatch[nlp]'") from None
    return Segmenter(), NewsNERTagger(NewsEmbedding())


def ner_spans(text: str) -> list[tuple[int, int, str]]:
    """natasha's entity spans of ``text``: (start, end, type), type one of person, place,
    organisation."""
    from natasha import Doc

    segmenter, tagger = _natasha()
    doc = Doc(text)
    doc.segment(segmenter)
    doc.tag_ner(tagger)
    return [(s.start, s.stop, TYPES[s.type]) for s in doc.spans if s.type in TYPES]


def nominative(words: Sequence[str], kind: str, lang: str = "ru") -> str:
    """The dictionary form of a name written in an oblique case: a person's every word in
    the nominative (keeping its gender); an organisation's or place's words up to and
    including its first noun in the nominative, the rest as written ("Министерстве обороны
    России" → "Министерство обороны России")."""
    if kind == "person":
        return " ".join(_person_word(w, lang) for w in words)
    head = next((n for n, w in enumerate(words) if _noun(w, lang) is not None), None)
    if head is None:
        return " ".join(words)
    noun = _noun(words[head], lang)
    case = noun.tag.case if noun is not None else None
    out = []
    for n, word in enumerate(words):
        if n < head:
            parse = _with(word, lang, "ADJF", case)
            out.append(_inflected(word, parse))
        elif n == head:
            out.append(_inflected(word, noun))
        else:
            out.append(word)
    return " ".join(out)


def _person_word(word: str, lang: str) -> str:
    if not _has_cyrillic(word):
        return word
    parses = slavic_parses(word.lower(), lang)
    parse = next((p for p in parses if any(t in p.tag for t in _PERSON_TAGS)), None)
    return _inflected(word, parse)


def _noun(word: str, lang: str) -> Any:
    if not _has_cyrillic(word) or word.isupper():
        return None
    return next((p for p in slavic_parses(word.lower(), lang) if p.tag.POS == "NOUN"), None)


def _with(word: str, lang: str, pos: str, case: str | None) -> Any:
    if not _has_cyrillic(word) or word.isupper():
        return None
    parses = [p for p in slavic_parses(word.lower(), lang) if pos == p.tag.POS]
    return next((p for p in parses if p.tag.case == case), parses[0] if parses else None)


def _inflected(word: str, parse: Any) -> str:
    """``word`` in the nominative through ``parse`` (as written when that fails), with the
    capitals of the original."""
    if parse is None:
        return word
    grammemes = {"nomn"} if parse.tag.number != "plur" else {"nomn", "plur"}
    form = parse.inflect(grammemes)
    if form is None:
        return word
    text = str(form.word)
    if word.isupper():
        return text.upper()
    return text[:1].upper() + text[1:] if word[:1].isupper() else text


def _has_cyrillic(word: str) -> bool:
    return any("а" <= c.lower() <= "я" or c.lower() in "ёіїєґ" for c in word)
