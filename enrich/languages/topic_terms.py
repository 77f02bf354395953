"""Topic terms in Russian, Ukrainian, Korean, Japanese and Chinese: the ``languages`` blocks
of ``enrich/taxonomy.yaml`` matched over the words of ``enrich.languages.tokens``.

- Russian and Ukrainian: a term, written in any form, matches every form of its lemma
  ("санкция" matches "санкций", "санкціями"); every pymorphy3 reading of a word counts.
- Korean: morphemes, so particles do not stand in the way ("제재" in "제재를").
- Japanese and Chinese: the tokeniser's words, plus a substring fallback for compounds
  (制裁 inside 制裁措施): a term found inside one word, or starting where a word starts.
- Korean also gets the substring fallback (unknown compounds such as 대북제재 may be one word).

``=word`` matches that form only, ``word*`` any word starting with it. A phrase is words
separated by spaces, matched on consecutive content words of one sentence. Pure: the rules
are compiled on first use per language (that is when the language's tokeniser loads).
"""

from __future__ import annotations

import bisect
import functools
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.models import Entity
from enrich.languages.tokens import Token, slavic_lemma, slavic_lemmas, tokens

LANGUAGES = ("ru", "uk", "ko", "ja", "zh")
RULE_KEYS = frozenset({"terms", "phrases", "exclude", "link_terms", "groups", "aliases",
                       "threshold", "window"})
SLAVIC = ("ru", "uk")
SUBSTRING = ("ko", "ja", "zh")  # languages written without spaces between (all) words
SENTENCE_END = re.compile(r"(?<=[.!?。！？])[\"'”’»)」』]*\s*(?=\S)|\n+")
BREAK = re.compile(r"[.!?。！？\n]")


@dataclass(frozen=True)
class RawRules:  # one language block of a topic, checked but not yet compiled (hashable)
    terms: tuple[tuple[str, float], ...] = ()
    phrases: tuple[tuple[str, float], ...] = ()
    exclude: tuple[tuple[str, float], ...] = ()  # weight < 0: veto
    link_terms: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] | None = None  # None: the topic has none to replace
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    threshold: float | None = None
    window: int | None = None


@dataclass(frozen=True)
class Term:  # a term as listed, compiled for one language
    text: str
    weight: float
    lemmas: tuple[str, ...]  # one per word; for "=" exact forms, for "*" a prefix
    mode: str = "lemma"  # lemma | exact | prefix
    literals: tuple[str, ...] = ()  # lower-case texts for the substring fallback


@dataclass(frozen=True)
class Rules:  # one language block compiled
    lang: str
    terms: tuple[Term, ...]
    phrases: tuple[Term, ...]
    exclude: tuple[Term, ...]
    link_terms: tuple[Term, ...]
    groups: tuple[tuple[Term, ...], ...]
    aliases: tuple[tuple[str, tuple[Term, ...]], ...]


def parse_rules(raw: Any, need: Any) -> RawRules:
    """A language block checked for shape; ``need(ok, key, why)`` reports what is wrong."""
    need(isinstance(raw, dict), "languages", "each language needs a mapping of fields")
    unknown = sorted(set(raw) - RULE_KEYS)
    need(not unknown, f"languages.{unknown[0] if unknown else ''}",
         f"unknown, use {', '.join(sorted(RULE_KEYS))}")

    def words(value: Any, key: str) -> tuple[str, ...]:
        need(isinstance(value, list) and all(isinstance(w, str) and w.strip() for w in value),
             key, "a list of words or phrases is required")
        return tuple(w.strip() for w in value)

    def weighted(key: str) -> tuple[tuple[str, float], ...]:
        value = raw.get(key) or {}
        need(isinstance(value, dict), key, "must be a mapping of word or phrase to weight")
        out = []
        for text, weight in value.items():
            w = -1.0 if key == "exclude" and weight == "veto" else weight
            need(isinstance(text, str) and text.strip() and isinstance(w, int | float)
                 and not isinstance(w, bool) and (w >= 0 or weight == "veto"), key,
                 f"{text!r}: the weight must be a number >= 0" + " or veto" * (key == "exclude"))
            out.append((text.strip(), float(w)))
        return tuple(out)

    groups = raw.get("groups")
    aliases = raw.get("aliases") or {}
    need(isinstance(aliases, dict), "aliases", "a mapping of entity id to names is required")
    threshold, window = raw.get("threshold"), raw.get("window")
    need(threshold is None or (isinstance(threshold, int | float) and 0 < threshold < 1),
         "threshold", "must be between 0 and 1")
    need(window is None or (isinstance(window, int) and window >= 0), "window",
         "must be a whole number >= 0")
    return RawRules(
        terms=weighted("terms"), phrases=weighted("phrases"), exclude=weighted("exclude"),
        link_terms=words(raw.get("link_terms") or [], "link_terms"),
        groups=None if groups is None else tuple(words(g, "groups") for g in groups)
        if isinstance(groups, list) else (need(False, "groups", "a list of lists") or ()),
        aliases=tuple((str(k), words(v, "aliases")) for k, v in aliases.items()),
        threshold=None if threshold is None else float(threshold), window=window,
    )


def _word_lemmas(word: str, lang: str) -> tuple[str, ...] | None:
    """The lemmas of one word of a term; None when the tokeniser reads part of it as a
    particle or suffix (제재심 as 제재 + 심): such a word is matched as a substring only."""
    if lang in SLAVIC:
        return (slavic_lemma(word, lang),)
    content = [t for t in tokens(word, lang) if t.content]
    covered = "".join(t.text for t in content)
    if covered != word and not (lang == "ko" and covered + "다" == word):
        return None
    return tuple(t.lemma for t in content)


def term(text: str, weight: float, lang: str) -> Term:
    """``text`` compiled for ``lang``: the lemma of each word, or an exact or prefix form."""
    spellings = {" ".join(text.split()).lower(), "".join(text.split()).lower()}
    literals = tuple(sorted(s for s in spellings if len(s) >= 2)) if lang in SUBSTRING else ()
    if text.startswith("="):
        return Term(text, weight, tuple(w.lower() for w in text[1:].split()), "exact")
    if text.endswith("*"):
        return Term(text, weight, (text[:-1].lower(),), "prefix")
    per_word = [_word_lemmas(word, lang) for word in text.split()]
    lemmas = () if None in per_word else tuple(lemma for w in per_word for lemma in w or ())
    return Term(text, weight, lemmas, "lemma", literals)


@functools.lru_cache(maxsize=256)
def compile_rules(raw: RawRules, lang: str) -> Rules:
    """The rules of one language block, compiled (once per block and language)."""
    def many(items: Sequence[tuple[str, float]]) -> tuple[Term, ...]:
        return tuple(term(t, w, lang) for t, w in items)

    return Rules(lang, many(raw.terms), many(raw.phrases), many(raw.exclude),
                 tuple(term(t, 0.0, lang) for t in raw.link_terms),
                 tuple(tuple(term(t, 0.0, lang) for t in g) for g in raw.groups or ()),
                 tuple((k, tuple(term(t, 0.0, lang) for t in v)) for k, v in raw.aliases))


class Analysed:
    """One article's text read in its language: the words, their readings and sentences."""

    def __init__(self, doc: str, lang: str) -> None:
        self.doc, self.lang = doc, lang
        self.lowered = doc.lower()
        every = tokens(doc, lang)
        self.words: list[Token] = [t for t in every if t.content]
        self.starts = [t.start for t in every]
        self.ends = [t.end for t in every]
        self.word_starts = [t.start for t in self.words]
        self.index: dict[str, list[int]] = {}
        self.surfaces = [t.text.lower() for t in self.words]
        for i, t in enumerate(self.words):
            readings = slavic_lemmas(t.text, lang) if lang in SLAVIC else (t.lemma,)
            for reading in {*readings, t.lemma, self.surfaces[i]}:
                self.index.setdefault(reading, []).append(i)
        self.bounds = [0] + [m.end() for m in SENTENCE_END.finditer(doc)] + [len(doc) + 1]

    def body_words(self, title_end: int) -> int:
        """Content words after the title."""
        return len(self.words) - bisect.bisect_left(self.word_starts, title_end)

    def find(self, t: Term) -> list[tuple[int, int]]:
        """The (start, end) of every match of ``t``, the longest at each start."""
        spans: dict[int, int] = {}
        first = t.lemmas[0] if t.lemmas else ""
        if t.mode == "prefix":
            candidates = [i for i, s in enumerate(self.surfaces) if s.startswith(first)]
        elif t.mode == "exact":
            candidates = [i for i, s in enumerate(self.surfaces) if s == first]
        else:
            candidates = self.index.get(first, [])
        for i in candidates:
            j = self._follow(t, i)
            if j is not None:
                start, end = self.words[i].start, self.words[j].end
                spans[start] = max(end, spans.get(start, end))
        for literal in t.literals:
            for start, end in self._substrings(literal):
                spans[start] = max(end, spans.get(start, end))
        return sorted(spans.items())

    def _follow(self, t: Term, i: int) -> int | None:  # the last word of a phrase starting at i
        for k, lemma in enumerate(t.lemmas[1:], 1):
            j = i + k
            if j >= len(self.words) or BREAK.search(
                    self.doc, self.words[j - 1].end, self.words[j].start):
                return None
            if t.mode == "exact":
                ok = self.surfaces[j] == lemma
            else:
                ok = i + k in self.index.get(lemma, ())
            if not ok:
                return None
        return i + len(t.lemmas) - 1

    def _substrings(self, literal: str) -> list[tuple[int, int]]:
        """Occurrences of ``literal`` that lie inside one word or start and end on word
        boundaries (核能 is not read inside 核 + 能力)."""
        out, at = [], self.lowered.find(literal)
        ends = set(self.ends)
        while at >= 0:
            end = at + len(literal)
            k = bisect.bisect_right(self.starts, at) - 1
            if k >= 0 and (self.ends[k] >= end or (self.starts[k] == at and end in ends)):
                out.append((at, end))
            at = self.lowered.find(literal, at + 1)
        return out

    def word_at(self, offset: int) -> int:
        """The number of content words that start at or before ``offset``."""
        return bisect.bisect_right(self.word_starts, offset)

    def sentence(self, offset: int) -> int:
        """The index of the sentence holding ``offset``."""
        return bisect.bisect_right(self.bounds, offset) - 1


def _overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(a < end and start < b for a, b in spans)


def find_links(text: Analysed, rules: Rules, entity_groups: Sequence[Sequence[str]],
               entities: Sequence[Entity], window: int,
               masked: Sequence[tuple[int, int]]) -> list[tuple[int, str]]:
    """(offset, sentence) of each sentence holding a link term with a mention of every entity
    group and a hit of every term group in that sentence or within ``window`` words of it.
    Mentions: each linked entity's surfaces as the article wrote them and its name (as
    written, in any form of their lemmas) plus the language's aliases."""
    def free(terms: Sequence[Term]) -> list[int]:
        return sorted({s for t in terms for s, e in text.find(t) if not _overlaps(s, e, masked)})

    aliases = dict(rules.aliases)
    needs = [free(g) for g in rules.groups]
    for group in entity_groups:
        names = [t for eid in group for t in aliases.get(eid, ())]
        written = {n for e in entities if e.id in group for n in (e.name, *e.surfaces) if n.strip()}
        names += [term(n, 0.0, text.lang) for n in sorted(written)]
        found = set(free(names))
        for name in written:  # the surface exactly as written (CJK: wherever it is)
            edge = (r"(?<!\w)", r"(?!\w)") if text.lang not in SUBSTRING else ("", "")
            pattern = edge[0] + re.escape(name.lower()) + edge[1]
            found |= {m.start() for m in re.finditer(pattern, text.lowered)}
        needs.append(sorted(found))
    if not all(needs):
        return []
    found_at: dict[int, str] = {}
    for anchor in free(rules.link_terms):
        s, at = text.sentence(anchor), text.word_at(anchor)
        b = text.bounds
        if s not in found_at and all(any(
            b[s] <= p < b[s + 1] or abs(text.word_at(p) - at) <= window for p in need)
            for need in needs
        ):
            found_at[s] = textwrap.shorten(text.doc[b[s]:b[s + 1]], 300, placeholder="...")
    return [(text.bounds[s], found_at[s]) for s in sorted(found_at)]
