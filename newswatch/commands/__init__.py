"""CLI commands that live outside cli.py, registered there."""

from __future__ import annotations
