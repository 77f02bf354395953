"""Elasticsearch stopped in the middle of a run (a real stop of a real server of this module's
own), then restarted on the same port and data: the run ends with one clear error line, and
the next run indexes what was left and evaluates the watches; nothing lost, nothing twice."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import esserver
import httpx
import pytest
from faults.invariants import check_consistent
from faults.publishing import served_urls
from faults.runs import Run, fault_env, run_cli, settings_of
from fixtures.smtp import SmtpServer
from sqlalchemy import select

from alerts.watches import add_watch
from core import schema as t
from core.db import Store
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed
from newswatch.resources import open_runtime

pytest.importorskip("spacy", reason="the fault tests run the whole pipeline (nlp extra)")

LONG = os.environ.get("NEWSWATCH_LONG_TESTS") == "1"
BATCH = 10  # articles per index batch: the demo's 25 make three, the stop comes before the 2nd


def _unavailable(reason: str) -> None:
    if os.environ.get("NEWSWATCH_REQUIRE_ES") == "1":
        pytest.fail(f"Elasticsearch is required (NEWSWATCH_REQUIRE_ES=1) but: {reason}")
    pytest.skip(f"Elasticsearch tests skipped: {reason}")


@pytest.fixture(scope="module")
def es() -> Iterator[esserver.EsServer]:
    """A server of this module's own (stopping it disturbs no other test)."""
    try:
        import elasticsearch  # noqa: F401
    except ImportError:
        _unavailable("the Python client is not installed (pip install -e '.[es]')")
    try:
        server = esserver.start()
    except esserver.Unavailable as exc:
        _unavailable(str(exc))
    yield server
    server.stop()


def es_env(es: esserver.EsServer, home: Path, smtp: SmtpServer) -> dict[str, str]:
    return fault_env(home, smtp_port=smtp.port, index="elasticsearch", es_url=es.url,
                     es_index_prefix=f"nwfault-{uuid.uuid4().hex[:10]}")


def prepare(env: dict[str, str], demo: DemoSite) -> None:
    rt = open_runtime(settings_of(env))
    try:
        for url in demo.feed_urls():
            add_feed(rt, url)
        add_watch(rt, "everything", ["desk@example.org"], language="en", min_novelty=0.0)
    finally:
        rt.close()


def one_error_line(stderr: str) -> str:
    """The CLI's only output line on stderr, which must be a one-line error, no traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def test_elasticsearch_stopped_mid_batch_then_restarted_loses_nothing(
    es: esserver.EsServer, demo: DemoSite, smtp: SmtpServer, tmp_path: Path
) -> None:
    env = es_env(es, tmp_path / "home", smtp)
    settings = settings_of(env)
    prepare(env, demo)
    gate = tmp_path / "es-stopped"
    with Run(env, tmp_path / "runs", "run", "--once", child_args=(
            "--index-batch", str(BATCH), "--hold-upsert", "2", "--gate", str(gate))) as run:
        assert run.wait_for("hold"), run.finish().stderr
        es.halt()  # the real server, stopped between the first batch and the second
        gate.touch()
        failed = run.finish()
    assert failed.returncode == 1
    line = one_error_line(failed.stderr)
    assert f"cannot reach Elasticsearch at {es.url}" in line, line

    store = Store.open(settings.resolved_database_url, migrate_schema=False)
    try:
        with store.engine.connect() as conn:
            a = t.articles
            indexed = conn.execute(select(a.c.id).where(a.c.indexed_revision > 0)).scalars().all()
            assert len(indexed) == BATCH and store.count_articles() == len(demo.articles)
            assert conn.execute(select(t.watches.c.watermark)).scalar_one() == 0
            assert conn.execute(select(t.outbox)).first() is None
            assert conn.execute(select(t.runs.c.status)).scalars().all() == ["failed"]
    finally:
        store.close()

    again = run_cli(env, tmp_path / "runs", "run", "--once")  # still down: refused at once
    assert again.returncode == 1
    assert "cannot reach Elasticsearch" in one_error_line(again.stderr)

    es.restart()  # same port, same data: the first batch is still there
    count = httpx.get(f"{es.url}/{settings.es_index_prefix}-articles/_count", timeout=30)
    assert count.json()["count"] == BATCH

    final = run_cli(env, tmp_path / "runs", "run", "--once", "--json")
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout)["indexed"] == len(demo.articles) - BATCH
    tally = check_consistent(settings, served_urls(demo, demo.articles), smtp.messages)
    assert tally.articles == len(demo.articles) and tally.alerts > 0
    print(f"\nElasticsearch stopped before batch 2 of 3, restarted in {es.seconds_to_start:.1f} s;"
          f" then {tally.articles} articles indexed once, {tally.stories} stories, "
          f"{tally.alerts} alerts, {tally.emails} emails")


@pytest.mark.skipif(not LONG, reason="long variant: set NEWSWATCH_LONG_TESTS=1")
def test_elasticsearch_stopped_while_watches_are_evaluated_moves_no_watermark(
    es: esserver.EsServer, demo: DemoSite, smtp: SmtpServer, tmp_path: Path
) -> None:
    env = es_env(es, tmp_path / "home", smtp)
    settings = settings_of(env)
    prepare(env, demo)
    gate = tmp_path / "es-stopped"
    with Run(env, tmp_path / "runs", "run", "--once", "--json",
             child_args=("--hold-stage", "evaluate", "--gate", str(gate))) as run:
        assert run.wait_for("hold"), run.finish().stderr
        es.halt()
        gate.touch()
        done = run.finish()
    assert done.returncode == 0, done.stderr  # the run's articles are stored and indexed
    assert "watches not evaluated: cannot reach Elasticsearch" in done.stdout
    store = Store.open(settings.resolved_database_url, migrate_schema=False)
    try:
        with store.engine.connect() as conn:
            assert conn.execute(select(t.watches.c.watermark)).scalar_one() == 0
    finally:
        store.close()
    es.restart()
    final = run_cli(env, tmp_path / "runs", "run", "--once")
    assert final.returncode == 0, final.stderr
    tally = check_consistent(settings, served_urls(demo, demo.articles), smtp.messages)
    assert tally.alerts > 0
