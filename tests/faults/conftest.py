"""Fixtures of the fault-injection suite (``docs/performance.md``, "Fault injection")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixtures.smtp import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback that keeps every message it accepts."""
    server = SmtpServer().start()
    yield server
    server.stop()
