"""Alerts: watches and their matching (``stage.py``), story-level decisions (``decide.py``),
the outbox and watch state (``store.py``), digests, rendering (``render.py``, ``templates/``),
Atom feeds, signed links and the mailers."""

from __future__ import annotations
