"""Picks the search backend the settings name (the heavy clients are imported only here)."""

from __future__ import annotations

from core.errors import ConfigError
from core.settings import Settings
from search.backend import IndexBackend


def open_index(settings: Settings) -> IndexBackend:
    """The backend ``settings.index`` names, with its schema ensured."""
    if settings.index == "embedded":
        from search.embedded import EmbeddedIndex

        return EmbeddedIndex(settings.resolved_index_path)
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
