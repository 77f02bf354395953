"""The ``newswatch`` command line. Thin: parses options, calls the pipeline, prints."""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime

import click
from rich.console import Console

from core import __version__
from core.errors import NewswatchError
from core.models import SEARCH_SORTS as SORTS
from core.models import SearchRequest
from core.settings import legacy_home_notice, load_settings
from newswatch import console as out
from newswatch import lookup
from newswatch.commands.stories import utc
from newswatch.console import escape
from newswatch.pipeline import run_once
from newswatch.resources import opened as runtime

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True)


@click.group()
@click.version_option(__version__, prog_name="newswatch")
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Watch news feeds, extract clean articles, index them and search them."""
    ctx.obj = {"debug": debug}
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)
    if not debug:  # its retry warnings carry tracebacks; the failure itself is one error line
        logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    try:
        notice = legacy_home_notice(load_settings())
    except NewswatchError:  # a bad setting: the command itself reports it
        notice = ""
    if notice:
        stderr.print(f"[yellow]{escape(notice)}[/]", highlight=False, soft_wrap=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def init(as_json: bool) -> None:
    """Create the data directory, the state store and the search index."""
    from core.engine import redact_url

    settings = load_settings()
    with runtime(settings):
        pass
    where = settings.resolved_index_path if settings.index == "embedded" else settings.es_url
    data = {"home": str(settings.home.resolve()),
            "state_store": redact_url(settings.resolved_database_url),
            "index": settings.index, "index_location": redact_url(str(where))}
    if as_json:
        out.print_json(stdout, data)
        return
    stdout.print(f"Initialised newswatch in {data['home']}")
    stdout.print(f"  state store:  {data['state_store']}")
    stdout.print(f"  search index: {settings.index} ({data['index_location']})")


@cli.command()
@click.option("--once", "mode", flag_value="once", default=True, help="One pass (default).")
@click.option("--loop", "mode", flag_value="loop", help="Keep polling until interrupted.")
@click.option("--interval", type=int, default=None, help="Seconds between passes with --loop.")
@click.option("--all", "force", is_flag=True, help="Poll every active feed, due or not.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
def run(mode: str, interval: int | None, force: bool, as_json: bool) -> None:
    """Poll the feeds that are due, fetch and extract new articles, and index them."""
    settings = load_settings()
    pause = interval or settings.poll_interval_seconds
    with runtime(settings) as rt:
        while True:
            try:
                with out.RichProgress(stderr) as progress:
                    report = run_once(rt, progress, force=force)
            except NewswatchError as exc:
                if mode == "once":
                    raise
                # one bad pass (database or index briefly down) must not end the loop
                stderr.print(f"[red]error:[/] {escape(' '.join(str(exc).split()))}")
            else:
                if as_json:
                    out.print_json(stdout, report.as_dict())
                else:
                    out.print_report(stdout, report)
            if mode == "once":
                return
            stdout.print(f"Next pass in {pause}s (Ctrl-C to stop).")
            time.sleep(pause)


@cli.command()
@click.argument("query", default="")
@click.option("--since", type=click.DateTime(), help="Published on or after (YYYY-MM-DD).")
@click.option("--until", type=click.DateTime(), help="Published on or before (YYYY-MM-DD).")
@click.option("--source", help="Only this source (outlet name).")
@click.option("--entity", help="Only articles about this entity (name, alias or id; "
                               "see `newswatch entities`).")
@click.option("--topic", help="Only articles with this topic tag (e.g. arms-transfers; "
                              "see `newswatch topics`).")
@click.option("--language", help="Only articles in this language (ISO code, e.g. en).")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True,
              help="Best matches first, or newest first (a query without words: newest).")
@click.option("--limit", type=click.IntRange(1, 500), default=10, show_default=True)
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def search(
    query: str, since: datetime | None, until: datetime | None, source: str | None,
    entity: str | None, topic: str | None, language: str | None, sort: str,
    limit: int, page: int, as_json: bool,
) -> None:
    """Search indexed articles (phrases, AND / OR / NOT, title:, wildcards*). Matched words
    are bold on a terminal; --json gives the snippet with and without its ** markers."""
    with runtime() as rt:
        request = SearchRequest(
            query=query, source=source, since=utc(since), until=utc(until, end_of_day=True),
            entities=lookup.entity_ids(rt, entity) if entity else (),
            topic=lookup.check_topic(rt, topic) if topic else None, language=language,
            limit=limit, offset=(page - 1) * limit, sort=sort,
        )
        result = rt.index.search(request)
    if as_json:
        out.print_json(stdout, {"query": query, "total": result.total,
                                "hits": [out.hit_dict(h) for h in result.hits]})
    else:
        out.print_hits(stdout, query, result, request.offset)


@cli.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(ref: str, as_json: bool) -> None:
    """Show a stored article by id (or an unambiguous prefix of it) or URL: text, metadata,
    revisions, entities, topics with their evidence, quotes, story and novelty."""
    with runtime() as rt:
        article = rt.store.get_article(lookup.article_id(rt, ref))
        if article is None:
            raise NewswatchError(f"no article {ref!r} (give an id from `newswatch search` or a URL)")
        revisions = rt.store.revisions(article.id)
        enrichment = rt.store.enrichment(article.id)
        from stories.store import StoryStore

        story_fields = StoryStore(rt.store).story_fields(article.id)
    if as_json:
        data = out.article_dict(article, revisions, enrichment)
        data.update({
            "story_id": story_fields["story_id"],
            "duplicate_of": story_fields["duplicate_of"],
            "duplicate_similarity": story_fields["duplicate_similarity"],
            "novelty": {"score": story_fields["novelty"],
                        "additions": story_fields["detail"].get("additions", {})},
        })
        out.print_json(stdout, data)
    else:
        out.print_article(stdout, article, revisions, enrichment)
        if story_fields["story_id"]:
            stdout.print(f"\n[dim]story {story_fields['story_id']}: newswatch story "
                         f"{story_fields['story_id']} --why[/]")


def _register_commands() -> None:
    """Commands that live in newswatch/commands/ (each small enough to own a module)."""
    from newswatch.commands.catalog import entities_command, topics_command
    from newswatch.commands.demo import demo_command
    from newswatch.commands.feeds import feeds
    from newswatch.commands.index import index_group
    from newswatch.commands.kibana import kibana
    from newswatch.commands.reindex import reindex_command
    from newswatch.commands.serve import serve
    from newswatch.commands.stories import stories_command, story_command
    from newswatch.commands.watch import alerts_command, send_command, watch_group

    for command in (stories_command, story_command, topics_command, entities_command,
                    demo_command, feeds, index_group, kibana, reindex_command, serve,
                    watch_group, alerts_command, send_command):
        cli.add_command(command)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="newswatch", standalone_mode=False)
    except click.exceptions.Abort:
        stderr.print("interrupted")
        sys.exit(130)
    except click.ClickException as exc:  # bad arguments: one line, with where to look
        where = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else ""
        hint = f" (see: {where} --help)" if where else ""
        _fail(exc.format_message() + hint, exc.exit_code, debug=False)
    except NewswatchError as exc:
        _fail(str(exc), 1, debug)
    except KeyboardInterrupt:
        _fail("interrupted", 130, debug)
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            _fail(f"database error: {str(exc).splitlines()[0]}", 1, debug)
        _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", 2, debug)


def _fail(message: str, code: int, debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()
    one_line = " ".join(message.split())
    stderr.print(f"[red]error:[/] {escape(one_line)}", highlight=False, soft_wrap=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
