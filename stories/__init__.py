"""Stories: near-duplicates (``duplicates.py``), clustering similarity (``similarity.py``),
novelty (``novelty.py``), the story stage (``stage.py``) and the story store (``store.py``)."""

from __future__ import annotations
