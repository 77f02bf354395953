"""Rebuild the search index from the state store (after a backend switch or a mapping change).

The state store is the source of truth; the index holds nothing that cannot be rebuilt from
it. Every stored article is written again, built exactly as ``pipeline.index_pending`` builds
it, then every story as ``pipeline.index_stories`` builds it. Documents are upserted by id,
so reindexing into the live index is safe too, and running it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import TypeVar

from sqlalchemy import select

from core import schema as t
from core.models import Article
from core.runtime import NoProgress, Progress, Runtime
from search.stage import index_docs, index_stories

T = TypeVar("T")


def reindex(
    rt: Runtime, progress: Progress | None = None, batch: int = 500, stories: bool = True
) -> tuple[int, int]:
    """Write every stored article (and, with ``stories``, every story) into ``rt.index``.

    Returns (articles written, stories written). An article whose newest revision is not
    enriched and clustered yet is written as it stands but stays queued, so the next run's
    ``index_pending`` completes it once its entities, topics and story are known.
    """
    progress = progress or NoProgress()
    batch = max(1, batch)
    progress.start("indexing articles", rt.store.count_articles())
    articles = 0
    for chunk in _chunks(rt.store.iter_articles(batch), batch):
        written = rt.index.upsert_many(index_docs(rt, chunk))
        done = [(a.id, a.revision) for a in chunk if _complete(a)]
        if done:
            rt.store.mark_indexed(done, rt.clock())
        articles += written
        progress.advance(len(chunk))
    if not stories:
        return articles, 0
    story_ids = _all_story_ids(rt)
    progress.start("indexing stories", len(story_ids))
    written_stories = 0
    for ids in _chunks(iter(story_ids), batch):
        # merged-away and emptied stories come back as deletions, so a reused index is clean
        written_stories += index_stories(rt, ids)
        progress.advance(len(ids))
    return articles, written_stories


def _complete(article: Article) -> bool:
    """Whether the newest revision went through enrichment and clustering (indexable by the
    pipeline's own rule, ``Store.articles_to_index``)."""
    return (article.enriched_revision >= article.revision
            and article.clustered_revision >= article.revision)


def _all_story_ids(rt: Runtime) -> list[str]:
    """Every story row, merged-away ones included (``index_stories`` deletes those)."""
    query = select(t.stories.c.id).order_by(t.stories.c.id)
    with rt.store.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def _chunks(items: Iterator[T], size: int) -> Iterator[Sequence[T]]:
    while chunk := list(islice(items, size)):
        yield chunk
