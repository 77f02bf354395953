"""Multilingual evaluation: entity linking, topics, cross-lingual stories and speed per language.

    python eval/multilingual.py [--part enrich|stories|all] [--data DIR] [--json OUT]

Reads the authored set in tests/fixtures/multilingual/ (README.md there: one YAML per
language, gold gazetteer ids, topics and events). ``enrich``: runs the real enrichment
(``enrich.analyze.analyze`` with the configured spaCy model, the bundled gazetteer and
taxonomy) language by language and prints, per language, entity linking P/R/F1 (gold ids
against the predicted ids that are gazetteer ids), topic P/R per topic and overall, and
articles/s (one process, thread pools of one; the first call, which loads the language's
models, is timed apart). ``stories``: feeds the whole set in date order through the real
story stage (as eval/stories.py does) and prints per language the share of non-English
articles placed in the story that holds their event's English article, the cross-lingual
false merges among the hard negatives (events.yaml ``confusable``), whether novelty marks
``adds`` articles and not ``repeat`` ones as follow-ups, and BCubed P/R/F1 over the set.
Figures only; no targets are enforced (exit status 0 unless the set itself is broken).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SET_DIR = ROOT / "tests" / "fixtures" / "multilingual"
LANGUAGES = ("en", "ru", "uk", "ko", "ja", "zh")
KEYS = frozenset({"id", "lang", "published", "outlet", "title", "text", "event", "novelty",
                  "entities", "topics"})
NOVELTY = ("first", "repeat", "adds")
GENERAL_TOPICS = frozenset({"markets", "sports", "weather"})  # not the domain's topics
FOLLOW_UP = 0.3  # alerts.watches.DEFAULT_MIN_NOVELTY: a follow-up alert from this novelty


@dataclass(frozen=True)
class Labelled:
    id: str
    lang: str
    published: datetime
    outlet: str
    title: str
    text: str
    event: str
    novelty: str
    entities: frozenset[str]
    topics: frozenset[str]


def load_set(directory: Path = SET_DIR) -> list[Labelled]:
    """Every article of the set, in date order (then id); raises ValueError on a bad entry."""
    out: list[Labelled] = []
    for lang in LANGUAGES:
        path = directory / f"{lang}.yaml"
        if not path.exists():
            continue
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if set(raw) != KEYS:
                raise ValueError(f"{path.name}: {raw.get('id')}: keys {sorted(set(raw) ^ KEYS)}")
            if raw["lang"] != lang or raw["novelty"] not in NOVELTY:
                raise ValueError(f"{path.name}: {raw['id']}: lang or novelty is wrong")
            published = datetime.fromisoformat(raw["published"])
            if published.utcoffset() is None:
                raise ValueError(f"{path.name}: {raw['id']}: published has no time zone")
            out.append(Labelled(raw["id"], lang, published, str(raw["outlet"]), raw["title"],
                                raw["text"].strip(), raw["event"], raw["novelty"],
                                frozenset(raw["entities"]), frozenset(raw["topics"])))
    if len({a.id for a in out}) != len(out):
        raise ValueError("article ids are not unique")
    return sorted(out, key=lambda a: (a.published, a.id))


def load_events(directory: Path = SET_DIR) -> dict[str, dict[str, Any]]:
    """events.yaml, with ``confusable`` made symmetric (a set per event)."""
    events: dict[str, dict[str, Any]] = yaml.safe_load(
        (directory / "events.yaml").read_text(encoding="utf-8"))
    for event in events.values():
        event["confusable"] = set(event.get("confusable") or ())
    for name, event in events.items():
        for other in event["confusable"]:
            events[other]["confusable"].add(name)
    return events


def prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    """Micro precision, recall and F1 from counts (an empty side scores 1.0, as in scoring)."""
    p = tp / (tp + fp) if tp + fp else (1.0 if not fn else 0.0)
    r = tp / (tp + fn) if tp + fn else (1.0 if not fp else 0.0)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3),
            "tp": tp, "fp": fp, "fn": fn}


def score_entities(articles: Sequence[Labelled], predicted: Sequence[set[str]],
                   known: set[str]) -> dict[str, Any]:
    """Linking P/R/F1 of gold gazetteer ids against predicted ids that are gazetteer ids."""
    tp = fp = fn = 0
    missed: Counter[str] = Counter()
    spurious: Counter[str] = Counter()
    for article, ids in zip(articles, predicted, strict=True):
        ours = ids & known
        tp += len(ours & article.entities)
        fp += len(ours - article.entities)
        fn += len(article.entities - ours)
        missed.update(article.entities - ours)
        spurious.update(ours - article.entities)
    return {**prf(tp, fp, fn), "missed": dict(missed.most_common(8)),
            "spurious": dict(spurious.most_common(8))}


def score_topics(articles: Sequence[Labelled], predicted: Sequence[set[str]],
                 topics: Sequence[str]) -> dict[str, Any]:
    """Per-topic and overall (micro) P/R/F1, and off-topic articles given a domain topic."""
    per: dict[str, Any] = {}
    totals = [0, 0, 0]
    for topic in topics:
        tp = sum(topic in p and topic in a.topics for a, p in zip(articles, predicted, strict=True))
        fp = sum(topic in p and topic not in a.topics for a, p in zip(articles, predicted, strict=True))
        fn = sum(topic in a.topics and topic not in p for a, p in zip(articles, predicted, strict=True))
        if tp + fp + fn:
            per[topic] = prf(tp, fp, fn)
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
    off = [a.id for a, p in zip(articles, predicted, strict=True)
           if a.event.startswith("off-") and p - GENERAL_TOPICS]
    wrong = [{"id": a.id, "gold": sorted(a.topics), "tagged": sorted(p)}
             for a, p in zip(articles, predicted, strict=True) if p != a.topics]
    return {"overall": prf(*totals), "per_topic": per, "off_topic_tagged": off,
            "differs": wrong[:10]}


def evaluate_enrich(articles: Sequence[Labelled], nlp: Any, gazetteer: Any,
                    taxonomy: Sequence[Any]) -> dict[str, Any]:
    """Per language: detected language, entities, topics and speed of ``analyze``."""
    from enrich.analyze import Document, analyze

    known = {e.id for e in gazetteer.entries()}
    names = [t.name for t in taxonomy]
    report: dict[str, Any] = {}
    for lang in LANGUAGES:
        mine = [a for a in articles if a.lang == lang]
        if not mine:
            continue
        docs = [Document(a.title, a.text) for a in mine]
        started = time.perf_counter()
        analyze(docs[:1], nlp, gazetteer, taxonomy)  # loads the language's models, if any
        first = time.perf_counter() - started
        started = time.perf_counter()
        results = analyze(docs, nlp, gazetteer, taxonomy)
        seconds = time.perf_counter() - started
        entities = [{e.id for e in r.entities} for r in results]
        topics = [{t.tag for t in r.topics} for r in results]
        report[lang] = {
            "articles": len(mine),
            "language_detected": round(sum(r.language == lang for r in results) / len(mine), 3),
            "skipped": sum(bool(r.skipped) for r in results),
            "entities": score_entities(mine, entities, known),
            "topics": score_topics(mine, topics, names),
            "speed": {"articles_per_second": round(len(mine) / seconds, 2) if seconds else 0.0,
                      "first_call_seconds": round(first, 2)},
        }
    return report


def print_enrich(report: dict[str, Any]) -> None:
    print("Multilingual set: entity linking (gazetteer ids), topics (micro), enrich speed")
    print(f"{'lang':<5}{'n':>4}{'lang ok':>8}   entity P/R/F1        topic P/R/F1       "
          f"off-topic tagged   art/s  (first call s)")
    for lang, r in report.items():
        e, t = r["entities"], r["topics"]["overall"]
        print(f"{lang:<5}{r['articles']:>4}{r['language_detected']:>8.2f}   "
              f"{e['precision']:.3f} {e['recall']:.3f} {e['f1']:.3f}   "
              f"{t['precision']:.3f} {t['recall']:.3f} {t['f1']:.3f}   "
              f"{len(r['topics']['off_topic_tagged']):>8}        "
              f"{r['speed']['articles_per_second']:>7.2f}  ({r['speed']['first_call_seconds']})")
    print("\nper topic P/R (support = tp + fn)")
    topics = sorted({t for r in report.values() for t in r["topics"]["per_topic"]})
    print(f"{'topic':<16}" + "".join(f"{lang:>13}" for lang in report))
    for topic in topics:
        cells = []
        for r in report.values():
            s = r["topics"]["per_topic"].get(topic)
            cells.append(f"{s['precision']:.2f}/{s['recall']:.2f} {s['tp'] + s['fn']:>2}"
                         if s else "-")
        print(f"{topic:<16}" + "".join(f"{c:>13}" for c in cells))
    for lang, r in report.items():
        e = r["entities"]
        if e["missed"] or e["spurious"]:
            print(f"  {lang} missed {e['missed']}  spurious {e['spurious']}")


def _stories_eval() -> ModuleType:
    """eval/stories.py (its load_store, cluster and scorers), loaded by path: its module
    name would shadow the ``stories`` package."""
    name = "newswatch_eval_stories"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "eval" / "stories.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def score_stories(articles: Sequence[Labelled], events: dict[str, dict[str, Any]],
                  story: dict[str, str], novelty: dict[str, float | None]) -> dict[str, Any]:
    """Cross-lingual placement, hard-negative merges, novelty and BCubed from predictions
    keyed by article id (``story``: id -> story id; ``novelty``: id -> novelty)."""
    se = _stories_eval()
    gold = {a.id: a.event for a in articles}
    langs = {a.id: a.lang for a in articles}
    english: dict[str, Counter[str]] = defaultdict(Counter)
    for a in articles:
        if a.lang == "en":
            english[a.event][story[a.id]] += 1
    per: dict[str, Any] = {}
    merges: list[tuple[str, str]] = []
    false_merges = 0
    for i, a in enumerate(articles):
        for b in articles[i + 1:]:
            if a.lang != b.lang and a.event != b.event and story[a.id] == story[b.id]:
                false_merges += 1
                if b.event in events.get(a.event, {}).get("confusable", ()):
                    merges.append((a.id, b.id))
    for lang in LANGUAGES[1:]:
        mine = [a for a in articles if a.lang == lang]
        if not mine:
            continue
        same = [a for a in mine if english.get(a.event)]
        right = [a for a in same if story[a.id] == english[a.event].most_common(1)[0][0]]
        marked = [a for a in right if novelty.get(a.id) is not None]
        agree = [a for a in marked
                 if (novelty[a.id] >= FOLLOW_UP) == (a.novelty == "adds")]  # type: ignore[operator]
        by_kind = {k: [novelty[a.id] for a in marked if a.novelty == k] for k in ("repeat", "adds")}
        per[lang] = {
            "same_event": len(same), "in_english_story": len(right),
            "share": round(len(right) / len(same), 3) if same else 0.0,
            "hard_negative_merges": sum(lang in (langs[x], langs[y]) for x, y in merges),
            "novelty_right": f"{len(agree)}/{len(marked)}",
            "novelty_mean": {k: round(sum(v) / len(v), 3) if v else None  # type: ignore[arg-type]
                             for k, v in by_kind.items()},
        }
    placed = sum(p["in_english_story"] for p in per.values())
    wanted = sum(p["same_event"] for p in per.values())
    return {
        "per_language": per,
        "cross_lingual_share": round(placed / wanted, 3) if wanted else 0.0,
        "hard_negative_merges": len(merges), "hard_negative_pairs": merges[:10],
        "cross_lingual_false_merges": false_merges,
        "bcubed": [round(v, 3) for v in se.bcubed(story, gold)],
        "pairwise": [round(v, 3) for v in se.pairwise(story, gold)],
        "stories": len(set(story.values())), "events": len(set(gold.values())),
    }


def evaluate_stories(articles: Sequence[Labelled], events: dict[str, dict[str, Any]],
                     workdir: Path) -> dict[str, Any]:
    """The real story stage over the whole set (a fresh store in ``workdir``)."""
    from core.settings import load_settings
    from stories.similarity import Params
    from stories.store import StoryStore

    se = _stories_eval()
    s = load_settings(env={})
    params = Params(threshold=s.story_threshold, dormant_days=s.story_dormant_days,
                    reopen_days=s.story_reopen_days)
    items = [se.Item(a.id, a.title, a.text, a.outlet, a.published, a.event) for a in articles]
    rt = se.load_store(items, workdir)  # enriches; the items' keys become article ids
    try:
        pred, _duplicates, speed = se.cluster(rt, params)
        store = StoryStore(rt.store)
        ids = {a.id: item.key for a, item in zip(articles, items, strict=True)}
        story = {a: pred[k] for a, k in ids.items()}
        novelty = {a: store.story_fields(k)["novelty"] for a, k in ids.items()}
    finally:
        rt.close()
    result = score_stories(articles, events, story, novelty)
    result["articles_per_second"] = round(speed, 1)
    return result


def print_stories(r: dict[str, Any]) -> None:
    print(f"\nCross-lingual stories: {r['stories']} stories for {r['events']} events; "
          f"BCubed P/R/F1 {'/'.join(f'{v:.3f}' for v in r['bcubed'])}; "
          f"pairwise {'/'.join(f'{v:.3f}' for v in r['pairwise'])}; "
          f"{r['articles_per_second']} art/s")
    print(f"{'lang':<5}{'same-event':>11}{'in EN story':>12}{'share':>7}{'hard-neg merges':>16}"
          f"{'novelty right':>14}   mean novelty repeat / adds")
    for lang, p in r["per_language"].items():
        m = p["novelty_mean"]
        print(f"{lang:<5}{p['same_event']:>11}{p['in_english_story']:>12}{p['share']:>7.2f}"
              f"{p['hard_negative_merges']:>16}{p['novelty_right']:>14}   {m['repeat']} / {m['adds']}")
    print(f"all  share in the English story {r['cross_lingual_share']:.3f}; hard-negative "
          f"merges {r['hard_negative_merges']}; any cross-lingual false merges "
          f"{r['cross_lingual_false_merges']}")
    for a, b in r["hard_negative_pairs"]:
        print(f"  merged: {a} + {b}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["enrich", "stories", "all"], default="all")
    parser.add_argument("--data", type=Path, default=SET_DIR, help="the set's directory")
    parser.add_argument("--json", type=Path, help="write the report as JSON here")
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one core: before any model library is imported
    articles = load_set(args.data)
    events = load_events(args.data)
    counts = Counter(a.lang for a in articles)
    print(f"{len(articles)} articles ({', '.join(f'{k} {v}' for k, v in counts.items())}), "
          f"{len({a.event for a in articles})} events")
    report: dict[str, Any] = {"articles": dict(counts)}
    if args.part in ("enrich", "all"):
        from core.settings import load_settings
        from enrich.gazetteer import Gazetteer
        from enrich.nlp import load_model
        from enrich.topics import load_taxonomy

        nlp = load_model(load_settings(env={}).nlp_model)
        report["enrich"] = evaluate_enrich(articles, nlp, Gazetteer.load(), load_taxonomy())
        print_enrich(report["enrich"])
    if args.part in ("stories", "all"):
        with tempfile.TemporaryDirectory() as tmp:
            report["stories"] = evaluate_stories(articles, events, Path(tmp))
        print_stories(report["stories"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
