"""Picks the search backend the settings name (the heavy clients are imported only here)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from core.errors import ConfigError, NewswatchError
from core.settings import Settings
from search.backend import IndexBackend


class IndexDamagedError(NewswatchError):
    """The embedded index file cannot be read; ``newswatch reindex`` rebuilds it."""


def open_index(settings: Settings) -> IndexBackend:
    """The backend ``settings.index`` names, with its schema ensured."""
    if settings.index == "embedded":
        from search.embedded import EmbeddedIndex

        path = settings.resolved_index_path
        try:
            return EmbeddedIndex(path)
        except sqlite3.DatabaseError as exc:  # not a database, or a malformed one
            raise IndexDamagedError(
                f"the search index {path} is damaged ({exc}); run `newswatch reindex` to "
                "rebuild it from the state store (nothing collected is lost)"
            ) from None
    if settings.index == "elasticsearch":
        if not settings.es_url.strip():
            raise ConfigError(
                "the elasticsearch backend is not available yet: NEWSWATCH_ES_URL is empty "
                "(set it, e.g. to http://localhost:9200, or use NEWSWATCH_INDEX=embedded)"
            )
        try:
            from search.elastic import ElasticIndex
        except ImportError as exc:
            raise ConfigError(
                f"NEWSWATCH_INDEX=elasticsearch needs the Elasticsearch client ({exc}); "
                "install it with: pip install 'newswatch[es]'"
            ) from None
        return ElasticIndex(settings)
    raise ConfigError(f"NEWSWATCH_INDEX={settings.index!r} is not a known index backend")


def index_damage(settings: Settings) -> str:
    """What is wrong with the embedded index file (``""`` when it is sound or absent): a file
    that is not a database, or one whose pages fail SQLite's quick check."""
    path = settings.resolved_index_path
    if settings.index != "embedded" or not path.exists():
        return ""
    try:
        with closing(sqlite3.connect(str(path))) as conn:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check(50)")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    # SQLite 3.40 reports NOT NULL "violations" in the key columns of WITHOUT ROWID tables
    # that hold none (fixed in later releases); such lines are not damage of the file
    problems = [str(r) for r in rows if r != "ok" and not str(r).startswith("NULL value in ")]
    return "; ".join(problems)


def set_damaged_index_aside(settings: Settings) -> Path:
    """Move the damaged embedded index (and its WAL files) aside; returns the new name. A
    new, empty index is created at the old path when the runtime next opens it."""
    path = settings.resolved_index_path
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    path.rename(aside)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.rename(aside.with_name(aside.name + suffix))
    return aside
