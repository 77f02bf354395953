"""``newswatch topics`` and ``newswatch entities``: what the ``--topic`` and ``--entity``
options can take, with how many stored articles carry each."""

from __future__ import annotations

from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Column, Table
from sqlalchemy import func, select

from core import schema as t
from core.errors import NewswatchError
from enrich.topics import load_taxonomy
from newswatch import console as out
from newswatch import lookup
from newswatch.console import escape
from newswatch.resources import opened as runtime
from search.entities import lookup as find_entities

stdout = Console(soft_wrap=True)


@click.command("topics")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def topics_command(as_json: bool) -> None:
    """List the topics --topic takes, what each covers, and its articles and stories.

    The taxonomy is NEWSWATCH_TAXONOMY_PATH, else the bundled one; tags stored on articles
    that it no longer defines are listed after it."""
    with runtime() as rt:
        taxonomy = load_taxonomy(rt.settings.taxonomy_path)
        a, at = t.articles, t.article_topics
        query = (select(at.c.tag, func.count(func.distinct(at.c.article_id)),
                        func.count(func.distinct(a.c.story_id)))
                 .join(a, a.c.id == at.c.article_id).group_by(at.c.tag))
        with rt.store.engine.connect() as conn:
            counts = {tag: (int(n), int(s)) for tag, n, s in conn.execute(query)}
    listed: list[dict[str, Any]] = [{"tag": topic.name, "label": topic.label,
               "description": " ".join(topic.description.split()),
               "articles": counts.get(topic.name, (0, 0))[0],
               "stories": counts.get(topic.name, (0, 0))[1], "in_taxonomy": True}
              for topic in taxonomy]
    defined = {topic.name for topic in taxonomy}
    listed += [{"tag": tag, "label": tag, "description": "", "articles": n, "stories": s,
                "in_taxonomy": False} for tag, (n, s) in sorted(counts.items()) if tag not in defined]
    if as_json:
        out.print_json(stdout, listed)
        return
    table = Table(Column("topic", no_wrap=True, style="bold"), Column("articles", justify="right"),
                  Column("stories", justify="right"), Column("what it covers", ratio=1),
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for item in listed:
        about = item["description"] or "(no longer in the taxonomy: stored tags only)"
        table.add_row(escape(item["tag"]), str(item["articles"]), str(item["stories"]),
                      f"[bold]{escape(item['label'])}[/]: {escape(about)}")
    stdout.print(table)
    stdout.print("[dim]Use a topic with --topic: newswatch search Q --topic TOPIC, "
                 "newswatch stories --topic TOPIC[/]")


@click.command("entities")
@click.argument("prefix", required=False)
@click.option("--type", "kind", help="Only this type (person, place, organisation, …).")
@click.option("--limit", type=click.IntRange(1, 1000), default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def entities_command(prefix: str | None, kind: str | None, limit: int, as_json: bool) -> None:
    """List known entities, those in the most articles first.

    With PREFIX: the entities whose name (or alias, capital, demonym) starts with it, the
    gazetteer's included (at most 20)."""
    with runtime() as rt:
        types = lookup.entity_types(rt)
        if kind and kind not in types:
            raise NewswatchError(f"no stored entity has the type {kind!r}; the types are "
                                 f"{', '.join(types) or '(none yet)'}")
        if prefix:
            found = [s.as_dict() for s in find_entities(rt.store.engine, prefix, limit=20)]
            listed = [{"id": e["id"], "name": e["name"], "type": e["type"],
                       "articles": e["articles"], "in_gazetteer": e["in_gazetteer"]}
                      for e in found if not kind or e["type"] == kind][:limit]
        else:
            listed = lookup.entity_counts(rt, kind, limit)
    if as_json:
        out.print_json(stdout, listed)
        return
    if not listed:
        stdout.print("No entities match." if prefix or kind else
                     "No entities yet: they come with the articles of `newswatch run`.")
        return
    table = Table(Column("entity", ratio=1), Column("type", no_wrap=True),
                  Column("articles", justify="right"), Column("id", no_wrap=True, style="dim"),
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for e in listed:
        table.add_row(escape(e["name"]), e["type"], str(e["articles"]), escape(e["id"]))
    stdout.print(table)
    stdout.print("[dim]Use one with --entity (name, alias or id): newswatch search Q "
                 "--entity NAME, newswatch stories --entity NAME[/]")
