"""news_alerts: evaluate the watches, bundle due digests, send the outbox.

Runs whenever news_ingest updates the asset ``newswatch://articles`` (new articles in the
index) and at five past every hour, so hourly and daily digests go out and emails deferred
by a mail server that was down are retried even when no news arrives. One run at a time,
so two senders never share the outbox. Every task calls one function of
``newswatch.tasks``: docs/airflow.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

ARTICLES = Asset("newswatch://articles")


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("5 * * * *", timezone="UTC"), assets=ARTICLES
    ),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["newswatch"],
    doc_md=__doc__,
)
def news_alerts() -> None:
    @task
    def evaluate(**context: Any) -> int:
        from newswatch import tasks

        return tasks.evaluate_watches(tasks.run_time(context))

    @task
    def digests(**context: Any) -> int:
        from newswatch import tasks

        return tasks.make_digests(tasks.run_time(context))

    @task
    def send(**context: Any) -> dict[str, int]:
        from newswatch import tasks

        return tasks.send_outbox(tasks.run_time(context))

    evaluate() >> digests() >> send()


news_alerts()
