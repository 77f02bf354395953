"""Story-stage benchmark: the time to assign ONE new article to a story as the store grows.

    python bench/stories.py [--sizes 1000,10000,100000] [--probes 200] [--json OUT]

For each size N a fresh state store (SQLite, the default embedded store, in a temporary
directory) is filled with N synthetic articles that have already been through the story
stage, grouped into synthetic stories of 1–8 articles spread over 90 days. Then ``--probes``
new articles (enriched, not yet clustered) dated at the end of that span go through
``stories.stage.assign`` one at a time, and for each the time spent inside ``assign``
is measured. Printed per size: median and p95 of that time in milliseconds, the median
number of candidate stories ``StoryStore.candidates`` returned for an article (the stories
actually scored), how many probes landed where the generator meant them to (a sanity check
of the synthetic data, not a quality figure: see ``make eval-stories`` for that), the
median time spent in each ``StoryStore`` call ``assign`` makes (reads and writes), and the
ratio of the median at the largest size to the median at the smallest (100k / 1k by
default): the figure to keep close to 1.

Why the cost per article should stay flat: the stage never scans the stories. Candidates
come from the ``story_keys`` inverted index (a story's strongest entities and terms, see
``stories.similarity.keys_for``), only stories active within ``story_dormant_days`` of the
article are considered, and at most ``MAX_CANDIDATES_PER_KEY`` newest stories per key are
taken, so an article scores at most ``16 * MAX_CANDIDATES_PER_KEY`` profiles however many
stories the store holds. Near-duplicates come from LSH band keys (an indexed equality
lookup), document frequencies from ``term_stats`` by primary key, and the writes touch one
article's and one story's rows. Everything else is per-article work. A median that grows with N therefore points at a read that is not
bounded like this (a scan, or an index range that grows with the store).

The synthetic data, built fast without spaCy: 5,000 generated words drawn by a Zipf law as
background vocabulary (plus function words), 2,000 synthetic entity ids with Zipf
popularity; each story has its own topic words and main entities, so its articles share
vocabulary and entities the way coverage of one event does, and some later articles are
syndicated near-copies of an earlier one. Texts have 300–600 words. Stories are
distributed uniformly over the span, so a bigger store means more stories per day (more
active stories competing for the same keys), as with more feeds. The rows are written with
bulk SQLAlchemy Core inserts (``dedup_bands``, 85 rows per article, as plain parameter
tuples on the same connection) straight into the tables the stage reads (``articles`` with
``enriched_revision = clustered_revision = revision`` and ``story_id``,
``article_entities``, ``stories`` with profiles built by the stage's own code,
``story_keys``, ``term_stats``, ``dedup_signatures``, ``dedup_bands``); replaying ``assign``
for 100k articles would take far longer than measuring it. Two shortcuts keep 100k articles
to about 2.5–3 minutes on 2 cores: term counts come from the generator's own words (checked
against ``term_counts`` on the first article of every chunk and by the test), and MinHash
signatures are computed only for stories active in the last ``REAL_SIGNATURE_DAYS`` days and
for syndicated copies and their originals; older articles get random signature values (85
band keys no probe shares, as with unrelated real texts), so the tables hold the same rows.
Articles are generated on ``--workers`` processes (default: one per core).

Probes: about 45% continue a story active at the end of the span, 10% are syndicated copies
of a recent article, 45% start new stories. A few extra probes go first as a warm-up
(statement caches) and are not counted. Probes are stored with ``Store.save_article`` and
``Store.save_enrichment`` before timing starts. Timing goals are checked here, not by tests.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import multiprocessing
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from bisect import bisect
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import sqlalchemy  # noqa: E402
from sqlalchemy import Engine, event, insert  # noqa: E402

from core import schema as t  # noqa: E402
from core.engine import make_engine, migrate  # noqa: E402
from core.models import ENTITY_TYPES, Article, Enrichment, Entity  # noqa: E402
from core.settings import load_settings  # noqa: E402
from ingest.urls import article_id  # noqa: E402
from newswatch.resources import open_runtime  # noqa: E402
from stories import duplicates as dedup  # noqa: E402
from stories import stage as storying  # noqa: E402
from stories.evidence import evidence  # noqa: E402
from stories.similarity import STOPWORDS, Profile, term_counts, tfidf  # noqa: E402
from stories.store import MAX_CANDIDATES_PER_KEY, StoryRow, StoryStore  # noqa: E402

DEFAULT_SIZES = (1_000, 10_000, 100_000)
SPAN_DAYS = 90
END = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # the end of the generated span
VOCAB_SIZE = 5_000
ENTITY_COUNT = 2_000
OUTLETS = 200
STORY_SIZES = (1, 2, 3, 4, 5, 6, 7, 8)
STORY_SIZE_WEIGHTS = (35, 18, 12, 9, 8, 7, 6, 5)  # many one-article stories, a long tail
COPY_SHARE = 0.08  # later articles of a story that are syndicated copies of an earlier one
TOKEN_CUM = (0.45, 0.65, 0.985, 1.0)  # function words, the story's words, background, figures
TOPIC_DECAY = 0.88  # a story's central words come up most often
WARMUP = 5
REAL_SIGNATURE_DAYS = 14  # older stories get random MinHash values: no probe can match them
CHUNK_STORIES = 400
FUNCTION_WORDS = (
    "the", "of", "and", "to", "in", "a", "that", "for", "on", "is", "was", "with", "he", "it",
    "as", "at", "by", "from", "his", "an", "were", "are", "which", "this", "be", "has", "had",
    "have", "not", "but", "they", "after", "its", "who", "been", "their", "will", "would",
    "more", "also", "about", "into", "than", "over", "said", "there", "could", "when", "we",
)
SYLLABLES = (
    "ka", "lo", "mi", "ren", "tas", "vo", "qui", "bar", "del", "sun", "po", "ter", "an", "gri",
    "mol", "zek", "fa", "nu", "sel", "dor", "ip", "lu", "ves", "cha", "tri", "om", "bel", "ku",
)


# the synthetic world ----------------------------------------------------------------------
@dataclass(frozen=True)
class World:
    words: tuple[str, ...]
    word_cum: tuple[float, ...]  # cumulative Zipf weights over ``words``
    entity_names: tuple[str, ...]
    entity_types: tuple[str, ...]
    entity_cum: tuple[float, ...]


@functools.lru_cache(maxsize=2)
def world(seed: int) -> World:
    """5,000 words and 2,000 entities, the same in every process for a seed."""
    rng = random.Random(seed)
    words: dict[str, None] = {}
    while len(words) < VOCAB_SIZE:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if w not in STOPWORDS and w not in dedup.STOPWORDS:
            words[w] = None
    names: dict[str, None] = {}
    while len(names) < ENTITY_COUNT:
        parts = ("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
                 for _ in range(rng.randint(1, 2)))
        names[" ".join(p.capitalize() for p in parts)] = None
    types = tuple(rng.choice(ENTITY_TYPES[:5]) for _ in range(ENTITY_COUNT))
    return World(
        tuple(words), tuple(accumulate(1 / (r + 1) for r in range(VOCAB_SIZE))),
        tuple(names), types, tuple(accumulate(1 / (r + 1) for r in range(ENTITY_COUNT))),
    )


@dataclass(frozen=True)
class StoryPlan:
    """One synthetic story: what its articles share, and when and where they appear."""

    seed: int
    topic: tuple[int, ...]  # word indices, most central first
    main: tuple[int, ...]  # entity indices: what the story is about
    side: tuple[int, ...]  # entity indices: also involved
    times: tuple[float, ...]  # publication times (POSIX seconds), ascending
    copies: tuple[int, ...]  # per article: the earlier article it copies, or -1
    outlets: tuple[int, ...]


@dataclass(frozen=True)
class Generated:
    id: str
    url: str
    source: str
    title: str
    text: str
    published_at: datetime
    entities: tuple[Entity, ...]
    terms: Counter[str]  # what ``enrich.stories.term_counts(title, text)`` returns


def plan_story(rng: random.Random, w: World, start: float | None = None,
               size: int | None = None) -> StoryPlan:
    if size is None:
        size = rng.choices(STORY_SIZES, STORY_SIZE_WEIGHTS)[0]
    duration = rng.uniform(0.1, 4.0) * 86400 if size > 1 else 0.0
    if start is None:
        start = rng.uniform(END.timestamp() - SPAN_DAYS * 86400, END.timestamp() - duration)
    times = sorted([start] + [start + rng.uniform(0, duration) for _ in range(size - 1)])
    copies: list[int] = []
    for j in range(size):  # a copy's original is one of the story's own (not a copy)
        originals = [i for i in range(j) if copies[i] < 0]
        copies.append(rng.choice(originals) if originals and rng.random() < COPY_SHARE else -1)
    entities = _draw_entities(rng, w, rng.randint(4, 7))
    n_main = rng.randint(2, 3)
    return StoryPlan(
        seed=rng.getrandbits(48),
        topic=tuple(rng.sample(range(150, VOCAB_SIZE), rng.randint(20, 40))),
        main=tuple(entities[:n_main]), side=tuple(entities[n_main:]),
        times=tuple(times), copies=tuple(copies),
        outlets=tuple(rng.randrange(OUTLETS) for _ in range(size)),
    )


def _draw_entities(rng: random.Random, w: World, n: int) -> list[int]:
    found: dict[int, None] = {}
    while len(found) < n:
        found[bisect(w.entity_cum, rng.random() * w.entity_cum[-1])] = None
    return list(found)


def plan_stories(n_articles: int, seed: int) -> list[StoryPlan]:
    """Stories holding exactly ``n_articles`` articles, in order of their first article."""
    rng, w = random.Random(seed), world(seed)
    plans: list[StoryPlan] = []
    total = 0
    while total < n_articles:
        plan = plan_story(rng, w)
        keep = min(len(plan.times), n_articles - total)
        plan = replace(plan, times=plan.times[:keep], copies=plan.copies[:keep],
                       outlets=plan.outlets[:keep])
        plans.append(plan)
        total += keep
    plans.sort(key=lambda p: p.times[0])
    return plans


def generate(plan: StoryPlan, j: int, w: World, tag: str = "") -> Generated:
    """Article ``j`` of a story: deterministic, so a copy can rebuild its original."""
    rng = random.Random(plan.seed * 16 + j)
    outlet = f"outlet{plan.outlets[j]:03d}.example"
    when = datetime.fromtimestamp(plan.times[j], UTC)
    url = f"https://{outlet}/{when:%Y/%m/%d}/{plan.seed:x}-{j}{tag}"
    if plan.copies[j] >= 0:  # a syndicated copy: the same text, a byline, a sentence changed
        original = generate(replace(plan, copies=(-1,) * len(plan.copies)), plan.copies[j], w)
        sentences = original.text.split(". ")
        k = rng.randrange(len(sentences))
        sentences[k] = _text(rng, _tokens(rng, plan, w, rng.randint(8, 20))[0]).rstrip(".")
        text = f"By {outlet} staff with wire reports.\n\n" + ". ".join(sentences)
        return Generated(article_id(url), url, outlet, original.title, text, when,
                         original.entities, term_counts(original.title, text))
    title_words, tokens, terms = _draft(rng, plan, w)
    title = " ".join(x.capitalize() for x in title_words)
    text = _text(rng, tokens)
    return Generated(article_id(url), url, outlet, title, text, when,
                     _entities(rng, plan, w, len(title) + len(text)), terms)


def terms_of(plan: StoryPlan, j: int, w: World) -> Counter[str]:
    """``generate(plan, j, w).terms`` without writing the text out (most of the work)."""
    if plan.copies[j] >= 0:
        return generate(plan, j, w).terms
    return _draft(random.Random(plan.seed * 16 + j), plan, w)[2]


def _draft(rng: random.Random, plan: StoryPlan,
           w: World) -> tuple[list[str], list[str], Counter[str]]:
    """Title words, body words and their terms; ``rng`` as ``generate`` seeded it."""
    title_words = [w.words[i] for i in rng.choices(plan.topic[:8], k=rng.randint(4, 7))]
    title_words += rng.choices(w.words, cum_weights=w.word_cum, k=rng.randint(2, 5))
    rng.shuffle(title_words)
    tokens, terms = _tokens(rng, plan, w, rng.randint(300, 600))
    for word in title_words:
        terms[word] += 2
    return title_words, tokens, terms


def _tokens(rng: random.Random, plan: StoryPlan, w: World,
            n: int) -> tuple[list[str], Counter[str]]:
    """``n`` words of running text and the terms ``term_counts`` finds in them."""
    kinds = rng.choices(range(4), cum_weights=TOKEN_CUM, k=n)
    topic_cum = list(accumulate(TOPIC_DECAY**i for i in range(len(plan.topic))))
    function = rng.choices(FUNCTION_WORDS, k=kinds.count(0))
    story = [w.words[i] for i in rng.choices(plan.topic, cum_weights=topic_cum,
                                                k=kinds.count(1))]
    background = rng.choices(w.words, cum_weights=w.word_cum, k=kinds.count(2))
    figures = [f"{rng.randint(1000, 99_999):,}" if rng.random() < 0.7 else
               f"{rng.randint(2, 99)}%" for _ in range(kinds.count(3))]
    terms = Counter(story)
    terms.update(background)
    terms.update(f for f in figures if "," in f)  # "45%" is a bare number: not a term
    pools = [iter(function), iter(story), iter(background), iter(figures)]
    return [next(pools[k]) for k in kinds], terms


def _text(rng: random.Random, tokens: Sequence[str]) -> str:
    """Sentences of 8–22 words, paragraphs of 2–5 sentences."""
    paragraphs, sentences, i = [], [], 0
    per_paragraph = rng.randint(2, 5)
    while i < len(tokens):
        n = rng.randint(8, 22)
        sentence = " ".join(tokens[i : i + n])
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
        i += n
        if len(sentences) == per_paragraph or i >= len(tokens):
            paragraphs.append(" ".join(sentences))
            sentences, per_paragraph = [], rng.randint(2, 5)
    return "\n\n".join(paragraphs)


def _entities(rng: random.Random, plan: StoryPlan, w: World, length: int) -> tuple[Entity, ...]:
    chosen: dict[int, tuple[float, bool]] = {}
    for i, e in enumerate(plan.main):
        if i == 0 or rng.random() < 0.85:
            chosen[e] = (rng.uniform(0.7, 1.0) if i == 0 else rng.uniform(0.4, 0.8), True)
    for e in plan.side:
        if rng.random() < 0.5:
            chosen[e] = (rng.uniform(0.15, 0.45), False)
    for e in _draw_entities(rng, w, rng.randint(2, 5)):
        chosen.setdefault(e, (rng.uniform(0.02, 0.2), False))
    entities = [
        Entity(f"Q{100_000 + e}", w.entity_names[e], w.entity_types[e], rng.randint(1, 8),
               rng.randrange(length), in_title and rng.random() < 0.5, round(s, 3),
               (w.entity_names[e],))
        for e, (s, in_title) in chosen.items()
    ]
    entities.sort(key=lambda x: (-x.salience, x.first_pos))
    return tuple(entities)


# building a store -------------------------------------------------------------------------
def _chunks(plans: Sequence[StoryPlan]) -> list[Sequence[StoryPlan]]:
    return [plans[i : i + CHUNK_STORIES] for i in range(0, len(plans), CHUNK_STORIES)]


def _document_frequencies(job: tuple[int, Sequence[StoryPlan]]) -> Counter[str]:
    seed, plans = job
    w, df = world(seed), Counter[str]()
    for plan in plans:
        for j in range(len(plan.times)):
            df.update({term[:100] for term in terms_of(plan, j, w)})
    return df


def _rows(job: tuple[int, Sequence[StoryPlan], dict[str, int], int]) -> dict[str, list[Any]]:
    """Table rows for a chunk of stories, as the story stage would have left them."""
    seed, plans, df, n_docs = job
    w = world(seed)
    rows: dict[str, list[Any]] = {name: [] for name in (
        "articles", "article_entities", "dedup_signatures", "dedup_bands", "stories",
        "story_keys")}
    for plan in plans:
        story: StoryRow | None = None
        signatures: list[dedup.Signature] = []
        ids: list[str] = []
        # real MinHash where a probe could match (see REAL_SIGNATURE_DAYS) and for copies
        recent = plan.times[-1] >= END.timestamp() - REAL_SIGNATURE_DAYS * 86400
        paired = {j for j, c in enumerate(plan.copies) if c >= 0} | set(plan.copies)
        for j in range(len(plan.times)):
            a = generate(plan, j, w)
            real = recent or j in paired
            fingerprint = dedup.fingerprint(a.text) if real else _random_fingerprint(a)
            signatures.append(fingerprint.signature)
            ids.append(a.id)
            if not rows["articles"]:  # the shortcut must keep matching the real thing
                assert a.terms == term_counts(a.title, a.text), "synthetic terms drifted"
            vector = tfidf(a.terms, df, n_docs)
            enrichment = Enrichment("en", a.entities)
            seen = a.published_at + timedelta(minutes=5 + (plan.seed + j) % 55)
            article = Article(a.id, a.url, a.source, a.title, a.text, "", a.published_at,
                              "feed", seen, seen, language="en")
            profile = Profile.from_json(story.profile) if story else Profile()
            ev = evidence(a.title, a.text, a.entities, df, n_docs, a.published_at, terms=vector)
            story = storying._updated_story(story, article, enrichment, profile, ev)
            copy = plan.copies[j]
            rows["articles"].append({
                "id": a.id, "url": a.url, "source": a.source, "title": a.title,
                "published_at": a.published_at, "published_source": "feed",
                "language": "en", "text": a.text,
                "text_hash": hashlib.sha256(a.text.encode()).hexdigest(), "status": "indexed",
                "revision": 1, "indexed_revision": 1, "enriched_revision": 1,
                "clustered_revision": 1, "story_id": story.id,
                "duplicate_of": ids[copy] if copy >= 0 else None,
                "duplicate_similarity": round(dedup.similarity(
                    fingerprint.signature, signatures[copy]), 3) if copy >= 0 else None,
                "novelty": 1.0 if j == 0 else 0.0 if copy >= 0 else 0.5,
                "novelty_detail": "{}", "first_seen_at": seen, "updated_at": seen,
                "indexed_at": seen,
            })
            rows["article_entities"].extend(
                {"article_id": a.id, "entity_id": e.id, "name": e.name, "type": e.type,
                 "mentions": e.mentions, "first_pos": e.first_pos, "in_title": e.in_title,
                 "salience": e.salience, "surfaces": json.dumps(list(e.surfaces))}
                for e in a.entities
            )
            rows["dedup_signatures"].append({
                "article_id": a.id, "body_hash": fingerprint.body_hash,
                "signature": dedup.to_bytes(fingerprint.signature)})
            rows["dedup_bands"].extend(  # tuples: 85 rows per article, the bulk of the rows
                (k, a.id) for k in set(dedup.band_keys(fingerprint.signature)))
        assert story is not None
        rows["stories"].append({
            "id": story.id, "title": story.title, "title_article_id": story.title_article_id,
            "first_seen": story.first_seen, "last_updated": story.last_updated,
            "article_count": story.article_count, "merged_into": None,
            "profile": json.dumps(story.profile, sort_keys=True)})
        rows["story_keys"].extend(
            {"key": key[:200], "story_id": story.id, "last_updated": story.last_updated}
            for key in dict.fromkeys(storying._keys(story.profile)))
    rows["dedup_bands"].sort()  # in key order: the index takes them faster
    return rows


def _random_fingerprint(a: Generated) -> dedup.Fingerprint:
    """A stand-in for an article no probe can match: random MinHash values (distinct band
    keys, as unrelated texts have), the same number of rows and bytes as a real one."""
    shingles = max(1, len(a.text.split()) - dedup.K + 1)
    values = random.Random(a.id).randbytes(4 * dedup.NUM_PERM)
    return dedup.Fingerprint(hashlib.sha256(a.text.encode()).hexdigest(),
                             dedup.Signature(values, shingles))


def _map(func: Any, jobs: list[Any], workers: int) -> Iterator[Any]:
    """``func`` over ``jobs`` in order, on ``workers`` forked processes when that helps."""
    if workers <= 1 or len(jobs) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from map(func, jobs)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from pool.imap(func, jobs)


def _bulk_engine(url: str) -> Engine:
    """An engine for loading only: big page cache, no fsync (the real one opens later)."""
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _bulk_pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=OFF")  # no WAL while loading; the runtime sets it
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA cache_size=-1000000")
        cur.close()

    return engine


def build_store(url: str, plans: Sequence[StoryPlan], seed: int, workers: int) -> None:
    """Fill a new state store with the planned stories, as if the stage had run."""
    engine = _bulk_engine(url)
    migrate(engine)
    chunks = _chunks(plans)
    df: Counter[str] = Counter()
    for part in _map(_document_frequencies, [(seed, c) for c in chunks], workers):
        df.update(part)
    n_docs = sum(len(p.times) for p in plans)
    with engine.begin() as conn:
        conn.execute(insert(t.term_stats),
                     [{"term": term, "df": n} for term, n in sorted(df.items())])
    frequencies = dict(df)
    jobs = [(seed, c, frequencies, n_docs) for c in chunks]
    order = ("articles", "article_entities", "dedup_signatures", "dedup_bands", "stories",
             "story_keys")
    for rows in _map(_rows, jobs, workers):
        with engine.begin() as conn:
            for name in order:
                if name == "dedup_bands":  # millions of rows: skip the per-row dict handling
                    conn.exec_driver_sql(
                        "INSERT INTO dedup_bands (band_key, article_id) VALUES (?, ?)",
                        rows[name])
                elif rows[name]:
                    conn.execute(insert(t.metadata.tables[name]), rows[name])
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


# probes -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Probe:
    kind: str  # join | copy | new
    article: Generated
    story_id: str | None  # the story it should join (join, copy)


def make_probes(plans: Sequence[StoryPlan], count: int, seed: int) -> list[Probe]:
    """New articles dated in the last hours of the span, in arrival order."""
    rng, w = random.Random(seed + 1), world(seed)
    recent = [p for p in plans if p.times[-1] >= END.timestamp() - 2 * 86400] or list(plans)
    probes: list[Probe] = []
    for i in range(count):
        when = END.timestamp() - 6 * 3600 + 6 * 3600 * (i + 1) / (count + 1)
        story = rng.choice(recent)
        story_id = "s" + generate(story, 0, w).id[:19]
        r = rng.random()
        if r < 0.45:  # more coverage of an active story, by another outlet
            plan = replace(story, seed=rng.getrandbits(48), times=(when,), copies=(-1,),
                           outlets=(rng.randrange(OUTLETS),))
            probes.append(Probe("join", generate(plan, 0, w, tag=f"-p{i}"), story_id))
        elif r < 0.55:  # a syndicated copy of one of its articles
            j = rng.choice([i for i, c in enumerate(story.copies) if c < 0])
            plan = replace(story, times=(*story.times, when), copies=(*story.copies, j),
                           outlets=(*story.outlets, rng.randrange(OUTLETS)))
            probes.append(Probe("copy", generate(plan, len(story.times), w, tag=f"-p{i}"),
                                story_id))
        else:  # a story nobody has covered yet
            plan = plan_story(rng, w, start=when, size=1)
            probes.append(Probe("new", generate(plan, 0, w, tag=f"-p{i}"), None))
    return probes


class TimedStoryStore(StoryStore):
    """The real store, counting candidates and timing each store call ``assign`` makes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reset()

    def reset(self) -> None:
        self.candidate_count = 0
        self.seconds: dict[str, float] = dict.fromkeys(BREAKDOWN, 0.0)

    def _timed(self, name: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self.seconds[name] += time.perf_counter() - start

    def candidates(self, *args: Any, **kwargs: Any) -> list[StoryRow]:
        found: list[StoryRow] = self._timed("candidates", super().candidates, *args, **kwargs)
        self.candidate_count += len(found)
        return found

    def document_frequencies(self, *args: Any, **kwargs: Any) -> tuple[dict[str, int], int]:
        return self._timed("document_frequencies", super().document_frequencies, *args, **kwargs)

    def duplicate_candidates(self, *args: Any, **kwargs: Any) -> list[tuple[str, str, bytes]]:
        return self._timed("duplicate_candidates", super().duplicate_candidates, *args, **kwargs)

    # the writes are static methods of StoryStore, called on the instance by ``assign``
    def count_terms(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._timed("count_terms", StoryStore.count_terms, *args, **kwargs)

    def save_signature(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._timed("save_signature", StoryStore.save_signature, *args, **kwargs)

    def save_story(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._timed("save_story", StoryStore.save_story, *args, **kwargs)


# StoryStore method -> column label in the breakdown; "rest" is everything else in assign
BREAKDOWN = {
    "document_frequencies": "df lookup", "duplicate_candidates": "dup lookup",
    "candidates": "candidates", "count_terms": "count terms", "save_signature": "save sig",
    "save_story": "save story", "rest": "rest",
}


def run_size(n: int, probes: int, seed: int, workers: int) -> dict[str, Any]:
    plans = plan_stories(n, seed)
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-stories-") as home:
        settings = load_settings(env={"NEWSWATCH_HOME": home, "NEWSWATCH_EXTRACT_PROCESSES": "1"})
        start = time.perf_counter()
        build_store(settings.resolved_database_url, plans, seed, workers)
        build_seconds = time.perf_counter() - start
        db_bytes = sum(f.stat().st_size for f in Path(home).glob("newswatch.sqlite*"))
        rt = open_runtime(settings)
        try:
            stories = TimedStoryStore(rt.store)
            params = storying.params_for(rt)
            batch = make_probes(plans, probes + WARMUP, seed)
            pending = []
            for probe in batch:
                a = probe.article
                seen = a.published_at + timedelta(minutes=2)
                article = Article(a.id, a.url, a.source, a.title, a.text,
                                  hashlib.sha256(a.text.encode()).hexdigest(), a.published_at,
                                  "feed", seen, seen, language="en")
                rt.store.save_article(article, [a.url], seen)
                rt.store.save_enrichment(a.id, 1, Enrichment("en", a.entities))
                pending.append(replace(article, revision=1, enriched_revision=1))
            times: list[float] = []
            counts: list[int] = []
            kinds: Counter[str] = Counter()
            planned: Counter[str] = Counter()
            parts: dict[str, list[float]] = {k: [] for k in BREAKDOWN}
            for i, (probe, article) in enumerate(zip(batch, pending, strict=True)):
                stories.reset()
                start = time.perf_counter()
                result = storying.assign(rt, stories, article, params)
                elapsed = time.perf_counter() - start
                if i < WARMUP:
                    continue
                times.append(elapsed * 1000)
                counts.append(stories.candidate_count)
                stories.seconds["rest"] = elapsed - sum(stories.seconds.values())
                for k in BREAKDOWN:
                    parts[k].append(stories.seconds[k] * 1000)
                kinds[probe.kind] += 1
                planned[probe.kind] += (result.new_story if probe.kind == "new"
                                        else result.story_id == probe.story_id)
        finally:
            rt.close()
    ms = sorted(times)
    return {
        "articles": n,
        "stories": len(plans),
        "build_seconds": round(build_seconds, 1),
        "db_mb": round(db_bytes / 1e6, 1),
        "probes": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "candidates_median": statistics.median(counts),
        "candidates_max": max(counts),
        "as_planned": round(sum(planned.values()) / len(ms), 3),
        "as_planned_by_kind": {k: f"{planned[k]}/{kinds[k]}" for k in sorted(kinds)},
        "median_ms_by_call": {k: round(statistics.median(v), 2) for k, v in parts.items()},
    }


# report -----------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
    }


def table(results: Sequence[dict[str, Any]]) -> list[str]:
    head = (f"{'articles':>9} {'stories':>8} {'build s':>8} {'median ms':>10} {'p95 ms':>8} "
            f"{'candidates':>11} {'as planned':>11}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r['articles']:>9,} {r['stories']:>8,} {r['build_seconds']:>8.1f} "
            f"{r['median_ms']:>10.2f} {r['p95_ms']:>8.2f} {r['candidates_median']:>11g} "
            f"{r['as_planned']:>10.0%}"
        )
    return lines


def breakdown(results: Sequence[dict[str, Any]]) -> list[str]:
    head = f"{'articles':>9} " + " ".join(f"{label:>11}" for label in BREAKDOWN.values())
    lines = ["median ms per article, by StoryStore call inside assign:", head, "-" * len(head)]
    for r in results:
        by_call = r["median_ms_by_call"]
        lines.append(f"{r['articles']:>9,} " + " ".join(f"{by_call[k]:>11.2f}" for k in BREAKDOWN))
    lines.append("(df lookup: document_frequencies, dup lookup: duplicate_candidates, save sig: "
                 "save_signature; rest: enrichment read, MinHash, scoring, novelty, the article "
                 "update and the commit)")
    return lines


def _sizes(text: str) -> list[int]:
    sizes = sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()})
    if not sizes or sizes[0] <= 0:
        raise argparse.ArgumentTypeError("sizes are positive article counts, e.g. 1000,10000")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES),
                        help="store sizes in articles (default 1000,10000,100000)")
    parser.add_argument("--probes", type=int, default=200,
                        help="new articles assigned and timed per size (default 200)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes generating the synthetic store (default: cores)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.probes < 1:
        parser.error("--probes must be at least 1")

    info = machine()
    print(f"story stage: time to assign one new article (SQLite state store; {info['cores']} "
          f"cores, Python {info['python']}, SQLite {info['sqlite']}, {info['platform']})")
    print(f"{args.probes} probes per size after {WARMUP} warm-up; at most "
          f"{MAX_CANDIDATES_PER_KEY} candidates per index key", flush=True)
    results = []
    for n in args.sizes:
        results.append(run_size(n, args.probes, args.seed, args.workers))
        print(f"  {n:,} articles: built in {results[-1]['build_seconds']:.1f} s "
              f"({results[-1]['db_mb']:,.0f} MB), {args.probes} probes timed", flush=True)
    print()
    print("\n".join(table(results)))
    small, large = results[0], results[-1]
    ratio = large["median_ms"] / small["median_ms"] if small["median_ms"] else float("inf")
    print(f"ratio of medians {large['articles']:,} / {small['articles']:,} articles: "
          f"{ratio:.2f} (keep close to 1)")
    print()
    print("\n".join(breakdown(results)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "machine": info, "probes": args.probes, "warmup": WARMUP, "seed": args.seed,
            "max_candidates_per_key": MAX_CANDIDATES_PER_KEY, "sizes": results,
            "ratio": {"largest": large["articles"], "smallest": small["articles"],
                      "median": round(ratio, 3)},
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
