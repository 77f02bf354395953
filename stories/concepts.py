"""The domain's key terms mapped to shared concepts, in each language. Pure (the lexicon is
read once per process from ``stories/concepts.tsv``, our own data file).

A Russian report of "снаряды" on a "судно" and an English one of "shells" on a "ship" share
the concepts ``shells`` and ``ship`` whatever their words: with the linked entities, figures
and dates they let an article join a story told in another language (stories/crosslingual.py)
and tell what kind of event it is about (a missile launch is not a shell shipment).

How a form is found in a text, per language:

- English: lower-case words, plurals folded ("shells" -> "shell"), multi-word forms as word
  sequences;
- Russian and Ukrainian: every pymorphy3 reading of each word (forms are written as
  dictionary forms, so "снарядов" and "снаряды" both find "снаряд");
- Korean: kiwipiepy's morphemes (particles are tokens of their own, so "포탄을" finds "포탄");
- Japanese and Chinese: forms of two or more characters as substrings of the text (no
  segmenter agrees with every compound), one-character forms (港, 船, 核) only as a whole
  token of SudachiPy or jieba, so 香港 is not a port.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from enrich.languages.tokens import slavic_lemmas, tokens

LEXICON_FILE = "concepts.tsv"
LANGUAGES = ("en", "ru", "uk", "ko", "ja", "zh")
SUBSTRING_LANGUAGES = ("ja", "zh")
# broad concepts: most reports of the domain have them, so they tell events apart less
BROAD = frozenset({"weapons", "attack", "troops", "shipment", "summit", "casualties", "cargo",
                   "technology", "factory", "trade"})
BROAD_WEIGHT = 0.5
_EN_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class Table:
    """One language's forms: as tuples of normalised tokens, and (Japanese, Chinese) as
    strings found inside the text; each names a concept."""

    sequences: dict[tuple[str, ...], str]
    substrings: dict[str, str]
    longest: int
    starts: frozenset[str]  # the first token of every sequence (most tokens start none)


def weight(concept: str) -> float:
    """How much sharing this concept says about two reports being one event."""
    return BROAD_WEIGHT if concept in BROAD else 1.0


@functools.lru_cache(maxsize=1)
def lexicon() -> dict[str, list[tuple[str, str]]]:
    """The lexicon shipped with this version: per language, (form, concept) pairs (read
    once per process)."""
    text = resources.files("stories").joinpath(LEXICON_FILE).read_text(encoding="utf-8")
    return parse(text)


def parse(text: str) -> dict[str, list[tuple[str, str]]]:
    """The lexicon from the TSV text: a header, then ``concept  lang  form|form|...``."""
    forms: dict[str, list[tuple[str, str]]] = {lang: [] for lang in LANGUAGES}
    for row in csv.DictReader(io.StringIO(text), delimiter="\t"):
        concept, lang = row["concept"].strip(), row["lang"].strip()
        if lang not in LANGUAGES:
            raise ValueError(f"{LEXICON_FILE}: unknown language {lang!r} for {concept!r}")
        forms[lang] += [(f.strip(), concept) for f in row["forms"].split("|") if f.strip()]
    return forms


def concepts() -> list[str]:
    """Every concept of the lexicon, in file order."""
    return list(dict.fromkeys(c for pairs in lexicon().values() for _, c in pairs))


@functools.lru_cache(maxsize=len(LANGUAGES))
def table(lang: str) -> Table:
    """The forms of one language, normalised the way its texts are (built on first use, so
    an English-only process never loads another language's analyser)."""
    sequences: dict[tuple[str, ...], str] = {}
    substrings: dict[str, str] = {}
    for form, concept in lexicon()[lang]:
        if lang in SUBSTRING_LANGUAGES and len(form) >= 2:
            substrings.setdefault(form, concept)
            continue
        key = _form_key(form, lang)
        if key:
            sequences.setdefault(key, concept)
    return Table(sequences, substrings, max((len(k) for k in sequences), default=1),
                 frozenset(k[0] for k in sequences))


def find(text: str, lang: str) -> Counter[str]:
    """The concepts ``text`` (in language ``lang``) names, with how often; the longest
    form starting at a token wins ("artillery shell" over "artillery")."""
    forms = table(lang if lang in LANGUAGES else "en")
    found: Counter[str] = Counter()
    for form, concept in forms.substrings.items():
        n = text.count(form)
        if n:
            found[concept] += n
    if not forms.sequences:
        return found
    readings = _readings(text, lang if lang in LANGUAGES else "en")
    starts = forms.starts
    hits = [i for i, r in enumerate(readings) if r[0] in starts or any(x in starts for x in r[1:3])]
    for i in hits:  # the longest form starting at each token ("ballistic missile", then "missile")
        for size in range(min(forms.longest, len(readings) - i), 0, -1):
            hit = next((forms.sequences[k] for k in _keys(readings[i:i + size])
                        if k in forms.sequences), None)
            if hit:
                found[hit] += 1
                break
    return found


def _readings(text: str, lang: str) -> list[tuple[str, ...]]:
    """Each token of the text as the normalised forms it may stand for."""
    if lang == "en":
        return [(_english(w),) for w in _EN_WORD.findall(text.lower())]
    if lang in ("ru", "uk"):
        return [slavic_lemmas(t.text, lang) for t in tokens(text, lang)]
    return [(t.lemma,) for t in tokens(text, lang) if t.content]


def _keys(window: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Every reading of a window of tokens (a few readings each, short windows)."""
    keys: list[tuple[str, ...]] = [()]
    for options in window:
        keys = [(*k, o) for k in keys for o in options[:3]]
    return keys


def _form_key(form: str, lang: str) -> tuple[str, ...]:
    if lang == "en":
        return tuple(_english(w) for w in _EN_WORD.findall(form.lower()))
    if lang in ("ru", "uk"):
        return tuple(slavic_lemmas(t.text, lang)[0] for t in tokens(form, lang))
    return tuple(t.lemma for t in tokens(form, lang) if t.content)


@functools.lru_cache(maxsize=100_000)
def _english(word: str) -> str:
    """A crude English lemma: plurals folded, enough for the lexicon's nouns."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
