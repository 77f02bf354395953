"""``newswatch feeds``: register, import, export, pause, resume, remove and list feeds, and
their health."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from core.errors import NewswatchError
from core.models import Feed
from core.runtime import Runtime
from newswatch import console as out
from newswatch.console import escape
from newswatch.pipeline import add_feed, check_address, check_feed_url, subscribe
from newswatch.resources import opened as runtime

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True)
_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group("feeds")
def feeds() -> None:
    """Manage the feeds newswatch polls."""


@feeds.command("add")
@click.argument("urls", nargs=-1, required=True)
@click.option("--no-check", is_flag=True, help="Register as given, without fetching it (an IP "
              "address the network policy refuses is still refused).")
@_json
def feeds_add(urls: tuple[str, ...], no_check: bool, as_json: bool) -> None:
    """Register feeds. A site's home page works too: its announced feed is used. An address
    newswatch may not fetch (loopback, private networks; NEWSWATCH_ALLOWED_PRIVATE_NETWORKS)
    is refused."""
    for url in urls:  # refuse a malformed URL before anything is registered or fetched
        check_feed_url(url)
    added: list[dict[str, Any]] = []
    with runtime() as rt:
        for url in urls:
            check_address(rt, url)
        for url in urls:
            if no_check:
                feed, new = add_feed(rt, url)
                note = ""
            else:
                sub = subscribe(rt, url)
                feed, new, note = sub.feed, sub.new, sub.note
            added.append({"id": feed.id, "url": feed.url, "given": url, "new": new, "note": note})
            if not as_json:
                verb = "Added" if new else "Already registered"
                shown = f" ({note})" if note else ""
                stdout.print(f"{verb}: feed {feed.id} {escape(feed.url)}{escape(shown)}")
    if as_json:
        out.print_json(stdout, added)


def _feed_or_fail(rt: Runtime, ref: str) -> Feed:
    feed = rt.store.find_feed(ref)
    if feed is None:
        raise NewswatchError(f"no feed {ref!r} (give its id or URL from `newswatch feeds list`)")
    return feed


@feeds.command("remove")
@click.argument("refs", nargs=-1, required=True)
@_json
def feeds_remove(refs: tuple[str, ...], as_json: bool) -> None:
    """Stop following feeds (by id or URL); their articles stay searchable."""
    done = []
    with runtime() as rt:
        feeds_ = [_feed_or_fail(rt, ref) for ref in refs]  # all known before any is removed
        for feed in feeds_:
            rt.store.remove_feed(feed.id)
            done.append({"id": feed.id, "url": feed.url})
            if not as_json:
                stdout.print(f"Removed feed {feed.id} {escape(feed.url)}")
    if as_json:
        out.print_json(stdout, done)


@feeds.command("pause")
@click.argument("refs", nargs=-1, required=True)
@_json
def feeds_pause(refs: tuple[str, ...], as_json: bool) -> None:
    """Stop polling feeds until they are resumed."""
    _set_paused(refs, True, as_json)


@feeds.command("resume")
@click.argument("refs", nargs=-1, required=True)
@_json
def feeds_resume(refs: tuple[str, ...], as_json: bool) -> None:
    """Poll paused feeds again (on the next run)."""
    _set_paused(refs, False, as_json)


def _set_paused(refs: tuple[str, ...], paused: bool, as_json: bool) -> None:
    done = []
    with runtime() as rt:
        feeds_ = [_feed_or_fail(rt, ref) for ref in refs]
        for feed in feeds_:
            values: dict[str, Any] = {"paused": paused}
            if not paused:
                values["next_poll_at"] = None  # due at once
            rt.store.update_feed(feed.id, **values)
            done.append({"id": feed.id, "url": feed.url, "paused": paused})
            if not as_json:
                verb = "Paused" if paused else "Resumed"
                stdout.print(f"{verb} feed {feed.id} {escape(feed.url)}")
    if as_json:
        out.print_json(stdout, done)


@feeds.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
def feeds_export(path: Path | None) -> None:
    """Write every registered feed as OPML (to PATH, or standard output)."""
    from ingest.opml import render_opml

    with runtime() as rt:
        listed = [(f.url, f.title, f.site_url) for f in rt.store.list_feeds()]
    document = render_opml(listed)
    if path is None:
        sys.stdout.write(document.decode("utf-8"))
        return
    try:
        path.write_bytes(document)
    except OSError as exc:
        raise NewswatchError(f"cannot write {path}: {exc.strerror}") from None
    stdout.print(f"Wrote {len(listed)} feed(s) to {path}")


@feeds.command("health")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def feeds_health(as_json: bool) -> None:
    """Per feed: its state (ok, quiet, failing, unhealthy, new, paused; explained below the
    table), when it was last polled, its newest item, items per day, interval, last error."""
    from ingest.health import assess

    with runtime() as rt:
        now = rt.clock()
        report = [
            assess(f, rt.store.entry_dates(f.id), now, rt.settings.unhealthy_after)
            for f in rt.store.list_feeds()
        ]
    if as_json:
        out.print_json(stdout, [vars(h) for h in report])
    else:
        out.print_health(stdout, report, now)


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def feeds_list(as_json: bool) -> None:
    """List registered feeds with their poll state."""
    with runtime() as rt:
        feeds_ = rt.store.list_feeds()
        counts = rt.store.feed_article_counts()
    if as_json:
        out.print_json(stdout, [{**vars(f), "articles": counts.get(f.id, 0)} for f in feeds_])
    else:
        out.print_feeds(stdout, feeds_, counts)


MAX_SKIP_LINES = 20  # bad OPML entries reported one by one; the rest are counted


@feeds.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def feeds_import(path: Path) -> None:
    """Register every feed listed in an OPML file."""
    from ingest.opml import MAX_OPML_BYTES, parse_opml

    try:
        if path.stat().st_size > MAX_OPML_BYTES:  # refused before it is read
            raise NewswatchError(f"{path} is {path.stat().st_size / 1e6:.1f} MB; OPML files over "
                                 f"{MAX_OPML_BYTES / 1e6:.0f} MB are refused (split it)")
        content = path.read_bytes()
    except OSError as exc:
        raise NewswatchError(f"cannot read {path}: {exc.strerror}") from None
    listed = parse_opml(content)
    good: list[str] = []
    skipped = 0
    for url, _title in listed:
        try:
            check_feed_url(url)
        except NewswatchError as exc:
            skipped += 1
            if skipped <= MAX_SKIP_LINES:
                one_line = " ".join(str(exc).split())
                stderr.print(f"skipped: {escape(one_line)}", highlight=False, soft_wrap=True)
            continue
        good.append(url.strip())
    if skipped > MAX_SKIP_LINES:
        stderr.print(f"skipped: {skipped - MAX_SKIP_LINES} more bad entries", highlight=False)
    added = 0
    with runtime() as rt, out.RichProgress(stderr) as progress:
        progress.start("registering feeds", len(good))
        for start, new in zip(range(0, len(good), 2000),
                              rt.store.add_feeds(good, rt.clock(), rt.settings.initial_feed_interval),
                              strict=False):
            added += new
            progress.advance(min(2000, len(good) - start))
    stdout.print(f"{len(listed)} feed(s) in {path}; {added} new, {len(listed) - added} skipped or known.")
