"""What each Airflow task runs: plain values in, ids and counts out (docs/airflow.md).

A task may run in any worker process, so each function opens its own runtime and closes
it. The runtime's clock is the time the run stands for (``when``: the end of its data
interval, or when an asset-triggered run was due), never the wall clock, so a retried or
re-run task sees the same time. Every function is idempotent: the stages take only what is
still pending, and the store's writes are keyed.

Airflow itself is imported only by :func:`connection_settings`, and only when it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.runtime import Runtime
    from core.settings import Settings

log = logging.getLogger(__name__)

ARTICLES_ASSET = "newswatch://articles"  # the Airflow asset news_ingest updates
FEEDS_PER_TASK = 20  # feeds one mapped collect task polls (a host's feeds stay together)
ES_CONNECTION = "newswatch_es"
SMTP_CONNECTION = "newswatch_smtp"


def run_time(context: Mapping[str, Any]) -> datetime:
    """The time an Airflow run stands for: its data interval's end; an asset-triggered
    run has none, and stands for the time it was due (``run_after``)."""
    when = context.get("data_interval_end") or context.get("logical_date")
    if when is None:
        when = context["dag_run"].run_after
    utc = when.astimezone(UTC)  # a pendulum DateTime: made a plain one
    return datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second,
                    utc.microsecond, tzinfo=UTC)


def connection_settings() -> Settings:
    """newswatch settings (``NEWSWATCH_*``, config file), where the Airflow Connections
    ``newswatch_es`` and ``newswatch_smtp``, when they exist, give the servers."""
    from core.settings import load_settings

    try:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:  # called outside Airflow
        return load_settings()
    overrides: dict[str, Any] = {}
    try:
        es = Connection.get(ES_CONNECTION)
    except AirflowNotFoundException:
        pass
    else:
        scheme = next((s for s in (es.conn_type, es.schema) if s in ("http", "https")), "http")
        overrides.update(es_url=f"{scheme}://{es.host}:{es.port or 9200}",
                         es_username=es.login or "", es_password=es.password or "")
    try:
        smtp = Connection.get(SMTP_CONNECTION)
    except AirflowNotFoundException:
        pass
    else:
        extra = smtp.extra_dejson
        overrides.update(smtp_host=smtp.host or "", smtp_port=smtp.port or 0,
                         smtp_user=smtp.login or "", smtp_password=smtp.password or "")
        overrides.update({k: extra[k] for k in ("smtp_security", "mail_from") if k in extra})
    return load_settings(overrides=overrides)


@contextmanager
def runtime(when: datetime, settings: Settings | None = None, *,
            ingesting: bool = False) -> Iterator[Runtime]:
    """An open runtime whose clock stands still at ``when``; closed afterwards. Ingest tasks
    (``ingesting``) hold the run lock shared: together with each other, never with a CLI run."""
    from core.runlock import run_lock
    from newswatch.resources import open_runtime

    rt = open_runtime(settings or connection_settings())
    rt.clock = lambda: when
    try:
        if ingesting:
            with run_lock(rt.store.engine, shared=True):
                yield rt
        else:
            yield rt
    finally:
        rt.close()


def due_feed_chunks(when: datetime, settings: Settings | None = None,
                    size: int = FEEDS_PER_TASK) -> list[list[int]]:
    """The ids of the feeds due at ``when``, in chunks of about ``size``; all feeds of one
    host share a chunk, so per-host politeness holds across parallel tasks."""
    from ingest.politeness import host_key

    with runtime(when, settings) as rt:
        feeds = rt.store.due_feeds(when)
    hosts: dict[str, list[int]] = {}
    for feed in feeds:
        hosts.setdefault(host_key(feed.url), []).append(feed.id)
    chunks: list[list[int]] = []
    for ids in hosts.values():
        if chunks and len(chunks[-1]) + len(ids) <= size:
            chunks[-1].extend(ids)
        else:
            chunks.append(list(ids))
    return chunks


def collect_feeds(feed_ids: list[int], when: datetime,
                  settings: Settings | None = None) -> dict[str, int]:
    """Poll these feeds and store their new and changed articles (recorded as a run);
    feeds removed or paused meanwhile are left alone. Returns the counts."""
    from core.models import RunReport
    from newswatch.pipeline import collect

    with runtime(when, settings, ingesting=True) as rt:
        wanted = set(feed_ids)
        feeds = [f for f in rt.store.list_feeds(include_paused=False) if f.id in wanted]
        report = RunReport(run_id=rt.store.start_run(when))
        status = "failed"
        try:
            collect(rt, feeds, when, report)
            status = "ok"
        finally:
            rt.store.finish_run(report.run_id or 0, when, status, report.as_dict())
    return {"feeds": report.feeds_polled, "feeds_failed": report.feeds_failed,
            "new": report.new, "updated": report.updated, "failed": report.failed}


def enrich(when: datetime, settings: Settings | None = None) -> int:
    """Enrich every article revision not enriched yet; returns how many."""
    from core.models import RunReport
    from enrich.stage import enrich_pending

    with runtime(when, settings, ingesting=True) as rt:
        report = RunReport()
        done = enrich_pending(rt, report)
    for warning in report.warnings:
        log.warning("%s", warning)
    return done


def cluster(when: datetime, settings: Settings | None = None) -> int:
    """Put every enriched article that has no story yet into one; returns how many."""
    from stories.stage import cluster_pending

    with runtime(when, settings, ingesting=True) as rt:
        return cluster_pending(rt)[0]


def index(when: datetime, settings: Settings | None = None) -> dict[str, int]:
    """Index the articles (and their stories) waiting for the index; returns how many, and
    the newest ingest sequence number (what watches are evaluated up to)."""
    from search.stage import index_pending

    with runtime(when, settings, ingesting=True) as rt:
        indexed = index_pending(rt, with_stories=True)
        return {"indexed": indexed, "ingest_high": rt.store.ingest_high()}


def evaluate_watches(when: datetime, settings: Settings | None = None) -> int:
    """Evaluate every watch on what entered the index since its watermark; returns the
    alerts created (their emails wait in the outbox)."""
    from alerts.stage import evaluate_watches

    with runtime(when, settings) as rt:
        return evaluate_watches(rt)


def make_digests(when: datetime, settings: Settings | None = None) -> int:
    """Queue the digests of hourly and daily watches whose period ended by ``when``."""
    from alerts.stage import make_digests

    with runtime(when, settings) as rt:
        return make_digests(rt)


def send_outbox(when: datetime, settings: Settings | None = None) -> dict[str, int]:
    """Send the emails that are due; a mail server that is down defers them (they stay in
    the outbox for the next run). Returns sent, deferred and failed."""
    from alerts.delivery import send_outbox

    with runtime(when, settings) as rt:
        report = send_outbox(rt)
    for error in report.errors:
        log.warning("sending alerts: %s", error)
    return {"sent": report.sent, "deferred": report.deferred, "failed": report.failed}


def feed_health(when: datetime, settings: Settings | None = None) -> dict[str, int]:
    """Feeds per health state (ok, unhealthy, paused, new) and stale; the bad ones are logged."""
    from newswatch import maintenance

    with runtime(when, settings) as rt:
        return maintenance.feed_health(rt, when)


def dormant_stories(when: datetime, settings: Settings | None = None) -> dict[str, int]:
    """Stories active, and those that went dormant (closed) in the last day."""
    from newswatch import maintenance

    with runtime(when, settings) as rt:
        return maintenance.dormant_stories(rt, when)


def prune_revisions(when: datetime, settings: Settings | None = None) -> int:
    """Delete superseded revisions older than the retention; returns how many."""
    from newswatch import maintenance

    with runtime(when, settings) as rt:
        return maintenance.prune_revisions(rt, when)


def optimize_index(when: datetime, settings: Settings | None = None) -> int:
    """Index housekeeping (segment merges); returns the articles in the index."""
    with runtime(when, settings) as rt:
        rt.index.optimize()
        return rt.index.count()
