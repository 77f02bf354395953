"""The DAG files: they import cleanly into a real DagBag, cheaply (no newswatch pipeline,
spaCy or trafilatura, no network or database), and are wired as docs/airflow.md says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from airflowcli import DAGS, airflow_env

HEAVY = ("newswatch.pipeline", "newswatch.resources", "core.db", "newswatch.tasks",
         "spacy", "trafilatura", "elasticsearch", "enrich.nlp", "search.embedded")

# Runs in a fresh interpreter: Airflow's own imports first, then an audit hook that records
# network, database and process activity while every DAG file is executed.
IMPORT_DAG_FILES = """
import json, runpy, sys
from pathlib import Path
import airflow.sdk
import croniter  # Airflow's cron parser runs `file` on the interpreter when first imported

events = []
WATCHED = ("socket.connect", "socket.getaddrinfo", "sqlite3.connect", "subprocess.Popen")
sys.addaudithook(lambda event, args: events.append(event) if event in WATCHED else None)
before = set(sys.modules)
for path in sorted(Path(sys.argv[1]).glob("*.py")):
    runpy.run_path(str(path))
heavy = json.loads(sys.argv[2])
print(json.dumps({"events": events, "heavy": [m for m in heavy if m in sys.modules],
                  "new_modules": sorted(set(sys.modules) - before)}))
"""

DAGBAG = """
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
alerts = bag.dags["news_alerts"].timetable
print(json.dumps({
    "errors": {str(k): str(v) for k, v in bag.import_errors.items()},
    "dags": {dag_id: sorted(t.task_id for t in dag.tasks) for dag_id, dag in bag.dags.items()},
    "ingest_schedule": bag.dags["news_ingest"].timetable.expression,
    "maintenance_schedule": bag.dags["news_maintenance"].timetable.expression,
    "alerts_cron": alerts.timetable.expression,
    "alerts_assets": [a.uri for a in alerts.asset_condition.iter_assets().values()]
    if hasattr(alerts.asset_condition, "iter_assets") else [alerts.asset_condition.uri],
    "outlets": {t.task_id: [o.uri for o in t.outlets] for t in bag.dags["news_ingest"].tasks},
    "mapped": [t.task_id for t in bag.dags["news_ingest"].tasks if getattr(t, "is_mapped", False)
               or type(t).__name__ == "MappedOperator"],
}))
"""


def _python(script: str, env: dict[str, str], *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_dag_files_do_no_io_and_import_nothing_heavy(tmp_path: Path) -> None:
    home = tmp_path / "newswatch"
    env = airflow_env(tmp_path / "airflow", home=str(home))
    found = _python(IMPORT_DAG_FILES, env, str(DAGS), json.dumps(HEAVY))
    assert found["events"] == []
    assert found["heavy"] == []
    assert not home.exists()  # nothing opened or created in the data directory
    assert "core.settings" in found["new_modules"]  # the files really were executed


def test_dagbag_has_three_dags_wired_together(tmp_path: Path) -> None:
    env = airflow_env(tmp_path / "airflow", home=str(tmp_path / "newswatch"))
    bag = _python(DAGBAG, env, str(DAGS))
    assert bag["errors"] == {}
    assert bag["dags"] == {
        "news_ingest": ["announce", "cluster", "collect", "due_feeds", "enrich", "index"],
        "news_alerts": ["digests", "evaluate", "send"],
        "news_maintenance": ["dormant_stories", "feed_health", "optimize_index",
                             "prune_revisions"],
    }
    assert bag["ingest_schedule"] == "*/10 * * * *"
    assert bag["maintenance_schedule"] == "30 3 * * *"
    assert bag["alerts_cron"] == "5 * * * *"
    assert bag["mapped"] == ["collect"]
    # what news_ingest announces is what news_alerts waits for
    assert bag["outlets"]["announce"] == bag["alerts_assets"] == ["newswatch://articles/"]
    assert all(not uris for task, uris in bag["outlets"].items() if task != "announce")


def test_ingest_schedule_is_a_setting(tmp_path: Path) -> None:
    env = airflow_env(tmp_path / "airflow", home=str(tmp_path / "newswatch"),
                      ingest_schedule="*/3 * * * *")
    assert _python(DAGBAG, env, str(DAGS))["ingest_schedule"] == "*/3 * * * *"


def test_connections_give_the_servers(tmp_path: Path) -> None:
    env = airflow_env(tmp_path / "airflow", home=str(tmp_path / "newswatch"),
                      es_url="http://ignored:9200", smtp_host="ignored.example")
    env["AIRFLOW_CONN_NEWSWATCH_ES"] = "https://elastic:s3cret-pw@es.example:9243"
    env["AIRFLOW_CONN_NEWSWATCH_SMTP"] = (
        "smtp://mailer:mail-pw@smtp.example:465?smtp_security=ssl&mail_from=news%40example.org"
    )
    script = """
import json
from newswatch.tasks import connection_settings
s = connection_settings()
print(json.dumps([s.es_url, s.es_username, s.es_password, s.smtp_host, s.smtp_port,
                  s.smtp_user, s.smtp_password, s.smtp_security, s.mail_from]))
"""
    assert _python(script, env) == [
        "https://es.example:9243", "elastic", "s3cret-pw", "smtp.example", 465,
        "mailer", "mail-pw", "ssl", "news@example.org",
    ]
    del env["AIRFLOW_CONN_NEWSWATCH_ES"], env["AIRFLOW_CONN_NEWSWATCH_SMTP"]
    assert _python(script, env)[0::3] == ["http://ignored:9200", "ignored.example", ""]
