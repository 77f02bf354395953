"""What a user types for a story, an article, a watch, a topic or an entity, turned into
what is stored: full ids from unambiguous prefixes, and, for names that match nothing, an
error that says so and names the closest known ones. Used by every CLI command that takes
one of them."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from core import schema as t
from core.errors import NewswatchError
from core.runtime import Runtime
from enrich.topics import load_taxonomy
from search.entities import article_counts, bundled_index, resolve_entity, stored_entities

MIN_PREFIX = 4  # characters of an id before a prefix is looked up
SHOWN_MATCHES = 5  # matches an ambiguous prefix lists
CLOSEST = 3  # known names suggested for an unknown one


class AmbiguousIdError(NewswatchError):
    """An id prefix that several stored ids start with."""


def _clean(ref: str) -> str:
    """The id as pasted: surrounding space and a cut-off marker (``s1a2b3…``) removed."""
    return ref.strip().rstrip("…").rstrip(".").strip()


def _prefixed(rt: Runtime, table: Any, ref: str, label: Any, where: Any = None,
              what: str = "id") -> list[tuple[str, str]]:
    """(id, label) of the rows of ``table`` whose id starts with ``ref`` (a few more than
    are shown, so the error can say there are more)."""
    id_col = table.c.id
    query = select(id_col, label).where(  # LIKE narrows (SQLite: by the index), substr is exact
        id_col.like(_like(ref) + "%", escape="\\"), func.substr(id_col, 1, len(ref)) == ref)
    if where is not None:
        query = query.where(where)
    query = query.order_by(id_col).limit(SHOWN_MATCHES + 1)
    with rt.store.engine.connect() as conn:
        return [(str(i), str(name or "")) for i, name in conn.execute(query)]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _one(kind: str, ref: str, matches: list[tuple[str, str]], listing: str) -> str | None:
    """The one match, None for none; several (or a prefix too short to trust) are an error
    that lists them."""
    if not matches:
        return None
    if len(ref) < MIN_PREFIX:
        raise AmbiguousIdError(f"{kind} id {ref!r} is too short: give at least {MIN_PREFIX} "
                               f"characters of the id (see {listing})")
    if len(matches) == 1:
        return matches[0][0]
    shown = ", ".join(f"{i} ({_short(name)})" for i, name in matches[:SHOWN_MATCHES])
    more = " and more" if len(matches) > SHOWN_MATCHES else ""
    raise AmbiguousIdError(f"{kind} id {ref!r} is ambiguous: it starts {shown}{more}; give "
                           f"more of the id (see {listing})")


def _short(text: str, chars: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= chars else text[: chars - 1] + "…"


def story_id(rt: Runtime, ref: str) -> str:
    """The story ``ref`` names: its full id, or the one story whose id starts with it
    (stories merged into others included: the caller follows merges). Raises when no
    story or several match."""
    ref = _clean(ref)
    s = t.stories
    with rt.store.engine.connect() as conn:
        if conn.execute(select(s.c.id).where(s.c.id == ref)).first() is not None:
            return ref
    if ref:
        live = _prefixed(rt, s, ref, s.c.title, s.c.merged_into.is_(None))
        found = _one("story", ref, live, "`newswatch stories`")
        if found is None:
            found = _one("story", ref, _prefixed(rt, s, ref, s.c.title), "`newswatch stories`")
        if found is not None:
            return found
    raise NewswatchError(f"no story {ref!r} (see `newswatch stories`)")


def article_id(rt: Runtime, ref: str) -> str:
    """The article ``ref`` names: a full id, an unambiguous id prefix or a URL."""
    from ingest.urls import canonicalize

    ref = ref.strip() if "://" in ref else _clean(ref)
    if "://" in ref:
        try:
            found = rt.store.article_id_for_url(canonicalize(ref))
        except ValueError:
            found = None
        if found:
            return found
        raise NewswatchError(f"no article with the URL {ref!r} (see `newswatch search`)")
    a = t.articles
    with rt.store.engine.connect() as conn:
        if conn.execute(select(a.c.id).where(a.c.id == ref)).first() is not None:
            return ref
    if ref:
        found = _one("article", ref, _prefixed(rt, a, ref, a.c.title), "`newswatch search`")
        if found is not None:
            return found
    raise NewswatchError(f"no article {ref!r} (give an id from `newswatch search` or a URL)")


def watch_ref(rt: Runtime, ref: str) -> str:
    """A watch's id or name as typed; an unambiguous prefix of an id becomes the id. An
    unknown reference is returned unchanged (the watch functions say it does not exist)."""
    w = t.watches
    cleaned = _clean(ref)
    with rt.store.engine.connect() as conn:
        exact = conn.execute(select(w.c.id).where((w.c.id == ref) | (w.c.name == ref))).first()
    if exact is not None or not cleaned:
        return ref
    found = _one("watch", cleaned, _prefixed(rt, w, cleaned, w.c.name), "`newswatch watch list`")
    return found if found is not None else ref


# ---------------------------------------------------------------------------------------
# Topics and entities


def known_topics(rt: Runtime) -> dict[str, str]:
    """Topic tags the taxonomy defines or stored articles carry, with their labels."""
    try:
        topics = {topic.name: topic.label for topic in load_taxonomy(rt.settings.taxonomy_path)}
    except (NewswatchError, OSError):  # a broken taxonomy file: the stored tags still count
        topics = {}
    at = t.article_topics
    with rt.store.engine.connect() as conn:
        for tag in conn.execute(select(at.c.tag).distinct()).scalars():
            topics.setdefault(tag, tag)
    return topics


def check_topic(rt: Runtime, topic: str) -> str:
    """``topic`` when it is a known tag; else an error naming the closest known ones."""
    known = known_topics(rt)
    if topic in known:
        return topic
    folded = {name.casefold(): name for name in known}
    if topic.strip().casefold() in folded:
        return folded[topic.strip().casefold()]
    by_label = {label.casefold(): name for name, label in known.items()}
    if topic.strip().casefold() in by_label:
        return by_label[topic.strip().casefold()]
    close = difflib.get_close_matches(topic.casefold(), list(folded), n=CLOSEST, cutoff=0.5)
    hint = (f"; did you mean {_either([folded[c] for c in close])}?" if close
            else f"; known topics: {', '.join(sorted(known))}" if known else "")
    raise NewswatchError(f"there is no topic {topic!r}{hint} (see `newswatch topics`)")


def entity_ids(rt: Runtime, name: str) -> tuple[str, ...]:
    """The entity ids ``name`` stands for (``search.entities.resolve_entity``) when the
    gazetteer knows it or a stored article mentions it; else an error naming the closest
    known entities."""
    from enrich.gazetteer import Gazetteer

    ids = resolve_entity(name)
    gazetteer = Gazetteer.load()
    if gazetteer.lookup(name.strip()) is not None or any(
            e.id in ids for e in gazetteer.entries()):
        return ids
    if any(article_counts(rt.store.engine, list(ids)).values()):
        return ids
    raise NewswatchError(f"there is no entity {name!r} in the gazetteer or in any stored article"
                         f"{_closest_entities(rt, name)} (see `newswatch entities`)")


def _closest_entities(rt: Runtime, name: str) -> str:
    words = name.split()
    candidates: dict[str, int] = {}
    for probe in dict.fromkeys([name[:3], *(w[:3] for w in words)]):
        if len(probe) < 2:
            continue
        for s in [*bundled_index().search(probe, 50), *stored_entities(rt.store.engine, probe, 50)]:
            candidates.setdefault(s.name, s.articles)
    close = difflib.get_close_matches(name.casefold(), [c.casefold() for c in candidates],
                                      n=CLOSEST, cutoff=0.6)
    by_fold = {c.casefold(): c for c in candidates}
    return f"; did you mean {_either([by_fold[c] for c in close])}?" if close else ""


def _either(names: Sequence[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def entity_counts(rt: Runtime, kind: str | None = None, limit: int = 50,
                  offset: int = 0) -> list[dict[str, Any]]:
    """Entities of stored articles, most articles first: id, name, type, articles,
    mentions."""
    ae = t.article_entities
    articles = func.count(func.distinct(ae.c.article_id))
    query = (select(ae.c.entity_id, func.min(ae.c.name), func.min(ae.c.type), articles,
                    func.sum(ae.c.mentions))
             .group_by(ae.c.entity_id)
             .order_by(articles.desc(), func.sum(ae.c.mentions).desc(), ae.c.entity_id)
             .limit(limit).offset(offset))
    if kind:
        query = query.where(ae.c.type == kind)
    with rt.store.engine.connect() as conn:
        return [{"id": i, "name": n, "type": k, "articles": int(a), "mentions": int(m or 0)}
                for i, n, k, a, m in conn.execute(query)]


def entity_types(rt: Runtime) -> list[str]:
    ae = t.article_entities
    with rt.store.engine.connect() as conn:
        return sorted(conn.execute(select(ae.c.type).distinct()).scalars())
