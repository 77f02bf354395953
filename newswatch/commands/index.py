"""``newswatch index``: the search index's own maintenance (mapping migrations)."""

from __future__ import annotations

import click

from core.errors import NewswatchError
from core.settings import load_settings


@click.group("index")
def index_group() -> None:
    """The search index (Elasticsearch mapping migrations; docs/elasticsearch.md)."""


@index_group.command("migrate")
@click.option("--to", "target", type=int, required=True,
              help="Mapping version N (search/templates/KIND-vN.json).")
@click.option("--kind", type=click.Choice(["all", "articles", "stories"]), default="all",
              show_default=True)
@click.option("--delete-old", is_flag=True, help="Delete the previous index after the alias flip.")
def index_migrate(target: int, kind: str, delete_old: bool) -> None:
    """Copy into PREFIX-KIND-vN and flip the alias atomically (pause `run` meanwhile)."""
    settings = load_settings()
    if settings.index != "elasticsearch":
        raise NewswatchError(
            "index migrate is for NEWSWATCH_INDEX=elasticsearch (the embedded index is rebuilt "
            "with `newswatch reindex`)"
        )
    from search.elastic import ElasticIndex

    kinds = ("articles", "stories") if kind == "all" else (kind,)
    with ElasticIndex(settings) as es:
        for step in es.migrate(target, kinds, delete_old=delete_old):
            method = f" ({step.method})" if step.method else ""
            click.echo(f"{step.alias}: {step.old_index} -> {step.new_index}, "
                       f"{step.documents} documents, {step.status}{method}")
