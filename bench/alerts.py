"""Alert benchmark: evaluate many watches against one indexed batch of new articles.

    python bench/alerts.py [--watches 10000] [--articles 200] [--backend both]
                           [--es-url URL] [--seed 7] [--json OUT]

For each backend (the embedded SQLite FTS5 index, and Elasticsearch: ``--es-url``, or the
test distribution started the way the test suite starts it) a fresh data directory gets
``--articles`` synthetic articles — indexed, with entities, topics, stories and novelty in
the state store as the pipeline leaves them — and ``--watches`` watches with a realistic
mix of queries (single words, AND, OR, NOT, phrases, wildcards, entity and topic filters).
Then it times:

* ``match``: ``IndexBackend.match`` for every watch over the batch: candidate selection
  (``search.percolate``), then only the watches that can match, with the query semantics
  of ``search`` (on Elasticsearch grouped searches in ``_msearch``; on the embedded index a
  scratch in-memory FTS5 copy of the batch). ``match 1st`` is the first call (every query
  parsed, as in a fresh process), ``match`` the median of ``--repeats`` later calls;
* ``evaluate``: ``alerts.stage.evaluate_watches`` end to end, split into its phases:
  reading the watches and the batch, matching, deciding story by story (the target of
  ``make bench-alerts`` is for these three together) and writing the alerts, outbox rows
  and watermarks in one transaction. Sending is not included (bound by the mail server).

The synthetic data are generated here (no external text): a vocabulary of generated words
plus domain words, drawn by a Zipf law; 40 outlets; 300 entity ids; the bundled taxonomy's
topic names; stories of 1–6 articles.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from sqlalchemy import insert, select, update  # noqa: E402

from alerts.stage import evaluate_watches  # noqa: E402
from alerts.store import WatchStore  # noqa: E402
from core import schema as t  # noqa: E402
from core.models import IndexDoc  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.settings import Settings, load_settings  # noqa: E402
from newswatch.resources import open_runtime  # noqa: E402

DOMAIN = tuple(
    ["shells", "artillery", "munitions", "missiles", "drones", "sanctions", "embargo", "tanker", "port", "ship", "cargo", "russia", "korea", "pyongyang", "moscow", "kremlin", "envoy", "minister", "treasury", "exports", "oil", "grain", "border", "troops", "ceasefire", "talks", "summit", "satellite", "images", "officials", "denied", "confirmed", "shipment", "weapons", "ammunition", "rockets", "launchers", "factory", "refinery", "frigate", "convoy"]
)
TOPICS = ("arms-transfers", "sanctions", "dprk-russia", "conflict", "diplomacy", "economy",
          "energy", "sports", "weather")
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
BACKGROUND = 600  # generic words every article is made of


def words(rng: random.Random, n: int = 3000) -> list[str]:
    syllables = "ka ri to ne mu sa lo vi de pa qu ze han bor lin ter mon gra".split()  # noqa: SIM905
    made = {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(n)}
    generated = sorted(made - set(DOMAIN))
    rng.shuffle(generated)
    return generated


def zipf(rng: random.Random, items: list[str]) -> str:
    return items[min(len(items) - 1, int(rng.paretovariate(1.1)) - 1)]


def make_articles(rng: random.Random, vocab: list[str], n: int) -> list[dict[str, Any]]:
    """Background text from a generic vocabulary (``vocab[:BACKGROUND]``, Zipf), plus each
    story's own words: a few domain words and rarer words, so a watch finds what it should
    and not everything (as with real coverage)."""
    background, specific = vocab[:BACKGROUND], vocab[BACKGROUND:]
    articles, story, left, own = [], "", 0, [""]
    for i in range(n):
        if left == 0:
            story, left = f"s{i:06d}", rng.randint(1, 6)
            own = rng.sample(DOMAIN, 4) + rng.sample(specific, 10)
        left -= 1
        text = [zipf(rng, background) for _ in range(rng.randint(250, 600))]
        for _ in range(len(text) // 15):  # the story's words, spread through the text
            text.insert(rng.randrange(len(text)), rng.choice(own))
        title = " ".join(rng.choice(own + background[:30]) for _ in range(rng.randint(6, 12)))
        entities = tuple({(f"Q{rng.randint(1, 300)}", f"Entity {i}", "place") for _ in range(4)})
        articles.append({
            "id": f"a{i:019d}", "title": title.capitalize(), "text": " ".join(text),
            "story_id": story, "source": f"Outlet {rng.randint(1, 40)}", "entities": entities,
            "topics": tuple(rng.sample(TOPICS, rng.randint(0, 2))),
            "novelty": 1.0 if i == 0 or left == 0 else round(rng.random(), 2),
            "duplicate_of": f"a{i - 1:019d}" if i and rng.random() < 0.05 else None,
        })
    return articles


def make_watches(rng: random.Random, vocab: list[str], articles: list[dict[str, Any]],
                 n: int) -> list[dict[str, Any]]:
    specific = vocab[BACKGROUND:]
    rows = []

    def w() -> str:  # what people watch: domain words and specific names, not common words
        return rng.choice(DOMAIN) if rng.random() < 0.5 else rng.choice(specific)

    for i in range(n):
        roll = rng.random()
        query, entities, topic = "", [], None
        if roll < 0.35:
            query = w()
        elif roll < 0.55:
            query = f"{w()} {w()}"
        elif roll < 0.7:
            query = f"{w()} OR {w()}"
        elif roll < 0.78:
            query = f"{w()} -{w()}"
        elif roll < 0.86:
            title = rng.choice(articles)["title"].lower().split()
            k = rng.randrange(len(title) - 1)
            query = f'"{title[k]} {title[k + 1]}"'
        elif roll < 0.9:
            query = w()[:4] + "*"
        elif roll < 0.96:
            query, entities = w(), [f"Q{rng.randint(1, 300)}"]
        else:
            topic = rng.choice(TOPICS)
        rows.append({
            "id": f"w{i:015d}", "name": f"watch {i}", "query": query,
            "entities": json.dumps(entities), "entity_names": json.dumps(entities),
            "topic": topic, "recipients": json.dumps([f"user{i}@example.org"]),
            "mode": "immediate", "min_novelty": 0.3, "created_at": NOW, "watermark": 0,
        })
    return rows


def load(rt: Runtime, articles: list[dict[str, Any]], watches: list[dict[str, Any]]) -> None:
    docs = [
        IndexDoc(id=a["id"], url=f"https://news.example/{a['id']}", title=a["title"],
                 body=a["text"], source=a["source"], published=NOW - timedelta(minutes=i),
                 ingested=NOW, language="en", entities=a["entities"], topics=a["topics"],
                 story_id=a["story_id"])
        for i, a in enumerate(articles)
    ]
    rt.index.upsert_many(docs)
    with rt.store.tx() as conn:
        conn.execute(insert(t.articles), [{
            "id": a["id"], "url": f"https://news.example/{a['id']}", "source": a["source"],
            "title": a["title"], "text": a["text"], "text_hash": a["id"], "language": "en",
            "revision": 1, "indexed_revision": 1, "enriched_revision": 1, "clustered_revision": 1,
            "status": "indexed", "story_id": a["story_id"], "duplicate_of": a["duplicate_of"],
            "novelty": a["novelty"], "novelty_detail": json.dumps({"additions": {}}),
            "first_seen_at": NOW, "updated_at": NOW, "indexed_at": NOW, "ingest_seq": i + 1,
        } for i, a in enumerate(articles)])
        stories = {a["story_id"]: a["title"] for a in reversed(articles)}
        conn.execute(insert(t.stories), [
            {"id": s, "title": title, "first_seen": NOW, "last_updated": NOW, "article_count": 1}
            for s, title in stories.items()])
        conn.execute(update(t.counters).where(t.counters.c.name == "ingest")
                     .values(value=len(articles)))
        for i in range(0, len(watches), 1000):
            conn.execute(insert(t.watches), watches[i : i + 1000])


def stored_digest(rt: Runtime) -> str:
    """A hash of everything the evaluation stored (alerts with their content, outbox rows,
    the watches' story state and watermarks; not the time they were written): equal
    digests, equal results, whatever the code that made them."""
    queries = [
        select(t.alerts.c.key, t.alerts.c.watch_id, t.alerts.c.story_id, t.alerts.c.article_id,
               t.alerts.c.kind, t.alerts.c.content).order_by(t.alerts.c.key),
        select(t.outbox.c.key, t.outbox.c.watch_id, t.outbox.c.recipient, t.outbox.c.channel,
               t.outbox.c.kind, t.outbox.c.content).order_by(t.outbox.c.key),
        select(t.watch_stories.c.watch_id, t.watch_stories.c.story_id, t.watch_stories.c.last_seq)
        .order_by(t.watch_stories.c.watch_id, t.watch_stories.c.story_id),
        select(t.watches.c.id, t.watches.c.watermark).order_by(t.watches.c.id),
    ]
    digest = hashlib.sha256()
    with rt.store.engine.connect() as conn:
        for query in queries:
            for row in conn.execute(query):
                digest.update(json.dumps(list(row), default=str).encode())
    return digest.hexdigest()[:16]


def run_backend(name: str, settings: Settings, articles: list[dict[str, Any]],
                watches: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    rt = open_runtime(settings)
    try:
        load(rt, articles, watches)
        requests = [w.request() for w in WatchStore(rt.store).all()]
        ids = [a["id"] for a in articles]
        started = time.perf_counter()
        outcomes = rt.index.match(requests, ids)  # parses every query: a fresh process
        first = time.perf_counter() - started
        match_times = []
        for _ in range(repeats):
            started = time.perf_counter()
            outcomes = rt.index.match(requests, ids)
            match_times.append(time.perf_counter() - started)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        alerts = evaluate_watches(rt, timings)
        evaluate = time.perf_counter() - started
        outbox = sum(WatchStore(rt.store).outbox_counts().values())
        stored = stored_digest(rt)
        deciding = timings.get("read", 0) + timings.get("match", 0) + timings.get("decide", 0)
        return {
            "backend": name, "watches": len(watches), "articles": len(articles),
            "match_first_seconds": round(first, 3),
            "match_seconds": round(statistics.median(match_times), 3),
            "evaluate_seconds": round(evaluate, 3),
            "phases": {k: round(v, 3) for k, v in timings.items()},
            "match_decide_seconds": round(deciding, 3),
            "write_seconds": round(timings.get("write", 0.0), 3),
            "write_us_per_alert": round(timings.get("write", 0.0) / max(alerts, 1) * 1e6, 1),
            "us_per_watch": round(deciding / len(watches) * 1e6, 1),
            "watches_matching": sum(1 for o in outcomes if o.ids),
            "matches": sum(len(o.ids) for o in outcomes),
            "query_errors": sum(1 for o in outcomes if o.error),
            "alerts": alerts, "outbox": outbox, "stored_digest": stored,
        }
    finally:
        rt.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--watches", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--backend", choices=("embedded", "elasticsearch", "both"), default="both")
    parser.add_argument("--es-url", default=os.environ.get("NEWSWATCH_ES_URL", ""))
    parser.add_argument("--repeats", type=int, default=3, help="match timings to take the median of")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    vocab = words(rng)
    articles = make_articles(rng, vocab, args.articles)
    watches = make_watches(rng, vocab, articles, args.watches)
    results = []
    server = None
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-alerts-") as tmp:
        try:
            if args.backend in ("embedded", "both"):
                settings = load_settings(env={"NEWSWATCH_HOME": f"{tmp}/embedded"})
                results.append(run_backend("embedded", settings, articles, watches, args.repeats))
            if args.backend in ("elasticsearch", "both"):
                sys.path.append(str(REPO / "tests"))
                import esserver

                url = args.es_url
                if not url:
                    print("starting Elasticsearch (test distribution)…", file=sys.stderr)
                    server = esserver.start()
                    url = server.url
                settings = esserver.settings_for(url, Path(tmp) / "elastic")
                try:
                    results.append(run_backend("elasticsearch", settings, articles, watches,
                                               args.repeats))
                finally:
                    esserver.drop_indices(settings)
        finally:
            if server is not None:
                server.stop()

    print(f"{len(watches)} watches against a batch of {len(articles)} articles "
          f"({os.cpu_count()} cores)")
    header = ("backend", "match 1st s", "match s", "match+decide s", "write s",
              "µs/alert written", "watches hit", "matches", "alerts")
    print("  ".join(f"{h:>16}" for h in header))
    for r in results:
        print("  ".join(f"{v:>16}" for v in (
            r["backend"], r["match_first_seconds"], r["match_seconds"],
            r["match_decide_seconds"], r["write_seconds"], r["write_us_per_alert"],
            r["watches_matching"], r["matches"], r["alerts"])))
        print(f"{'':>16}  phases of evaluate_watches: " + ", ".join(
            f"{k} {v} s" for k, v in r["phases"].items()) + f"; stored {r['stored_digest']}")
    if len(results) == 2:
        a, b = (r["watches_matching"] for r in results)
        print(f"same watches hit on both backends: {'yes' if a == b else f'no ({a} vs {b})'}")
        same = results[0]["stored_digest"] == results[1]["stored_digest"]
        print(f"same alerts stored on both backends: {'yes' if same else 'no'}")
    if args.json:
        machine = {"cores": os.cpu_count()}
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
