"""Wires the stages: poll feeds → fetch and extract articles → store → index.

The CLI, the tests, the benchmarks and (later) the Airflow DAGs all call these functions.
Network work runs in a thread pool; every database write happens on the calling thread.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from ingest.extract import choose_text, extract_article
from ingest.feeds import entry_hash, parse_feed
from ingest.fetch import FEED_ACCEPT, Fetcher
from ingest.urls import article_id, canonicalize, choose_canonical
from newswatch.db import EntryState, Store
from newswatch.errors import FetchError, NewswatchError
from newswatch.models import (
    Article,
    ArticleFailure,
    Extracted,
    Feed,
    FeedEntry,
    FeedOutcome,
    FetchResult,
    RunReport,
)
from newswatch.settings import Settings
from search.backend import IndexBackend, open_index

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # an entry whose page keeps failing is retried on this many runs
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


class Progress(Protocol):
    """What the pipeline tells a progress display; the CLI renders it with rich."""

    def start(self, label: str, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class _NoProgress:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass
class Runtime:
    """The open resources one process works with. Build it with :func:`open_runtime`."""

    settings: Settings
    store: Store
    index: IndexBackend
    fetcher: Fetcher
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def close(self) -> None:
        self.fetcher.close()
        self.index.close()
        self.store.close()


def open_runtime(settings: Settings) -> Runtime:
    """Open the state store (migrating it), the search index and an HTTP client."""
    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store.open(settings.resolved_database_url)
    index = open_index(settings)
    index.ensure_schema()
    return Runtime(settings, store, index, Fetcher(settings))


@dataclass
class WorkItem:
    """One feed entry whose article page must be fetched (new, changed or retried)."""

    feed: Feed
    entry: FeedEntry
    link: str
    hash: str
    state: EntryState | None


@dataclass
class ItemResult:
    article: Article | None = None
    urls: tuple[str, ...] = ()
    error: str = ""


def add_feed(rt: Runtime, url: str) -> tuple[Feed, bool]:
    """Register a feed URL (validated, stored once)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise NewswatchError(f"not a feed URL: {url!r} (expected http:// or https://)")
    return rt.store.add_feed(url.strip(), rt.clock())


def run_once(rt: Runtime, progress: Progress | None = None) -> RunReport:
    """Poll every active feed, fetch and extract what is new or changed, index it."""
    progress = progress or _NoProgress()
    started = time.monotonic()
    now = rt.clock()
    report = RunReport(run_id=rt.store.start_run(now))
    feeds = rt.store.list_feeds(include_paused=False)
    workers = max(1, rt.settings.fetch_concurrency)
    status = "failed"
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
            progress.start("polling feeds", len(feeds))
            outcomes: dict[int, FeedOutcome] = {}
            items: list[WorkItem] = []
            fetched = {pool.submit(_fetch_feed, rt.fetcher, f): f for f in feeds}
            for future in as_completed(fetched):
                feed = fetched[future]
                outcome, feed_items = _handle_feed(rt, feed, future, now)
                outcomes[feed.id] = outcome
                items.extend(feed_items)
                progress.advance()
            report.feeds = [outcomes[f.id] for f in feeds]
            _process_items(rt, pool, items, outcomes, report, now, progress)
        report.indexed = index_pending(rt)
        status = "ok"
    finally:
        report.seconds = time.monotonic() - started
        rt.store.finish_run(report.run_id or 0, rt.clock(), status, report.as_dict())
    return report


def _fetch_feed(fetcher: Fetcher, feed: Feed) -> FetchResult:
    return fetcher.get(
        feed.url, etag=feed.etag, last_modified=feed.last_modified, accept=FEED_ACCEPT
    )


def _handle_feed(
    rt: Runtime, feed: Feed, future: Future[FetchResult], now: datetime
) -> tuple[FeedOutcome, list[WorkItem]]:
    """Record the poll on the feed and turn its entries into work. Never raises."""
    outcome = FeedOutcome(feed_url=feed.url, status="ok", title=feed.title)
    try:
        result = future.result()
        body_hash = hashlib.sha256(result.content).hexdigest() if result.content else None
        if result.not_modified or (body_hash and body_hash == feed.content_hash):
            outcome.status = "not-modified"
            entries: list[FeedEntry] = []
            parsed_title = feed.title
            values: dict[str, object] = {}
        else:
            parsed = parse_feed(result.content, result.final_url, result.content_type)
            entries = parsed.entries
            parsed_title = parsed.title or feed.title
            values = dict(
                title=parsed_title, site_url=parsed.site_url, format=parsed.format,
                content_hash=body_hash,
            )
        rt.store.update_feed(
            feed.id,
            etag=result.etag or feed.etag,
            last_modified=result.last_modified or feed.last_modified,
            last_polled_at=now,
            last_success_at=now,
            last_status=result.status,
            last_error="",
            consecutive_failures=0,
            next_poll_at=now + timedelta(seconds=feed.interval_seconds),
            **values,
        )
    except NewswatchError as exc:
        return _feed_failed(rt, feed, outcome, now, str(exc), getattr(exc, "status", None)), []
    except Exception as exc:  # a bug must not stop the other feeds; record it loudly
        log.exception("unexpected error polling %s", feed.url)
        reason = f"internal error: {type(exc).__name__}: {exc}"
        return _feed_failed(rt, feed, outcome, now, reason, None), []
    feed = replace(feed, title=parsed_title)
    outcome.title = parsed_title
    outcome.entries = len(entries)
    return outcome, _work_for_entries(rt, feed, entries, outcome, now)


def _feed_failed(
    rt: Runtime, feed: Feed, outcome: FeedOutcome, now: datetime, reason: str, status: int | None
) -> FeedOutcome:
    outcome.status = "failed"
    outcome.error = reason.removeprefix(f"{feed.url}: ")
    rt.store.update_feed(
        feed.id,
        last_polled_at=now,
        last_status=status,
        last_error=outcome.error,
        consecutive_failures=feed.consecutive_failures + 1,
    )
    return outcome


def _work_for_entries(
    rt: Runtime, feed: Feed, entries: list[FeedEntry], outcome: FeedOutcome, now: datetime
) -> list[WorkItem]:
    states = rt.store.entry_states(feed.id)
    items: list[WorkItem] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.guid in seen:
            continue
        seen.add(entry.guid)
        try:
            link = canonicalize(entry.link) if entry.link else ""
        except ValueError:
            link = ""
        digest = entry_hash(entry)
        state = states.get(entry.guid)
        if state is not None and state.article_id and state.entry_hash == digest:
            outcome.unchanged += 1
            continue
        if state is None and link:
            known = rt.store.article_id_for_url(link)
            if known:  # the same link under a new GUID, or from another feed
                rt.store.save_entry(
                    feed.id, entry.guid, link=link, title=entry.title, entry_hash=digest,
                    now=now, article_id=known,
                )
                outcome.unchanged += 1
                continue
        if state is not None and not state.article_id and state.attempts >= MAX_ATTEMPTS:
            continue  # gave up on this one; its error stays recorded on the entry
        items.append(WorkItem(feed, entry, link, digest, state))
    for state in rt.store.retryable_entries(feed.id, MAX_ATTEMPTS):
        if state.guid not in seen and state.link:
            stub = FeedEntry(guid=state.guid, link=state.link)
            items.append(WorkItem(feed, stub, state.link, state.entry_hash, state))
    return items


def _process_items(
    rt: Runtime,
    pool: ThreadPoolExecutor,
    items: list[WorkItem],
    outcomes: dict[int, FeedOutcome],
    report: RunReport,
    now: datetime,
    progress: Progress,
) -> None:
    by_link: dict[str, list[WorkItem]] = {}
    for item in items:
        by_link.setdefault(item.link or f"guid:{item.feed.id}:{item.entry.guid}", []).append(item)
    progress.start("fetching articles", len(items))
    futures = {pool.submit(fetch_article, rt, group[0]): group for group in by_link.values()}
    for future in as_completed(futures):
        group = futures[future]
        try:
            result = future.result()
        except Exception as exc:  # never lose the rest of the run to one page
            log.exception("unexpected error processing %s", group[0].link)
            result = ItemResult(error=f"internal error: {type(exc).__name__}: {exc}")
        for i, item in enumerate(group):
            outcome = outcomes[item.feed.id]
            if result.article is None:
                outcome.failed += 1
                report.failures.append(ArticleFailure(item.entry.link or item.entry.guid, result.error))
                rt.store.save_entry(
                    item.feed.id, item.entry.guid, link=item.link, title=item.entry.title,
                    entry_hash=item.hash, now=now, article_id=None, error=result.error,
                )
            else:
                if i == 0:
                    change = rt.store.save_article(result.article, result.urls, now)
                else:
                    change = "unchanged"
                setattr(outcome, change, getattr(outcome, change) + 1)
                rt.store.save_entry(
                    item.feed.id, item.entry.guid, link=item.link, title=item.entry.title,
                    entry_hash=item.hash, now=now, article_id=result.article.id,
                )
            progress.advance()


def fetch_article(rt: Runtime, item: WorkItem) -> ItemResult:
    """Fetch an entry's page and build the article from it (or from the feed). No DB writes."""
    entry = item.entry
    page: Extracted | None = None
    final_url = item.link
    error = ""
    if not item.link:
        error = "entry has no valid link"
    else:
        try:
            fetched = rt.fetcher.get(item.link)
            final_url = fetched.final_url
            kind = fetched.content_type.split(";", 1)[0].strip().lower()
            if kind not in HTML_TYPES:
                error = f"not an HTML page (content type {kind})"
            else:
                page = extract_article(fetched.content, fetched.final_url)
                if page is None:
                    error = "no article text found on the page"
        except FetchError as exc:
            error = exc.reason
    chosen = choose_text(page, entry, rt.settings.min_article_chars)
    if chosen is None or not chosen.text.strip():
        return ItemResult(error=error or "no text in the page or the feed")
    if page is None and chosen.method != "feed-content":
        return ItemResult(error=error)  # a summary alone is not an article
    try:
        canonical = choose_canonical(final_url, chosen.canonical_url or None)
    except ValueError:
        return ItemResult(error=f"invalid URL {final_url!r}")
    return ItemResult(
        article=_build_article(rt, item, chosen, canonical),
        urls=tuple(_aliases(item.link, final_url, canonical)),
    )


def _aliases(*urls: str) -> Iterable[str]:
    for url in urls:
        try:
            yield canonicalize(url)
        except ValueError:
            continue


def _build_article(rt: Runtime, item: WorkItem, chosen: Extracted, canonical: str) -> Article:
    entry = item.entry
    now = rt.clock()
    published, source_of_date = _publication_date(chosen.published, entry.published)
    if published is None:
        published = now
    title = chosen.title or entry.title or canonical
    text = chosen.text.strip()
    return Article(
        id=article_id(canonical),
        url=canonical,
        source=chosen.sitename or item.feed.title or urlsplit(canonical).netloc,
        title=title,
        text=text,
        text_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        published_at=published,
        published_source=source_of_date,
        first_seen_at=now,
        updated_at=now,
        author=chosen.author or entry.author,
        language=chosen.language,
        method=chosen.method,
        feed_id=item.feed.id,
    )


def _publication_date(
    page: datetime | None, feed: datetime | None
) -> tuple[datetime | None, str]:
    """The page's date when it carries a time of day, else the feed's, else the page's day."""
    if page is not None and (page.hour, page.minute, page.second) != (0, 0, 0):
        return page, "page"
    if feed is not None:
        return feed, "feed"
    if page is not None:
        return page, "page"
    return None, "first-seen"


def index_pending(rt: Runtime, batch: int = 500) -> int:
    """Index every article whose newest revision is not yet in the index."""
    total = 0
    while True:
        pending = rt.store.articles_to_index(limit=batch)
        if not pending:
            return total
        rt.index.upsert_many(a.as_index_doc() for a in pending)
        rt.store.mark_indexed(((a.id, a.revision) for a in pending), rt.clock())
        total += len(pending)
