"""Topic tagging: weighted terms, phrases, entity conditions and relational links from a
user-editable YAML taxonomy (``enrich/taxonomy.yaml``, schema documented at its top and in
``docs/topics.md``). Pure: no I/O except reading the taxonomy file in ``load_taxonomy``.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from newswatch.errors import ConfigError
from newswatch.models import Entity, TopicTag

DEFAULT_PATH = Path(__file__).with_name("taxonomy.yaml")
SETTINGS = {"title_weight": 2.0, "saturation": 3.0, "length_scale": 250.0}
TOPIC_KEYS = {
    "label", "description", "threshold", "terms", "phrases", "entities", "require_all",
    "require_any", "exclude", "link_terms", "link",
}
LINK_KEYS = {"entities", "groups", "window", "weight", "required", "aliases"}
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])|\n+")
WORD = re.compile(r"\w+")
VOWELS = "aeiou"


@dataclass(frozen=True)
class Matcher:
    """One term or phrase and its compiled pattern (inflections included)."""

    text: str
    weight: float
    pattern: re.Pattern[str] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Condition:
    """Satisfied when an entity with one of ``ids`` has salience >= ``min_salience``."""

    ids: tuple[str, ...]
    min_salience: float = 0.0
    weight: float = 0.0


@dataclass(frozen=True)
class Link:
    """A relational rule: a link term with every entity and term group near it."""

    terms: tuple[Matcher, ...]
    entities: tuple[tuple[str, ...], ...] = ()  # each: alternative ids
    groups: tuple[tuple[Matcher, ...], ...] = ()
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    window: int = 12
    weight: float = 2.0
    required: bool = True


@dataclass(frozen=True)
class Topic:
    name: str
    label: str
    description: str = ""
    threshold: float = 0.5
    terms: tuple[Matcher, ...] = ()
    phrases: tuple[Matcher, ...] = ()
    entities: tuple[Condition, ...] = ()
    require_all: tuple[Condition, ...] = ()
    require_any: tuple[Condition, ...] = ()
    exclude: tuple[Matcher, ...] = ()  # weight < 0 means veto
    link: Link | None = None
    title_weight: float = SETTINGS["title_weight"]
    saturation: float = SETTINGS["saturation"]
    length_scale: float = SETTINGS["length_scale"]


def word_forms(word: str) -> str:
    """Regex for ``word`` and its light inflections: ``=w`` exact, ``w*`` prefix."""
    if word.startswith("="):
        return re.escape(word[1:])
    if word.endswith("*"):
        return re.escape(word[:-1]) + r"\w*"
    w = word.lower()
    forms = {w, w + "s", w + "es", w + "ed", w + "ing"}
    if w.endswith("y") and len(w) > 2 and w[-2] not in VOWELS:
        forms |= {w[:-1] + "ies", w[:-1] + "ied"}
    if w.endswith("e"):
        forms |= {w + "d", w[:-1] + "ing"}
    if len(w) <= 4 and w[-1] not in VOWELS + "wxy" and w[-2] in VOWELS and w[-3:-2] not in VOWELS:
        forms |= {w + w[-1] + "ed", w + w[-1] + "ing"}  # ship -> shipped, shipping
    return "(?:" + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)) + ")"


def compile_text(text: str) -> re.Pattern[str]:
    """Case-insensitive, word-bounded; a phrase inflects its last word, spaces match '-'."""
    words = text.split()
    parts = [re.escape(w) if w[0] != "=" else re.escape(w[1:]) for w in words[:-1]]
    body = r"[\s\-]+".join([*parts, word_forms(words[-1])])
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def load_taxonomy(path: Path | None = None) -> list[Topic]:
    """The topics of ``path`` (default: the bundled taxonomy); ConfigError when invalid."""
    path = path or DEFAULT_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read topic taxonomy {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"topic taxonomy {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("topics"), dict) or not data["topics"]:
        raise ConfigError(f"topic taxonomy {path}: needs a non-empty 'topics' mapping.")
    settings = dict(SETTINGS)
    for key, value in (data.get("settings") or {}).items():
        if key not in SETTINGS or not _is_num(value) or value <= 0:
            raise ConfigError(f"topic taxonomy {path}: invalid setting {key!r}: {value!r}.")
        settings[key] = float(value)
    return [_topic(str(name), spec, settings, path) for name, spec in data["topics"].items()]


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _topic(name: str, spec: Any, settings: dict[str, float], path: Path) -> Topic:
    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"topic taxonomy {path}: topic {name!r}, field {key!r}: {why}.")

    if not isinstance(spec, dict):
        raise bad("(topic)", "must be a mapping of fields")
    if unknown := sorted(set(spec) - TOPIC_KEYS):
        raise bad(unknown[0], f"unknown field (known: {', '.join(sorted(TOPIC_KEYS))})")
    if not isinstance(spec.get("label"), str) or not spec["label"].strip():
        raise bad("label", "a non-empty string is required")
    threshold = spec.get("threshold", 0.5)
    if not _is_num(threshold) or not 0 < threshold < 1:
        raise bad("threshold", "must be a number between 0 and 1")

    def weighted(key: str, words: str) -> tuple[Matcher, ...]:
        raw = spec.get(key) or {}
        if not isinstance(raw, dict):
            raise bad(key, "must be a mapping of text to weight")
        out = []
        for text, weight in raw.items():
            if not isinstance(text, str) or not text.strip():
                raise bad(key, f"{text!r} is not a non-empty string")
            if words == "one" and len(text.split()) > 1:
                raise bad(key, f"{text!r} has several words: put it under 'phrases'")
            if words == "several" and len(text.split()) < 2:
                raise bad(key, f"{text!r} is a single word: put it under 'terms'")
            if key == "exclude" and weight == "veto":
                weight = -1.0
            elif not _is_num(weight) or (key == "exclude" and weight < 0):
                raise bad(key, f"{text!r}: weight must be a number" + " >= 0 or veto" * (
                    key == "exclude"))
            out.append(Matcher(text, float(weight), compile_text(text)))
        return tuple(out)

    def conditions(key: str) -> tuple[Condition, ...]:
        raw = spec.get(key) or []
        if not isinstance(raw, list):
            raise bad(key, "must be a list of {ids, min_salience, weight}")
        out = []
        for item in raw:
            ids = item.get("ids") if isinstance(item, dict) else None
            ids = [ids] if isinstance(ids, str) else ids
            sal, weight = (item.get("min_salience", 0), item.get("weight", 0)) if ids else (0, 0)
            if not ids or not all(isinstance(i, str) for i in ids) or not _is_num(sal) \
                    or not 0 <= sal <= 1 or not _is_num(weight):
                raise bad(key, f"{item!r}: needs ids, min_salience in [0, 1], numeric weight")
            out.append(Condition(tuple(ids), float(sal), float(weight)))
        return tuple(out)

    link = None
    if "link_terms" in spec or "link" in spec:
        raw_link = spec.get("link") or {}
        terms = spec.get("link_terms")
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) for t in terms):
            raise bad("link_terms", "a non-empty list of words or phrases is required")
        if not isinstance(raw_link, dict) or (unknown := sorted(set(raw_link) - LINK_KEYS)):
            raise bad("link", f"must be a mapping with keys {', '.join(sorted(LINK_KEYS))}")
        groups, ents, aliases = (raw_link.get(k) or d for k, d in
                                 (("groups", []), ("entities", []), ("aliases", {})))
        try:
            link = Link(
                terms=tuple(Matcher(t, 0.0, compile_text(t)) for t in terms),
                entities=tuple((e,) if isinstance(e, str) else tuple(map(str, e)) for e in ents),
                groups=tuple(tuple(Matcher(t, 0.0, compile_text(t)) for t in g) for g in groups),
                aliases=tuple((str(k), tuple(map(str, v))) for k, v in aliases.items()),
                window=int(raw_link.get("window", 12)),
                weight=float(raw_link.get("weight", 2.0)),
                required=bool(raw_link.get("required", True)),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise bad("link", f"invalid value ({exc})") from None
        if not link.entities and not link.groups:
            raise bad("link", "needs 'entities' or 'groups' to link the link_terms with")
    topic = Topic(
        name=name, label=spec["label"].strip(), description=str(spec.get("description", "")),
        threshold=float(threshold), terms=weighted("terms", "one"),
        phrases=weighted("phrases", "several"), entities=conditions("entities"),
        require_all=conditions("require_all"), require_any=conditions("require_any"),
        exclude=weighted("exclude", "any"),
        link=link, **settings,
    )
    if not (topic.terms or topic.phrases or topic.entities):
        raise bad("terms", "a topic needs terms, phrases or entities")
    return topic


def _damp(count: int) -> float:
    return 1.0 + math.log(count) if count else 0.0


def _best(cond: Condition, salience: Mapping[str, float]) -> float:
    return max((salience.get(i, 0.0) for i in cond.ids), default=0.0)


def _holds(cond: Condition, salience: Mapping[str, float]) -> bool:
    best = _best(cond, salience)
    return best > 0 and best >= cond.min_salience


def _overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(a < end and start < b for a, b in spans)


def tag_topics(
    title: str, text: str, entities: Sequence[Entity], taxonomy: Sequence[Topic]
) -> list[TopicTag]:
    """The topics of an article, best first. Deterministic; scores in [0, 1]."""
    doc = f"{title}\n\n{text}"
    words = [m.start() for m in WORD.finditer(doc)]
    body_words = len(WORD.findall(text))
    salience: dict[str, float] = {}
    for e in entities:
        salience[e.id] = max(salience.get(e.id, 0.0), e.salience)
    tags = [tag for topic in taxonomy
            if (tag := _score(topic, doc, len(title), words, body_words, entities, salience))]
    return sorted(tags, key=lambda t: (-t.score, t.tag))


def _score(topic: Topic, doc: str, title_end: int, words: list[int], body_words: int,
           entities: Sequence[Entity], salience: dict[str, float]) -> TopicTag | None:
    if not all(_holds(c, salience) for c in topic.require_all):
        return None
    if topic.require_any and not any(_holds(c, salience) for c in topic.require_any):
        return None
    masked: list[tuple[int, int]] = []
    raw, fired_ex = 0.0, {}
    for ex in topic.exclude:
        spans = [m.span() for m in ex.pattern.finditer(doc)]
        if spans and ex.weight < 0:
            return None
        if spans:
            masked += spans
            raw -= ex.weight * _damp(len(spans))
            fired_ex[ex.text] = len(spans)
    # every stretch of text counts for one term or phrase at most: the longest match wins
    hits = sorted(((h.start(), h.end(), kind, m) for kind, ms in
                   (("phrases", topic.phrases), ("terms", topic.terms)) for m in ms
                   for h in m.pattern.finditer(doc)), key=lambda h: (h[0] - h[1], h[0]))
    taken = list(masked)
    counts: dict[tuple[str, Matcher], list[int]] = {}
    for start, end, kind, m in hits:
        if not _overlaps(start, end, taken):
            taken.append((start, end))
            counts.setdefault((kind, m), []).append(start)
    evidence: dict[str, Any] = {"terms": {}, "phrases": {}, "entities": []}
    for (kind, m), starts in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1].text)):
        in_title = sum(1 for h in starts if h < title_end)
        raw += m.weight * (_damp(len(starts) - in_title) + topic.title_weight * (in_title > 0))
        evidence[kind][m.text] = len(starts)
    if topic.link is not None:
        links = _find_links(topic.link, doc, words, entities, masked)
        evidence["link"] = links[0][1] if links else ""
        if not links and topic.link.required:
            return None
        in_title = bool(links) and links[0][0] == 0
        raw += topic.link.weight * (_damp(len(links) - in_title) + topic.title_weight * in_title)
    raw /= 1.0 + 0.5 * math.log1p(body_words / topic.length_scale)
    for cond in topic.entities:
        if _holds(cond, salience):
            raw += cond.weight * _best(cond, salience)
            evidence["entities"] += [i for i in cond.ids if i in salience]
    if fired_ex:
        evidence["exclude"] = fired_ex
    score = max(raw, 0.0) / (max(raw, 0.0) + topic.saturation)
    if score < topic.threshold:
        return None
    evidence["entities"] = sorted(set(evidence["entities"]))
    return TopicTag(topic.name, round(score, 3), evidence)


def _mentions(link: Link, doc: str, entities: Sequence[Entity]) -> list[list[int]]:
    """Start offsets of the mentions of each linked entity group (surfaces, name, aliases)."""
    aliases = dict(link.aliases)
    out = []
    for group in link.entities:
        names = {a for eid in group for a in aliases.get(eid, ())}
        names |= {n for e in entities if e.id in group for n in (e.name, *e.surfaces)}
        starts: set[int] = set()
        for name in filter(None, names):
            flags = 0 if len(name) <= 3 else re.IGNORECASE  # "US" is not "us"
            pattern = rf"(?<!\w){re.escape(name)}(?!\w)"
            starts |= {m.start() for m in re.finditer(pattern, doc, flags)}
        out.append(sorted(starts))
    return out


def _find_links(link: Link, doc: str, words: list[int], entities: Sequence[Entity],
                masked: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """(index, text) of the sentences (0 = title) where a link term has every entity group
    and term group near it."""
    def free(ms: tuple[Matcher, ...]) -> list[int]:
        return sorted(h.start() for m in ms for h in m.pattern.finditer(doc)
                      if not _overlaps(h.start(), h.end(), masked))

    needs = _mentions(link, doc, entities) + [free(g) for g in link.groups]
    if any(not n for n in needs):
        return []
    bounds = [0] + [m.end() for m in SENTENCE_END.finditer(doc)] + [len(doc) + 1]
    found: dict[int, str] = {}
    for anchor in free(link.terms):
        s = bisect.bisect_right(bounds, anchor) - 1
        lo, hi = bounds[s], bounds[s + 1]
        at = bisect.bisect_right(words, anchor)
        if s not in found and all(
            any(lo <= p < hi or abs(bisect.bisect_right(words, p) - at) <= link.window
                for p in need) for need in needs
        ):
            sentence = " ".join(doc[lo:hi].split())
            found[s] = sentence if len(sentence) <= 300 else sentence[:297] + "..."
    return sorted(found.items())
