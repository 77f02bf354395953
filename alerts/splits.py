"""A story split off another by a person, as the alert stage sees it.

``stories.stage.split`` (``newswatch story split``) moves articles of a story into a new
one and records each moved article with the story it left (``story_splits``). Right after,
the shell calls ``alerts.stage.tell_split``: a watch that was alerted about the story they
left, and matches the part split off, hears of that part as a new story, once (the part is
known to it from then on). This module finds the part's origin and, for each watch that
should be told, the part's articles it matches.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from sqlalchemy import select

from alerts.store import ArticleRow, WatchStore
from core import schema as t
from core.models import Watch
from core.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitPart:
    story_id: str  # the story that holds the split-off articles now (through merges)
    origins: frozenset[str]  # the stories they were split from (through merges)
    article_ids: tuple[str, ...]


@dataclass
class SplitMatches:
    """What a split-off part means for the watches: ``matched`` — for each watch that
    should hear of it as a new story, the part's articles it matches (their ``story_id``
    the part's); ``known`` — (watch, part, last ingest number) for a watch that already had
    a "new story" alert showing one of its articles (it was a story of its own before a
    wrong merge, say): it follows the part without a second one."""

    matched: dict[str, list[ArticleRow]] = field(default_factory=dict)
    known: list[tuple[str, str, int]] = field(default_factory=list)


def split_part(store: WatchStore, story_id: str) -> SplitPart | None:
    """The indexed articles of ``story_id`` (through merges) that were split off another
    story still apart from it, with the stories they left; None when there are none."""
    now = store.merged_into([story_id]).get(story_id, story_id)
    ss, a = t.story_splits, t.articles
    query = (select(ss.c.story_id, ss.c.article_id)
             .select_from(ss.join(a, a.c.id == ss.c.article_id))
             .where(a.c.story_id == now, a.c.ingest_seq.is_not(None)))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    merged = store.merged_into({r.story_id for r in rows})
    kept = [(merged.get(r.story_id, r.story_id), r.article_id) for r in rows]
    kept = [(origin, article) for origin, article in kept if origin != now]
    if not kept:
        return None
    return SplitPart(now, frozenset(o for o, _ in kept), tuple(dict.fromkeys(a for _, a in kept)))


def split_matches(rt: Runtime, store: WatchStore, part: SplitPart,
                  watches: list[Watch]) -> SplitMatches:
    """Of the search ``watches`` (not paused), those that should hear of ``part``: alerted
    about a story it was split from, not yet about the part, muted neither; with the
    part's articles each matches among those it has evaluated (later ones are the
    ordinary evaluation's)."""
    found = SplitMatches()
    following = store.following(part.origins | {part.story_id})
    muted = store.muted([w.id for w in watches if w.id in following])
    muted_now = store.merged_into({s for stories in muted.values() for s in stories})
    asked = []
    for w in watches:
        knows = following.get(w.id, {})
        silent = {muted_now.get(s, s) for s in muted.get(w.id, ())}
        if (part.story_id not in knows and part.story_id not in silent
                and any(o in knows and o not in silent for o in part.origins)):
            asked.append(w)
    if not asked:
        return found
    ids = list(part.article_ids)
    rows = {r.id: r for r in store.articles_with_ids(ids)}
    told = store.new_story_articles(ids)
    outcomes = rt.index.match([w.request() for w in asked], ids)
    for w, outcome in zip(asked, outcomes, strict=True):
        if outcome.error:
            log.warning("watch %r: %s", w.name, outcome.error)
        seqs = [r.seq for a, r in rows.items() if (w.id, a) in told]
        if seqs:  # it had the part's news as a new story already: it follows the part
            found.known.append((w.id, part.story_id, max(seqs)))
            continue
        hits = sorted((replace(rows[a], story_id=part.story_id) for a in outcome.ids
                       if a in rows and rows[a].seq <= w.watermark), key=lambda r: r.seq)
        if hits:
            found.matched[w.id] = hits
    return found
