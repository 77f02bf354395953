"""alerts stage: built in later issues."""

from __future__ import annotations
