"""Real Airflow 3 for the DAG tests (see ``tests/airflowcli.py``). Skipped when Airflow is
not installed; failed instead when ``NEWSWATCH_REQUIRE_AIRFLOW=1`` (CI)."""

from __future__ import annotations

import os
from pathlib import Path

import airflowcli
import pytest


@pytest.fixture(scope="session", autouse=True)
def airflow_installed() -> None:
    reason = airflowcli.missing()
    if not reason:
        return
    if os.environ.get("NEWSWATCH_REQUIRE_AIRFLOW") == "1":
        pytest.fail(f"Airflow is required (NEWSWATCH_REQUIRE_AIRFLOW=1) but: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An AIRFLOW_HOME whose metadata database (SQLite) is migrated."""
    home = tmp_path_factory.mktemp("airflow")
    airflowcli.run_airflow(airflowcli.airflow_env(home), "db", "migrate")
    return home
