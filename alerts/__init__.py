"""Alerts: email rendering (render.py, templates/), mailers (mailer.py), unsubscribe tokens.

Watches, matching and the outbox come with issue 7.
"""

from __future__ import annotations
