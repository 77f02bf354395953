"""``newswatch watch …``, ``newswatch alerts`` and ``newswatch send``: watches and their email."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Column, Table

from alerts.backfill import MAX_BACKFILL_DAYS, Backfill
from alerts.content import AlertContent, content_from_json
from alerts.delivery import send_outbox
from alerts.render import news_summary, subject_for
from alerts.stage import make_digests
from alerts.store import WatchStore
from alerts.watches import (
    DEFAULT_MIN_NOVELTY,
    Changes,
    create_watch,
    describe,
    edit_watch,
    follow_story,
    get_watch,
    mute_story,
    pause_watch,
    remove_watch,
    resume_watch,
    shown_destination,
    unmute_story,
)
from core.errors import NewswatchError
from core.models import WATCH_MODES, Watch
from core.runtime import Runtime
from core.settings import load_settings
from newswatch import console as out
from newswatch import lookup
from newswatch.console import escape
from newswatch.resources import open_runtime

stdout = Console(soft_wrap=True)

_mode = click.option("--mode", type=click.Choice(WATCH_MODES), default="immediate",
                     show_default=True, help="Email at once, or an hourly or daily digest.")
_novelty = click.option("--min-novelty", type=click.FloatRange(0.0, 1.0),
                        default=DEFAULT_MIN_NOVELTY, show_default=True,
                        help="How much a later article must add to its story to send a follow-up.")
_emails = click.option("--email", "emails", multiple=True,
                       help="Who gets the alerts (repeat for several).")
_notify = click.option("--notify", "destinations", multiple=True, metavar="URL",
                       help="Also send the alerts here: https://… (a signed webhook) or an "
                            "Apprise URL such as slack://…, tgram://…, json://… (repeat).")
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
@_notify
@_mode
@_novelty
@click.option("--backfill", "backfill_days", type=click.IntRange(1, MAX_BACKFILL_DAYS),
              metavar="DAYS", help="Also send, once, one digest of the matching stories "
              "published in the last DAYS days that are indexed already.")
@_json
def watch_add(name: str, query: str, entities: tuple[str, ...], topic: str | None,
              source: str | None, language: str | None, emails: tuple[str, ...],
              destinations: tuple[str, ...], mode: str, min_novelty: float,
              backfill_days: int | None, as_json: bool) -> None:
    """Watch a search: a new story once, then follow-ups only when it develops."""
    with _runtime() as rt:
        added = create_watch(rt, name, emails, query=query, entities=entities, topic=topic,
                             source=source, language=language, mode=mode,
                             min_novelty=min_novelty, destinations=destinations,
                             backfill_days=backfill_days or 0)
        _print_added(rt, added.watch, as_json, added.backfill)


@watch_group.command("follow")
@click.argument("story_id")
@click.option("--name", default="", help="A name for the watch [default: from the story].")
@_emails
@_notify
@_mode
@_novelty
@_json
def watch_follow(story_id: str, name: str, emails: tuple[str, ...],
                 destinations: tuple[str, ...], mode: str, min_novelty: float,
                 as_json: bool) -> None:
    """Follow one story (see `newswatch stories`): email when its coverage brings news."""
    with _runtime() as rt:
        watch = follow_story(rt, lookup.story_id(rt, story_id), emails, name=name, mode=mode, min_novelty=min_novelty,
                             destinations=destinations)
        _print_added(rt, watch, as_json)


@watch_group.command("edit")
@click.argument("ref", metavar="ID_OR_NAME")
@click.option("--name", help="A new name.")
@click.option("--query", help="A new query ('' for none).")
@click.option("--entity", "entities", multiple=True,
              help="The entities, replacing the old ones (repeat; '' for none).")
@click.option("--topic", help="A new topic ('' for none).")
@click.option("--source", help="A new outlet ('' for any).")
@click.option("--language", help="A new language ('' for any).")
@click.option("--mode", type=click.Choice(WATCH_MODES), help="Email at once, hourly or daily.")
@click.option("--min-novelty", type=click.FloatRange(0.0, 1.0), help="A new threshold.")
@click.option("--email", "emails", multiple=True,
              help="The recipients, replacing the old ones (repeat).")
@click.option("--add-email", "add_emails", multiple=True, help="Add a recipient (repeat).")
@click.option("--remove-email", "remove_emails", multiple=True,
              help="Remove a recipient (repeat); their unsent email is cancelled.")
@click.option("--notify", "destinations", multiple=True, metavar="URL",
              help="The notification URLs, replacing the old ones (repeat; '' for none).")
@click.option("--add-notify", "add_destinations", multiple=True, metavar="URL",
              help="Add a notification URL (repeat).")
@click.option("--remove-notify", "remove_destinations", multiple=True, metavar="URL",
              help="Remove a notification URL, whole or as `watch list` shows it (repeat).")
@click.option("--rotate-secret", is_flag=True,
              help="Make a new secret for the webhook signatures (shown once).")
@_json
def watch_edit(ref: str, name: str | None, query: str | None, entities: tuple[str, ...],
               topic: str | None, source: str | None, language: str | None, mode: str | None,
               min_novelty: float | None, emails: tuple[str, ...], add_emails: tuple[str, ...],
               remove_emails: tuple[str, ...], destinations: tuple[str, ...],
               add_destinations: tuple[str, ...], remove_destinations: tuple[str, ...],
               rotate_secret: bool, as_json: bool) -> None:
    """Change a watch. Options given replace what the watch had; the rest stays.
    What it matches changes from now on."""
    changes = Changes(
        name=name, query=query, entities=_given(entities), topic=topic, source=source,
        language=language, mode=mode, min_novelty=min_novelty, emails=_given(emails),
        add_emails=add_emails, remove_emails=remove_emails,
        destinations=_given(destinations), add_destinations=add_destinations,
        remove_destinations=remove_destinations, rotate_secret=rotate_secret,
    )
    with _runtime() as rt:
        edited = edit_watch(rt, lookup.watch_ref(rt, ref), changes)
        watch = edited.watch
        if as_json:
            data = {**describe(rt, [watch])[0], "changed": list(edited.changed),
                    "digests": edited.digests}
            out.print_json(stdout, {**data, "secret": edited.secret} if edited.secret else data)
            return
        what = ", ".join(f.replace("_", " ") for f in edited.changed) or "nothing changed"
        stdout.print(f"Changed watch {watch.id} ({escape(watch.name)}): {what}.")
        stdout.print(f"Now: {escape(_summary(watch))}.")
        if edited.digests:
            stdout.print(f"The alerts that waited for a digest went into one now "
                         f"({edited.digests} email(s) queued).")
        if edited.secret:
            _print_secret(edited.secret)


@watch_group.command("pause")
@click.argument("ref", metavar="ID_OR_NAME")
@_json
def watch_pause(ref: str, as_json: bool) -> None:
    """Stop alerting; nothing that comes while paused is sent later."""
    _switch(ref, as_json, pause_watch, "Paused", "was paused already")


@watch_group.command("resume")
@click.argument("ref", metavar="ID_OR_NAME")
@_json
def watch_resume(ref: str, as_json: bool) -> None:
    """Alert again, on what is indexed from now on."""
    _switch(ref, as_json, resume_watch, "Resumed", "was not paused")


@watch_group.command("mute")
@click.argument("ref", metavar="ID_OR_NAME")
@click.argument("story_id")
@_json
def watch_mute(ref: str, story_id: str, as_json: bool) -> None:
    """No more alerts from this watch about this story (new story or follow-up)."""
    _muting(ref, story_id, as_json, mute_story, "Muted", "was muted already")


@watch_group.command("unmute")
@click.argument("ref", metavar="ID_OR_NAME")
@click.argument("story_id")
@_json
def watch_unmute(ref: str, story_id: str, as_json: bool) -> None:
    """Alert about this story again, from its next development."""
    _muting(ref, story_id, as_json, unmute_story, "Unmuted", "was not muted")


@watch_group.command("list")
@_json
def watch_list(as_json: bool) -> None:
    """The watches: what they look for, who hears about it, their state and Atom feeds."""
    with _runtime() as rt:
        watches = describe(rt, WatchStore(rt.store).all())
        if as_json:
            out.print_json(stdout, watches)
            return
        if not watches:
            stdout.print("No watches yet: newswatch watch add NAME --query Q --email ADDRESS")
            return
        table = Table(Column("id", no_wrap=True, min_width=16), "name", "state", "looks for",
                      "mode", "min novelty", "recipients", "notifies", "muted")
        for w in watches:
            table.add_row(w["id"], escape(w["name"]), w["state"], escape(_looks_for_dict(w)),
                          w["mode"], f"{w['min_novelty']:g}",
                          escape(", ".join(w["recipients"]) or "(none)"),
                          escape(", ".join(w["destinations"]) or "(none)"),
                          str(len(w["muted_stories"])))
        stdout.print(table)
        stdout.print("Atom feeds (a feed reader needs no key):")
        for w in watches:
            stdout.print(f"  {w['id']}  {w['feed_url']}", highlight=False)


@watch_group.command("remove")
@click.argument("refs", nargs=-1, required=True)
@_json
def watch_remove(refs: tuple[str, ...], as_json: bool) -> None:
    """Delete watches (by id or name), their alerts and their unsent email."""
    with _runtime() as rt:
        removed = [remove_watch(rt, lookup.watch_ref(rt, ref)) for ref in refs]
        if as_json:
            out.print_json(stdout, [{"id": w.id, "name": w.name} for w in removed])
            return
        for watch in removed:
            stdout.print(f"Removed watch {watch.id} ({escape(watch.name)})")


@click.command("alerts")
@click.option("--watch", "ref", help="Only this watch (id, unambiguous id prefix, or name).")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@_json
def alerts_command(ref: str | None, limit: int, as_json: bool) -> None:
    """Recent alerts: when, watch, recipient, delivery state and what was new.

    Newest first; the state is pending, sent, failed or cancelled."""
    with _runtime() as rt:
        store = WatchStore(rt.store)
        watch_id = get_watch(rt, lookup.watch_ref(rt, ref)).id if ref else None
        rows = store.outbox(watch_id, limit)
        counts = store.outbox_counts()
        names = {w.id: w.name for w in store.all()}
    if as_json:
        out.print_json(stdout, {
            "counts": counts,
            "emails": [{**vars(r), "recipient": _to(r.channel, r.recipient),
                        "watch_name": names.get(r.watch_id), "subject": _subject(r.content),
                        "content": json.loads(r.content)} for r in rows],
        })
        return
    if not rows:
        stdout.print("No alerts yet." if not counts else "No alerts for this watch yet.")
        return
    stdout.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) +
                 f" in all; the newest {len(rows)}:")
    table = Table(Column("when (UTC)", no_wrap=True), Column("watch → to", ratio=1, min_width=14),
                  Column("alert", no_wrap=True), Column("story and what was new", ratio=3,
                                                        min_width=24),
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
                  show_lines=True)
    for r in rows:
        alert = content_from_json(r.content)
        watches = [reason.watch_name for reason in alert.reasons] or [names.get(r.watch_id,
                                                                                 r.watch_id)]
        status = r.status + (f"\n{r.attempts} tries" if r.attempts > 1 else "")
        table.add_row(
            r.created_at.strftime("%Y-%m-%d\n%H:%M"),
            escape(", ".join(dict.fromkeys(watches))) + "\n→ " + escape(_to(r.channel, r.recipient))
            + (f" ({r.channel})" if r.channel != "email" else ""),
            f"{r.kind}\n{status}",
            _what(alert) + (f"\n[red]{escape(r.last_error)}[/]" if r.last_error else ""),
        )
    stdout.print(table)


def _subject(content: str) -> str:
    return subject_for(content_from_json(content))


def _what(alert: AlertContent) -> str:
    """An alert's story and what it said was new, as console markup."""
    if alert.kind == "digest":
        titles = [s.story_title for s in alert.stories]
        head = f"{len(titles)} stor{'y' if len(titles) == 1 else 'ies'} in a digest"
        return f"[bold]{head}[/]\n" + "\n".join(f"• {escape(t)}" for t in titles[:5]) + (
            f"\n… and {len(titles) - 5} more" if len(titles) > 5 else "")
    lead = next((i for i in alert.items if i.title.strip()), None)
    if alert.kind == "new-story":
        outlets = alert.outlets_count or len(alert.outlets)
        source = f" · first from {escape(lead.source)}" if lead and lead.source else ""
        return (f"[bold]{escape(alert.story_title)}[/]\nnew story{source}"
                f" · {outlets} outlet{'' if outlets == 1 else 's'} so far")
    headline = lead.title if lead else alert.story_title
    news = news_summary(alert.items, parts=4) or "a development"
    source = f"{escape(lead.source)}: " if lead and lead.source else ""
    return f"[bold]{escape(headline)}[/]\n{source}{escape(news)}"


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


def _print_added(rt: Runtime, watch: Watch, as_json: bool, backfill: Backfill | None = None) -> None:
    data = describe(rt, [watch])[0]
    if as_json:
        if watch.secret:  # a new watch: its secret is shown now and never again
            data["secret"] = watch.secret
        if backfill is not None:
            data["backfill"] = backfill.as_dict()
        out.print_json(stdout, data)
        return
    stdout.print(f"Added watch {watch.id} ({escape(watch.name)}): {escape(_summary(watch))}.")
    if backfill is not None:
        stdout.print(_backfill_line(backfill))
    if watch.secret:
        _print_secret(watch.secret)
    stdout.print(f"Atom feed: {data['feed_url']}", highlight=False)


def _print_secret(secret: str) -> None:
    stdout.print(f"Webhook secret (shown only now; the receiver checks signatures with it): "
                 f"{secret}", highlight=False)


def _backfill_line(b: Backfill) -> str:
    since = f"published since {b.since:%Y-%m-%d %H:%M} UTC"
    if not b.stories:
        return f"Backfill: no indexed story {since} matches."
    more = f" ({b.left_out} older one(s) left out)" if b.left_out else ""
    return (f"Backfill: {b.stories} stor{'y' if b.stories == 1 else 'ies'} {since}{more}, "
            f"{b.articles} article(s); {b.digests} digest(s) queued (one per recipient and "
            "notification URL), sent by the next `newswatch send` or run.")


def _switch(ref: str, as_json: bool, action: Callable[[Runtime, str], tuple[Watch, bool]],
            done: str, already: str) -> None:
    with _runtime() as rt:
        watch, changed = action(rt, lookup.watch_ref(rt, ref))
        if as_json:
            out.print_json(stdout, {**describe(rt, [watch])[0], "changed": changed})
        elif changed:
            stdout.print(f"{done} watch {watch.id} ({escape(watch.name)})")
        else:
            stdout.print(f"Watch {watch.id} ({escape(watch.name)}) {already}")


def _muting(ref: str, story_id: str, as_json: bool,
            action: Callable[[Runtime, str, str], tuple[Watch, str, bool]],
            done: str, already: str) -> None:
    with _runtime() as rt:
        watch, story, changed = action(rt, lookup.watch_ref(rt, ref), _story_ref(rt, story_id))
        if as_json:
            out.print_json(stdout, {"watch_id": watch.id, "story_id": story, "changed": changed,
                                    "muted_stories": describe(rt, [watch])[0]["muted_stories"]})
        elif changed:
            stdout.print(f"{done} story {escape(story)} for watch {watch.id} ({escape(watch.name)})")
        else:
            stdout.print(f"Story {escape(story)} {already} for watch {watch.id} "
                         f"({escape(watch.name)})")


def _story_ref(rt: Runtime, ref: str) -> str:
    """A story id from an unambiguous prefix; a story that is gone (muted before it was
    merged away, say) is passed on as typed, for unmute to find."""
    try:
        return lookup.story_id(rt, ref)
    except lookup.AmbiguousIdError:
        raise
    except NewswatchError:
        return ref


def _to(channel: str, recipient: str) -> str:
    """Who an outbox row goes to, fit to show: a destination URL may hold a token."""
    return recipient if channel == "email" else shown_destination(recipient)


def _given(values: tuple[str, ...]) -> tuple[str, ...] | None:
    """A repeatable option's values (``--entity ''`` alone: none), or None when not given."""
    return tuple(v for v in values if v.strip()) if values else None


def _summary(w: Watch) -> str:
    text = f"{_looks_for(w)}; {w.mode} email to {', '.join(w.recipients) or 'nobody'}"
    if w.destinations:
        text += f"; notifies {', '.join(shown_destination(d) for d in w.destinations)}"
    return text + ("; paused" if w.paused else "")


def _looks_for(w: Watch) -> str:
    return _looks_for_dict(w.as_dict())


def _looks_for_dict(w: dict[str, Any]) -> str:
    if w["story_id"]:
        return f"story {w['story_id']}"
    parts = [repr(w["query"])] if w["query"] else []
    parts += [f"entity {e}" for e in w["entities"]]
    parts += [f"{k} {w[k]}" for k in ("topic", "source", "language") if w[k]]
    return ", ".join(parts)
