"""``newswatch reindex``: rebuild the search index from the state store."""

from __future__ import annotations

import click
from rich.console import Console

from core.settings import load_settings
from newswatch import console as out
from newswatch.console import escape
from newswatch.resources import open_runtime
from search.factory import index_damage, set_damaged_index_aside
from search.reindex import reindex

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True)


@click.command("reindex")
@click.option("--stories/--no-stories", default=True, show_default=True,
              help="Also rebuild the story documents.")
@click.option("--batch", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="Articles written per request to the index.")
def reindex_command(stories: bool, batch: int) -> None:
    """Rebuild the search index from the state store (after switching NEWSWATCH_INDEX or
    changing the index mapping, or when the embedded index file is damaged: it is set aside
    and rebuilt). Safe to repeat, and after a killed reindex: documents are replaced by id."""
    settings = load_settings()
    damage = index_damage(settings)
    if damage:
        aside = set_damaged_index_aside(settings)
        detail = " ".join(damage.split())[:200]
        stderr.print(f"The search index was damaged ({escape(detail)}); it was moved to "
                     f"{escape(str(aside))} and is rebuilt from the state store.",
                     highlight=False, soft_wrap=True)
    rt = open_runtime(settings)
    try:
        with out.RichProgress(stderr) as progress:
            articles, written = reindex(rt, progress, batch=batch, stories=stories)
    finally:
        rt.close()
    where = (str(settings.resolved_index_path) if settings.index == "embedded"
             else f"{settings.es_index_prefix}-articles, {settings.es_index_prefix}-stories")
    told = f" and {written} story(ies)" if stories else ""
    stdout.print(f"Reindexed {articles} article(s){told} into the {settings.index} index "
                 f"({escape(where)}).")
