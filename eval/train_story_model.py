"""Train the story merge decision (stories/model.json) on the development sets.

    python eval/train_story_model.py [--data DIR] [--cache DIR] [--write] [--folds 5]

Feeds each set (clustering-hard-dev, clustering-dev, its same-week variant) through
newswatch's enrichment, then replays it in date order with the gold stories: every article
is compared with each story the real stage would consider (those sharing an index key and
active within the reopen window), giving one feature row per (article, story) pair,
labelled by whether the story is the article's event. Gradient-boosted trees
(scikit-learn, ``pip install -e '.[train]'``; PARAMS below) are fitted to those rows and
exported as plain arrays, which stories/decision.py walks at run time. Figures printed:

* pair-level log-loss and accuracy, cross-validated with folds grouped by event;
* BCubed P/R/F1 of the greedy online clustering the stage does (best candidate at or above the
  threshold, else a new story), on each set, with the model of the folds that did not see
  the event (cross-validated) and with the model trained on everything.

``--write`` stores the model trained on everything in stories/model.json with these
figures. Nothing here runs in the pipeline; the stage only reads the JSON file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import stories as _stories_pkg  # noqa: E402  (the path above comes first)
from stories.decision import Model, continues, decide  # noqa: E402
from stories.evidence import FEATURES, absorb_evidence, evidence, features  # noqa: E402
from stories.similarity import (  # noqa: E402
    Profile,
    absorb,
    actor_keys,
    entity_weights,
    keys_for,
    term_counts,
    tfidf,
)

REOPEN_DAYS = 120.0
DORMANT_DAYS = 7.0
PARAMS = {"n_estimators": 200, "max_depth": 3, "learning_rate": 0.05, "subsample": 0.8,
          "min_samples_leaf": 20}
REOPEN = {"people": 0.15, "places": 0.15, "probability": 0.9}
VERSION = "2026-12-02.1"


@dataclass
class Replayed:
    """One article of a set, as the stage sees it."""

    key: str
    event: str
    ev: Any
    entities: Any
    counts: Counter[str]


@dataclass
class Story:
    profile: Profile = field(default_factory=Profile)
    last: Any = None
    keys: set[str] = field(default_factory=set)


def replay(rt: Any, gold: dict[str, str]) -> list[Replayed]:
    """The set's articles in the stage's order, with their evidence (document frequencies
    counted as the stage counts them: each article sees the ones before it)."""
    from stories.store import StoryStore

    stories = StoryStore(rt.store)
    articles = stories.articles_to_cluster(limit=100_000)
    df: Counter[str] = Counter()
    out = []
    for n, article in enumerate(articles):
        enrichment = rt.store.enrichment(article.id)
        counts = term_counts(article.title, article.text)
        when = article.published_at or article.first_seen_at
        vector = tfidf(counts, df, n + 1)
        ev = evidence(article.title, article.text, enrichment.entities, df, n + 1, when, terms=vector)
        out.append(Replayed(article.id, gold[article.id], ev, enrichment.entities, counts))
        df.update(set(counts))
    return out


def candidates(stories: dict[str, Story], item: Replayed) -> list[str]:
    """As the stage finds them: active stories by any index key, dormant ones (up to the
    reopen window) by the names of their people and places only."""
    keys = set(keys_for(item.ev.terms, entity_weights(item.entities), item.ev.people, item.ev.places))
    actors = set(actor_keys(list(keys)))
    active = item.ev.when - timedelta(days=DORMANT_DAYS)
    since = item.ev.when - timedelta(days=REOPEN_DAYS)
    return [sid for sid, s in stories.items()
            if (s.last >= active and s.keys & keys) or (s.last >= since and s.keys & actors)]


def take(story: Story, item: Replayed) -> None:
    profile = absorb(absorb_evidence(story.profile, item.ev), item.ev.terms, item.entities)
    story.profile = profile
    story.last = item.ev.when if story.last is None else max(story.last, item.ev.when)
    story.keys = set(keys_for(profile.terms, profile.entities, profile.people, profile.places))


def pair_rows(items: Sequence[Replayed]) -> tuple[list[list[float]], list[int], list[str]]:
    """Teacher-forced pairs: each article against the gold stories so far."""
    stories: dict[str, Story] = {}
    x, y, groups = [], [], []
    for item in items:
        for sid in candidates(stories, item):
            values = features(item.ev, stories[sid].profile, stories[sid].last)
            x.append([values[f] for f in FEATURES])
            y.append(int(sid == item.event))
            groups.append(item.event)
        take(stories.setdefault(item.event, Story()), item)
    return x, y, groups


def fit(x: np.ndarray, y: np.ndarray) -> Any:
    try:
        from sklearn.ensemble import GradientBoostingClassifier
    except ImportError:
        raise SystemExit("training needs scikit-learn: pip install -e '.[train]'") from None
    return GradientBoostingClassifier(random_state=0, **PARAMS).fit(x, y)


def exported(clf: Any, threshold: float, reopen: dict[str, float]) -> Model:
    """The fitted trees as the stage reads them (checked against sklearn's own output)."""
    trees = []
    for estimator in clf.estimators_[:, 0]:
        tree = estimator.tree_
        trees.append({
            "feature": [max(0, int(f)) for f in tree.feature],
            "threshold": [round(float(v), 6) for v in tree.threshold],
            "left": [int(v) for v in tree.children_left],
            "right": [int(v) for v in tree.children_right],
            "value": [round(float(v), 6) for v in tree.value[:, 0, 0]],
        })
    base = float(clf._raw_predict_init(np.zeros((1, len(FEATURES))))[0, 0])
    return Model.from_json({"version": VERSION, "features": list(FEATURES), "base": base,
                            "learning_rate": clf.learning_rate, "trees": trees,
                            "threshold": threshold, "reopen": reopen})


def to_json(model: Model) -> dict[str, Any]:
    return {
        "version": model.version, "features": list(model.features), "base": round(model.base, 6),
        "learning_rate": model.learning_rate, "threshold": model.threshold,
        "reopen": dict(model.reopen),
        "trees": [{"feature": list(t.feature), "threshold": list(t.threshold), "left": list(t.left),
                   "right": list(t.right), "value": list(t.value)} for t in model.trees],
    }


def greedy(items: Sequence[Replayed], model_for: Callable[[Replayed], Model]) -> dict[str, str]:
    """The stage's online decision (no near-duplicate step), each article decided by
    ``model_for(article)``."""
    stories: dict[str, Story] = {}
    pred = {}
    for item in items:
        model = model_for(item)
        best: tuple[float, str] | None = None
        for sid in candidates(stories, item):
            story = stories[sid]
            values = features(item.ev, story.profile, story.last)
            gap = abs((item.ev.when - story.last).total_seconds()) / 86400
            p = decide(model, values).probability
            if gap > DORMANT_DAYS and not continues(model, values, p):
                continue
            if p >= model.threshold and (best is None or p > best[0]):
                best = (p, sid)
        sid = best[1] if best else f"new:{item.key}"
        pred[item.key] = sid
        take(stories.setdefault(sid, Story()), item)
    return pred


def bcubed(pred: dict[str, str], gold: dict[str, str]) -> tuple[float, float, float]:
    by_pred: dict[str, set[str]] = defaultdict(set)
    by_gold: dict[str, set[str]] = defaultdict(set)
    for k in gold:
        by_pred[pred[k]].add(k)
        by_gold[gold[k]].add(k)
    p = sum(len(by_pred[pred[k]] & by_gold[gold[k]]) / len(by_pred[pred[k]]) for k in gold) / len(gold)
    r = sum(len(by_pred[pred[k]] & by_gold[gold[k]]) / len(by_gold[gold[k]]) for k in gold) / len(gold)
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def eval_stories() -> Any:
    """eval/stories.py (its name is the package's, so it is loaded from its path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("eval_stories", ROOT / "eval" / "stories.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_stories"] = module
    spec.loader.exec_module(module)
    return module


def load_sets(root: Path, cache: Path | None) -> dict[str, list[Replayed]]:
    ev_stories = eval_stories()

    loaders = {
        "hard-dev (GVC)": lambda: ev_stories.hard_items(root, None),
        "clustering-dev": lambda: ev_stories.clustering_items(root, None),
        "same-week dev": lambda: ev_stories.same_week(ev_stories.clustering_items(root, None)),
    }
    sets = {}
    for name, load in loaders.items():
        items = load()
        home = (cache / hashlib.sha256(name.encode()).hexdigest()[:8]) if cache else None
        with tempfile.TemporaryDirectory() as tmp:
            where = home or Path(tmp)
            fresh = not (where / "newswatch.sqlite").exists()
            where.mkdir(parents=True, exist_ok=True)
            rt = ev_stories.load_store(items, where) if fresh else _open(where, items)
            try:
                gold = {i.key: f"{name}:{i.gold}" for i in items}
                sets[name] = replay(rt, gold)
            finally:
                rt.close()
        print(f"{name}: {len(items)} articles", flush=True)
    return sets


def _open(home: Path, items: list[Any]) -> Any:
    from core.settings import load_settings
    from newswatch.resources import open_runtime

    for item in items:  # the ids load_store gives
        item.key = hashlib.sha256(item.key.encode()).hexdigest()[:20]
    return open_runtime(load_settings(env={"NEWSWATCH_HOME": str(home)}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--cache", help="keep the enriched stores here between runs")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threshold", type=float, default=0.4)
    parser.add_argument("--write", action="store_true", help="write stories/model.json")
    args = parser.parse_args(argv)
    root = eval_stories().data_dir(args.data)
    if not (root / "clustering-hard-dev").exists() or not (root / "clustering-dev").exists():
        print(f"skipped: clustering-hard-dev and clustering-dev are needed under {root}")
        return 0
    sets = load_sets(root, Path(args.cache) if args.cache else None)
    rows = {name: pair_rows(items) for name, items in sets.items()}
    x = np.array([r for name in rows for r in rows[name][0]], dtype=float)
    y = np.array([v for name in rows for v in rows[name][1]], dtype=int)
    groups = [g for name in rows for g in rows[name][2]]
    events = sorted(set(groups) | {i.event for items in sets.values() for i in items})
    # an event's fold by its gold id alone: clustering-dev and its same-week copy share events
    fold_of = {e: int(hashlib.sha256(e.split(":", 1)[1].encode()).hexdigest(), 16) % args.folds
               for e in events}
    print(f"{len(x)} pairs, {int(y.sum())} same-event, {len(events)} events, {args.folds} folds")

    # cross-validated: each event decided by the model of the folds that never saw it
    losses, correct = [], 0
    fold_models = []
    for k in range(args.folds):
        train = np.array([fold_of[g] != k for g in groups])
        clf = fit(x[train], y[train])
        fold_models.append(exported(clf, args.threshold, REOPEN))
        p = clf.predict_proba(x[~train])[:, 1]
        truth = y[~train]
        losses.extend(-(truth * np.log(p + 1e-12) + (1 - truth) * np.log(1 - p + 1e-12)))
        correct += int(((p >= args.threshold) == (truth == 1)).sum())
    print(f"cross-validated pairs: log-loss {np.mean(losses):.4f}, accuracy {correct / len(x):.4f}")
    cv_scores = {}
    for name, items in sets.items():  # the whole set at once, so every rival is present
        pred = greedy(items, lambda item: fold_models[fold_of[item.event]])
        cv_scores[name] = [round(v, 3) for v in bcubed(pred, {i.key: i.event for i in items})]

    clf = fit(x, y)
    model = exported(clf, args.threshold, REOPEN)
    check = np.array([decide(model, dict(zip(FEATURES, row, strict=True))).probability for row in x[:500]])
    drift = float(np.abs(check - clf.predict_proba(x[:500])[:, 1]).max())
    assert drift < 1e-4, f"exported trees disagree with sklearn by {drift}"
    figures: dict[str, Any] = {"pairs": len(x), "same_event_pairs": int(y.sum()),
                               "events": len(events), "folds": args.folds, "params": PARAMS,
                               "cross_validated_bcubed": cv_scores, "trained_bcubed": {}}
    print(f"{'set':<16} {'cross-validated BCubed P/R/F1':>30} {'all-data BCubed P/R/F1':>26}")
    for name, items in sets.items():
        trained = [round(v, 3) for v in bcubed(greedy(items, lambda _item: model),
                                               {i.key: i.event for i in items})]
        figures["trained_bcubed"][name] = trained
        cv = cv_scores[name]
        print(f"{name:<16} {cv[0]:>10.3f} {cv[1]:.3f} {cv[2]:.3f}        "
              f"{trained[0]:.3f} {trained[1]:.3f} {trained[2]:.3f}")
    importance = dict(zip(FEATURES, clf.feature_importances_, strict=True))
    figures["feature_importance"] = {k: round(float(v), 4) for k, v in importance.items()}
    print("feature importance:", ", ".join(f"{k} {v:.3f}" for k, v in
                                            sorted(importance.items(), key=lambda kv: -kv[1])))
    if args.write:
        data = to_json(model)
        data["figures"] = figures
        out = Path(_stories_pkg.__file__).parent / "model.json"
        out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
