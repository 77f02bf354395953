"""End-to-end pipeline benchmark against the floor (extraction plus NER alone).

    python bench/pipeline.py [--feeds 10] [--hosts 5] [--articles-per-feed 30] [--waves 6]
                             [--watches 50] [--backend embedded|elasticsearch|both]
                             [--es-url URL] [--quick] [--seed 11] [--json OUT]

A loopback load generator, in a process of its own, serves ``--feeds`` RSS feeds on
``--hosts`` hosts (one ``SiteServer`` each) and an SMTP server (aiosmtpd,
``tests/fixtures/smtp.py``); every feed gains ``--articles-per-feed`` articles in
``--waves`` waves while the benchmark runs, and the generator records the moment each
article appears in its feed and the moment each email arrives. The articles (600–1,200
words of generated English on real page structure, about 40% in developing stories
covered by several outlets) come from ``bench/newsload.py``.

For each backend (the embedded SQLite FTS5 index, and Elasticsearch: ``--es-url``, or the
test distribution started the way the test suite starts it) a fresh Python process runs:

1. **the pipeline**: the real ``newswatch.pipeline.run_once(rt, force=True)`` in a loop,
   the way ``newswatch run --loop --all`` runs it, with ``--poll-interval`` seconds
   (default 0.5) between passes; ``per_host_delay`` 0 (loopback hosts need no politeness;
   ``per_host_concurrency`` and ``fetch_concurrency`` keep their defaults, 2 and 8),
   ``extract_processes`` = cores; ``--watches`` immediate watches (people and
   organisations of the developing stories and of one-off stories, every topic, countries,
   keywords) delivering over SMTP. Waves come every ``--wave-interval`` seconds (default:
   twice the NER time of one wave, measured on 8 pages before the run, so a pipeline near
   the floor keeps up and each wave is one pass);
2. **the floor**, over the same pages: the plain ``trafilatura.extract(html)`` call in a
   forkserver process pool of ``extract_processes`` workers, then spaCy NER alone
   (``settings.nlp_model`` loaded by ``enrich.nlp.load_model`` with only the NER
   components, once per worker) in a pool of as many workers, in batches of ``NER_BATCH``
   (``realpages.floor``): extraction and NER each on every core, nothing else.

Both sides are warm: the spaCy model is loaded (and the enrich stage has run once on a
warm-up page: py3langid's model, the gazetteer, the topic patterns) and both extraction
pools are started before timing, as in a long-running ``run --loop``; those one-off costs
are reported apart. The floor runs second so that the
peak memory figures are the pipeline's own.

Reported per backend: articles per second end to end (articles / pipeline seconds, the
sum of ``report.seconds`` over the passes that had work; idle passes — only 304s — are
counted apart), seconds per stage (``report.stage_seconds`` summed over those passes:
fetch = polling + fetching + extraction + storing, enrich, stories, index, alerts), peak
memory (``getrusage`` RUSAGE_SELF and RUSAGE_CHILDREN ``ru_maxrss``; the extraction
workers are the forkserver's children, not this process's, so RUSAGE_CHILDREN does not
see them: the largest worker's ``VmHWM`` and the peak sum of RSS over this process and
its descendants are sampled from ``/proc`` too), the publish-to-alert latency p50/p95
(publication in the feed to the SMTP server receiving the first alert email that names
the article by URL; only articles that cause an alert count, and the latency includes the
wait for the next pass), the floor's seconds and the headline ratio pipeline seconds /
floor seconds, and CPU seconds of both (this process and its descendants, the load
generator excepted: ``realpages.CpuMark``) with their ratio. Then, unless ``--quick`` or
``--no-real-pages``, ``bench/realpages.py`` (the real pages of extraction-dev; skipped when
absent). Timing goals are checked by running this, not by tests.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# the repository first (bench/alerts.py is not the alerts package), then bench/ (newsload)
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from newsload import Corpus, PlannedArticle, Site, article_path, plan, render_feed  # noqa: E402
from realpages import CpuMark, cpu_since  # noqa: E402
from realpages import floor as real_floor  # noqa: E402
from realpages import main as real_pages_main  # noqa: E402

# -- the load generator -------------------------------------------------------------------


class LoadGenerator:
    """One loopback ``SiteServer`` per host; feeds gain their articles wave by wave, and
    the moment each article appears in its feed is recorded (``time.time()``)."""

    def __init__(self, corpus: Corpus) -> None:
        from newswatch.demo.server import SiteServer

        self.servers = [SiteServer() for _ in corpus.outlets]
        self.site = Site(corpus, tuple(server.base_url for server in self.servers))
        self.published: dict[str, float] = {}  # article URL -> publication time
        self._items: dict[int, list[PlannedArticle]] = {f: [] for f in range(len(corpus.feeds))}

    def start(self) -> LoadGenerator:
        from newswatch.demo.server import Route

        for server in self.servers:
            server.set("/robots.txt", Route(b"User-agent: *\nAllow: /\n",
                                            content_type="text/plain; charset=utf-8"))
            server.start()
        for f in range(len(self.site.corpus.feeds)):
            self._set_feed(f)
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def _server(self, feed: int) -> Any:
        return self.servers[self.site.corpus.feeds[feed][0]]

    def _set_feed(self, feed: int) -> None:
        from newswatch.demo.server import Route

        body = render_feed(self.site.corpus, feed, self.site.base_url(feed), self._items[feed])
        self._server(feed).set(self.site.feed_path(feed),
                               Route(body, content_type="application/rss+xml; charset=utf-8"))

    def publish(self, wave: int) -> None:
        """Serve the wave's pages, then add them to their feeds, feed by feed."""
        from newswatch.demo.server import Route

        corpus = self.site.corpus
        fresh = [a for a in corpus.articles if a.wave == wave]
        for a in fresh:
            self._server(a.feed).set(article_path(a, corpus), Route(self.site.page(a)))
        for feed in sorted({a.feed for a in fresh}):
            mine = [a for a in fresh if a.feed == feed]
            self._items[feed] += mine
            self._set_feed(feed)
            now = time.time()
            for a in mine:
                self.published[self.site.url(a)] = now


class Publisher(threading.Thread):
    """Publishes wave k at ``start + k * interval``."""

    def __init__(self, gen: LoadGenerator, interval: float) -> None:
        super().__init__(name="publisher", daemon=True)
        self.gen, self.interval = gen, interval
        self.waves_out = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        for wave in range(self.gen.site.corpus.waves):
            wait = start + wave * self.interval - time.monotonic()
            if wait > 0 and self._stop_event.wait(wait):
                return
            self.gen.publish(wave)
            self.waves_out = wave + 1

    def cancel(self) -> None:
        self._stop_event.set()


@dataclass
class Timed:
    """SMTP handler that records when each message arrived, then lets ``inner`` keep it."""

    inner: Any
    arrived: list[float] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply: str = await self.inner.handle_DATA(server, session, envelope)
        self.arrived.append(time.time())
        return reply


def generator_main(conn: Any, sizes: tuple[int, int, int, int, int]) -> None:
    """The load generator's process: the sites and the SMTP server, driven over ``conn``.

    Sends ``(base URLs, SMTP port)``; then answers ``("start", interval)`` (begin the
    waves), ``"waves"`` (how many are out) and ``"finish"`` (publication times by URL and,
    for each email received, its arrival time and text body), after which it stops."""
    sys.path.append(str(REPO / "tests"))
    from fixtures.smtp import SmtpServer

    gen = LoadGenerator(plan(*sizes)).start()
    smtp: Any = SmtpServer()
    timed = Timed(smtp.handler)
    smtp.handler = timed  # records the arrival, then hands the message to the collector
    smtp.start()
    publisher: Publisher | None = None
    try:
        conn.send((gen.site.bases, smtp.port))
        while True:
            command = conn.recv()
            if command[0] == "start":
                publisher = Publisher(gen, command[1])
                publisher.start()
            elif command[0] == "waves":
                conn.send(publisher.waves_out if publisher else 0)
            elif command[0] == "finish":
                if publisher is not None:
                    publisher.cancel()
                    publisher.join(timeout=10)
                mail = []
                for msg, at in zip(list(timed.inner.messages), list(timed.arrived), strict=False):
                    part = msg.get_body(("plain",))
                    mail.append((at, part.get_content() if part is not None else ""))
                conn.send((dict(gen.published), mail))
                return
    finally:
        smtp.stop()
        gen.stop()


class RemoteLoad:
    """The pipeline process's handle on the generator process."""

    def __init__(self, sizes: tuple[int, int, int, int, int]) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self.process = context.Process(target=generator_main, args=(child, sizes),
                                       name="load-generator", daemon=True)
        self.process.start()
        child.close()
        bases, self.smtp_port = self._conn.recv()
        self.site = Site(plan(*sizes), tuple(bases))

    def start(self, interval: float) -> None:
        self._conn.send(("start", interval))

    def waves_out(self) -> int:
        self._conn.send(("waves",))
        count: int = self._conn.recv()
        return count

    def finish(self) -> tuple[dict[str, float], list[tuple[float, str]]]:
        self._conn.send(("finish",))
        published, mail = self._conn.recv()
        self.process.join(timeout=30)
        return published, mail

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)


# -- memory -------------------------------------------------------------------------------


class TreeMemory(threading.Thread):
    """Samples ``/proc``: the peak RSS (VmHWM) of every descendant process (the extraction
    workers are the forkserver's children, invisible to RUSAGE_CHILDREN while it lives)
    and the peak sum of RSS over this process and its descendants."""

    def __init__(self, every: float = 0.5, exclude: frozenset[int] = frozenset()) -> None:
        super().__init__(name="memory", daemon=True)
        self.every = every
        self.exclude = exclude  # processes (and their descendants) not to count
        self.descendant_peak_kib = 0
        self.tree_peak_kib = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
        self.sample()

    def sample(self) -> None:
        me = os.getpid()
        total = _status_kib(me, "VmRSS")
        for pid in _descendants(me, self.exclude):
            total += _status_kib(pid, "VmRSS")
            self.descendant_peak_kib = max(self.descendant_peak_kib, _status_kib(pid, "VmHWM"))
        self.tree_peak_kib = max(self.tree_peak_kib, total)


def _descendants(pid: int, exclude: frozenset[int] = frozenset()) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError, ValueError):
                kids = [int(k) for k in task.read_text().split() if int(k) not in exclude]
                found += kids
                todo += kids
    return found


def _status_kib(pid: int, key: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rusage_mib() -> dict[str, float]:
    """ru_maxrss of this process and of its largest waited-for child, in MiB (Linux: KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"self_mib": round(own / 1024, 1), "children_mib": round(kids / 1024, 1)}


# -- the floor ----------------------------------------------------------------------------


def floor(pages: list[bytes], warm_page: bytes, processes: int, model: str) -> dict[str, Any]:
    """Plain extraction in a pool of ``processes``, then NER alone in a pool of
    ``processes`` (``realpages.floor``: both on every core, both warm)."""
    del warm_page  # the pools warm on the pages themselves
    started = time.perf_counter()
    result = real_floor(pages, processes, model)
    result["processes"] = processes
    result["one_off"] = {"pools_seconds": round(time.perf_counter() - started - result["seconds"], 3)}
    return result


# -- watches ------------------------------------------------------------------------------

KEYWORD_WATCHES = ('storm OR "flood warnings"', "shares AND index", "striker", "drone*",
                   '"asset freeze"', "sanctions -tanker", "battery OR satellite",
                   "councillors")
WATCH_COUNTRIES = ("Norway", "Brazil", "Kenya", "Japan", "Canada", "Poland", "Chile", "Ghana")


def watch_specs(corpus: Corpus, n: int, topics: Sequence[str], seed: int) -> list[dict[str, Any]]:
    """``n`` watches: people and organisations of the developing stories, people of one-off
    stories, every topic of the taxonomy, countries (entity filters) and keywords."""
    rng = random.Random(seed + 1)
    leads = [(e.lead, e.org) for e in corpus.events.values()]
    singles = [a.names[0] for a in corpus.articles if a.role == "single" and a.names]
    rng.shuffle(leads)
    rng.shuffle(singles)
    specs: list[dict[str, Any]] = [{"topic": t} for t in topics]
    specs += [{"entities": [c]} for c in WATCH_COUNTRIES[: max(1, n // 10)]]
    specs += [{"query": q} for q in KEYWORD_WATCHES[: max(1, n // 8)]]
    people = [f'"{lead}"' for lead, _ in leads] + [f'"{org}"' for _, org in leads]
    people = list(dict.fromkeys(people))
    while len(specs) < n and (people or singles):
        if people and (len(specs) % 4 or not singles):
            specs.append({"query": people.pop(0)})
        else:
            specs.append({"query": f'"{singles.pop(0)}"'})
    return specs[:n]


def add_watches(rt: Any, specs: list[dict[str, Any]]) -> None:
    from alerts.watches import add_watch

    for i, spec in enumerate(specs):
        add_watch(rt, f"bench watch {i + 1}", [f"watcher{i + 1}@example.org"], **spec)


# -- the pipeline -------------------------------------------------------------------------

STAGES = ("fetch", "enrich", "stories", "index", "alerts")


def idle(report: Any) -> bool:
    """A pass that found nothing to do (every feed 304 or unchanged)."""
    return not (report.new or report.updated or report.failures or report.enriched
                or report.clustered or report.indexed or report.alerts or report.sent)


URL_RE = re.compile(r"https?://127\.0\.0\.1:\d+/\S+")


def latencies(mail: list[tuple[float, str]],
              published: dict[str, float]) -> tuple[list[float], list[float]]:
    """Publish-to-alert seconds: per article (its first alert email) and per email; an email
    names its article by URL in its text body."""
    first: dict[str, float] = {}
    per_email: list[float] = []
    for at, text in mail:
        named = [u for u in URL_RE.findall(text) if u in published]
        for url in dict.fromkeys(named):
            per_email.append(at - published[url])
            first[url] = min(first.get(url, math.inf), at)
    return [first[u] - published[u] for u in first], per_email


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def story_check(rt: Any, site: Site) -> dict[str, Any]:
    """How the stories came out against the plan (a sanity check of the load, not a
    quality figure): developing-story articles in their first article's story, one-off
    articles that joined another story."""
    from sqlalchemy import select

    from core import schema as t

    with rt.store.engine.connect() as conn:
        rows = conn.execute(select(t.articles.c.url, t.articles.c.story_id,
                                   t.articles.c.duplicate_of)).all()
    story = {r.url: r.story_id for r in rows}
    by_event: dict[str, list[PlannedArticle]] = {}
    for a in site.corpus.articles:
        by_event.setdefault(a.event, []).append(a)
    together = follow_ups = 0
    for key, items in by_event.items():
        if not key:
            continue
        first = story.get(site.url(items[0]))
        for a in items[1:]:
            follow_ups += 1
            together += int(first is not None and story.get(site.url(a)) == first)
    event_stories = {story.get(site.url(items[0])) for k, items in by_event.items() if k}
    singles = by_event.get("", [])
    joined = sum(1 for a in singles if story.get(site.url(a)) in event_stories
                 or sum(1 for s in story.values() if s == story.get(site.url(a))) > 1)
    return {
        "stories": len(set(story.values())), "planned_stories": len(by_event) - 1 + len(singles),
        "follow_ups_in_their_story": f"{together}/{follow_ups}",
        "one_offs_joined_another": f"{joined}/{len(singles)}",
        "near_duplicates": sum(1 for r in rows if r.duplicate_of),
    }


def run_pipeline(rt: Any, load: RemoteLoad, interval: float, poll: float,
                 limit: float) -> dict[str, Any]:
    """``run_once(rt, force=True)`` in a loop while the waves are published, until a pass
    that began after the last wave finds nothing to do."""
    from newswatch.pipeline import run_once

    waves = load.site.corpus.waves
    passes: list[dict[str, Any]] = []
    stage_sums = dict.fromkeys(STAGES, 0.0)
    idle_seconds = busy_seconds = 0.0
    articles = alerts = sent = idle_count = 0
    warnings: list[str] = []
    began = time.monotonic()
    cpu_before = CpuMark.now(exclude=frozenset({load.process.pid or 0}))
    load.start(interval)
    while True:
        last_wave_out = load.waves_out() == waves
        report = run_once(rt, force=True)
        articles += report.new
        alerts += report.alerts
        sent += report.sent
        warnings += report.warnings
        if idle(report):
            idle_count += 1
            idle_seconds += report.seconds
        else:
            busy_seconds += report.seconds
            for stage in STAGES:
                stage_sums[stage] += report.stage_seconds.get(stage, 0.0)
            passes.append({"new": report.new, "failed": report.failed,
                           "alerts": report.alerts, "sent": report.sent,
                           "seconds": round(report.seconds, 3),
                           "stages": {k: round(v, 3) for k, v in report.stage_seconds.items()}})
        if last_wave_out and idle(report):
            break
        if time.monotonic() - began > limit:
            warnings.append(f"stopped after {limit:.0f} s with work left")
            break
        time.sleep(poll)
    wall = time.monotonic() - began
    cpu = cpu_since(cpu_before)  # idle passes and the waits between passes included
    rusage = rusage_mib()  # before the generator process ends and is counted as a child
    published, mail = load.finish()
    first, per_email = latencies(mail, published)
    return {
        "articles": articles, "planned": len(load.site.corpus.articles),
        "articles_per_second": round(articles / busy_seconds, 2) if busy_seconds else 0.0,
        "seconds": round(busy_seconds, 3),
        "stage_seconds": {k: round(v, 3) for k, v in stage_sums.items()},
        "other_seconds": round(busy_seconds - sum(stage_sums.values()), 3),
        "passes": len(passes),
        "idle_passes": {"count": idle_count, "seconds": round(idle_seconds, 3)},
        "wall_seconds": round(wall, 3), "wave_interval": round(interval, 2),
        "alerts": alerts, "emails_sent": sent, "emails_received": len(mail),
        "latency": {
            "alerted_articles": len(first), "emails": len(per_email),
            "p50": round(percentile(first, 0.5), 2), "p95": round(percentile(first, 0.95), 2),
            "max": round(max(first), 2) if first else float("nan"),
            "per_email_p50": round(percentile(per_email, 0.5), 2),
            "per_email_p95": round(percentile(per_email, 0.95), 2),
        },
        "per_pass": passes,
        "warnings": sorted(set(warnings))[:10],
        "rusage": rusage,
        "cpu": cpu,
    }


# -- one backend, in a child process of its own --------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_settings(backend: str, home: Path, es_url: str, processes: int, smtp_port: int) -> Any:
    from core.settings import LOOPBACK_NETWORKS, load_settings

    if backend == "elasticsearch":
        import esserver

        base = esserver.settings_for(es_url, home)
    else:
        base = load_settings(env={"NEWSWATCH_HOME": str(home)})
    model = os.environ.get("NEWSWATCH_NLP_MODEL", "")
    return dataclasses.replace(
        base, per_host_delay=0.0, extract_processes=processes, smtp_host="127.0.0.1",
        smtp_port=smtp_port, smtp_security="none", public_url="https://news.example.test",
        unsubscribe_secret="bench-secret", nlp_model=model or base.nlp_model,
    ).with_allowed(*LOOPBACK_NETWORKS)


def calibrate(pages: list[bytes], settings: Any) -> tuple[float, float]:
    """Load the spaCy model and warm the enrich stage on one page (language model,
    gazetteer, topic patterns), as a long-running newswatch process has, then time NER on
    ``pages``: (one-off seconds, NER seconds per article), the latter to pace the waves."""
    import trafilatura

    from enrich.analyze import NER_BATCH, Document, analyze
    from enrich.gazetteer import Gazetteer
    from enrich.nlp import MAX_CHARS, load_model
    from enrich.topics import load_taxonomy

    started = time.perf_counter()
    nlp = load_model(settings.nlp_model)
    texts = [(trafilatura.extract(p) or "")[:MAX_CHARS] for p in pages]
    analyze([Document("", texts[0])], nlp, Gazetteer.load(), load_taxonomy(settings.taxonomy_path))
    one_off = time.perf_counter() - started
    started = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=NER_BATCH):
        pass
    return one_off, (time.perf_counter() - started) / max(1, len(texts))


def warm_pool(rt: Any, page: bytes) -> float:
    """Start the runtime's extraction workers (one page each); the seconds it took."""
    started = time.perf_counter()
    warmers = [threading.Thread(target=rt.extractor.extract, args=(page, "http://127.0.0.1/"),
                                kwargs={"pooled": True})
               for _ in range(rt.extractor.processes)]
    for w in warmers:
        w.start()
    for w in warmers:
        w.join()
    return time.perf_counter() - started


def run_backend(args: argparse.Namespace) -> dict[str, Any]:
    """The pipeline, then the floor over the same pages, for one backend, in this process
    (the floor comes second so that the peak memory figures are the pipeline's own); the
    sites and the mail server run in a process of their own."""
    from enrich.topics import load_taxonomy
    from newswatch.pipeline import add_feed
    from newswatch.resources import open_runtime

    sys.path.append(str(REPO / "tests"))  # esserver, for the Elasticsearch settings
    backend = args.child
    sizes = (args.feeds, args.hosts, args.articles_per_feed, args.waves, args.seed)
    load = RemoteLoad(sizes)
    memory = TreeMemory(exclude=frozenset({load.process.pid or 0}))  # not ours to count
    memory.start()
    load_before = os.getloadavg()
    try:
        with tempfile.TemporaryDirectory(prefix="newswatch-bench-pipeline-") as tmp:
            settings = bench_settings(backend, Path(tmp) / "home", args.es_url, args.processes,
                                      load.smtp_port)
            corpus = load.site.corpus
            pages = [load.site.page(a) for a in corpus.articles]
            warm_up, per_article = calibrate(pages[:8], settings)
            per_wave = len(corpus.articles) / corpus.waves
            interval = args.wave_interval or max(1.0, round(2.0 * per_article * per_wave, 1))
            rt = open_runtime(settings)
            try:
                for f in range(len(corpus.feeds)):
                    add_feed(rt, load.site.feed_url(f))
                topics = [t.name for t in load_taxonomy(settings.taxonomy_path)]
                specs = watch_specs(corpus, args.watches, topics, args.seed)
                add_watches(rt, specs)
                pool_start = warm_pool(rt, pages[0])
                log(f"{backend}: pipeline, {corpus.waves} waves every {interval:.1f} s…")
                result = run_pipeline(rt, load, interval, args.poll_interval, args.limit)
                memory.stop()
                stories = story_check(rt, load.site)
            finally:
                rt.close()
                if backend == "elasticsearch":
                    import esserver

                    esserver.drop_indices(settings)
            peak = {**result.pop("rusage"),
                    "largest_descendant_mib": round(memory.descendant_peak_kib / 1024, 1),
                    "tree_peak_mib": round(memory.tree_peak_kib / 1024, 1)}
            log(f"{backend}: floor over {len(pages)} pages…")
            floor_result = floor(pages, pages[0], settings.extract_processes, settings.nlp_model)
    finally:
        load.stop()
        memory.stop()
    result["one_off"] = {"model_and_enrich_warm_up_seconds": round(warm_up, 3),
                         "pool_start_seconds": round(pool_start, 3)}
    return {
        "backend": backend,
        "ratio": round(result["seconds"] / floor_result["seconds"], 2),
        "cpu_ratio": round(result["cpu"]["total"] / floor_result["cpu"]["total"], 2),
        "pipeline": result,
        "floor": floor_result,
        "memory": peak,
        "stories": stories,
        "watches": len(specs),
        "load_average": {"before": [round(x, 2) for x in load_before],
                         "after": [round(x, 2) for x in os.getloadavg()]},
    }


def spawn(backend: str, args: argparse.Namespace, es_url: str) -> dict[str, Any]:
    """Run one backend in a fresh Python process (clean peak-memory figures, cold caches)."""
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-pipeline-out-") as tmp:
        out = Path(tmp) / "result.json"
        command = [
            sys.executable, str(Path(__file__).resolve()), "--child", backend, "--out", str(out),
            "--feeds", str(args.feeds), "--hosts", str(args.hosts),
            "--articles-per-feed", str(args.articles_per_feed), "--waves", str(args.waves),
            "--watches", str(args.watches), "--seed", str(args.seed),
            "--wave-interval", str(args.wave_interval), "--poll-interval", str(args.poll_interval),
            "--processes", str(args.processes), "--limit", str(args.limit), "--es-url", es_url,
        ]
        done = subprocess.run(command, cwd=REPO, check=False)
        if done.returncode != 0 or not out.is_file():
            return {"backend": backend, "error": f"the benchmark process exited with {done.returncode}"}
        data: dict[str, Any] = json.loads(out.read_text())
        return data


# -- report -------------------------------------------------------------------------------


def print_table(config: dict[str, Any], results: list[dict[str, Any]]) -> None:
    c = config
    print(f"{c['feeds']} feeds on {c['hosts']} hosts, {c['articles']} articles in {c['waves']} "
          f"waves, {c['watches']} watches; {c['cores']} cores, {c['processes']} extraction "
          "processes")
    header: tuple[str, ...] = ("backend", "art/s", "pipeline s", "floor s", "ratio", *STAGES, "other", "idle")
    print("  ".join(f"{h:>10}" for h in header))
    for r in results:
        if "error" in r:
            print(f"{r['backend']:>10}  error: {r['error']}")
            continue
        p = r["pipeline"]
        row = (r["backend"], p["articles_per_second"], p["seconds"], r["floor"]["seconds"],
               r["ratio"], *(p["stage_seconds"][s] for s in STAGES), p["other_seconds"],
               p["idle_passes"]["seconds"])
        print("  ".join(f"{v:>10}" for v in row))
    header = ("backend", "floor ext", "floor ner", "alerted", "p50 s", "p95 s", "emails",
              "self MiB", "child MiB", "worker MiB", "tree MiB")
    print("  ".join(f"{h:>10}" for h in header))
    for r in results:
        if "error" in r:
            continue
        p, f, m, lat = r["pipeline"], r["floor"], r["memory"], r["pipeline"]["latency"]
        row = (r["backend"], f["extract_seconds"], f["ner_seconds"], lat["alerted_articles"],
               lat["p50"], lat["p95"], p["emails_received"], m["self_mib"], m["children_mib"],
               m["largest_descendant_mib"], m["tree_peak_mib"])
        print("  ".join(f"{v:>10}" for v in row))
    for r in results:
        if "error" not in r:
            s, load = r["stories"], r["load_average"]
            print(f"{r['backend']}: {r['pipeline']['articles']}/{r['pipeline']['planned']} "
                  f"articles, {r['pipeline']['passes']} passes with work, waves every "
                  f"{r['pipeline']['wave_interval']} s; stories {s['stories']} "
                  f"(planned {s['planned_stories']}), follow-ups in their story "
                  f"{s['follow_ups_in_their_story']}; one-off: warm-up "
                  f"{r['pipeline']['one_off']['model_and_enrich_warm_up_seconds']} s, pool "
                  f"{r['pipeline']['one_off']['pool_start_seconds']} s; load average "
                  f"{load['before'][0]} → {load['after'][0]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--feeds", type=int, default=10)
    parser.add_argument("--hosts", type=int, default=5, help="loopback hosts the feeds share")
    parser.add_argument("--articles-per-feed", type=int, default=30)
    parser.add_argument("--waves", type=int, default=6)
    parser.add_argument("--watches", type=int, default=50)
    parser.add_argument("--backend", choices=("embedded", "elasticsearch", "both"), default="both")
    parser.add_argument("--es-url", default=os.environ.get("NEWSWATCH_ES_URL", ""))
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for the test)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--wave-interval", type=float, default=0.0,
                        help="seconds between waves (0: 1.6 x the floor's time per wave)")
    parser.add_argument("--poll-interval", type=float, default=0.5,
                        help="seconds between pipeline passes")
    parser.add_argument("--processes", type=int, default=0,
                        help="extraction processes (0: one per core)")
    parser.add_argument("--limit", type=float, default=900.0,
                        help="stop a backend's pipeline loop after this many seconds")
    parser.add_argument("--json", type=Path, default=REPO / "build" / "bench" / "pipeline.json")
    parser.add_argument("--real-pages", action=argparse.BooleanOptionalAction, default=True,
                        help="then bench/realpages.py (the real pages of extraction-dev)")
    parser.add_argument("--real-repeat", type=int, default=3, help="repeats of the real pages")
    parser.add_argument("--child", choices=("embedded", "elasticsearch"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.processes = args.processes or os.cpu_count() or 1
    if args.child:
        result = run_backend(args)
        args.out.write_text(json.dumps(result, indent=2))
        return 0
    if args.quick:
        args.feeds, args.hosts, args.articles_per_feed, args.waves = 2, 2, 3, 2
        args.watches = min(args.watches, 12)
    backends = ["embedded", "elasticsearch"] if args.backend == "both" else [args.backend]
    results: list[dict[str, Any]] = []
    server = None
    es_url = args.es_url
    try:
        for backend in backends:
            if backend == "elasticsearch" and not es_url:
                sys.path.append(str(REPO / "tests"))
                import esserver

                log("starting Elasticsearch (test distribution)…")
                try:
                    server = esserver.start()
                except esserver.Unavailable as exc:
                    results.append({"backend": backend, "error": f"no Elasticsearch: {exc}"})
                    continue
                es_url = server.url
            results.append(spawn(backend, args, es_url))
    finally:
        if server is not None:
            server.stop()
    config = {"feeds": args.feeds, "hosts": min(args.hosts, args.feeds),
              "articles": args.feeds * args.articles_per_feed, "waves": args.waves,
              "watches": args.watches, "seed": args.seed, "cores": os.cpu_count(),
              "processes": args.processes, "poll_interval": args.poll_interval,
              "per_host_delay": 0.0}
    print_table(config, results)
    for r in results:
        if "error" not in r:
            used: dict[str, float] = r["pipeline"]["cpu"]
            least: dict[str, float] = r["floor"]["cpu"]
            print(f"{r['backend']}: CPU s pipeline {used['total']} (main {used['main']}, "
                  f"workers {used['workers']}) / floor {least['total']} = {r['cpu_ratio']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"config": config, "results": results}, indent=2))
    failed = any("error" in r for r in results)
    if args.real_pages and not args.quick:  # make bench: the real pages too
        failed = real_pages_main(["--backend", args.backend, "--repeat", str(args.real_repeat)]
                                 + (["--es-url", args.es_url] if args.es_url else [])) != 0 or failed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
