"""The HTTP API (FastAPI): one module per resource, the app assembled in ``app.py``. Part of
the shell: it calls the same stage functions as the CLI."""

from __future__ import annotations
