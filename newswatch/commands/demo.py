"""``newswatch demo``: the bundled demo news site on loopback, the pipeline run over it,
and what it found. The demo's feeds are removed when it ends (the site stops with it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.console import Console

from core.models import SearchRequest
from core.runtime import Runtime
from core.settings import LOOPBACK_NETWORKS, load_settings
from newswatch import console as out
from newswatch.console import escape
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import opened as runtime

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True)


@click.command("demo")
@click.option("--port", type=int, default=None, help="First loopback port of the demo outlets.")
@click.option("--query", default="North Korea artillery", show_default=True, help="Sample search.")
def demo_command(port: int | None, query: str) -> None:
    """Serve the bundled demo news site on loopback and run the pipeline over it."""
    from newswatch.demo.site import DemoSite

    overrides: dict[str, Any] = {} if port is None else {"demo_port": port}
    settings = load_settings(overrides=overrides).with_allowed(*LOOPBACK_NETWORKS)
    with DemoSite(base_port=settings.demo_port) as site, runtime(settings) as rt:
        feed_urls = site.feed_urls()
        stdout.print(f"Demo news site: {len(feed_urls)} outlets on {site_range(feed_urls)}")
        try:
            for url in feed_urls:
                add_feed(rt, url)
            _demo_watch(rt)
            _demo_run(rt, query)
        finally:  # the site stops with this command: later runs must not poll its feeds
            _remove_demo_feeds(rt, feed_urls)
        stdout.print(f"\nData is in {settings.home.resolve()}; try `newswatch stories`, "
                     "`newswatch show ID` or `newswatch serve`.")


def _demo_run(rt: Runtime, query: str) -> None:
    """The demo's pipeline run and what it found."""
    started = rt.clock()
    with out.RichProgress(stderr) as progress:
        report = run_once(rt, progress, force=True)
    out.print_report(stdout, report)
    stdout.print(f"\nSample search: newswatch search {query!r}")
    out.print_hits(stdout, query, rt.index.search(SearchRequest(query=query, limit=5)), 0)
    from stories.store import StoryStore

    store = StoryStore(rt.store)
    stories_ = store.recent(limit=1000)
    if stories_:
        biggest = max(stories_, key=lambda s: (s.article_count, s.last_updated))
        articles = store.articles_of(biggest.id)
        duplicates = sum(1 for a in articles if store.story_fields(a.id)["duplicate_of"])
        stdout.print(
            f"\nStories: {len(stories_)} from {rt.store.count_articles()} articles. The largest, "
            f"{biggest.id}: {escape(biggest.title)!s} — {len(articles)} articles from "
            f"{len({a.source for a in articles})} outlets, {duplicates} near-duplicate(s)."
        )
        stdout.print(f"See how it developed: newswatch story {biggest.id} --why")
    _print_demo_mail(rt, started)


def _remove_demo_feeds(rt: Runtime, feed_urls: list[str]) -> None:
    """Forget the demo outlets' feeds (their articles, stories and alerts stay)."""
    removed = 0
    for url in feed_urls:
        feed = rt.store.find_feed(url)
        if feed is not None:
            rt.store.remove_feed(feed.id)
            removed += 1
    if removed:
        stdout.print(f"\nRemoved the {removed} demo feeds (the demo site stops now); their "
                     "articles stay.")


DEMO_WATCH = "DPRK-Russia arms"


def _demo_watch(rt: Runtime) -> None:
    """The demo's analyst watches North Korea–Russia coverage (once; re-runs keep it)."""
    from alerts.store import WatchStore
    from alerts.watches import add_watch

    if WatchStore(rt.store).get(DEMO_WATCH) is None:
        add_watch(rt, DEMO_WATCH, ["analyst@example.org"], topic="dprk-russia")
        stdout.print(f"Watch {DEMO_WATCH!r}: topic dprk-russia, email to analyst@example.org")


def _print_demo_mail(rt: Runtime, started: datetime) -> None:
    """What this run delivered (a second run that sends nothing says so)."""
    from alerts.content import content_from_json
    from alerts.mailer import MaildirMailer, mailer_for
    from alerts.render import subject_for
    from alerts.store import WatchStore
    from alerts.watches import shown_destination

    store = WatchStore(rt.store)
    # rows of one reader's watches sent together were one message: count messages
    messages = {(r.recipient.casefold(), r.sent_at, subject_for(content_from_json(r.content))): r
                for r in reversed(store.outbox(limit=1000))
                if r.status == "sent" and r.sent_at is not None}
    now = [r for (_, sent_at, _), r in messages.items() if sent_at >= started]
    before = len(messages) - len(now)
    mailer = mailer_for(rt.settings)
    where = f"the maildir {mailer.path.resolve()}" if isinstance(mailer, MaildirMailer) else "SMTP"
    if not now and before:
        stdout.print(f"\nAlert email: {before} message(s) sent by earlier runs, none by this "
                     "one (see `newswatch alerts`)")
        return
    earlier = f" ({before} more by earlier runs)" if before else ""
    stdout.print(f"\nAlert email: {len(now)} message(s) delivered to {where}{earlier}")
    for row in now[-10:]:
        subject = subject_for(content_from_json(row.content))
        to = row.recipient if row.channel == "email" else shown_destination(row.recipient)
        stdout.print(f"  to {escape(to)}: {escape(subject)}")


def site_range(urls: list[str]) -> str:
    return f"{urls[0].rsplit('/', 1)[0]} …" if urls else "(none)"
