"""Story clustering evaluation: pairwise and BCubed P/R/F1.

    python eval/stories.py [--data DIR] [--limit N] [--sweep] [--json OUT]

Runs newswatch's real story stage (state store, enrichment, near-duplicates, clustering)
over ../shared/data/clustering-hard-dev (the Gun Violence Corpus: 207 shootings, many in the
same week), ../shared/data/clustering-dev (100 real events, three outlets each), the same
with its dates squeezed into one week, and the demo site's articles — each fed in date
order — and scores the stories against the gold events.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "eval")]


def data_dir(arg: str | None) -> Path:
    import os

    return Path(arg or os.environ.get("NEWSWATCH_SHARED_DATA") or ROOT.parent / "shared" / "data")


def pairwise(pred: dict[str, str], gold: dict[str, str]) -> tuple[float, float, float]:
    items = sorted(gold)
    tp = fp = fn = 0
    for a, b in itertools.combinations(items, 2):
        same_pred, same_gold = pred[a] == pred[b], gold[a] == gold[b]
        tp += same_pred and same_gold
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def bcubed(pred: dict[str, str], gold: dict[str, str]) -> tuple[float, float, float]:
    by_pred: dict[str, set[str]] = defaultdict(set)
    by_gold: dict[str, set[str]] = defaultdict(set)
    for item in gold:
        by_pred[pred[item]].add(item)
        by_gold[gold[item]].add(item)
    p = r = 0.0
    for item in gold:
        cluster, truth = by_pred[pred[item]], by_gold[gold[item]]
        both = len(cluster & truth)
        p += both / len(cluster)
        r += both / len(truth)
    p, r = p / len(gold), r / len(gold)
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


@dataclasses.dataclass
class Item:
    key: str
    title: str
    text: str
    source: str
    published: datetime
    gold: str


def clustering_items(root: Path, limit: int | None) -> list[Item]:
    items = []
    for f in sorted((root / "clustering-dev" / "articles").glob("*/*.json")):
        a = json.loads(f.read_text(encoding="utf-8"))
        paragraphs = a.get("body-paragraphs") or []
        text = "\n".join(" ".join(p) if isinstance(p, list) else str(p) for p in paragraphs)
        day = datetime.fromisoformat(a["date"]).replace(tzinfo=UTC)
        items.append(Item(a.get("uuid") or f.stem, a["title"], text, a["source"], day,
                          a["triplet-uuid"]))
    items.sort(key=lambda i: (i.published, i.key))
    if limit:
        events = list(dict.fromkeys(i.gold for i in items))[:limit]
        items = [i for i in items if i.gold in set(events)]
    return items


def hard_items(root: Path, limit: int | None) -> list[Item]:
    """The Gun Violence Corpus (train + dev): many shootings, five or more within a week of
    each other — the hard case of same-kind events close in time."""
    items = []
    for line in (root / "clustering-hard-dev" / "gvc-dev.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        a = json.loads(line)
        day = datetime.fromisoformat(a["date"]).replace(tzinfo=UTC)
        source = a.get("url", "").split("/")[2] if "://" in a.get("url", "") else "unknown"
        items.append(Item(a["doc_id"], a.get("title") or "", a.get("text") or "", source, day,
                          a["event_id"]))
    items.sort(key=lambda i: (i.published, i.key))
    if limit:
        events = list(dict.fromkeys(i.gold for i in items))[:limit]
        items = [i for i in items if i.gold in set(events)]
    return items


def same_week(items: list[Item]) -> list[Item]:
    """The same articles with their dates squeezed into one week, order kept: topic and
    actors must tell the events apart without the help of time."""
    start = items[0].published
    span = max(1, len(items) - 1)
    return [dataclasses.replace(item, published=start + timedelta(days=7 * n / span))
            for n, item in enumerate(items)]


def demo_items() -> list[Item]:
    from newswatch.demo.catalog import OUTLETS, load_articles

    names = {o.slug: o.name for o in OUTLETS}
    return [Item(f"{a.outlet}/{a.slug}", a.title, "\n".join(a.paragraphs), names[a.outlet],
                 a.published, a.story) for a in load_articles()]


def load_store(items: list[Item], workdir: Path) -> Any:
    """A runtime whose store holds the items, enriched (the slow part, done once)."""
    from core.models import Article
    from core.settings import load_settings
    from enrich.stage import enrich_pending
    from newswatch.resources import open_runtime

    settings = load_settings(env={"NEWSWATCH_HOME": str(workdir)})
    rt = open_runtime(settings)
    for n, item in enumerate(items):
        article_id = hashlib.sha256(item.key.encode()).hexdigest()[:20]
        seen = item.published + timedelta(minutes=n)  # arrival order = date order
        rt.store.save_article(Article(
            id=article_id, url=f"https://eval.invalid/{article_id}", source=item.source,
            title=item.title, text=item.text,
            text_hash=hashlib.sha256(item.text.encode()).hexdigest(), published_at=item.published,
            published_source="feed", first_seen_at=seen, updated_at=seen,
        ), [], seen)
        item.key = article_id
    enrich_pending(rt)
    return rt


def cluster(rt: Any, params: Any) -> tuple[dict[str, str], dict[str, str | None], float]:
    from sqlalchemy import delete, select, update

    from core import schema as t
    from stories.stage import assign
    from stories.store import StoryStore

    with rt.store.tx() as conn:
        for table in (t.story_keys, t.stories, t.dedup_bands, t.dedup_signatures, t.term_stats):
            conn.execute(delete(table))
        conn.execute(update(t.articles).values(clustered_revision=0, story_id=None,
                                               duplicate_of=None))
    stories = StoryStore(rt.store)
    started = time.perf_counter()
    count = 0
    while batch := stories.articles_to_cluster(limit=500):
        for article in batch:
            assign(rt, stories, article, params)
            count += 1
    seconds = time.perf_counter() - started
    with rt.store.engine.connect() as conn:
        rows = conn.execute(select(t.articles.c.id, t.articles.c.story_id, t.articles.c.duplicate_of))
        result = list(rows)
    return ({r.id: r.story_id for r in result}, {r.id: r.duplicate_of for r in result},
            count / seconds if seconds else 0.0)


def score(items: list[Item], pred: dict[str, str]) -> dict[str, Any]:
    gold = {i.key: i.gold for i in items}
    pw, bc = pairwise(pred, gold), bcubed(pred, gold)
    return {"pairwise": [round(v, 3) for v in pw], "bcubed": [round(v, 3) for v in bc],
            "stories": len(set(pred[i.key] for i in items)), "events": len(set(gold.values()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--limit", type=int, help="only the first N events")
    parser.add_argument("--sweep", action="store_true", help="also try other join probabilities")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    from core.settings import load_settings
    from stories.similarity import Params

    s = load_settings(env={})
    default = Params(threshold=s.story_threshold, dormant_days=s.story_dormant_days,
                     reopen_days=s.story_reopen_days)
    report: dict[str, Any] = {"params": dataclasses.asdict(default)}
    sets = [("demo site", demo_items())]
    root = data_dir(args.data)
    if (root / "clustering-dev").exists():
        dev = clustering_items(root, args.limit)
        sets[:0] = [("clustering-dev", dev), ("same-week dev", same_week(dev))]
    else:
        print(f"skipped clustering-dev: not found under {root}")
    if (root / "clustering-hard-dev").exists():
        sets.insert(0, ("hard-dev (GVC)", hard_items(root, args.limit)))
    else:
        print(f"skipped clustering-hard-dev: not found under {root}")
    print("The shipped story model was trained on these sets (figures are optimistic); "
          "`make train-stories` prints cross-validated ones.")
    print(f"{'set':<16} {'articles':>8} {'events':>6} {'stories':>7}   pairwise P/R/F1     BCubed P/R/F1     art/s")
    for name, items in sets:
        with tempfile.TemporaryDirectory() as tmp:
            rt = load_store(items, Path(tmp))
            try:
                pred, _duplicates, speed = cluster(rt, default)
                result = score(items, pred)
                result["articles_per_second"] = round(speed, 1)
                report[name] = result
                pw, bc = result["pairwise"], result["bcubed"]
                print(f"{name:<16} {len(items):>8} {result['events']:>6} {result['stories']:>7}   "
                      f"{pw[0]:.3f} {pw[1]:.3f} {pw[2]:.3f}   {bc[0]:.3f} {bc[1]:.3f} {bc[2]:.3f}   {speed:6.1f}")
                if args.sweep:
                    for threshold in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
                        p = dataclasses.replace(default, threshold=threshold)
                        r = score(items, cluster(rt, p)[0])
                        print(f"  join probability {threshold:.2f}: pairwise F1 "
                              f"{r['pairwise'][2]:.3f}  BCubed F1 {r['bcubed'][2]:.3f}  "
                              f"stories {r['stories']}")
            finally:
                rt.close()
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
