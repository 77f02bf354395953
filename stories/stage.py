"""The story stage: near-duplicates, online story assignment and novelty, one article at a
time in arrival order (so a story's first article is the one newswatch saw first)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from core import schema as t
from core.errors import NewswatchError
from core.models import Article, Enrichment, StoryDoc
from core.runtime import Runtime
from stories import crosslingual as xl
from stories import duplicates as dedup
from stories.decision import continues, decide, probabilities, shipped
from stories.evidence import Evidence, absorb_evidence, evidence, explain, features
from stories.novelty import assess, remember
from stories.similarity import Params, Profile, absorb, actor_keys, keys_for, term_counts, tfidf
from stories.store import StoryRow, StoryStore

BATCH = 200
DUPLICATE_TITLE = 0.2  # a near-duplicate whose title is this far from its original's is checked
REFUSAL_SHOWN = 0.02  # candidates at least this probable are shown as refusals that came close


@dataclass(frozen=True)
class Assignment:
    story_id: str
    new_story: bool
    duplicate_of: str | None
    novelty: float


def params_for(rt: Runtime) -> Params:
    s = rt.settings
    return Params(threshold=s.story_threshold, dormant_days=s.story_dormant_days,
                  reopen_days=s.story_reopen_days)


def cluster_pending(rt: Runtime) -> tuple[int, set[str]]:
    """Assign every enriched article not yet in a story; returns how many, and the ids of
    the stories that changed (to be indexed)."""
    stories = StoryStore(rt.store)
    params = params_for(rt)
    done = 0
    touched: set[str] = set()
    while True:
        batch = stories.articles_to_cluster(limit=BATCH)
        if not batch:
            return done, touched
        for article in batch:
            touched.add(assign(rt, stories, article, params).story_id)
        done += len(batch)


def story_doc(rt: Runtime, stories: StoryStore, story_id: str) -> StoryDoc | None:
    """The index document of a story (None when it was merged away or is empty)."""
    row = stories.get(story_id)
    if row is None or row.merged_into or row.article_count == 0:
        return None
    articles = stories.articles_of(story_id)
    profile = row.profile
    weights, names = profile.get("entities", {}), profile.get("entity_names", {})
    top = sorted(weights, key=lambda e: -weights[e])[:20]
    enrichments = rt.store.enrichments([a.id for a in articles]).values()
    topics = sorted({tag.tag for e in enrichments for tag in e.topics})
    return StoryDoc(
        id=row.id, title=row.title, first_seen=row.first_seen, last_updated=row.last_updated,
        article_ids=tuple(a.id for a in articles),
        outlets=tuple(dict.fromkeys(a.source for a in articles)),
        entities=tuple((e, names.get(e, e)) for e in top), topics=tuple(topics),
    )


def assign(rt: Runtime, stories: StoryStore, article: Article, params: Params) -> Assignment:
    """Put ``article`` into a story (an existing one or a new one) and record why."""
    enrichment = rt.store.enrichment(article.id)
    fingerprint = dedup.fingerprint(article.text)
    bands = dedup.band_keys(fingerprint.signature)
    if article.clustered_revision > 0:  # a new revision: stays in its story
        current = stories.story_fields(article.id)
        with rt.store.tx() as conn:
            stories.save_signature(conn, article.id, fingerprint.body_hash,
                                   dedup.to_bytes(fingerprint.signature), bands)
            conn.execute(t.articles.update().where(t.articles.c.id == article.id)
                         .values(clustered_revision=article.revision))
        return Assignment(current["story_id"] or "", False, current["duplicate_of"],
                          current["novelty"] or 0.0)
    earlier = [
        (aid, dedup.Fingerprint(h, dedup.from_bytes(sig)))
        for aid, h, sig in stories.duplicate_candidates(fingerprint.body_hash, bands, article.id)
    ]
    duplicate = dedup.best_duplicate(fingerprint, earlier)
    counts = term_counts(article.title, article.text)
    df, n_docs = stories.document_frequencies(counts)
    when = article.published_at or article.first_seen_at
    boilerplate = dedup.is_boilerplate(article.text) or (
        duplicate is not None and _shared_stub(stories, article, duplicate.article_id, df, n_docs))
    if boilerplate:  # a notice or stub body says nothing about the event: the title does
        duplicate, counts = None, term_counts(article.title, "")
    language = enrichment.language or article.language
    ev = evidence(article.title, "" if boilerplate else article.text, enrichment.entities, df,
                  n_docs + 1, when, language=language)
    choice = decide_story(stories, ev, duplicate, params, stories.splits_for(article.id))
    chosen = choice.story
    why = choice.why
    if boilerplate:
        why = {**why, "boilerplate_body": True}
    if choice.duplicate_joined is None:
        duplicate = None

    profile = Profile.from_json(chosen.profile) if chosen else Profile()
    if duplicate is not None and chosen is not None:
        novelty_score, additions = 0.0, {"near_duplicate": True}
    elif chosen is None:
        novelty_score, additions = 1.0, {"new_story": True}
    else:
        novelty = assess(article.text, enrichment.entities, enrichment.quotes, article.source, profile,
                         language=language, concepts=ev.concepts, amounts=ev.amounts)
        novelty_score, additions = novelty.score, novelty.additions
    story = _updated_story(chosen, article, enrichment, profile, ev)
    detail = {"why": why, "additions": additions}
    with rt.store.tx() as conn:
        stories.count_terms(conn, counts)
        stories.save_signature(conn, article.id, fingerprint.body_hash,
                               dedup.to_bytes(fingerprint.signature), bands)
        stories.save_story(conn, story, _keys(story.profile))
        conn.execute(
            t.articles.update().where(t.articles.c.id == article.id).values(
                story_id=story.id,
                duplicate_of=duplicate.article_id if duplicate else None,
                duplicate_similarity=round(duplicate.similarity, 3) if duplicate else None,
                novelty=novelty_score,
                novelty_detail=json.dumps(detail, sort_keys=True, default=str),
                clustered_revision=article.revision,
            )
        )
    return Assignment(story.id, chosen is None, duplicate.article_id if duplicate else None,
                      novelty_score)


@dataclass(frozen=True)
class Choice:
    story: StoryRow | None  # None: a new story
    why: dict[str, Any]
    duplicate_joined: str | None = None  # the near-duplicate whose story it joined


def decide_story(
    stories: StoryStore, ev: Evidence, duplicate: dedup.DuplicateMatch | None, params: Params,
    excluded: set[str],
) -> Choice:
    """The story an article joins: every candidate story is scored by the shipped model
    (stories/decision.py); the most probable at or above the threshold wins. A story quiet
    for longer than the dormant window is a candidate only when the article continues it
    (its specific people or places). A near-duplicate joins its original's story under the
    same time check, and only when its title agrees or the model does."""
    model = shipped()
    threshold = params.threshold
    original = None
    if duplicate is not None:
        found = stories.story_fields(duplicate.article_id)["story_id"]
        original = stories.resolve(found) if found else None
    keys = keys_for(ev.terms, ev.entities, ev.people, ev.places)
    quiet_since = ev.when - timedelta(days=params.dormant_days)
    active = stories.candidates(keys, quiet_since, excluded)
    dormant = stories.quiet_candidates(actor_keys(keys), ev.when - timedelta(days=params.reopen_days),
                                       quiet_since, excluded)
    seen = {story.id for story in active}
    found = [*active, *(d for d in dormant if d.id not in seen)]
    profiles = [Profile.from_json(story.profile) for story in found]
    values = [features(ev, profile, story.last_updated) for story, profile in zip(found, profiles, strict=True)]
    scored: list[Scored] = []
    for story, profile, row, p in zip(found, profiles, values, probabilities(model, values), strict=True):
        gap = abs((ev.when - story.last_updated).total_seconds()) / 86400
        link, bar = None, threshold
        how = xl.mode(ev.language, profile.languages)
        if how != xl.MODEL:  # another language: the cross-lingual rule (stories/crosslingual.py)
            found_link = xl.compare(ev, profile, story.last_updated)
            if how == xl.CROSS or found_link.score - xl.THRESHOLD > p - threshold:
                link, bar, p = found_link, xl.THRESHOLD, found_link.score
        allowed = gap <= params.dormant_days or continues(model, row, p)
        shared = sorted(set(ev.entities) & set(profile.entities), key=lambda e: (-ev.entities[e], e))
        scored.append(Scored(story, row, p, allowed, tuple(shared[:8]), link, bar))
    if any(s.link for s in scored):  # rules with their own bars: rank by the margin over it
        scored.sort(key=lambda s: (-(s.probability - s.bar), s.story.id))
    else:
        scored.sort(key=lambda s: (-s.probability, s.story.id))

    if original is not None and original not in excluded and duplicate is not None:
        mine = next((s for s in scored if s.story.id == original), None)
        if mine is not None and mine.allowed and (
                mine.values["title"] >= DUPLICATE_TITLE or mine.probability >= mine.bar):
            why = {"duplicate_of": duplicate.article_id, "similarity": round(duplicate.similarity, 3),
                   **mine.explained(), "refused": _refusals(scored, original, threshold)}
            return Choice(stories.get(original), why, duplicate.article_id)
    for candidate in scored:
        if candidate.allowed and candidate.probability >= candidate.bar:
            why = {**candidate.explained(), "refused": _refusals(scored, candidate.story.id, threshold)}
            return Choice(stories.get(candidate.story.id), why)  # with the story's memory
    return Choice(None, {"refused": _refusals(scored, None, threshold)} if scored else {})


@dataclass(frozen=True)
class Scored:
    """A candidate story, what the model made of it, and whether it may take the article."""

    story: StoryRow
    values: dict[str, float]
    probability: float
    allowed: bool  # False: dormant, and the article does not continue it
    shared_entities: tuple[str, ...]
    link: xl.Link | None = None  # decided across languages (stories/crosslingual.py)
    bar: float = 0.4  # the probability (or cross-lingual score) it needs

    def explained(self) -> dict[str, Any]:
        """What decided (computed only for the few candidates an article's record keeps)."""
        if self.link is not None:
            return {**self.link.explained(), "shared_entities": list(self.shared_entities)}
        return {"probability": round(self.probability, 3), "features": explain(self.values),
                "decided_by": decide(shipped(), self.values).top(),
                "shared_entities": list(self.shared_entities)}


def _refusals(scored: list[Scored], chosen: str | None, threshold: float) -> list[dict[str, Any]]:
    """The candidates that came closest without being chosen (for ``story ID --why``)."""
    out = []
    for candidate in scored:
        p = candidate.probability
        if candidate.story.id == chosen or p < REFUSAL_SHOWN:
            continue
        reason = ("dormant, and not continued" if not candidate.allowed
                  else "a likelier story won" if p >= candidate.bar else "below the threshold")
        out.append({"story_id": candidate.story.id, "title": candidate.story.title,
                    "reason": reason, **candidate.explained()})
        if len(out) == 2:
            break
    return out


def _shared_stub(stories: StoryStore, article: Article, other: str,
                 df: dict[str, int], n_docs: int) -> bool:
    """A short body shared with a page whose title says it is about something else: a
    site's stub (a sign-up wall, a verification notice), not the article."""
    if len(article.text.split()) > dedup.STUB_WORDS:
        return False
    earlier = stories.store.get_article(other)
    if earlier is None:
        return False
    mine = tfidf(term_counts(article.title, ""), df, n_docs + 1)
    theirs = tfidf(term_counts(earlier.title, ""), df, n_docs + 1)
    return sum(w * theirs.get(k, 0.0) for k, w in mine.items()) < DUPLICATE_TITLE


def _keys(profile: dict[str, Any]) -> list[str]:
    return keys_for(profile.get("terms", {}), profile.get("entities", {}),
                    profile.get("people", {}), profile.get("places", {}))


def _updated_story(
    chosen: StoryRow | None, article: Article, enrichment: Enrichment, profile: Profile,
    ev: Evidence,
) -> StoryRow:
    vector, when = ev.terms, ev.when
    profile = absorb(absorb_evidence(profile, ev), vector, enrichment.entities)
    profile = remember(profile, article.text, enrichment.quotes, article.source)
    data = profile.to_json()
    # the story's title comes from its most central article: closest to the profile
    centrality = sum(w * profile.terms.get(term, 0.0) for term, w in vector.items())
    if chosen is None:
        data["title_score"] = centrality
        return StoryRow("s" + article.id[:19], article.title, article.id, when, when, 1, None, data)
    best = float(chosen.profile.get("title_score", 0.0))
    title, title_id = chosen.title, chosen.title_article_id
    if centrality > best:
        title, title_id, best = article.title, article.id, centrality
    data["title_score"] = best
    return replace(
        chosen, title=title, title_article_id=title_id,
        first_seen=min(chosen.first_seen, when), last_updated=max(chosen.last_updated, when),
        article_count=chosen.article_count + 1, profile=data,
    )


def rebuild(rt: Runtime, stories: StoryStore, story_id: str) -> StoryRow | None:
    """Recompute a story's profile, title, dates and keys from its current articles."""
    articles = stories.articles_of(story_id)
    current = stories.get(story_id)
    if current is None:
        return None
    story: StoryRow | None = None
    for article in articles:
        enrichment = rt.store.enrichment(article.id)
        counts = term_counts(article.title, article.text)
        df, n_docs = stories.document_frequencies(counts)
        when = article.published_at or article.first_seen_at
        ev = evidence(article.title, article.text, enrichment.entities, df, n_docs + 1, when,
                      language=enrichment.language or article.language)
        profile = Profile.from_json(story.profile) if story else Profile()
        story = _updated_story(story, article, enrichment, profile, ev)
    if story is None:  # no articles left: the story stays, empty, out of the index keys
        story = replace(current, article_count=0, profile={}, merged_into=current.merged_into)
    story = replace(story, id=story_id, merged_into=current.merged_into)
    with rt.store.tx() as conn:
        stories.save_story(conn, story, _keys(story.profile))
    return story


def merge(rt: Runtime, target: str, other: str) -> StoryRow:
    """Merge story ``other`` into ``target``: its articles move; later articles that would
    have joined ``other`` now find ``target`` (``other`` leaves the inverted index)."""
    stories = StoryStore(rt.store)
    a, b = stories.get(target), stories.get(other)
    if a is None or b is None or target == other:
        raise NewswatchError(f"cannot merge {other!r} into {target!r}: give two different story ids")
    with rt.store.tx() as conn:
        conn.execute(t.articles.update().where(t.articles.c.story_id == other)
                     .values(story_id=target))
        conn.execute(t.stories.update().where(t.stories.c.id == other)
                     .values(merged_into=target, article_count=0))
        conn.execute(t.story_keys.delete().where(t.story_keys.c.story_id == other))
    rebuilt = rebuild(rt, stories, target)
    assert rebuilt is not None
    return rebuilt


def split(rt: Runtime, story_id: str, article_ids: list[str]) -> StoryRow:
    """Move ``article_ids`` out of ``story_id`` into a new story of their own; they (and
    articles like them) stay out of ``story_id`` from now on."""
    stories = StoryStore(rt.store)
    if stories.get(story_id) is None:
        raise NewswatchError(f"no story {story_id!r}")
    members = {a.id for a in stories.articles_of(story_id)}
    missing = [a for a in article_ids if a not in members]
    if missing or not article_ids:
        raise NewswatchError(f"not articles of story {story_id}: {', '.join(missing) or '(none)'}")
    if set(article_ids) == members:
        raise NewswatchError("splitting every article out of a story changes nothing")
    import hashlib

    digest = hashlib.sha256("\x1f".join([story_id, *sorted(article_ids)]).encode()).hexdigest()
    new_id = "s" + digest[:19]
    first = min((a for a in stories.articles_of(story_id) if a.id in article_ids),
                key=lambda a: a.published_at or a.first_seen_at)
    when = first.published_at or first.first_seen_at
    with rt.store.tx() as conn:
        stories.save_story(conn, StoryRow(new_id, first.title, first.id, when, when, 0, None, {}), [])
        conn.execute(t.articles.update().where(t.articles.c.id.in_(article_ids))
                     .values(story_id=new_id))
        for article_id in article_ids:
            conn.execute(t.story_splits.insert().values(article_id=article_id, story_id=story_id))
    rebuild(rt, stories, story_id)
    rebuilt = rebuild(rt, stories, new_id)
    assert rebuilt is not None
    return rebuilt
