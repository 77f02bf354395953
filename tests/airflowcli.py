"""The real ``airflow`` command of this venv, run as a subprocess for the DAG tests."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

AIRFLOW = Path(sys.executable).with_name("airflow")
DAGS = Path(__file__).resolve().parents[1] / "dags"


def missing() -> str:
    """Why Airflow 3 cannot be used here ("" when it can)."""
    spec = importlib.util.find_spec("airflow")  # finds it without importing it
    origin = Path(spec.origin) if spec is not None and spec.origin else None
    if AIRFLOW.is_file() and origin is not None and (origin.parent / "sdk").is_dir():
        return ""
    return f"Airflow 3 is not installed in {sys.prefix} (pip install -e '.[airflow]')"


def airflow_env(airflow_home: Path, **newswatch: str) -> dict[str, str]:
    """The environment of an Airflow command: this machine's, less any AIRFLOW_* and
    NEWSWATCH_* of the caller, plus the home, our DAGs folder and ``NEWSWATCH_<KEY>``s."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWSWATCH_"))}
    env.update(
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        **{f"NEWSWATCH_{k.upper()}": v for k, v in newswatch.items()},
    )
    return env


def run_airflow(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``airflow ARGS``; its output, or a test failure with the output's end."""
    done = subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"airflow {' '.join(args)} failed:\n{output[-6000:]}"
    return output
