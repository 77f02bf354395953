"""news_maintenance: daily housekeeping.

Feed health (the report of ``newswatch feeds health``, unhealthy and stale feeds logged as
warnings), dormant stories counted (they close by themselves), superseded article
revisions older than ``revision_retention_days`` pruned (newswatch keeps no raw HTML), then
index housekeeping. Every task calls one function of ``newswatch.tasks``: docs/airflow.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import dag, task


@dag(
    schedule="30 3 * * *",
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["newswatch"],
    doc_md=__doc__,
)
def news_maintenance() -> None:
    @task
    def feed_health(**context: Any) -> dict[str, int]:
        from newswatch import tasks

        return tasks.feed_health(tasks.run_time(context))

    @task
    def dormant_stories(**context: Any) -> dict[str, int]:
        from newswatch import tasks

        return tasks.dormant_stories(tasks.run_time(context))

    @task
    def prune_revisions(**context: Any) -> int:
        from newswatch import tasks

        return tasks.prune_revisions(tasks.run_time(context))

    @task
    def optimize_index(**context: Any) -> int:
        from newswatch import tasks

        return tasks.optimize_index(tasks.run_time(context))

    feed_health()
    dormant_stories()
    prune_revisions() >> optimize_index()


news_maintenance()
