"""Real-page benchmark: the full pipeline against the floor on the 80 pages of extraction-dev.

    python bench/realpages.py [--data DIR] [--hosts 4] [--repeat 3] [--pages N]
        [--backend embedded|elasticsearch|both] [--es-url URL] [--processes N] [--json OUT]

The pages of ``../shared/data/extraction-dev/html`` (read from there, never copied; skipped,
exit 0, when absent) are served by real HTTP servers in a process of their own, one per
loopback address (127.0.0.2 …), one RSS feed per outlet, the outlets spread over
``--hosts`` addresses. For each backend and repeat a fresh Python process:

1. opens a fresh data directory, registers the feeds and a few watches (maildir delivery),
   starts the extraction workers and warms enrichment (model, gazetteer, topic patterns:
   in the enrichment workers when newswatch has them, else in this process), as a
   long-running ``run --loop`` is warm;
2. times one real ``newswatch.pipeline.run_once(rt, force=True)`` over every feed
   (``per_host_delay`` 0; other politeness settings at their defaults);
3. then **the floor** on the same pages: ``trafilatura.extract(html)`` in a pool of
   ``--processes``, then spaCy NER alone (same model and components) in a pool of
   ``--processes`` that loaded the model once, in batches of ``NER_BATCH``; both pools warm
   before the clock starts. Nothing else.

CPU seconds: this process and every living descendant (``/proc/PID/stat``: the extraction
workers are the forkserver's children, which ``RUSAGE_CHILDREN`` never sees while they
live), before and after, plus ``RUSAGE_CHILDREN``. Peak memory: ``ru_maxrss`` of this
process (before the floor runs) and the largest ``VmHWM`` of a descendant. Reported:
articles/s, seconds per stage, wall and CPU seconds of both sides, the ratios pipeline /
floor in wall-clock and CPU, and min / median / max over the repeats.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the repository first: bench/alerts.py is not the alerts package
DATA = REPO.parent / "shared" / "data" / "extraction-dev"
WATCHES: tuple[dict[str, Any], ...] = ({"query": "Israel OR Gaza"}, {"query": "Trump AND election*"},
    {"query": '"Supreme Court"'}, {"query": "climate OR emissions"}, {"entities": ["Ukraine"]},
    {"entities": ["China"]}, {"topic": "war-in-ukraine"}, {"topic": "markets"})
TICKS = os.sysconf("SC_CLK_TCK")


# -- the pages and their feeds ------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str  # file name in the data set, e.g. APNews_0.html.gz
    outlet: str
    path: str  # where it is served
    html: bytes
    crawled: datetime


def load_pages(data: Path, limit: int = 0) -> list[Page]:
    """The data set's pages (gunzipped) in file-name order; ``limit`` 0: all."""
    truth = json.loads((data / "ground_truth.json").read_text(encoding="utf-8"))
    pages = []
    for name in sorted(truth):
        outlet = name.split("_", 1)[0]
        crawled = datetime.fromisoformat(truth[name].get("crawl_date") or "2024-01-01")
        html = gzip.decompress((data / "html" / name).read_bytes())
        path = f"/{outlet.lower()}/{name.removesuffix('.html.gz')}.html"
        pages.append(Page(name, outlet, path, html, crawled.replace(tzinfo=UTC)))
    return pages[:limit] if limit else pages


def outlets(pages: list[Page]) -> list[str]:
    return sorted({p.outlet for p in pages})  # one feed each


def render_feed(outlet: str, base: str, pages: list[Page]) -> bytes:
    """An RSS 2.0 feed of the outlet's pages, in our own words."""
    items = "".join(
        f"<item><title>{escape(outlet)} story {n + 1}</title><link>{base}{p.path}</link>"
        f"<guid>{base}{p.path}</guid><pubDate>{format_datetime(p.crawled)}</pubDate></item>"
        for n, p in enumerate(pages) if p.outlet == outlet)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{escape(outlet)}</title><link>{base}/</link>"
            f"<description>Pages of {escape(outlet)} (benchmark)</description>{items}"
            "</channel></rss>").encode()


def serve_main(data: str, hosts: int, limit: int) -> None:
    """The servers' process: one ``SiteServer`` per loopback address; prints the feed URLs
    (one JSON line), then serves until its standard input closes."""
    from newswatch.demo.server import Route, SiteServer

    pages = load_pages(Path(data), limit)
    names = outlets(pages)
    servers = [SiteServer(host=f"127.0.0.{2 + h}") for h in range(hosts)]
    bases = [f"http://127.0.0.{2 + h}:{s.port}" for h, s in enumerate(servers)]
    feeds = []
    for server in servers:
        server.set("/robots.txt", Route(b"User-agent: *\nAllow: /\n",
                                        content_type="text/plain; charset=utf-8"))
    for n, outlet in enumerate(names):
        server, base = servers[n % hosts], bases[n % hosts]
        for p in pages:
            if p.outlet == outlet:
                server.set(p.path, Route(p.html))
        path = f"/{outlet.lower()}/feed.xml"
        server.set(path, Route(render_feed(outlet, base, pages),
                               content_type="application/rss+xml; charset=utf-8"))
        feeds.append(base + path)
    for server in servers:
        server.start()
    try:
        print(json.dumps(feeds), flush=True)
        sys.stdin.read()
    finally:
        for server in servers:
            server.stop()


@contextlib.contextmanager
def served(data: Path, hosts: int, limit: int) -> Iterator[list[str]]:
    """The pages served over loopback by a process of their own; yields the feed URLs."""
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", "--data", str(data),
               "--hosts", str(hosts), "--pages", str(limit)]
    process = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the page servers did not start")
        feeds: list[str] = json.loads(line)
        yield feeds
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=10)


# -- CPU and memory of a process tree ------------------------------------------------------


def descendants(pid: int, exclude: frozenset[int] = frozenset()) -> list[int]:
    """Every living descendant of ``pid`` (not ``exclude`` and theirs)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError, ValueError):
                kids = [int(k) for k in task.read_text().split() if int(k) not in exclude]
                found += kids
                todo += kids
    return found


def _proc_cpu(pid: int) -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return 0.0


def _status_kib(pid: int, key: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


@dataclass
class CpuMark:
    own: float  # this process
    others: dict[int, float]  # living descendants
    reaped: float  # waited-for children

    exclude: frozenset[int] = frozenset()  # processes not to count (a load generator)

    @classmethod
    def now(cls, exclude: frozenset[int] = frozenset()) -> CpuMark:
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(me.ru_utime + me.ru_stime,
                   {pid: _proc_cpu(pid) for pid in descendants(os.getpid(), exclude)},
                   kids.ru_utime + kids.ru_stime, exclude)


def cpu_since(before: CpuMark) -> dict[str, float]:
    """CPU seconds since ``before``: this process, the other processes, the sum."""
    after = CpuMark.now(before.exclude)
    others = sum(t - before.others.get(pid, 0.0) for pid, t in after.others.items())
    others += after.reaped - before.reaped
    own = after.own - before.own
    return {"main": round(own, 3), "workers": round(others, 3), "total": round(own + others, 3)}


class PeakMemory(threading.Thread):
    """Samples the largest VmHWM of a descendant process (every ``every`` seconds)."""

    def __init__(self, every: float = 0.25) -> None:
        super().__init__(name="memory", daemon=True)
        self.every, self.peak_kib = every, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            self.sample()

    def sample(self) -> None:
        for pid in descendants(os.getpid()):
            self.peak_kib = max(self.peak_kib, _status_kib(pid, "VmHWM"))

    def stop(self) -> float:
        self.sample()
        self._stop_event.set()
        self.join(timeout=5)
        return round(self.peak_kib / 1024, 1)


# -- the floor ------------------------------------------------------------------------------


def _ner_worker_init(model: str) -> None:
    from enrich.nlp import load_model

    load_model(model)


def _ner_count(model: str, texts: list[str]) -> int:
    from enrich.analyze import NER_BATCH
    from enrich.nlp import MAX_CHARS, load_model

    nlp = load_model(model)
    return sum(len(d.ents) for d in nlp.pipe((t[:MAX_CHARS] for t in texts), batch_size=NER_BATCH))


def floor(htmls: list[bytes], processes: int, model: str) -> dict[str, Any]:
    """Plain trafilatura in a pool of ``processes``, then NER alone in a pool of
    ``processes`` (the model loaded once per worker); both pools warm before the clock."""
    import importlib
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import trafilatura

    from enrich.analyze import NER_BATCH

    context = multiprocessing.get_context("forkserver")
    memory = PeakMemory()
    memory.start()
    with ProcessPoolExecutor(processes, mp_context=context, initializer=importlib.import_module,
                             initargs=("trafilatura",)) as extract_pool, \
         ProcessPoolExecutor(processes, mp_context=context, initializer=_ner_worker_init,
                             initargs=(model,)) as ner_pool:
        list(extract_pool.map(trafilatura.extract, htmls[:processes]))
        list(ner_pool.map(_ner_count, [model] * processes, [["A warm-up in London."]] * processes))
        before, started = CpuMark.now(), time.perf_counter()
        texts = [t or "" for t in extract_pool.map(trafilatura.extract, htmls)]
        extracted = time.perf_counter()
        extract_cpu = cpu_since(before)
        chunks = [texts[i:i + NER_BATCH] for i in range(0, len(texts), NER_BATCH)]
        entities = sum(ner_pool.map(_ner_count, [model] * len(chunks), chunks))
        done = time.perf_counter()
        cpu = cpu_since(before)
    return {"pages": len(htmls), "extract_seconds": round(extracted - started, 3),
            "ner_seconds": round(done - extracted, 3), "seconds": round(done - started, 3),
            "cpu": cpu, "extract_cpu": extract_cpu["total"], "entities": entities,
            "words": sum(len(t.split()) for t in texts), "worker_peak_mib": memory.stop()}


# -- one run of the pipeline, in a process of its own ---------------------------------------


def run_settings(backend: str, home: Path, es_url: str, processes: int) -> Any:
    from core.settings import LOOPBACK_NETWORKS, load_settings

    if backend == "elasticsearch":
        sys.path.append(str(REPO / "tests"))
        import esserver

        base = esserver.settings_for(es_url, home)
    else:
        base = load_settings(env={"NEWSWATCH_HOME": str(home)})
    model = os.environ.get("NEWSWATCH_NLP_MODEL", "")
    extra = {"enrich_processes": processes} if hasattr(base, "enrich_processes") else {}
    return dataclasses.replace(
        base, per_host_delay=0.0, extract_processes=processes, smtp_host="",
        public_url="https://news.example.test", unsubscribe_secret="bench-secret",
        nlp_model=model or base.nlp_model, **extra,
    ).with_allowed(*LOOPBACK_NETWORKS)


def warm(rt: Any, page: bytes) -> float:
    """Start the extraction workers and warm enrichment, as a long-running process is."""
    from enrich.analyze import Document, analyze
    from enrich.gazetteer import Gazetteer
    from enrich.nlp import load_model
    from enrich.topics import load_taxonomy

    started = time.perf_counter()
    threads = [threading.Thread(target=rt.extractor.extract, args=(page, "http://127.0.0.1/"),
                                kwargs={"pooled": True}) for _ in range(rt.extractor.processes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    enricher = getattr(rt, "enricher", None)
    if enricher is not None and hasattr(enricher, "warm"):
        enricher.warm()
    else:
        analyze([Document("Warm-up", "A warm-up in London.")], load_model(rt.settings.nlp_model),
                Gazetteer.load(), load_taxonomy(rt.settings.taxonomy_path))
    return round(time.perf_counter() - started, 3)


def run_child(args: argparse.Namespace) -> dict[str, Any]:
    from alerts.watches import add_watch
    from newswatch.pipeline import add_feed, run_once
    from newswatch.resources import open_runtime

    feeds = json.loads(args.feeds_json)
    pages = load_pages(args.data, args.pages)
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-realpages-") as tmp:
        settings = run_settings(args.child, Path(tmp) / "home", args.es_url, args.processes)
        rt = open_runtime(settings)
        memory = PeakMemory()
        memory.start()
        try:
            for url in feeds:
                add_feed(rt, url)
            for i, spec in enumerate(WATCHES):
                add_watch(rt, f"bench watch {i + 1}", [f"reader{i + 1}@example.org"], **spec)
            one_off = warm(rt, pages[0].html)
            before, started = CpuMark.now(), time.perf_counter()
            report = run_once(rt, force=True)
            wall = time.perf_counter() - started
            cpu = cpu_since(before)
            main_peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            worker_peak = memory.stop()
        finally:
            memory.stop()
            rt.close()
            if args.child == "elasticsearch":
                import esserver

                esserver.drop_indices(settings)
    floor_result = floor([p.html for p in pages], args.processes, settings.nlp_model)
    articles = report.new + report.updated
    return {
        "backend": args.child, "pages": len(pages), "articles": articles,
        "failed": len(report.failures), "enriched": report.enriched, "alerts": report.alerts,
        "seconds": round(wall, 3), "articles_per_second": round(articles / wall, 2),
        "stage_seconds": {k: round(v, 3) for k, v in report.stage_seconds.items()},
        "cpu": cpu, "memory": {"main_peak_mib": main_peak, "worker_peak_mib": worker_peak},
        "warm_up_seconds": one_off, "floor": floor_result,
        "wall_ratio": round(wall / floor_result["seconds"], 3),
        "cpu_ratio": round(cpu["total"] / floor_result["cpu"]["total"], 3),
        "load_average": round(os.getloadavg()[0], 2),
    }


def spawn(backend: str, args: argparse.Namespace, feeds: list[str], es_url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-realpages-out-") as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--child", backend,
                   "--out", str(out), "--feeds-json", json.dumps(feeds), "--data", str(args.data),
                   "--pages", str(args.pages), "--processes", str(args.processes),
                   "--es-url", es_url]
        done = subprocess.run(command, cwd=REPO, check=False)
        if done.returncode != 0 or not out.is_file():
            return {"backend": backend, "error": f"the benchmark process exited with {done.returncode}"}
        result: dict[str, Any] = json.loads(out.read_text())
        return result


# -- report ----------------------------------------------------------------------------------

STAGES = ("fetch", "enrich", "stories", "index", "alerts")


def _stage_seconds(stage: str, r: dict[str, Any]) -> float:
    return float(r["stage_seconds"].get(stage, 0.0))


FIGURES: dict[str, Callable[[dict[str, Any]], float]] = {
    "art/s": lambda r: r["articles_per_second"],
    "wall s": lambda r: r["seconds"],
    "cpu s": lambda r: r["cpu"]["total"],
    "main cpu": lambda r: r["cpu"]["main"],
    "floor s": lambda r: r["floor"]["seconds"],
    "floor cpu": lambda r: r["floor"]["cpu"]["total"],
    "wall ratio": lambda r: r["wall_ratio"],
    "cpu ratio": lambda r: r["cpu_ratio"],
    **{stage: functools.partial(_stage_seconds, stage) for stage in STAGES},
    "main MiB": lambda r: r["memory"]["main_peak_mib"],
    "worker MiB": lambda r: r["memory"]["worker_peak_mib"],
}


def summary(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """min / median / max of every figure over the runs."""
    return {name: {"min": round(min(v), 3), "median": round(statistics.median(v), 3),
                   "max": round(max(v), 3)}
            for name, v in ((name, [get(r) for r in runs]) for name, get in FIGURES.items())}


def print_report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    print(f"real pages: {args.pages or 'all'} of {args.data}, {args.hosts} loopback hosts, "
          f"{args.processes} processes per pool, {os.cpu_count()} cores, {args.repeat} repeat(s)")
    for backend, runs in results.items():
        good = [r for r in runs if "error" not in r]
        print("".join(f"{backend}: error: {r['error']}\n" for r in runs if "error" in r), end="")
        if not good:
            continue
        s = summary(good)
        print(f"{backend}: {good[0]['articles']} articles of {good[0]['pages']} pages, "
              f"{good[0]['failed']} failed, {good[0]['alerts']} alerts; floor extract "
              f"{good[0]['floor']['extract_seconds']} s + NER {good[0]['floor']['ner_seconds']} s; "
              f"load average {', '.join(str(r['load_average']) for r in good)}")
        print("  " + "".join(f"{h:>11}" for h in ("", *FIGURES)))
        for stat in ("min", "median", "max"):
            print("  " + f"{stat:>11}" + "".join(f"{s[name][stat]:>11}" for name in FIGURES))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--pages", type=int, default=0, help="the first N pages (0: all)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=("embedded", "elasticsearch", "both"), default="both")
    parser.add_argument("--es-url", default=os.environ.get("NEWSWATCH_ES_URL", ""))
    parser.add_argument("--processes", type=int, default=0, help="workers per pool (0: cores)")
    parser.add_argument("--json", type=Path, default=REPO / "build" / "bench" / "realpages.json")
    parser.add_argument("--child", choices=("embedded", "elasticsearch"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--feeds-json", default="[]", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.processes = args.processes or os.cpu_count() or 1
    if args.serve:  # the servers' process
        serve_main(str(args.data), args.hosts, args.pages)
    elif args.child:  # one run's process
        args.out.write_text(json.dumps(run_child(args), indent=2))
    if args.serve or args.child:
        return 0
    if not (args.data / "ground_truth.json").is_file():
        print(f"real-page benchmark skipped: {args.data} is not there")
        return 0
    backends = ["embedded", "elasticsearch"] if args.backend == "both" else [args.backend]
    results: dict[str, list[dict[str, Any]]] = {}
    server, es_url = None, args.es_url
    try:
        with served(args.data, args.hosts, args.pages) as feeds:
            for backend in backends:
                if backend == "elasticsearch" and not es_url:
                    sys.path.append(str(REPO / "tests"))
                    import esserver

                    try:
                        server = esserver.start()
                    except esserver.Unavailable as exc:
                        results[backend] = [{"backend": backend, "error": f"no Elasticsearch: {exc}"}]
                        continue
                    es_url = server.url
                results[backend] = [spawn(backend, args, feeds, es_url) for _ in range(args.repeat)]
    finally:
        if server is not None:
            server.stop()
    print_report(results, args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        summaries = {b: summary([r for r in runs if "error" not in r])
                     for b, runs in results.items() if any("error" not in r for r in runs)}
        args.json.write_text(json.dumps({"runs": results, "summary": summaries}, indent=2))
    return 1 if any("error" in r for runs in results.values() for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
