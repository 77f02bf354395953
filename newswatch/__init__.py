"""The shell: the pipeline that wires the stages, the CLI, the Airflow tasks and the demo."""

from __future__ import annotations

from core import __version__ as __version__
