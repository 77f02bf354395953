"""``newswatch watch …``, ``newswatch alerts`` and ``newswatch send``: watches and their email."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from alerts.delivery import send_outbox
from alerts.links import feed_url
from alerts.stage import make_digests
from alerts.store import WatchStore
from alerts.watches import DEFAULT_MIN_NOVELTY, add_watch, follow_story, get_watch, remove_watch
from core.models import WATCH_MODES, Watch
from core.runtime import Runtime
from core.settings import load_settings
from newswatch import console as out
from newswatch.console import escape
from newswatch.resources import open_runtime

stdout = Console(soft_wrap=True)

_mode = click.option("--mode", type=click.Choice(WATCH_MODES), default="immediate",
                     show_default=True, help="Email at once, or an hourly or daily digest.")
_novelty = click.option("--min-novelty", type=click.FloatRange(0.0, 1.0),
                        default=DEFAULT_MIN_NOVELTY, show_default=True,
                        help="How much a later article must add to its story to send a follow-up.")
_emails = click.option("--email", "emails", multiple=True, required=True,
                       help="Who gets the alerts (repeat for several).")
_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@contextmanager
def _runtime() -> Iterator[Runtime]:
    rt = open_runtime(load_settings())
    try:
        yield rt
    finally:
        rt.close()


@click.group("watch")
def watch_group() -> None:
    """Saved searches and followed stories that send email alerts."""


@watch_group.command("add")
@click.argument("name")
@click.option("--query", default="", help="Search query (same language as `newswatch search`).")
@click.option("--entity", "entities", multiple=True, help="About this entity (repeat: any of them).")
@click.option("--topic", help="Only articles with this topic tag (e.g. sanctions).")
@click.option("--source", help="Only this outlet.")
@click.option("--language", help="Only this language (ISO code).")
@_emails
@_mode
@_novelty
@_json
def watch_add(name: str, query: str, entities: tuple[str, ...], topic: str | None,
              source: str | None, language: str | None, emails: tuple[str, ...], mode: str,
              min_novelty: float, as_json: bool) -> None:
    """Watch a search: a new story once, then follow-ups only when it develops."""
    with _runtime() as rt:
        watch = add_watch(rt, name, emails, query=query, entities=entities, topic=topic,
                          source=source, language=language, mode=mode, min_novelty=min_novelty)
        _print_added(rt, watch, as_json)


@watch_group.command("follow")
@click.argument("story_id")
@click.option("--name", default="", help="A name for the watch [default: from the story].")
@_emails
@_mode
@_novelty
@_json
def watch_follow(story_id: str, name: str, emails: tuple[str, ...], mode: str,
                 min_novelty: float, as_json: bool) -> None:
    """Follow one story (see `newswatch stories`): email when its coverage brings news."""
    with _runtime() as rt:
        watch = follow_story(rt, story_id, emails, name=name, mode=mode, min_novelty=min_novelty)
        _print_added(rt, watch, as_json)


@watch_group.command("list")
@_json
def watch_list(as_json: bool) -> None:
    """The watches, with what they look for and who hears about it."""
    with _runtime() as rt:
        watches = WatchStore(rt.store).all()
        if as_json:
            out.print_json(stdout, [_watch_dict(rt, w) for w in watches])
            return
        if not watches:
            stdout.print("No watches yet: newswatch watch add NAME --query Q --email ADDRESS")
            return
        table = Table("id", "name", "looks for", "mode", "min novelty", "recipients")
        for w in watches:
            table.add_row(w.id, escape(w.name), escape(_looks_for(w)), w.mode,
                          f"{w.min_novelty:g}", escape(", ".join(w.recipients) or "(none)"))
        stdout.print(table)


@watch_group.command("remove")
@click.argument("refs", nargs=-1, required=True)
def watch_remove(refs: tuple[str, ...]) -> None:
    """Delete watches (by id or name), their alerts and their unsent email."""
    with _runtime() as rt:
        for ref in refs:
            watch = remove_watch(rt, ref)
            stdout.print(f"Removed watch {watch.id} ({escape(watch.name)})")


@click.command("alerts")
@click.option("--watch", "ref", help="Only this watch (id or name).")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@_json
def alerts_command(ref: str | None, limit: int, as_json: bool) -> None:
    """Recent alert emails and their delivery state (pending, sent, failed)."""
    with _runtime() as rt:
        store = WatchStore(rt.store)
        watch_id = get_watch(rt, ref).id if ref else None
        rows = store.outbox(watch_id, limit)
        if as_json:
            out.print_json(stdout, {
                "counts": store.outbox_counts(),
                "emails": [{**vars(r), "content": json.loads(r.content)} for r in rows],
            })
            return
        counts = store.outbox_counts()
        stdout.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "No alerts yet.")
        table = Table("when", "kind", "to", "status", "subject")
        for r in rows:
            content = json.loads(r.content)
            subject = content.get("story_title") or content.get("watch_name", "")
            status = r.status + (f" ({r.attempts} tries: {r.last_error})" if r.last_error else "")
            table.add_row(r.created_at.strftime("%Y-%m-%d %H:%M"), r.kind, escape(r.recipient),
                          escape(status), escape(subject[:80]))
        if rows:
            stdout.print(table)


@click.command("send")
@_json
def send_command(as_json: bool) -> None:
    """Queue the digests that are due and deliver pending alert email (with retries)."""
    with _runtime() as rt:
        digests = make_digests(rt)
        report = send_outbox(rt)
        data = {"digests": digests, "sent": report.sent, "deferred": report.deferred,
                "failed": report.failed, "errors": report.errors}
        if as_json:
            out.print_json(stdout, data)
            return
        stdout.print(f"Sent {report.sent}, deferred {report.deferred}, failed {report.failed}"
                     f" ({digests} digest(s) queued).")
        for error in dict.fromkeys(report.errors):
            stdout.print(f"[yellow]warning:[/] {escape(error)}")


def _print_added(rt: Runtime, watch: Watch, as_json: bool) -> None:
    if as_json:
        out.print_json(stdout, _watch_dict(rt, watch))
        return
    stdout.print(f"Added watch {watch.id} ({escape(watch.name)}): {escape(_looks_for(watch))}; "
                 f"{watch.mode} email to {escape(', '.join(watch.recipients))}.")
    stdout.print(f"Atom feed: {feed_url(rt.settings, watch.id)}")


def _watch_dict(rt: Runtime, watch: Watch) -> dict[str, Any]:
    return {**watch.as_dict(), "feed_url": feed_url(rt.settings, watch.id)}


def _looks_for(w: Watch) -> str:
    if w.story_id:
        return f"story {w.story_id}"
    parts = [repr(w.query)] if w.query else []
    parts += [f"entity {e}" for e in (w.entity_names or w.entities)]
    parts += [f"{k} {v}" for k, v in (("topic", w.topic), ("source", w.source),
                                       ("language", w.language)) if v]
    return ", ".join(parts)
