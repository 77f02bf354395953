"""The ``newswatch`` command line. Thin: parses options, calls the pipeline, prints."""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console

from core import __version__
from core.errors import NewswatchError
from core.models import SearchRequest
from core.runtime import Runtime
from core.settings import LOOPBACK_NETWORKS, load_settings
from newswatch import console as out
from newswatch.console import escape
from newswatch.pipeline import add_feed, run_once, split_story
from newswatch.resources import opened as runtime
from search.entities import resolve_entity
from search.stage import index_stories

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


@cli.command()
def init() -> None:
    """Create the data directory, the state store and the search index."""
    settings = load_settings()
    with runtime(settings):
        pass
    stdout.print(f"Initialised newswatch in {settings.home.resolve()}")
    from core.engine import redact_url

    stdout.print(f"  state store:  {redact_url(settings.resolved_database_url)}")
    where = settings.resolved_index_path if settings.index == "embedded" else settings.es_url
    stdout.print(f"  search index: {settings.index} ({redact_url(str(where))})")


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
@click.option("--entity", help="Only articles about this entity (name, alias or id).")
@click.option("--topic", help="Only articles with this topic tag (e.g. arms-transfers).")
@click.option("--language", help="Only articles in this language (ISO code, e.g. en).")
@click.option("--limit", type=click.IntRange(1, 500), default=10, show_default=True)
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def search(
    query: str, since: datetime | None, until: datetime | None, source: str | None,
    entity: str | None, topic: str | None, language: str | None,
    limit: int, page: int, as_json: bool,
) -> None:
    """Search indexed articles (phrases, AND / OR / NOT, title:, wildcards*)."""
    request = SearchRequest(
        query=query, source=source, since=_utc(since), until=_utc(until, end_of_day=True),
        entities=resolve_entity(entity) if entity else (), topic=topic, language=language,
        limit=limit, offset=(page - 1) * limit,
    )
    with runtime() as rt:
        result = rt.index.search(request)
    if as_json:
        out.print_json(stdout, {"query": query, "total": result.total, "hits": [vars(h) for h in result.hits]})
    else:
        out.print_hits(stdout, query, result, request.offset)


@cli.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(ref: str, as_json: bool) -> None:
    """Show a stored article by id or URL: text, metadata and revisions."""
    from ingest.urls import canonicalize

    with runtime() as rt:
        article_id: str | None = ref
        if "://" in ref:
            try:
                article_id = rt.store.article_id_for_url(canonicalize(ref))
            except ValueError:
                article_id = None
        article = rt.store.get_article(article_id) if article_id else None
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


@cli.command()
@click.option("--topic", help="Only stories with an article tagged with this topic.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stories(topic: str | None, limit: int, as_json: bool) -> None:
    """List stories, newest development first."""
    from stories.store import StoryStore

    with runtime() as rt:
        store = StoryStore(rt.store)
        listed = [out.story_dict(s, store.articles_of(s.id)) for s in store.recent(topic, limit)]
    if as_json:
        out.print_json(stdout, listed)
    else:
        out.print_stories(stdout, listed)


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, required=True)
@click.option("--why", is_flag=True, help="Show why each article joined the story.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def story(args: tuple[str, ...], why: bool, as_json: bool) -> None:
    """Show a story (`story ID [--why]`), or correct the machine:
    `story merge A B` moves story B into A; `story split ID ARTICLE...` moves articles out."""
    from stories.stage import merge
    from stories.store import StoryStore

    with runtime() as rt:
        store = StoryStore(rt.store)
        if args[0] in ("merge", "split"):
            if args[0] == "merge":
                if len(args) != 3:
                    raise NewswatchError("usage: newswatch story merge TARGET_ID OTHER_ID")
                result = merge(rt, args[1], args[2])
                index_stories(rt, [args[1], args[2]])
                stdout.print(f"Merged {args[2]} into {result.id}: {result.article_count} articles")
            else:
                if len(args) < 3:
                    raise NewswatchError("usage: newswatch story split STORY_ID ARTICLE_ID...")
                result, told = split_story(rt, args[1], list(args[2:]))
                stdout.print(f"Split {len(args) - 2} article(s) into new story {result.id}")
                if told:
                    stdout.print(f"{told} watch(es) alerted about it as a new story (sent "
                                 "with the next `newswatch run` or `newswatch send`)")
            return
        if len(args) != 1:
            raise NewswatchError("usage: newswatch story ID [--why] [--json]")
        row = store.get(store.resolve(args[0]))
        if row is None:
            raise NewswatchError(f"no story {args[0]!r} (see `newswatch stories`)")
        articles = store.articles_of(row.id)
        details = {a.id: store.story_fields(a.id) for a in articles}
        data = out.story_dict(row, articles, details)
    if as_json:
        out.print_json(stdout, data)
    else:
        out.print_story(stdout, data, why)


@cli.command()
@click.option("--port", type=int, default=None, help="First loopback port of the demo outlets.")
@click.option("--query", default="North Korea artillery", show_default=True, help="Sample search.")
def demo(port: int | None, query: str) -> None:
    """Serve the bundled demo news site on loopback and run the pipeline over it."""
    from newswatch.demo.site import DemoSite

    overrides: dict[str, Any] = {} if port is None else {"demo_port": port}
    settings = load_settings(overrides=overrides).with_allowed(*LOOPBACK_NETWORKS)
    with DemoSite(base_port=settings.demo_port) as site, runtime(settings) as rt:
        feed_urls = site.feed_urls()
        stdout.print(f"Demo news site: {len(feed_urls)} outlets on {site_range(feed_urls)}")
        for url in feed_urls:
            add_feed(rt, url)
        _demo_watch(rt)
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
        stdout.print(f"\nData is in {settings.home.resolve()}; try `newswatch show ID`.")


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


def _register_commands() -> None:
    """Commands that live in newswatch/commands/ (each small enough to own a module)."""
    from newswatch.commands.feeds import feeds
    from newswatch.commands.index import index_group
    from newswatch.commands.kibana import kibana
    from newswatch.commands.reindex import reindex_command
    from newswatch.commands.serve import serve
    from newswatch.commands.watch import alerts_command, send_command, watch_group

    for command in (feeds, index_group, kibana, reindex_command, serve, watch_group, alerts_command,
                    send_command):
        cli.add_command(command)


_register_commands()


def site_range(urls: list[str]) -> str:
    return f"{urls[0].rsplit('/', 1)[0]} …" if urls else "(none)"


def _utc(value: datetime | None, end_of_day: bool = False) -> datetime | None:
    if value is None:
        return None
    if end_of_day and (value.hour, value.minute, value.second) == (0, 0, 0):
        value = value.replace(hour=23, minute=59, second=59)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
