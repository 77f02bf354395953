"""news_ingest: poll the feeds that are due, then enrich, cluster and index what came in.

Runs every 10 minutes by default (setting ``ingest_schedule``, env
``NEWSWATCH_INGEST_SCHEDULE``). Due feeds are listed at the run's data-interval end and
polled by mapped tasks, a chunk of feeds each (run param ``feeds_per_task``). When new
articles were indexed, the asset ``newswatch://articles`` is updated, which triggers
news_alerts. Every task calls one function of ``newswatch.tasks``: docs/airflow.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, Param, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from core.settings import load_settings

ARTICLES = Asset("newswatch://articles")


@dag(
    schedule=load_settings().ingest_schedule,
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    params={"feeds_per_task": Param(20, type="integer", minimum=1)},
    tags=["newswatch"],
    doc_md=__doc__,
)
def news_ingest() -> None:
    @task
    def due_feeds(**context: Any) -> list[list[int]]:
        from newswatch import tasks

        size = int(context["params"]["feeds_per_task"])
        return tasks.due_feed_chunks(tasks.run_time(context), size=size)

    @task(max_active_tis_per_dagrun=4)
    def collect(feed_ids: list[int], **context: Any) -> dict[str, int]:
        from newswatch import tasks

        return tasks.collect_feeds(feed_ids, tasks.run_time(context))

    @task(trigger_rule="none_failed")  # also when no feed was due: earlier work may wait
    def enrich(**context: Any) -> int:
        from newswatch import tasks

        return tasks.enrich(tasks.run_time(context))

    @task
    def cluster(**context: Any) -> int:
        from newswatch import tasks

        return tasks.cluster(tasks.run_time(context))

    @task
    def index(**context: Any) -> dict[str, int]:
        from newswatch import tasks

        return tasks.index(tasks.run_time(context))

    @task(outlets=[ARTICLES])
    def announce(counts: dict[str, int], **context: Any) -> int:
        if not counts["indexed"]:
            raise AirflowSkipException("no new articles: the asset stays as it was")
        context["outlet_events"][ARTICLES].extra = counts
        return counts["indexed"]

    collected = collect.expand(feed_ids=due_feeds())
    enriched = enrich()
    collected >> enriched
    counts: Any = index()  # an XComArg that stands for the task's return value
    enriched >> cluster() >> counts
    announce(counts)


news_ingest()
