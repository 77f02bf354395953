"""``newswatch stories`` (the listing) and ``newswatch story`` (one story; merge, split)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Column, Table

from core.errors import NewswatchError
from newswatch import console as out
from newswatch import lookup
from newswatch.console import escape
from newswatch.pipeline import split_story
from newswatch.resources import opened as runtime
from newswatch.story_list import DEVELOPING_HOURS, ORDERS, list_stories
from search.stage import index_stories

stdout = Console(soft_wrap=True)


@click.command("stories")
@click.option("--topic", help="Only stories with an article tagged with this topic "
                              "(see `newswatch topics`).")
@click.option("--entity", help="Only stories with an article about this entity (name, alias "
                               "or id; see `newswatch entities`).")
@click.option("--since", type=click.DateTime(),
              help="Only stories that developed on or after this date (YYYY-MM-DD).")
@click.option("--min-articles", type=click.IntRange(1), default=1, show_default=True,
              help="Only stories of at least this many articles.")
@click.option("--sort", "order", type=click.Choice(ORDERS), default="developing",
              show_default=True,
              help=f"developing: stories of several outlets that developed within "
                   f"{DEVELOPING_HOURS} h of the newest development first; newest: newest "
                   "development first.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stories_command(topic: str | None, entity: str | None, since: datetime | None,
                    min_articles: int, order: str, limit: int, as_json: bool) -> None:
    """List stories, what is developing across outlets first."""
    with runtime() as rt:
        tag = lookup.check_topic(rt, topic) if topic else None
        ids = lookup.entity_ids(rt, entity) if entity else ()
        listed = list_stories(rt, topic=tag, entities=ids, since=utc(since),
                              min_articles=min_articles, order=order, limit=limit)
        empty = not listed and rt.store.count_articles() == 0
    if as_json:
        out.print_json(stdout, listed)
    elif listed:
        print_listing(stdout, listed, order)
    elif empty:
        stdout.print("No stories yet: add feeds (newswatch feeds add URL), then newswatch run.")
    else:
        stdout.print("No story matches these filters.")


def print_listing(console: Console, listed: list[dict[str, Any]], order: str) -> None:
    """The listing as a table: full ids (never cut), the title wraps."""
    width = max(len(s["id"]) for s in listed)
    tags = max((len(tag) for s in listed for tag in s["topics"]), default=6)
    table = Table(
        Column("story", no_wrap=True, min_width=width, style="bold"),
        Column("title", ratio=1, min_width=16, overflow="fold"),
        Column("size", no_wrap=True, justify="right"),
        Column("topics", min_width=min(tags, 16), overflow="fold"),
        Column("developed", no_wrap=True),
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
    )
    for s in listed:
        outlets = s["outlet_count"]
        size = f"{s['article_count']} art\n{outlets} outlet{'s' if outlets != 1 else ''}"
        table.add_row(s["id"], escape(s["title"] or "(untitled)"), size,
                      escape("\n".join(s["topics"]) or "—"), _when(s["last_updated"]))
    console.print(table)
    first = (f"stories of several outlets that developed within {DEVELOPING_HOURS} h of the "
             "newest development first (--sort newest: newest first)" if order == "developing"
             else "newest development first")
    console.print(f"[dim]Developed: last development (UTC); {first}. Ids take unambiguous "
                  "prefixes: newswatch story ID --why[/]", soft_wrap=False)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d\n%H:%M") if value else "—"


@click.command("story", context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, required=True)
@click.option("--why", is_flag=True, help="Show why each article joined the story.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def story_command(args: tuple[str, ...], why: bool, as_json: bool) -> None:
    """Show a story (`story ID [--why]`), or correct the machine:
    `story merge A B` moves story B into A; `story split ID ARTICLE...` moves articles out.
    Ids may be given as unambiguous prefixes."""
    from stories.stage import merge
    from stories.store import StoryStore

    with runtime() as rt:
        store = StoryStore(rt.store)
        if args[0] == "merge":
            if len(args) != 3:
                raise NewswatchError("usage: newswatch story merge TARGET_ID OTHER_ID")
            target, other = lookup.story_id(rt, args[1]), lookup.story_id(rt, args[2])
            result = merge(rt, target, other)
            index_stories(rt, [target, other])
            if as_json:
                out.print_json(stdout, {"merged": other, "into": result.id,
                                        "article_count": result.article_count})
            else:
                stdout.print(f"Merged {other} into {result.id}: {result.article_count} articles")
            return
        if args[0] == "split":
            if len(args) < 3:
                raise NewswatchError("usage: newswatch story split STORY_ID ARTICLE_ID...")
            story_id = lookup.story_id(rt, args[1])
            article_ids = [lookup.article_id(rt, ref) for ref in args[2:]]
            result, told = split_story(rt, story_id, article_ids)
            if as_json:
                out.print_json(stdout, {"story_id": story_id, "new_story_id": result.id,
                                        "article_ids": article_ids, "watches_told": told})
                return
            stdout.print(f"Split {len(article_ids)} article(s) into new story {result.id}")
            if told:
                stdout.print(f"{told} watch(es) alerted about it as a new story (sent "
                             "with the next `newswatch run` or `newswatch send`)")
            return
        if len(args) != 1:
            raise NewswatchError("usage: newswatch story ID [--why] [--json]")
        row = store.get(store.resolve(lookup.story_id(rt, args[0])))
        if row is None:
            raise NewswatchError(f"no story {args[0]!r} (see `newswatch stories`)")
        articles = store.articles_of(row.id)
        details = {a.id: store.story_fields(a.id) for a in articles}
        data = out.story_dict(row, articles, details)
    if as_json:
        out.print_json(stdout, data)
    else:
        out.print_story(stdout, data, why)


def utc(value: datetime | None, end_of_day: bool = False) -> datetime | None:
    """A date from the command line as UTC (a date alone in ``--until``: the whole day)."""
    if value is None:
        return None
    if end_of_day and (value.hour, value.minute, value.second) == (0, 0, 0):
        value = value.replace(hour=23, minute=59, second=59)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
