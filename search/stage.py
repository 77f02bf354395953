"""The index stage: every article whose newest revision is enriched and in a story but not
in the index yet goes in, in batches, with the stories of each batch (written before the
batch counts as indexed, so a run killed here leaves no story behind)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from core.models import Article, IndexDoc
from core.runtime import Runtime
from stories.stage import story_doc
from stories.store import StoryStore


def index_docs(rt: Runtime, articles: Sequence[Article]) -> list[IndexDoc]:
    """The index documents of ``articles``: text, entities, topics and story."""
    enrichments = rt.store.enrichments([a.id for a in articles])
    return [
        replace(a.as_index_doc(enrichments.get(a.id)), story_id=a.story_id or "")
        for a in articles
    ]


def index_pending(rt: Runtime, batch: int = 500, with_stories: bool = False) -> int:
    """Index every article whose newest revision is not yet in the index; ``with_stories``
    also (re)indexes their stories before each batch counts as indexed, so a run retried
    after a failure leaves no story document behind."""
    total = 0
    while True:
        pending = rt.store.articles_to_index(limit=batch)
        if not pending:
            return total
        rt.index.upsert_many(index_docs(rt, pending))
        if with_stories:
            index_stories(rt, {a.story_id for a in pending if a.story_id})
        rt.store.mark_indexed(((a.id, a.revision) for a in pending), rt.clock())
        total += len(pending)


def index_stories(rt: Runtime, story_ids: Iterable[str] | None = None) -> int:
    """(Re)index the given stories, or every story; merged-away stories leave the index."""
    stories = StoryStore(rt.store)
    ids = list(story_ids) if story_ids is not None else [s.id for s in stories.recent(limit=10**9)]
    docs = {i: story_doc(rt, stories, i) for i in ids}
    gone = [i for i, d in docs.items() if d is None]
    if gone:
        rt.index.delete_stories(gone)
    return rt.index.upsert_stories(d for d in docs.values() if d is not None)
