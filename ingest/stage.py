"""The ingest stage: poll a feed (record the poll, schedule the next one, list the work it
gave), then fetch each entry's page politely, extract it and build the article.

Polling writes to the database on the pipeline's calling thread (the feed fetches ran in the
thread pool before); page fetches run in the fetch threads, hand CPU-bound extraction to the
process pool and write nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core.errors import FetchError, NewswatchError
from core.models import Article, Extracted, Feed, FeedEntry, FeedOutcome, FetchResult
from core.rows import EntryState
from core.runtime import Runtime
from ingest.dates import choose_published, plausible
from ingest.extract import choose_text
from ingest.feeds import entry_hash, parse_feed
from ingest.fetch import FEED_ACCEPT, Fetcher
from ingest.outlets import choose_outlet
from ingest.politeness import host_key
from ingest.schedule import backoff_delay, jitter, next_interval
from ingest.urls import article_id, canonicalize, choose_canonical, url_problem

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # an entry whose page keeps failing is retried on this many runs


@dataclass
class WorkItem:
    """One feed entry whose article page must be fetched (new, changed or retried)."""

    feed: Feed
    entry: FeedEntry
    link: str
    hash: str
    state: EntryState | None
    problem: str = ""  # why ``link`` is empty when the entry gave one (an invalid URL)


def fetch_feed(fetcher: Fetcher, feed: Feed) -> FetchResult:
    """Conditional GET of a feed (runs in a worker thread)."""
    return fetcher.get(
        feed.url, etag=feed.etag, last_modified=feed.last_modified, accept=FEED_ACCEPT
    )


def handle_feed(
    rt: Runtime, feed: Feed, future: Future[FetchResult], now: datetime
) -> tuple[FeedOutcome, list[WorkItem], dict[str, object]]:
    """Record the poll on the feed and turn its entries into work. Never raises.

    While the feed gave work, its validators (ETag, Last-Modified, content hash) are
    returned instead of stored: the caller stores them once that work is recorded, so a
    run that dies in between gets the entries again on the next poll, not a 304."""
    outcome = FeedOutcome(feed_url=feed.url, status="ok", title=feed.title)
    values: dict[str, object] = {}
    try:
        result = future.result()
        body_hash = hashlib.sha256(result.content).hexdigest() if result.content else None
        entries: list[FeedEntry] = []
        if result.not_modified or (body_hash and body_hash == feed.content_hash):
            outcome.status = "not-modified"
        else:
            parsed = parse_feed(
                result.content, result.final_url, result.content_type, headers=result.headers
            )
            entries = parsed.entries
            outcome.title = parsed.title or feed.title
            values = dict(
                title=outcome.title, site_url=parsed.site_url, format=parsed.format,
                content_hash=body_hash,
            )
        outcome.entries = len(entries)
        items, fresh = _work_for_entries(rt, replace(feed, title=outcome.title), entries, outcome, now)
    except NewswatchError as exc:
        return _feed_failed(rt, feed, outcome, now, exc), [], {}
    except Exception as exc:  # a bug must not stop the other feeds; record it loudly
        log.exception("unexpected error polling %s", feed.url)
        error = NewswatchError(f"internal error: {type(exc).__name__}: {exc}")
        return _feed_failed(rt, feed, outcome, now, error), [], {}
    s = rt.settings
    interval = next_interval(
        feed.interval_seconds, fresh, len(entries), s.min_feed_interval, s.max_feed_interval
    )
    if fresh:
        values["last_new_at"] = now
    validators: dict[str, object] = {
        "etag": result.etag or feed.etag,
        "last_modified": result.last_modified or feed.last_modified,
    }
    if "content_hash" in values:
        validators["content_hash"] = values.pop("content_hash")
    held = validators if items else {}
    rt.store.update_feed(
        feed.id,
        **({} if items else validators),
        last_polled_at=now,
        last_success_at=now,
        last_status=result.status,
        last_error="",
        consecutive_failures=0,
        interval_seconds=interval,
        next_poll_at=now + timedelta(seconds=jitter(interval, rt.rng)),
        **values,
    )
    return outcome, items, held


def _feed_failed(
    rt: Runtime, feed: Feed, outcome: FeedOutcome, now: datetime, exc: NewswatchError
) -> FeedOutcome:
    outcome.status = "failed"
    outcome.error = str(exc).removeprefix(f"{feed.url}: ")
    failures = feed.consecutive_failures + 1
    s = rt.settings
    delay = float(backoff_delay(failures, feed.interval_seconds, s.min_feed_interval, s.max_feed_interval))
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:  # the server said when: believe it, within our bounds
        delay = min(float(s.max_feed_interval), max(retry_after, float(s.min_feed_interval)))
    rt.store.update_feed(
        feed.id,
        last_polled_at=now,
        last_status=getattr(exc, "status", None),
        last_error=outcome.error,
        consecutive_failures=failures,
        next_poll_at=now + timedelta(seconds=jitter(delay, rt.rng)),
    )
    return outcome


def _work_for_entries(
    rt: Runtime, feed: Feed, entries: list[FeedEntry], outcome: FeedOutcome, now: datetime
) -> tuple[list[WorkItem], int]:
    """Entries to fetch, and how many entries of this poll were never seen before."""
    states = rt.store.entry_states(feed.id)
    tolerance = timedelta(seconds=rt.settings.future_date_tolerance)
    items: list[WorkItem] = []
    seen: set[str] = set()
    fresh = 0
    for entry in entries:
        if entry.guid in seen:
            continue
        seen.add(entry.guid)
        link, problem = _entry_link(entry.link)
        digest = entry_hash(entry)
        state = states.get(entry.guid)
        if state is not None and state.article_id and state.entry_hash == digest:
            outcome.unchanged += 1
            continue
        if state is None and link:
            known = rt.store.article_id_for_url(link)
            if known:  # the same link under a new GUID, or from another feed
                published = entry.published if plausible(entry.published, now, tolerance) else None
                rt.store.save_entry(
                    feed.id, entry.guid, link=link, title=entry.title, entry_hash=digest,
                    now=now, article_id=known, published_at=published,
                )
                outcome.unchanged += 1
                continue
        fresh += state is None
        if state is not None and not state.article_id and state.attempts >= MAX_ATTEMPTS:
            continue  # gave up on this one; its error stays recorded on the entry
        items.append(WorkItem(feed, entry, link, digest, state, problem))
    for state in rt.store.retryable_entries(feed.id, MAX_ATTEMPTS):
        if state.guid not in seen and state.link:
            stub = FeedEntry(guid=state.guid, link=state.link)
            link, problem = _entry_link(state.link)
            items.append(WorkItem(feed, stub, link, state.entry_hash, state, problem))
    return items, fresh


def _entry_link(raw: str) -> tuple[str, str]:
    """An entry's canonical link, or ``""`` and what is wrong with the one it gave."""
    if not raw:
        return "", ""
    try:
        return canonicalize(raw), ""
    except ValueError:
        why = url_problem(raw) or "not an absolute http(s) URL"
        return "", f"entry has no valid link ({why})"


HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")
MAX_CRAWL_DELAY = 60.0  # a robots.txt Crawl-delay above this is capped


@dataclass
class ItemResult:
    article: Article | None = None
    urls: tuple[str, ...] = ()
    error: str = ""
    transient: bool = False  # the host was slow or failing: worth another try later


def fetch_article(rt: Runtime, item: WorkItem, pooled: bool = False) -> ItemResult:
    """Fetch an entry's page and build the article from it (or from the feed)."""
    entry = item.entry
    page: Extracted | None = None
    final_url = item.link
    error = ""
    transient = False
    if not item.link:
        error = item.problem or "entry has no valid link"
    else:
        host = host_key(item.link)
        rt.fetcher.gate.configure(host, item.feed.max_per_host, item.feed.min_delay_seconds)
        try:
            if not rt.robots.allowed(item.link):
                error = "disallowed by the site's robots.txt"
            else:
                delay = rt.robots.crawl_delay(item.link)
                if delay:
                    rt.fetcher.gate.configure(host, delay=min(delay, MAX_CRAWL_DELAY))
                fetched = rt.fetcher.get(item.link)
                final_url = fetched.final_url
                kind = fetched.content_type.split(";", 1)[0].strip().lower()
                if kind not in HTML_TYPES:
                    error = f"not an HTML page (content type {kind})"
                else:
                    page = rt.extractor.extract(fetched.content, fetched.final_url, pooled=pooled)
                    if page is None:
                        error = "no article text found on the page"
        except FetchError as exc:
            error, transient = exc.reason, exc.transient
    chosen = choose_text(page, entry, rt.settings.min_article_chars)
    if chosen is None or not chosen.text.strip():
        return ItemResult(error=error or "no text in the page or the feed", transient=transient)
    if page is None and chosen.method != "feed-content":
        return ItemResult(error=error, transient=transient)  # a summary alone is not an article
    try:
        canonical = choose_canonical(final_url, chosen.canonical_url or None)
    except ValueError:
        return ItemResult(error=error or f"invalid URL {final_url!r}")
    page_date = page.published if page is not None else None
    return ItemResult(
        article=_build_article(rt, item, chosen, canonical, page_date),
        urls=tuple(_aliases(item.link, final_url, canonical)),
    )


def _aliases(*urls: str) -> Iterable[str]:
    for url in urls:
        try:
            yield canonicalize(url)
        except ValueError:
            continue


def _build_article(
    rt: Runtime, item: WorkItem, chosen: Extracted, canonical: str, page_date: datetime | None
) -> Article:
    entry = item.entry
    now = rt.clock()
    tolerance = timedelta(seconds=rt.settings.future_date_tolerance)
    published, source_of_date = choose_published(page_date, entry.published, now, tolerance)
    title = chosen.title or entry.title or canonical
    text = chosen.text.strip()
    return Article(
        id=article_id(canonical),
        url=canonical,
        source=choose_outlet(item.feed.title, chosen.sitename, canonical, entry.title, title),
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
