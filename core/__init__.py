"""The ground every stage stands on: settings, models, errors, schema, the state store and the
runtime type. Nothing here imports a stage (ingest, enrich, stories, search, alerts) or the
shell (newswatch, api, dags)."""

from __future__ import annotations

__version__ = "0.1.0"
