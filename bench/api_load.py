"""API load test: latency of /search and /stories at a FIXED request rate, on both backends.

    python bench/api_load.py [--backend embedded|elastic|both] [--articles 50000] [--rate 50]
                             [--seconds 30] [--json OUT] [--warmup 3] [--seed 1]
                             [--es-url URL] [--cache build/bench]
    python bench/api_load.py --in-process [--requests 1000] [--index FILE] [--dump OUT]

1. **Data.** ``--articles`` synthetic articles (default 50,000) grouped into stories of 1–8
   articles over 120 days, written from our own word lists and sentence templates: 40 outlets,
   the nine topics of ``enrich/taxonomy.yaml``, countries, organisations and people of our
   gazetteer (so entity filters such as ``Germany`` or ``NATO`` resolve as they do in
   production) plus invented local people and places, figures and a long tail of rare
   words. They go into a real SQLite state store (articles, topics, entities) and the
   embedded index exactly as ``newswatch run`` writes them; both are cached under
   ``--cache`` (``build/bench/``), keyed by the generator's parameters and the source of the
   index and schema, so later runs start at once. For Elasticsearch the same documents are
   generated again (deterministic) and bulk-indexed into a throwaway server started the way
   the tests start one (``tests/esserver.py``), or into ``--es-url``.
2. **Server.** The real API: ``newswatch serve`` in a subprocess on a free loopback port
   (one uvicorn worker, as shipped), on that data.
3. **Load.** Open loop: request *i* is sent at ``start + i / rate`` whatever happened to
   the earlier ones (asyncio + httpx, connections as needed), so a slow answer cannot hold
   back the next requests (no coordinated omission). Latency is measured from the time a
   request was *scheduled*, not from when it could be sent. The mix: 80 % ``/search`` (one
   or two words, phrases, OR / NOT, ``title:``, prefix wildcards, or no query; a third
   filtered by source, topic, entity, dates or language; pages 1–5, sizes 10 and 20; facets
   on, as the API does by default) and 20 % ``/stories`` (pages 1–3, some filtered by topic
   or entity). ``--warmup`` seconds at the same rate go first and are not counted.

``--in-process`` starts no server: it times ``EmbeddedIndex.search`` + ``facets`` (the API's
facet fields) over the plan's ``/search`` requests one after another on the cached index (or
``--index``), prints per-phase percentiles and the slowest requests, and ``--dump`` writes
every answer (total, ids, scores, snippets, facets) as JSON, to compare two versions of the
code answer for answer.

Printed per backend and endpoint: requests, errors (any status but 200, or no answer within
30 s), achieved rate, p50 / p95 / p99 / max latency in ms. The load generator shares the
machine with the server (and Elasticsearch): on 2 cores that costs both some CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import importlib.util
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from core import schema as t  # noqa: E402
from core.db import Store  # noqa: E402
from core.models import IndexDoc, StoryDoc  # noqa: E402
from core.settings import Settings, load_settings  # noqa: E402
from enrich.gazetteer import GazEntry, Gazetteer, normalise, slug  # noqa: E402
from ingest.urls import article_id  # noqa: E402

GENERATOR_VERSION = 2  # bump when the generated data changes: invalidates the cache
END = datetime(2026, 11, 1, tzinfo=UTC)
SPAN_DAYS = 120
STORY_SIZES = (1, 2, 3, 4, 5, 6, 7, 8)
STORY_WEIGHTS = (30, 18, 13, 10, 9, 8, 7, 5)
BATCH = 1000
REQUEST_TIMEOUT = 30.0
ENDPOINT_SHARE = {"/search": 0.8, "/stories": 0.2}

# -- our own word lists ---------------------------------------------------------------------
OUTLET_FIRST = ("Harbour", "Capital", "Northern", "Evening", "Morning", "Coastal", "Valley",
                "Metro", "Global", "Continental")
OUTLET_LAST = ("Gazette", "Observer", "Ledger", "Wire")
TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "arms-transfers": ("shipment", "artillery", "shells", "munitions", "cargo", "weapons",
                       "delivery", "rockets", "arms", "convoy", "depot", "supplier"),
    "sanctions": ("sanctions", "embargo", "assets", "frozen", "treasury", "export", "controls",
                  "penalties", "banks", "designation", "waiver", "enforcement"),
    "dprk-russia": ("pyongyang", "summit", "cooperation", "troops", "treaty", "border",
                    "railway", "delegation", "envoy", "visit", "pact", "exchange"),
    "drones": ("drones", "drone", "strike", "interceptors", "airspace", "swarm", "launch",
               "radar", "factory", "components", "attack", "overnight"),
    "nuclear-weapons": ("nuclear", "warheads", "enrichment", "reactor", "inspectors", "test",
                        "uranium", "missile", "deterrent", "arsenal", "treaty", "site"),
    "war-in-ukraine": ("front", "offensive", "shelling", "frontline", "brigade", "village",
                       "counteroffensive", "casualties", "ceasefire", "trenches", "units",
                       "reinforcements"),
    "markets": ("shares", "index", "rates", "inflation", "bonds", "earnings", "investors",
                "currency", "profit", "trading", "yields", "outlook"),
    "sports": ("match", "goal", "season", "coach", "league", "final", "striker", "victory",
               "tournament", "injury", "championship", "squad"),
    "weather": ("storm", "flooding", "rainfall", "warning", "temperatures", "wind", "drought",
                "heatwave", "forecast", "snow", "evacuation", "gusts"),
}
VERBS = ("announced", "confirmed", "denied", "warned", "reported", "approved", "rejected",
         "delayed", "expanded", "suspended", "criticised", "welcomed", "signed", "proposed")
HEADLINE_VERBS = ("warns of", "confirms", "denies", "braces for", "weighs", "rejects",
                  "backs", "delays", "expands", "faces", "probes", "unveils")
ROLES = ("minister", "spokesperson", "official", "analyst", "commander", "director",
         "adviser", "economist", "mayor", "envoy")
WHEN = ("on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday",
        "at the weekend", "late on Sunday", "earlier this week", "overnight")
FILLER = ("the", "officials", "said", "according", "people", "familiar", "with", "matter",
          "government", "statement", "plans", "week", "report", "country", "local", "region",
          "talks", "decision", "public", "month", "year", "new", "first", "last", "since",
          "after", "before", "during", "while", "including")
SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vo", "bar", "del", "sun", "po", "ter", "an",
             "gri", "mol", "zek", "fa", "nu", "sel", "dor", "lu", "ves", "cha", "tri", "bel")
TEMPLATES = (
    "{person}, the {role} of {org}, said {when} that the {w1} would {verb2} the {w2} in {place}.",
    "{place} {verb} the {w1} {when}, {n} {unit} after the {w2} began.",
    "According to {org}, the {w1} involved {n} {unit} and {w2} near {local}.",
    "\"We will not accept {w1} of this kind,\" {person} told reporters in {local}.",
    "The {w1} comes as {org} {verb} new {w2} covering {place} and its neighbours.",
    "{person}, {a_role} in {local}, said the {w1} had {verb} the {w2} of {rare}.",
    "Figures published {when} showed {n} {unit} of {w1}, up from {n2} a year earlier.",
    "{org} {verb} a request to discuss the {w1}, the {role} said.",
    "Residents of {local} described the {w1} as the worst since {year}.",
    "Analysts expect the {w1} to weigh on {w2} in {place} for months.",
)
UNITS = ("tonnes", "people", "units", "million euros", "percent", "kilometres", "days",
         "containers", "flights")


@dataclass(frozen=True)
class World:
    outlets: tuple[str, ...]
    countries: tuple[GazEntry, ...]
    orgs: tuple[GazEntry, ...]
    people: tuple[GazEntry, ...]
    locals_: tuple[str, ...]  # invented towns
    residents: tuple[str, ...]  # invented people
    rare: tuple[str, ...]  # a long tail of rare words


def world(seed: int) -> World:
    rng = random.Random(seed)

    def word(n: int) -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(n))

    gaz = Gazetteer.load().entries()
    return World(
        outlets=tuple(f"The {a} {b}" for a in OUTLET_FIRST for b in OUTLET_LAST),
        countries=tuple(e for e in gaz if e.kind == "country"),
        orgs=tuple(e for e in gaz if e.kind in ("organisation", "body")),
        people=tuple(e for e in gaz if e.kind == "person"),
        locals_=tuple(dict.fromkeys(word(3).capitalize() + rng.choice(("ton", "burg", "ford",
                                    "vik", "mouth", "stad")) for _ in range(3000))),
        residents=tuple(dict.fromkeys(f"{word(2).capitalize()} {word(3).capitalize()}"
                                      for _ in range(8000))),
        rare=tuple(dict.fromkeys(word(rng.randint(3, 5)) for _ in range(40000))),
    )


@dataclass
class Generated:
    docs: list[IndexDoc] = field(default_factory=list)
    stories: list[StoryDoc] = field(default_factory=list)


def _entity(e: GazEntry) -> tuple[str, str, str]:
    return (e.id, e.name, e.type)


def _resident(name: str) -> tuple[str, str, str]:
    return (f"key:person:{slug(normalise(name))}", name, "person")


def generate(n_articles: int, seed: int) -> Iterator[Generated]:
    """Articles (and their stories) in chunks of about ``BATCH``; the same for a seed."""
    w = world(seed)
    rng = random.Random(seed + 1)
    topics = tuple(TOPIC_WORDS)
    span = SPAN_DAYS * 86400
    made = 0
    chunk = Generated()
    story_no = 0
    while made < n_articles:
        size = min(rng.choices(STORY_SIZES, STORY_WEIGHTS)[0], n_articles - made)
        story_no += 1
        tags = (rng.choice(topics),) + ((rng.choice(topics),) if rng.random() < 0.2 else ())
        tags = tuple(dict.fromkeys(tags))
        words = [x for tag in tags for x in rng.sample(TOPIC_WORDS[tag], 5)]
        place = rng.choice(w.countries)
        other = rng.choice(w.countries)
        org = rng.choice(w.orgs)
        people = [rng.choice(w.people)] if rng.random() < 0.5 else []
        residents = rng.sample(w.residents, 2)
        local = rng.choice(w.locals_)
        entities = [_entity(place), _entity(org), *map(_entity, people),
                    *map(_resident, residents), _entity(other)]
        start = END - timedelta(seconds=rng.uniform(0.05, 1.0) * span)
        ids: list[str] = []
        outlets: list[str] = []
        times: list[datetime] = []
        title = ""
        for j in range(size):
            outlet = rng.choice(w.outlets)
            published = start + timedelta(hours=rng.uniform(0, 72) * (j > 0))
            verb = rng.choice(HEADLINE_VERBS)
            headline = (f"{place.name} {verb} {words[0]} {rng.choice(words[1:])}" if j % 2 == 0
                        else f"{org.name} {verb} {words[0]} in {local}")
            title = title or headline
            speaker = rng.choice(residents + [p.name for p in people])
            body = []
            for _ in range(rng.randint(14, 30)):  # 250-650 words, as news articles run
                role = rng.choice(ROLES)
                body.append(rng.choice(TEMPLATES).format(
                    person=speaker, role=role, a_role=("an " if role[0] in "aeiou" else "a ")
                    + role, org=org.name, place=place.name,
                    local=local, when=rng.choice(WHEN), verb=rng.choice(VERBS),
                    verb2=rng.choice(VERBS).removesuffix("ed").removesuffix("d"),
                    w1=rng.choice(words), w2=rng.choice(words), n=rng.randint(2, 900),
                    n2=rng.randint(2, 900), unit=rng.choice(UNITS), year=rng.randint(1950, 2024),
                    rare=rng.choice(w.rare)))
                if rng.random() < 0.3:
                    body.append(" ".join(rng.choice(FILLER) for _ in range(rng.randint(8, 16)))
                                .capitalize() + " " + rng.choice(w.rare) + ".")
            domain = slug(outlet).removeprefix("the-") + ".example"
            url = (f"https://www.{domain}/{published:%Y/%m}/"
                   f"{slug(headline)[:60]}-{story_no}-{j}")
            doc_id = article_id(url)
            language = "en" if rng.random() > 0.03 else rng.choice(("de", "fr"))
            story_id = f"st{hashlib.sha1(f'{seed}:{story_no}'.encode()).hexdigest()[:14]}"
            chunk.docs.append(IndexDoc(
                id=doc_id, url=url, title=headline, body=" ".join(body), source=outlet,
                published=published, ingested=published + timedelta(minutes=rng.randint(1, 90)),
                language=language, entities=tuple(dict.fromkeys(entities)), topics=tags,
                story_id=story_id))
            ids.append(doc_id)
            outlets.append(outlet)
            times.append(published)
        chunk.stories.append(StoryDoc(
            id=story_id, title=title, first_seen=min(times), last_updated=max(times),
            article_ids=tuple(ids), outlets=tuple(dict.fromkeys(outlets)),
            entities=tuple((e[0], e[1]) for e in entities[:6]), topics=tags))
        made += size
        if len(chunk.docs) >= BATCH:
            yield chunk
            chunk = Generated()
    if chunk.docs:
        yield chunk


# -- the cached embedded data set -------------------------------------------------------------
def cache_key(n_articles: int, seed: int) -> str:
    """Changes with the generator and with what defines what is stored: the index's schema
    (its version and statements, not the rest of its code, so that changing how it searches
    keeps the data set) and the state store's."""
    from search import embedded, embedded_facets, embedded_terms

    h = hashlib.sha256(f"{GENERATOR_VERSION}:{n_articles}:{seed}".encode())
    for text in (str(embedded.SCHEMA_VERSION), embedded._SCHEMA, embedded._UPSERT,
                 embedded_facets.SCHEMA, *embedded_terms._DDL):
        h.update(text.encode())
    h.update((REPO / "core" / "schema.py").read_bytes())
    for path in sorted((REPO / "core" / "migrations" / "versions").glob("*.py")):
        h.update(path.name.encode())
    return h.hexdigest()[:12]


def store_rows(store: Store, docs: Sequence[IndexDoc]) -> None:
    """The state-store rows the API reads next to the index (story, topics, entities)."""
    articles, topics, entities = [], [], []
    for d in docs:
        text = d.body
        articles.append(dict(
            id=d.id, url=d.url, source=d.source, title=d.title, author="", published_at=d.published,
            published_source="page", language=d.language, text=text,
            text_hash=hashlib.sha256(text.encode()).hexdigest(), method="trafilatura",
            status="extracted", revision=1, indexed_revision=1, enriched_revision=1,
            enrich_note="", clustered_revision=1, story_id=d.story_id, novelty_detail="{}",
            first_seen_at=d.ingested, updated_at=d.ingested, indexed_at=d.ingested))
        topics += [dict(article_id=d.id, tag=tag, score=0.8 - 0.1 * i, evidence="{}")
                   for i, tag in enumerate(d.topics)]
        entities += [dict(article_id=d.id, entity_id=e_id, name=name, type=kind, mentions=2,
                          first_pos=0, in_title=False, salience=round(1.0 - 0.1 * i, 2),
                          surfaces="[]")
                     for i, (e_id, name, kind) in enumerate(d.entities)]
    with store.engine.begin() as conn:
        conn.execute(insert(t.articles), articles)
        if topics:
            conn.execute(insert(t.article_topics), topics)
        if entities:
            conn.execute(insert(t.article_entities), entities)


def embedded_data(cache: Path, n_articles: int, seed: int) -> tuple[Path, float]:
    """The folder holding ``state.sqlite`` and ``index.sqlite`` for these parameters, built
    when missing; and the seconds the build took (0 when cached)."""
    from search.embedded import EmbeddedIndex

    folder = cache / f"api-{n_articles}-seed{seed}-{cache_key(n_articles, seed)}"
    if (folder / "complete").is_file():
        return folder, 0.0
    cache.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=cache))
    try:
        store = Store.open(f"sqlite:///{staging / 'state.sqlite'}")
        index = EmbeddedIndex(staging / "index.sqlite")
        try:
            done = 0
            for chunk in generate(n_articles, seed):
                store_rows(store, chunk.docs)
                index.upsert_many(chunk.docs)
                index.upsert_stories(chunk.stories)
                done += len(chunk.docs)
                progress("embedded index and state store", done, n_articles)
        finally:
            index.close()
            store.close()
        (staging / "complete").write_text(datetime.now(UTC).isoformat() + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
        for stale in cache.glob(f"api-{n_articles}-seed{seed}-*"):  # older generator or code
            if stale != folder:
                shutil.rmtree(stale, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder, time.monotonic() - began


def progress(what: str, done: int, total: int) -> None:
    """A progress line (rewritten in place on a terminal, printed once at the end otherwise)."""
    if sys.stdout.isatty():
        print(f"\r  {what}: {done:,} / {total:,} articles", end="\n" if done >= total else "",
              flush=True)
    elif done >= total:
        print(f"  {what}: {total:,} articles written", flush=True)


def fill_elastic(settings: Settings, n_articles: int, seed: int) -> float:
    from search.elastic import ElasticIndex

    began = time.monotonic()
    with ElasticIndex(settings) as index:
        done = 0
        for chunk in generate(n_articles, seed):
            index.upsert_many(chunk.docs)
            index.upsert_stories(chunk.stories)
            done += len(chunk.docs)
            progress("elasticsearch", done, n_articles)
    return time.monotonic() - began


def _esserver() -> ModuleType:
    """``tests/esserver.py``, which fetches, starts and stops a throwaway Elasticsearch."""
    name = "newswatch_bench_esserver"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "esserver.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


# -- the server -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def api_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """``newswatch serve`` in a subprocess on a free loopback port; yields its base URL."""
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    full.update(env)
    command = [sys.executable, "-m", "newswatch.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=full,
                                   cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the API exited ({process.returncode}): "
                                   f"{log.read_text(errors='replace')[-800:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API did not become healthy within 60 s: "
                                   f"{log.read_text(errors='replace')[-800:]}")
            time.sleep(0.2)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


# -- the load ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Planned:
    endpoint: str
    params: dict[str, Any]


def plan_requests(n: int, seed: int) -> list[Planned]:
    """``n`` requests, the mix described at the top, the same for a seed."""
    w = world(seed)
    rng = random.Random(seed + 2)
    all_words = [x for words in TOPIC_WORDS.values() for x in words]
    countries = [c.name for c in w.countries[:60]]
    orgs = [o.name for o in w.orgs[:30]]
    plans = []
    for _ in range(n):
        if rng.random() < ENDPOINT_SHARE["/search"]:
            kind = rng.random()
            a, b = rng.choice(all_words), rng.choice(all_words)
            if kind < 0.30:
                q = a
            elif kind < 0.50:
                q = f"{a} {rng.choice(countries)}"
            elif kind < 0.60:
                q = f'"{rng.choice(countries)} {rng.choice(HEADLINE_VERBS)}"'
            elif kind < 0.70:
                q = f"{a} OR {b}"
            elif kind < 0.77:
                q = f"{a} -{b}"
            elif kind < 0.85:
                q = f"title:{a}"
            elif kind < 0.90:
                q = a[: max(3, len(a) - 3)] + "*"
            else:
                q = ""
            params: dict[str, Any] = {"q": q}
            f = rng.random()
            if f < 0.08:
                params["source"] = rng.choice(w.outlets)
            elif f < 0.16:
                params["topic"] = rng.choice(tuple(TOPIC_WORDS))
            elif f < 0.24:
                params["entity"] = rng.choice(countries + orgs)
            elif f < 0.30:
                day = END - timedelta(days=rng.randint(1, SPAN_DAYS))
                params["from"] = day.date().isoformat()
                params["to"] = (day + timedelta(days=rng.randint(1, 14))).date().isoformat()
            elif f < 0.33:
                params["language"] = "en"
            params["page"] = 1 if rng.random() < 0.7 else rng.randint(2, 5)
            params["size"] = rng.choice((10, 10, 20))
            plans.append(Planned("/search", params))
        else:
            params = {"page": 1 if rng.random() < 0.6 else rng.randint(2, 3)}
            f = rng.random()
            if f < 0.25:
                params["topic"] = rng.choice(tuple(TOPIC_WORDS))
            elif f < 0.5:
                params["entity"] = rng.choice(countries)
            plans.append(Planned("/stories", params))
    return plans


@dataclass
class Sample:
    endpoint: str
    latency: float  # seconds from the scheduled start to the complete answer
    ok: bool
    error: str = ""
    lag: float = 0.0  # seconds the generator sent it late (should stay near 0)
    empty: bool = False  # a search that found nothing


async def drive(base: str, plans: Sequence[Planned], rate: float) -> tuple[list[Sample], float]:
    """Send ``plans`` open-loop at ``rate`` per second; returns the samples and the time
    from the first scheduled start to the last answer."""
    loop = asyncio.get_running_loop()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    timeout = httpx.Timeout(REQUEST_TIMEOUT, pool=None)
    samples: list[Sample] = []

    async def one(client: httpx.AsyncClient, planned: Planned, scheduled: float) -> None:
        error = ""
        empty = False
        lag = loop.time() - scheduled
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                response = await client.get(planned.endpoint, params=planned.params)
            ok = response.status_code == 200
            if not ok:
                error = f"HTTP {response.status_code}"
            elif planned.endpoint == "/search":
                empty = response.json()["total"] == 0
        except (httpx.HTTPError, TimeoutError) as exc:
            ok, error = False, type(exc).__name__
        samples.append(Sample(planned.endpoint, loop.time() - scheduled, ok, error, lag, empty))

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        start = loop.time() + 0.2
        tasks = []
        for i, planned in enumerate(plans):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client, planned, scheduled)))
        await asyncio.gather(*tasks)
    return samples, loop.time() - start


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def summarise(samples: Sequence[Sample], seconds: float) -> dict[str, Any]:
    latencies = sorted(s.latency * 1000 for s in samples)
    errors: dict[str, int] = {}
    for s in samples:
        if not s.ok:
            errors[s.error] = errors.get(s.error, 0) + 1
    return {
        "requests": len(samples),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "achieved_rate": round(len(samples) / seconds, 2) if seconds else 0.0,
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else float("nan"),
        "send_lag_p99_ms": round(percentile(sorted(s.lag * 1000 for s in samples), 0.99), 1),
        "empty_results": sum(s.empty for s in samples),
    }


def load(base: str, rate: float, seconds: float, warmup: float, seed: int) -> dict[str, Any]:
    if warmup > 0:
        asyncio.run(drive(base, plan_requests(max(1, int(rate * warmup)), seed + 100), rate))
    plans = plan_requests(max(1, int(rate * seconds)), seed)
    samples, elapsed = asyncio.run(drive(base, plans, rate))
    endpoints = {e: summarise([s for s in samples if s.endpoint == e], elapsed)
                 for e in ENDPOINT_SHARE}
    endpoints["all"] = summarise(samples, elapsed)
    return {"elapsed_seconds": round(elapsed, 2), "endpoints": endpoints}


# -- in process -------------------------------------------------------------------------------
def search_requests(plans: Sequence[Planned]) -> list[Any]:
    """The ``/search`` requests of ``plans`` as the API builds them (entity names resolved,
    a ``to`` date taking its whole day, pages as offsets)."""
    from datetime import time as dtime

    from core.models import SearchRequest
    from search.entities import resolve_entity

    out = []
    for p in plans:
        if p.endpoint != "/search":
            continue
        q = p.params
        since = until = None
        if "from" in q:
            since = datetime.combine(datetime.fromisoformat(q["from"]).date(), dtime.min,
                                     tzinfo=UTC)
            until = datetime.combine(datetime.fromisoformat(q["to"]).date(), dtime.max,
                                     tzinfo=UTC)
        out.append(SearchRequest(
            query=q["q"], source=q.get("source"), topic=q.get("topic"),
            language=q.get("language"), since=since, until=until,
            entities=resolve_entity(q["entity"]) if "entity" in q else (),
            limit=q["size"], offset=(q["page"] - 1) * q["size"]))
    return out


def in_process(index_path: Path, n: int, seed: int, dump: Path | None) -> dict[str, Any]:
    """``EmbeddedIndex.search`` + ``facets`` (the API's fields) over the ``/search`` requests
    of the plan, one after another in this process: per-phase latency, the slowest requests,
    and (``dump``) every answer as JSON, to compare two versions of the code."""
    from search.embedded import EmbeddedIndex

    fields = ("source", "topics", "entity_ids", "language")
    requests = search_requests(plan_requests(n, seed))
    times: dict[str, list[float]] = {"search": [], "facets": [], "both": []}
    slow: list[tuple[float, str]] = []
    answers = []
    with EmbeddedIndex(index_path) as index:
        for r in requests[:20]:  # warm the page cache
            index.search(r)
        for r in requests:
            t0 = time.perf_counter()
            result = index.search(r)
            t1 = time.perf_counter()
            facets = index.facets(r, fields, 10)
            t2 = time.perf_counter()
            times["search"].append((t1 - t0) * 1000)
            times["facets"].append((t2 - t1) * 1000)
            times["both"].append((t2 - t0) * 1000)
            slow.append(((t2 - t0) * 1000, f"{r.query!r} {_filters(r)} offset={r.offset} "
                                           f"search {(t1 - t0) * 1000:.1f} ms"))
            answers.append({"request": repr(r), "total": result.total,
                            "hits": [(h.id, h.score, h.snippet) for h in result.hits],
                            "facets": facets})
    if dump is not None:
        dump.write_text(json.dumps(answers, indent=0, default=str) + "\n")
    summary: dict[str, Any] = {"requests": len(requests)}
    for name, values in times.items():
        values.sort()
        summary[name] = {q: round(percentile(values, v), 1)
                         for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}
        summary[name]["total_s"] = round(sum(values) / 1000, 2)
    summary["slowest"] = [f"{ms:.1f} ms {what}" for ms, what in sorted(slow, reverse=True)[:12]]
    return summary


def _filters(r: Any) -> str:
    parts = [f"{k}={getattr(r, k)}" for k in ("source", "topic", "language") if getattr(r, k)]
    if r.entities:
        parts.append(f"entities={r.entities[0]}…")
    if r.since:
        parts.append(f"since={r.since:%m-%d}")
    return " ".join(parts)


# -- one backend ------------------------------------------------------------------------------
def run_backend(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    data, built = embedded_data(args.cache, args.articles, args.seed)
    env = {"NEWSWATCH_HOME": str(workdir / name),
           "NEWSWATCH_DATABASE_URL": f"sqlite:///{data / 'state.sqlite'}"}
    result: dict[str, Any] = {"backend": name, "articles": args.articles}
    es: Any = None
    settings: Settings | None = None
    try:
        if name == "embedded":
            env["NEWSWATCH_INDEX_PATH"] = str(data / "index.sqlite")
            result["build_seconds"] = round(built, 1)
        else:
            url = args.es_url
            if not url:
                esserver = _esserver()
                print("  starting Elasticsearch …", flush=True)
                es = esserver.start()
                url = es.url
            prefix = f"nwbench-{uuid.uuid4().hex[:8]}"
            settings = load_settings(env={"NEWSWATCH_HOME": str(workdir / name),
                                          "NEWSWATCH_INDEX": "elasticsearch",
                                          "NEWSWATCH_ES_URL": url,
                                          "NEWSWATCH_ES_INDEX_PREFIX": prefix})
            result["build_seconds"] = round(fill_elastic(settings, args.articles, args.seed), 1)
            env.update(NEWSWATCH_INDEX="elasticsearch", NEWSWATCH_ES_URL=url,
                       NEWSWATCH_ES_INDEX_PREFIX=prefix)
        with api_server(env, workdir / f"{name}-api.log") as base:
            health = httpx.get(f"{base}/health", timeout=30).json()
            result["index_documents"] = health["checks"]["index"]["documents"]
            print(f"  {name}: {result['index_documents']:,} documents; {args.rate:g} requests/s "
                  f"for {args.seconds:g} s (after {args.warmup:g} s warm-up) …", flush=True)
            result.update(load(base, args.rate, args.seconds, args.warmup, args.seed))
    finally:
        if settings is not None and es is None:  # a server we did not start: clean up
            with contextlib.suppress(Exception):
                _esserver().drop_indices(settings)
        if es is not None:  # a throwaway server goes, and its data with it
            es.stop()
    return result


def table(results: Sequence[dict[str, Any]], rate: float) -> list[str]:
    lines = [f"{'backend':<14}{'endpoint':<10}{'requests':>9}{'errors':>8}{'rate/s':>8}"
             f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"]
    for r in results:
        for endpoint, s in r["endpoints"].items():
            lines.append(f"{r['backend']:<14}{endpoint:<10}{s['requests']:>9}{s['errors']:>8}"
                         f"{s['achieved_rate']:>8.1f}{s['p50_ms']:>9.1f}{s['p95_ms']:>9.1f}"
                         f"{s['p99_ms']:>9.1f}{s['max_ms']:>9.1f}")
    lines.append(f"(scheduled: {rate:g} requests/s, "
                 + ", ".join(f"{int(v * 100)} % {k}" for k, v in ENDPOINT_SHARE.items())
                 + "; latency from the scheduled start)")
    return lines


def machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_average": [round(x, 2) for x in
                                                              os.getloadavg()]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=("embedded", "elastic", "both"), default="both")
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured duration")
    parser.add_argument("--warmup", type=float, default=3.0, help="uncounted seconds first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--cache", type=Path, default=REPO / "build" / "bench",
                        help="where the embedded data set is cached (default build/bench)")
    parser.add_argument("--es-url", default="",
                        help="use this Elasticsearch instead of starting a throwaway one")
    parser.add_argument("--in-process", action="store_true",
                        help="no server: time EmbeddedIndex.search + facets over the plan's "
                             "/search requests (--requests of them) on the cached index")
    parser.add_argument("--requests", type=int, default=1000,
                        help="planned requests for --in-process (about 80 %% are /search)")
    parser.add_argument("--index", type=Path, help="--in-process on this index file instead")
    parser.add_argument("--dump", type=Path, help="--in-process: write every answer here")
    args = parser.parse_args(argv)
    if args.in_process:
        index_path = args.index or embedded_data(args.cache, args.articles, args.seed)[0] / \
            "index.sqlite"
        print(f"in process: {index_path} (load {os.getloadavg()[0]:.2f})", flush=True)
        print(json.dumps(in_process(index_path, args.requests, args.seed, args.dump), indent=2))
        return 0
    if args.articles < 1 or args.rate <= 0 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--articles, --rate and --seconds must be positive, --warmup >= 0")
    backends = ["embedded", "elasticsearch"] if args.backend == "both" else [
        "elasticsearch" if args.backend == "elastic" else "embedded"]
    info = machine()
    print(f"API load test: {args.articles:,} articles, {args.rate:g} requests/s for "
          f"{args.seconds:g} s ({info['cores']} cores, Python {info['python']}, load "
          f"{info['load_average'][0]})", flush=True)
    with tempfile.TemporaryDirectory(prefix="newswatch-api-load-") as tmp:
        results = [run_backend(name, args, Path(tmp)) for name in backends]
    print()
    print("\n".join(table(results, args.rate)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "machine": info, "articles": args.articles, "rate": args.rate,
            "seconds": args.seconds, "warmup": args.warmup, "seed": args.seed,
            "mix": ENDPOINT_SHARE, "backends": {r["backend"]: r for r in results},
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
