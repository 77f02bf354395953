"""Topic tagging from a user-editable YAML taxonomy (``enrich/taxonomy.yaml``, schema in its
header and ``docs/topics.md``): weighted terms and phrases, entity conditions, exclusions and
relational links, in English and, through each topic's ``languages`` blocks, in Russian,
Ukrainian, Korean, Japanese and Chinese (matched by ``enrich.languages.topic_terms``). Pure
and deterministic; the only I/O is ``load_taxonomy`` reading the file.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError
from core.models import Entity, TopicTag
from enrich.languages.topic_terms import (
    LANGUAGES,
    Analysed,
    RawRules,
    Rules,
    compile_rules,
    find_links,
    parse_rules,
)

DEFAULT_PATH = Path(__file__).with_name("taxonomy.yaml")
SETTINGS = {"title_weight": 2.0, "saturation": 3.0, "length_scale": 250.0,
            "language_threshold": 1.0}
TOPIC_KEYS = frozenset({"label", "description", "threshold", "terms", "phrases", "entities",
                        "require_all", "require_any", "exclude", "link_terms", "link",
                        "languages"})
LINK_KEYS = frozenset({"entities", "groups", "window", "weight", "required", "aliases"})
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])|\n+")
WORD = re.compile(r"\w+")
VOWELS = "aeiou"


# Characters other than A-Z and a-z that a case-insensitive pattern matches to an ASCII
# letter (İ ı ſ and the Kelvin sign): in a text holding one, the substring prefilter is off.
_FOLDS_TO_ASCII = frozenset("\u0130\u0131\u017f\u212a")


@dataclass(frozen=True)
class Matcher:  # a term or phrase with its weight and compiled pattern
    text: str
    weight: float  # for an exclusion, < 0 means veto
    pattern: re.Pattern[str] = field(repr=False, compare=False)
    # lower-case text every match contains ("" when unknown): a text without it is skipped
    literal: str = field(default="", repr=False, compare=False)

    def finditer(self, doc: str, lowered: str | None) -> Iterator[re.Match[str]]:
        """The pattern's matches in ``doc``; ``lowered`` (``doc.lower()``, or None) lets a
        cheap substring test skip a pattern that cannot match."""
        if lowered is not None and self.literal and self.literal not in lowered:
            return iter(())
        return self.pattern.finditer(doc)


@dataclass(frozen=True)
class Condition:  # holds when an entity of ``ids`` has salience >= min_salience (and > 0)
    ids: tuple[str, ...]
    min_salience: float = 0.0
    weight: float = 0.0


@dataclass(frozen=True)
class Link:  # a link term with a mention of every entity group and a hit of every term group
    terms: tuple[Matcher, ...]
    entities: tuple[tuple[str, ...], ...] = ()  # each group: alternative ids
    groups: tuple[tuple[Matcher, ...], ...] = ()
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    window: int = 12  # words; 0 = same sentence only
    weight: float = 2.0
    required: bool = True


@dataclass(frozen=True)
class Topic:  # one topic of the taxonomy, patterns compiled
    name: str
    label: str
    description: str = ""
    threshold: float = 0.5
    terms: tuple[Matcher, ...] = ()
    phrases: tuple[Matcher, ...] = ()
    entities: tuple[Condition, ...] = ()
    require_all: tuple[Condition, ...] = ()
    require_any: tuple[Condition, ...] = ()
    exclude: tuple[Matcher, ...] = ()
    link: Link | None = None
    languages: tuple[tuple[str, RawRules], ...] = ()  # per language, compiled on first use
    title_weight: float = SETTINGS["title_weight"]
    saturation: float = SETTINGS["saturation"]
    length_scale: float = SETTINGS["length_scale"]
    language_threshold: float = SETTINGS["language_threshold"]  # threshold factor, not English


def word_forms(word: str) -> str:
    """Regex for ``word`` and its light inflections; ``=word`` exact, ``word*`` prefix."""
    if word.startswith("="):
        return re.escape(word[1:])
    if word.endswith("*"):
        return re.escape(word[:-1]) + r"\w*"
    w = word.lower()
    forms = {w, w + "s", w + "es", w + "ed", w + "ing"}
    if w.endswith("y") and len(w) > 2 and w[-2] not in VOWELS:
        forms |= {w[:-1] + "ies", w[:-1] + "ied"}  # supply -> supplies, supplied
    if w.endswith("e"):
        forms |= {w + "d", w[:-1] + "ing"}  # drone -> droned, droning
    cvc = len(w) in (3, 4) and [c in VOWELS for c in w[-3:]] == [False, True, False]
    if cvc and w[-1] not in "wxy":
        forms |= {w + w[-1] + "ed", w + w[-1] + "ing"}  # ship -> shipped, shipping
    return "(?:" + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)) + ")"


def matcher(text: str, weight: float) -> Matcher:
    """A term or phrase compiled, with the literal every match of it contains."""
    return Matcher(text, weight, compile_text(text), required_literal(text))


def required_literal(text: str) -> str:
    """Lower-case ASCII text that every match of ``compile_text(text)`` contains: the first
    word of a phrase, else the part of the word all its ``word_forms`` share ("" when not
    ASCII)."""
    words = text.split()
    first = words[0].removeprefix("=").lower()
    # a prefix ("word*"), or a word whose forms drop its last letter (suppli-es, dron-ing)
    if len(words) == 1 and not words[0].startswith("=") and first.endswith(("*", "y", "e")):
        first = first[:-1]
    return first if first.isascii() else ""


def compile_text(text: str) -> re.Pattern[str]:
    """Case-insensitive whole words; a phrase inflects its last word; spaces also match '-'."""
    words = text.split() if isinstance(text, str) else []
    if not words or not all(WORD.search(w) for w in words):
        raise ValueError(f"{text!r} is not a word or phrase")
    parts = [re.escape(w.removeprefix("=")) for w in words[:-1]]
    body = r"[\s\-]+".join([*parts, word_forms(words[-1])])
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def load_taxonomy(path: Path | None = None) -> list[Topic]:
    """The topics of ``path`` (default: the bundled taxonomy); ConfigError when invalid.
    Compiled once per version of the file: an edit (new size or modification time) is
    read on the next call."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        stat = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read topic taxonomy {path}: {exc.strerror or exc}.") from None
    return list(_compiled(str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _compiled(name: str, _mtime_ns: int, _size: int) -> tuple[Topic, ...]:
    path = Path(name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read topic taxonomy {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"topic taxonomy {path} is not UTF-8 text (a binary file?).") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"topic taxonomy {path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict) or not isinstance(data.get("topics"), dict) or not data["topics"]:
        raise ConfigError(f"topic taxonomy {path}: needs a non-empty 'topics' mapping.")
    settings = dict(SETTINGS)
    for key, value in (data.get("settings") or {}).items():
        if key not in SETTINGS or not _is_num(value) or value <= 0 or (
                key == "language_threshold" and value > 1):
            raise ConfigError(f"topic taxonomy {path}: invalid setting {key!r}: {value!r}.")
        settings[key] = float(value)
    return tuple(_topic(str(name), spec, settings, path) for name, spec in data["topics"].items())


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _topic(name: str, spec: Any, settings: dict[str, float], path: Path) -> Topic:
    def need(ok: Any, key: str, why: str) -> None:
        if not ok:
            raise ConfigError(f"topic taxonomy {path}: topic {name!r}, field {key!r}: {why}.")

    need(isinstance(spec, dict), "(topic)", "must be a mapping of fields")
    unknown = sorted(set(spec) - TOPIC_KEYS)
    need(not unknown, unknown[0] if unknown else "", f"unknown, use {', '.join(sorted(TOPIC_KEYS))}")
    need(isinstance(spec.get("label"), str) and spec["label"].strip(), "label", "text needed")
    threshold = spec.get("threshold", 0.5)
    need(_is_num(threshold) and 0 < threshold < 1, "threshold", "must be between 0 and 1")

    def weighted(key: str, words: str) -> tuple[Matcher, ...]:
        raw = spec.get(key) or {}
        need(isinstance(raw, dict), key, "must be a mapping of word or phrase to weight")
        out = []
        for text, weight in raw.items():
            n = len(text.split()) if isinstance(text, str) else 0
            need(not ((words == "one" and n > 1) or (words == "several" and n == 1)), key,
                 f"{text!r}: one word goes under 'terms', several words under 'phrases'")
            w = -1.0 if key == "exclude" and weight == "veto" else weight  # < 0: veto
            need(_is_num(w) and (w >= 0 or key != "exclude" or weight == "veto"), key,
                 f"{text!r}: the weight must be a number" + " >= 0 or veto" * (key == "exclude"))
            try:
                out.append(matcher(text, float(w)))
            except ValueError as exc:
                need(False, key, str(exc))
        return tuple(out)

    def conditions(key: str) -> tuple[Condition, ...]:
        raw = spec.get(key) or []
        out = []
        for item in raw if isinstance(raw, list) else [None]:
            d: dict[str, Any] = item if isinstance(item, dict) else {}
            ids = [d["ids"]] if isinstance(d.get("ids"), str) else d.get("ids")
            sal, weight = d.get("min_salience", 0), d.get("weight", 0)
            need(ids and all(isinstance(i, str) for i in ids) and _is_num(weight)
                 and _is_num(sal) and 0 <= sal <= 1, key,
                 f"{item!r}: a list of {{ids, min_salience in [0, 1], weight}} is required")
            out.append(Condition(tuple(map(str, ids or ())), float(sal), float(weight)))
        return tuple(out)

    link = None
    if "link_terms" in spec or "link" in spec:
        raw = spec.get("link") or {}
        need(isinstance(spec.get("link_terms"), list) and spec["link_terms"], "link_terms",
             "a non-empty list of words or phrases is required")
        need(isinstance(raw, dict) and not set(raw) - LINK_KEYS, "link",
             f"must be a mapping with keys among {', '.join(sorted(LINK_KEYS))}")
        try:
            link = Link(
                terms=tuple(matcher(t, 0.0) for t in spec["link_terms"]),
                entities=tuple((e,) if isinstance(e, str) else tuple(map(str, e))
                               for e in raw.get("entities") or ()),
                groups=tuple(tuple(matcher(t, 0.0) for t in g)
                             for g in raw.get("groups") or ()),
                aliases=tuple((str(k), tuple(map(str, v)))
                              for k, v in (raw.get("aliases") or {}).items()),
                window=int(raw.get("window", 12)), weight=float(raw.get("weight", 2.0)),
                required=bool(raw.get("required", True)),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            need(False, "link", f"invalid value ({exc})")
        need(link and (link.entities or link.groups), "link", "needs entities or groups")
    languages = spec.get("languages") or {}
    need(isinstance(languages, dict) and set(languages) <= set(LANGUAGES), "languages",
         f"a mapping from a language among {', '.join(LANGUAGES)} to its terms")
    blocks = tuple((str(lang), parse_rules(block, need)) for lang, block in languages.items())
    for lang, block in blocks:
        need(not link or block.link_terms, f"languages.{lang}.link_terms", "the topic has a link")
        need(not link or not link.groups or len(block.groups or ()) == len(link.groups),
             f"languages.{lang}.groups", f"the link has {len(link.groups) if link else 0} groups")
        need(block.terms or block.phrases, f"languages.{lang}.terms", "needs terms or phrases")
    topic = Topic(
        name=name, label=spec["label"].strip(), description=str(spec.get("description", "")),
        threshold=float(threshold), terms=weighted("terms", "one"),
        phrases=weighted("phrases", "several"), entities=conditions("entities"),
        require_all=conditions("require_all"), require_any=conditions("require_any"),
        exclude=weighted("exclude", "any"), link=link, languages=blocks, **settings,
    )
    need(topic.terms or topic.phrases or topic.entities, "terms", "needs terms or phrases")
    return topic


def _damp(count: int) -> float:
    return 1.0 + math.log(count) if count > 0 else 0.0


def _best(cond: Condition, salience: Mapping[str, float]) -> float:  # 0 unless it holds
    best = max((salience.get(i, 0.0) for i in cond.ids), default=0.0)
    return best if best > 0 and best >= cond.min_salience else 0.0


def _overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:  # any shared char
    return any(a < end and start < b for a, b in spans)


Find = Callable[[Any], list[tuple[int, int]]]  # a term's (start, end) spans in the article
Links = Callable[[list[tuple[int, int]]], list[tuple[int, str]]]  # masked spans -> links


def tag_topics(title: str, text: str, entities: Sequence[Entity],
               taxonomy: Sequence[Topic], language: str = "en") -> list[TopicTag]:
    """The topics of an article whose score reaches their threshold, best first. ``language``
    (ISO 639-1) picks the terms: English ones for "en", else the topic's block for that
    language (a topic without one is not tagged); entity conditions hold in every language."""
    doc = f"{title}\n\n{text}"
    salience = {e.id: e.salience for e in sorted(entities, key=lambda e: e.salience)}
    if language == "en":
        lowered = doc.lower() if _FOLDS_TO_ASCII.isdisjoint(doc) else None
        words = [m.start() for m in WORD.finditer(doc)]
        body_words = len(WORD.findall(text))

        def find(m: Matcher) -> list[tuple[int, int]]:
            return [h.span() for h in m.finditer(doc, lowered)]

        def english(topic: Topic) -> TopicTag | None:
            link = topic.link
            links: Links | None = None if link is None else (
                lambda masked: _find_links(link, doc, lowered, words, entities, masked))
            return _score(topic, topic, find, links, topic.threshold, len(title), body_words,
                          salience)

        tags = [tag for topic in taxonomy if (tag := english(topic))]
    else:
        tags = _tag_language(doc, len(title), language, entities, taxonomy, salience)
    return sorted(tags, key=lambda t: (-t.score, t.tag))


def _tag_language(doc: str, title_end: int, language: str, entities: Sequence[Entity],
                  taxonomy: Sequence[Topic], salience: dict[str, float]) -> list[TopicTag]:
    """Tags from each topic's block for ``language``; the text is read once, on first need."""
    analysed: Analysed | None = None
    tags = []
    for topic in taxonomy:
        raw = dict(topic.languages).get(language)
        if raw is None:
            continue
        rules = compile_rules(raw, language)
        analysed = analysed or Analysed(doc, language)
        text, link = analysed, topic.link
        window = raw.window if raw.window is not None else (link.window if link else 0)

        def links(masked: list[tuple[int, int]], rules: Rules = rules, text: Analysed = text,
                  window: int = window, link: Link | None = link) -> list[tuple[int, str]]:
            groups = link.entities if link else ()
            return find_links(text, rules, groups, entities, window, masked)

        threshold = (raw.threshold if raw.threshold is not None
                     else topic.threshold * topic.language_threshold)
        if tag := _score(topic, rules, text.find, links if link else None, threshold,
                         title_end, text.body_words(title_end), salience):
            tags.append(tag)
    return tags


def _score(topic: Topic, rules: Topic | Rules, find: Find, links: Links | None,
           threshold: float, title_end: int, body_words: int,
           salience: dict[str, float]) -> TopicTag | None:
    if not all(_best(c, salience) for c in topic.require_all) or (
            topic.require_any and not any(_best(c, salience) for c in topic.require_any)):
        return None
    masked: list[tuple[int, int]] = []
    raw, evidence = 0.0, dict[str, Any](terms={}, phrases={}, entities=[], exclude={})
    for ex in rules.exclude:  # another sense of the words: mask the span, subtract or veto
        if spans := find(ex):
            if ex.weight < 0:
                return None
            masked += spans
            raw -= ex.weight * _damp(len(spans))
            evidence["exclude"][ex.text] = len(spans)
    hits = sorted(((start, end, kind, m) for kind, ms in
                   (("phrases", rules.phrases), ("terms", rules.terms)) for m in ms
                   for start, end in find(m)), key=lambda h: (h[0] - h[1], h[0]))
    taken = list(masked)
    found: dict[tuple[str, str], tuple[Any, list[int]]] = {}
    for start, end, kind, m in hits:  # any stretch of text counts once: the longest match
        if not _overlaps(start, end, taken):
            taken.append((start, end))
            found.setdefault((kind, m.text), (m, []))[1].append(start)
    for (kind, text), (m, starts) in sorted(found.items(), key=lambda kv: kv[0]):
        in_title = sum(1 for s in starts if s < title_end)
        raw += m.weight * (_damp(len(starts) - in_title) + topic.title_weight * (in_title > 0))
        evidence[kind][text] = len(starts)
    if topic.link is not None and links is not None:
        linked = links(masked)
        evidence["link"] = linked[0][1] if linked else ""
        if not linked and topic.link.required:
            return None
        in_title = bool(linked) and linked[0][0] < title_end
        raw += topic.link.weight * (_damp(len(linked) - in_title) + topic.title_weight * in_title)
    raw /= 1.0 + 0.5 * math.log1p(body_words / topic.length_scale)
    for cond in topic.entities:
        if best := _best(cond, salience):
            raw += cond.weight * best
            evidence["entities"] += [i for i in cond.ids if i in salience]
    score = max(raw, 0.0) / (max(raw, 0.0) + topic.saturation)
    if score < threshold:
        return None
    evidence["entities"] = sorted(set(evidence["entities"]))
    return TopicTag(topic.name, round(score, 3), evidence)


def _find_links(link: Link, doc: str, lowered: str | None, words: list[int],
                entities: Sequence[Entity], masked: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """(offset, text) of each sentence holding a link term with a mention of every entity
    group and a hit of every term group in the same sentence or within ``window`` words."""
    def free(matchers: Sequence[Matcher]) -> list[int]:
        return sorted(h.start() for m in matchers for h in m.finditer(doc, lowered)
                      if not _overlaps(h.start(), h.end(), masked))

    aliases = dict(link.aliases)
    needs = [free(g) for g in link.groups]
    for group in link.entities:  # mentions: the entities' surfaces and names, plus aliases
        names = {a for eid in group for a in aliases.get(eid, ())}
        names |= {n for e in entities if e.id in group for n in (e.name, *e.surfaces)}
        needs.append(sorted({m.start() for n in names if n.strip() for m in re.finditer(
            rf"(?<!\w){re.escape(n)}(?!\w)", doc, 0 if len(n) <= 3 else re.IGNORECASE)}))
    if not all(needs):
        return []
    bounds = [0] + [m.end() for m in SENTENCE_END.finditer(doc)] + [len(doc) + 1]
    found: dict[int, str] = {}
    for anchor in free(link.terms):
        s = bisect.bisect_right(bounds, anchor) - 1
        at = bisect.bisect_right(words, anchor)
        if s not in found and all(any(
            bounds[s] <= p < bounds[s + 1] or abs(bisect.bisect_right(words, p) - at) <= link.window
            for p in need) for need in needs
        ):
            found[s] = textwrap.shorten(doc[bounds[s]:bounds[s + 1]], 300, placeholder="...")
    return [(bounds[s], found[s]) for s in sorted(found)]
