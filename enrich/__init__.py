"""Enrich: language, entities linked to canonical ids, quotes and topic tags. Pure analysis
(``analyze.py`` over a batch) and the stage the pipeline calls (``stage.py``)."""

from __future__ import annotations
