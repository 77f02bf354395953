"""Wires the stages: poll feeds → fetch and extract articles → store → index.

The CLI, the tests, the benchmarks and (later) the Airflow DAGs all call these functions.
Network work runs in a thread pool bounded by ``fetch_concurrency`` (and, per host, by the
politeness gate); extraction runs in worker processes; every database write happens on
the calling thread.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, zip_longest
from typing import TypeVar
from urllib.parse import urlsplit

from core.errors import BlockedAddressError, FeedParseError, FetchError, NewswatchError
from core.models import ArticleFailure, Feed, FeedOutcome, RunReport
from core.runlock import run_lock
from core.runtime import NoProgress, Progress, Runtime
from enrich.stage import Prefetch, enrich_pending
from ingest.discover import discover_feeds
from ingest.feeds import parse_feed
from ingest.fetch import FEED_ACCEPT, address_allowed
from ingest.politeness import host_key
from ingest.stage import ItemResult, WorkItem, fetch_article, fetch_feed, handle_feed
from ingest.urls import url_problem
from newswatch.resources import open_runtime
from search.stage import index_pending, index_stories
from stories.stage import cluster_pending, split
from stories.store import StoryRow

__all__ = ["add_feed", "check_address", "check_feed_url", "collect", "enrich_pending", "index_pending",
           "open_runtime", "run_once", "split_story", "subscribe"]

log = logging.getLogger(__name__)
T = TypeVar("T")
POOL_MIN_PAGES = 24  # below this many pages, extracting in-process beats starting workers


def check_feed_url(url: str) -> None:
    """Refuse a URL newswatch could never fetch, saying in one line what is wrong with it."""
    problem = url_problem(url)
    if problem:
        raise NewswatchError(f"not a feed URL: {url.strip()[:300]!r} ({problem})")


def add_feed(rt: Runtime, url: str, title: str = "") -> tuple[Feed, bool]:
    """Register a feed URL as given (validated, stored once); no network."""
    check_feed_url(url)
    return rt.store.add_feed(
        url.strip(), rt.clock(), title=title, interval=rt.settings.initial_feed_interval
    )


@dataclass
class Subscription:
    feed: Feed
    new: bool
    note: str


def check_address(rt: Runtime, url: str) -> None:
    """Refuse a URL whose host is an IP address the network policy refuses (loopback,
    private, link-local… outside ``allowed_private_networks``). No lookup: a host name is
    checked when it is fetched."""
    host = urlsplit(url.strip()).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    if not address_allowed(host, rt.settings.allowed_private_networks):
        raise NewswatchError(f"refused {url.strip()[:300]!r}: {host} is a non-public address; "
                             "newswatch fetches only public addresses unless "
                             "NEWSWATCH_ALLOWED_PRIVATE_NETWORKS allows it; nothing registered")


def subscribe(rt: Runtime, url: str) -> Subscription:
    """Register a feed after checking it; a web page's announced feed is found and used.
    An address the network policy refuses (or a redirect to one) is refused, not
    registered: newswatch could never fetch it."""
    check_feed_url(url)
    check_address(rt, url)
    try:
        fetched = rt.fetcher.get(url, accept=FEED_ACCEPT + ", text/html;q=0.8")
    except BlockedAddressError as exc:
        raise NewswatchError(f"{url.strip()[:300]}: {exc.reason}; nothing registered") from None
    except FetchError as exc:
        feed, new = add_feed(rt, url)
        return Subscription(feed, new, f"registered without checking it: {exc.reason}")
    try:
        parsed = parse_feed(fetched.content, fetched.final_url, fetched.content_type)
    except FeedParseError as exc:
        try:
            found = discover_feeds(fetched.content, fetched.final_url)
        except ValueError:  # a feed link urllib cannot even join (an unclosed IPv6 literal)
            found = []
        if not found:
            raise NewswatchError(f"{url} is not a feed and announces none ({exc})") from None
        feed_url, title = found[0]
        check_address(rt, feed_url)
        feed, new = add_feed(rt, feed_url, title=title)
        others = [u for u, _ in found[1:]]
        note = f"found on {url}" + (f"; it also announces {', '.join(others)}" if others else "")
        return Subscription(feed, new, note)
    feed, new = add_feed(rt, url, title=parsed.title)
    return Subscription(feed, new, f"{parsed.format} feed with {len(parsed.entries)} entries")


def collect(
    rt: Runtime, feeds: Sequence[Feed], now: datetime, report: RunReport | None = None,
    progress: Progress | None = None, prefetch: Prefetch | None = None,
) -> RunReport:
    """Poll ``feeds`` (due or not) as of ``now``, then fetch, extract and store what is new
    or changed; no enrichment or indexing (``prefetch``: hand each stored article to the
    enrichment workers meanwhile). Fills and returns ``report`` (a new one if none)."""
    report = report if report is not None else RunReport()
    progress = progress or NoProgress()
    feeds = list(feeds)
    workers = max(1, rt.settings.fetch_concurrency)
    held: dict[int, dict[str, object]] = {}  # validators stored once the work is recorded
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch")
    try:
        progress.start("polling feeds", len(feeds))
        outcomes: dict[int, FeedOutcome] = {}
        items: list[WorkItem] = []
        polls = {pool.submit(fetch_feed, rt.fetcher, f): f for f in _by_host(feeds, _feed_url)}
        for future in as_completed(polls):
            feed = polls[future]
            outcomes[feed.id], feed_items, held[feed.id] = handle_feed(rt, feed, future, now)
            items.extend(feed_items)
            progress.advance()
        report.feeds = [outcomes[f.id] for f in feeds]
        _process_items(rt, pool, items, outcomes, report, now, progress, prefetch)
    except BaseException:  # Ctrl-C, a dead database: what was not done yet stays due
        pool.shutdown(wait=True, cancel_futures=True)
        _keep_due(rt, [feed_id for feed_id, validators in held.items() if validators], now)
        raise
    pool.shutdown(wait=True)
    for feed_id, validators in held.items():
        if validators:
            rt.store.update_feed(feed_id, **validators)
    return report


def _keep_due(rt: Runtime, feed_ids: list[int], now: datetime) -> None:
    """Feeds polled in an interrupted pass whose entries were not all recorded: due again at
    once (feeds not polled yet were never rescheduled, so they are due anyway)."""
    with suppress(Exception):  # the database may be what failed; then the next poll sees it
        for feed_id in feed_ids:
            rt.store.update_feed(feed_id, next_poll_at=now)


def run_once(rt: Runtime, progress: Progress | None = None, force: bool = False) -> RunReport:
    """Poll the feeds that are due (every active feed with ``force``), fetch and extract
    what is new or changed, and index it. One run at a time per state store: while another
    holds the run lock this raises :class:`RunInProgressError` and does nothing."""
    with run_lock(rt.store.engine):
        return _run_once(rt, progress, force)


def _run_once(rt: Runtime, progress: Progress | None, force: bool) -> RunReport:
    progress = progress or NoProgress()
    started = time.monotonic()
    now = rt.clock()
    report = RunReport(run_id=rt.store.start_run(now))
    feeds = rt.store.list_feeds(include_paused=False) if force else rt.store.due_feeds(now)
    status = "failed"
    clock = _StageClock(report)
    prefetch = Prefetch(rt)  # enrichment starts while pages are still being fetched
    try:
        with clock("fetch"):  # polling, fetching and extraction overlap: one figure
            collect(rt, feeds, now, report, progress, prefetch)
        with clock("enrich"):  # what the workers have not finished yet, and the writes
            report.enriched = enrich_pending(rt, report, progress, prefetch)
        with clock("stories"):
            report.clustered, _touched = cluster_pending(rt)
        with clock("index"):  # stories with their articles: a run killed before this stage
            report.indexed = index_pending(rt, with_stories=True)  # leaves no story behind
        with clock("alerts"):
            alert_stage(rt, report)
        status = "ok"
    finally:
        prefetch.close()
        report.seconds = time.monotonic() - started
        rt.store.finish_run(report.run_id or 0, rt.clock(), status, report.as_dict())
    return report


class _StageClock:
    """Adds each stage's wall-clock seconds to ``report.stage_seconds``."""

    def __init__(self, report: RunReport) -> None:
        self.report = report

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            spent = time.monotonic() - started
            self.report.stage_seconds[stage] = self.report.stage_seconds.get(stage, 0.0) + spent


def split_story(rt: Runtime, story_id: str, article_ids: list[str]) -> tuple[StoryRow, int]:
    """A person's correction: ``article_ids`` leave ``story_id`` for a story of their own
    (``stories.stage.split``), both are re-indexed, and the watches that were alerted about
    ``story_id`` and match the part get one "new story" alert for it
    (``alerts.stage.tell_split``; sent with the next delivery). Returns the new story and
    the alerts. The one way the CLI (and any other caller) splits a story."""
    from alerts.stage import tell_split

    part = split(rt, story_id, article_ids)
    index_stories(rt, [story_id, part.id])
    return part, tell_split(rt, part.id)


def alert_stage(rt: Runtime, report: RunReport) -> None:
    """Evaluate the watches, queue due digests and send the outbox; a mail server or index
    that is down is a warning (the outbox keeps everything for the next run)."""
    from alerts.delivery import send_outbox
    from alerts.stage import evaluate_watches, make_digests

    try:
        report.alerts = evaluate_watches(rt)
        make_digests(rt)
    except NewswatchError as exc:
        report.warnings.append(f"watches not evaluated: {exc}")
        return
    sent = send_outbox(rt)
    report.sent, report.deferred = sent.sent, sent.deferred
    report.warnings += [f"delivery: {e}" for e in dict.fromkeys(sent.errors)]


def _feed_url(feed: Feed) -> str:
    return feed.url


def _item_url(item: WorkItem) -> str:
    return item.link or item.feed.url


def _host_of(url: str) -> str:
    """The politeness key of ``url``; a malformed URL (stored before URLs were checked)
    gets one of its own and fails later, as that feed's or entry's error."""
    try:
        return host_key(url)
    except ValueError:
        return f"invalid:{url}"


def _by_host(things: list[T], url_of: Callable[[T], str]) -> list[T]:
    """Interleave ``things`` host by host, so the pool's threads are not all held up by one
    slow or strictly limited host while others wait."""
    groups: dict[str, list[T]] = defaultdict(list)
    for thing in things:
        groups[_host_of(url_of(thing))].append(thing)
    rounds = zip_longest(*groups.values())
    return [t for t in chain.from_iterable(rounds) if t is not None]


def _process_items(
    rt: Runtime,
    pool: ThreadPoolExecutor,
    items: list[WorkItem],
    outcomes: dict[int, FeedOutcome],
    report: RunReport,
    now: datetime,
    progress: Progress,
    prefetch: Prefetch | None = None,
) -> None:
    by_link: dict[str, list[WorkItem]] = {}
    for item in items:
        by_link.setdefault(item.link or f"guid:{item.feed.id}:{item.entry.guid}", []).append(item)
    groups = _by_host(list(by_link.values()), lambda g: _item_url(g[0]))
    pooled = len(groups) >= POOL_MIN_PAGES
    if prefetch is not None:
        prefetch.expect(len(groups))
    progress.start("fetching articles", len(items))
    slow: list[list[WorkItem]] = []  # a slow or failing host: tried again after the rest
    for group, result in _fetched(rt, pool, groups, pooled):
        if result.transient:
            slow.append(group)
            continue
        for i, item in enumerate(group):
            _record(rt, item, result, outcomes[item.feed.id], report, now, first=i == 0,
                    prefetch=prefetch)
            progress.advance()
    report.pages_retried = len(slow)
    for group, result in _fetched(rt, pool, slow, pooled):  # once, when the queue has drained
        if result.article is None and result.transient:
            report.pages_deferred += 1
            result.error += "; deferred to the feed's next poll"
        for i, item in enumerate(group):
            _record(rt, item, result, outcomes[item.feed.id], report, now, first=i == 0,
                    prefetch=prefetch)
            progress.advance()
    if prefetch is not None:
        prefetch.flush()


def _fetched(
    rt: Runtime, pool: ThreadPoolExecutor, groups: list[list[WorkItem]], pooled: bool,
) -> Iterator[tuple[list[WorkItem], ItemResult]]:
    """Each group's page fetched and extracted on the pool, as they complete."""
    futures = {pool.submit(fetch_article, rt, group[0], pooled): group for group in groups}
    for future in as_completed(futures):
        group = futures[future]
        try:
            result = future.result()
        except Exception as exc:  # never lose the rest of the run to one page
            log.exception("unexpected error processing %s", group[0].link)
            result = ItemResult(error=f"internal error: {type(exc).__name__}: {exc}")
        yield group, result


def _record(
    rt: Runtime, item: WorkItem, result: ItemResult, outcome: FeedOutcome, report: RunReport,
    now: datetime, first: bool, prefetch: Prefetch | None = None,
) -> None:
    article = result.article
    if article is None:
        outcome.failed += 1
        report.failures.append(ArticleFailure(item.entry.link or item.entry.guid, result.error))
    else:
        change = rt.store.save_article(article, result.urls, now) if first else "unchanged"
        setattr(outcome, change, getattr(outcome, change) + 1)
        if prefetch is not None and change in ("new", "updated"):
            prefetch.add(article)
    published = article.published_at if article and article.published_source != "first-seen" else None
    rt.store.save_entry(
        item.feed.id, item.entry.guid, link=item.link, title=item.entry.title,
        entry_hash=item.hash, now=now, article_id=article.id if article else None,
        error=result.error if article is None else "", published_at=published,
    )
