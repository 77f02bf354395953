"""The article stage: fetch an entry's page (politely), extract it, build the article.

Runs in the pipeline's fetch threads; CPU-bound extraction is handed to the process pool.
No database writes here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from ingest.dates import choose_published
from ingest.extract import choose_text
from ingest.politeness import host_key
from ingest.urls import article_id, canonicalize, choose_canonical
from newswatch.errors import FetchError
from newswatch.models import Article, Extracted
from newswatch.polling import WorkItem
from newswatch.runtime import Runtime

HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")
MAX_CRAWL_DELAY = 60.0  # a robots.txt Crawl-delay above this is capped


@dataclass
class ItemResult:
    article: Article | None = None
    urls: tuple[str, ...] = ()
    error: str = ""


def fetch_article(rt: Runtime, item: WorkItem, pooled: bool = False) -> ItemResult:
    """Fetch an entry's page and build the article from it (or from the feed)."""
    entry = item.entry
    page: Extracted | None = None
    final_url = item.link
    error = ""
    if not item.link:
        error = "entry has no valid link"
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
