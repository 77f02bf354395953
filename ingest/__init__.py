"""Ingest: feeds in, articles out. Pure pieces (feed parsing, extraction, URLs, dates,
schedules, robots, politeness), the one HTTP client (``fetch.py``), extraction workers, and
the stage the pipeline calls (``stage.py``: poll a feed, fetch and extract its pages)."""

from __future__ import annotations
