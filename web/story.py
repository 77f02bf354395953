"""A story's page: its coverage, its timeline (each article with outlet, time, novelty and
what it added; near-duplicates folded under the article they copy), why each article
joined, drawn as bars, and the corrections (merge, split) a signed-in analyst makes.

The data is what ``GET /stories/{id}`` answers (``api.stories.story_parts`` and
``newswatch.console.story_dict``); a merge is ``stories.stage.merge`` then
``search.stage.index_stories`` and a split ``newswatch.pipeline.split_story``, as in the
CLI."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alerts.render import describe_additions, format_figure, one_line
from alerts.store import WatchStore
from alerts.watches import mute_story
from api.access import RuntimeDep, using
from api.stories import story_parts
from core.errors import NewswatchError
from core.runtime import Runtime
from newswatch import console as out
from newswatch.pipeline import split_story
from search.stage import index_stories
from stories.stage import merge
from stories.store import StoryStore
from web import charts
from web.access import ReaderDep, WebRoute, WriterDep
from web.params import topic_labels
from web.render import render

router = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)

SENTENCES_SHOWN = 4
NOTICES = {  # what a redirect after a correction says (codes only: nothing from the query)
    "merged": "The other story was merged into this one.",
    "split": "The selected articles now form this new story.",
    "muted": "The watch will send nothing more about this story.",
    "followed": "A watch now follows this story.",
}
StoryRef = Annotated[str, Path(max_length=200)]


@dataclass
class Why:
    """Why an article joined its story, ready to draw."""

    kind: str  # started | joined | duplicate | legacy
    probability: charts.Meter | None = None
    pushes: list[charts.Push] = field(default_factory=list)
    reach: float = 1.0
    shared: list[str] = field(default_factory=list)
    similarity: float | None = None
    duplicate_of: str = ""
    refused: list[dict[str, Any]] = field(default_factory=list)
    stub: bool = False


@dataclass
class Entry:
    item: dict[str, Any]
    added: list[str]
    sentences: list[str]
    speakers: list[str]
    figures: list[str]
    entities: list[str]
    novelty: charts.Meter | None
    why: Why
    duplicates: list[Entry] = field(default_factory=list)


def explain(why: dict[str, Any], threshold: float) -> Why:
    """An article's ``why`` record (``stories.stage``) as bars and chips."""
    labels = out.FEATURE_LABELS
    refused = []
    for r in why.get("refused") or []:
        bars, reach = charts.pushes(r.get("decided_by") or [], r.get("features") or {}, labels)
        refused.append({"story_id": str(r.get("story_id", "")),
                        "title": one_line(str(r.get("title", "")), 200),
                        "reason": str(r.get("reason", "")),
                        "probability": charts.meter(r.get("probability"), threshold),
                        "pushes": bars, "reach": reach,
                        "shared": [str(e) for e in r.get("shared_entities") or []][:8]})
    found = Why("started", refused=refused, stub=bool(why.get("boilerplate_body")),
                shared=[str(e) for e in why.get("shared_entities") or []][:10])
    if "duplicate_of" in why:
        found.kind, found.duplicate_of = "duplicate", str(why["duplicate_of"])
        found.similarity = why.get("similarity")
    if "probability" in why:
        found.kind = "duplicate" if found.duplicate_of else "joined"
        found.probability = charts.meter(why["probability"], threshold)
        found.pushes, found.reach = charts.pushes(why.get("decided_by") or [],
                                                  why.get("features") or {}, labels)
    elif "total" in why:  # decided before the model: the similarity threshold
        found.kind, found.similarity = "legacy", why.get("total")
    return found


def entry(item: dict[str, Any], threshold: float) -> Entry:
    additions = item.get("additions") or {}
    added = describe_additions(additions)
    if item.get("duplicate_of") and not additions.get("near_duplicate"):
        added = ["nothing new (near-duplicate of an earlier article)"]
    novelty = item.get("novelty")
    return Entry(
        item, added,
        [one_line(str(s), 600) for s in (additions.get("new_sentences") or [])][:SENTENCES_SHOWN],
        [one_line(str(s), 80) for s in additions.get("new_speakers") or []],
        [format_figure(one_line(str(s), 40)) for s in additions.get("new_numbers") or []],
        [one_line(str(s), 80) for s in additions.get("new_entities") or []],
        charts.meter(novelty) if novelty is not None else None,
        explain(item.get("why") or {}, threshold),
    )


def timeline(items: list[dict[str, Any]], threshold: float) -> list[Entry]:
    """The articles in publication order; each near-duplicate folded under the article it
    copies (or, when that one is not in the story, the one before it)."""
    shown: list[Entry] = []
    by_id: dict[str, Entry] = {}
    for item in items:
        made = entry(item, threshold)
        original = item.get("duplicate_of")
        host = by_id.get(original) if original else None
        if original and host is None and shown:
            host = shown[-1]
        if host is not None:
            host.duplicates.append(made)
        else:
            shown.append(made)
        by_id[item["article_id"]] = host or made
    return shown


def story_context(rt: Runtime, story_id: str) -> dict[str, Any]:
    """Everything the story page shows."""
    row, articles, details = story_parts(rt, story_id)
    with using("state store"):
        enrichments = rt.store.enrichments([a.id for a in articles])
    data = out.story_dict(row, articles, details, enrichments)
    labels = topic_labels(rt)
    tags = Counter(tag.tag for e in enrichments.values() for tag in e.topics)
    times = [a.published_at or a.first_seen_at for a in articles]
    outlets = Counter(a.source for a in articles)
    return {
        "story": data, "row": row,
        "title": one_line(data["title"], 300) or "(untitled story)",
        "entries": timeline(data["timeline"], rt.settings.story_threshold),
        "coverage": charts.timeline(times, width=640, height=90),
        "outlet_counts": outlets.most_common(),
        "topics": [(t, labels.get(t, t), n) for t, n in tags.most_common()],
        "threshold": rt.settings.story_threshold,
        "duplicates": sum(1 for i in data["timeline"] if i["duplicate_of"]),
    }


def _others(rt: Runtime, story_id: str) -> list[tuple[str, str]]:
    """Recent stories a signed-in analyst may merge into this one (id, title)."""
    with using("state store"):
        recent = StoryStore(rt.store).recent(limit=50)
    return [(s.id, one_line(s.title, 120)) for s in recent if s.id != story_id]


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story_page(request: Request, rt: RuntimeDep, viewer: ReaderDep, story_id: StoryRef,
               notice: str | None = None, error: str | None = None) -> Response:
    context = story_context(rt, story_id)
    if context["row"].id != story_id:  # merged into another: its page
        return RedirectResponse(f"/web/stories/{quote(context['row'].id, safe='')}",
                                status_code=301)
    watches = []
    if viewer.signed_in:
        with using("state store"):
            watches = [(w.id, one_line(w.name, 100)) for w in WatchStore(rt.store).all()]
    return render(request, "story.html", nav="stories", **context,
                  others=_others(rt, story_id) if viewer.signed_in else [], watches=watches,
                  notice=NOTICES.get(notice or ""), error=None)


def _again(request: Request, rt: Runtime, story_id: str, error: str) -> Response:
    """The story page once more, saying why a correction was refused."""
    context = story_context(rt, story_id)
    with using("state store"):
        watches = [(w.id, one_line(w.name, 100)) for w in WatchStore(rt.store).all()]
    return render(request, "story.html", status=400, nav="stories", **context,
                  others=_others(rt, context["row"].id), watches=watches, notice=None,
                  error=error)


@router.post("/stories/{story_id}/merge", response_class=HTMLResponse)
def merge_story(request: Request, rt: RuntimeDep, viewer: WriterDep, story_id: StoryRef,
                other: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Story ``other`` joins this one (``story merge THIS OTHER``)."""
    other = other.strip()
    with using("state store"):
        stories = StoryStore(rt.store)
        target, source = stories.resolve(story_id), stories.resolve(other) if other else ""
    if not source:
        return _again(request, rt, story_id, "give the id of the story to merge into this one")
    if source == target:
        return _again(request, rt, story_id, f"{other} is this story already")
    with using("state store"):
        try:
            merged = merge(rt, target, source)
        except NewswatchError as exc:  # inside: `using` takes other errors for outages
            return _again(request, rt, story_id, str(exc))
    with using("search index"):
        index_stories(rt, [target, source])
    return RedirectResponse(f"/web/stories/{quote(merged.id, safe='')}?notice=merged",
                            status_code=303)


@router.post("/stories/{story_id}/split", response_class=HTMLResponse)
def split_off(request: Request, rt: RuntimeDep, viewer: WriterDep, story_id: StoryRef,
              article: Annotated[list[str] | None, Form(max_length=500)] = None) -> Response:
    """The chosen articles leave for a story of their own (``story split``); watches that
    were told of this story and match the part hear of it as a new story."""
    chosen = list(dict.fromkeys(a.strip() for a in article or [] if a.strip()))
    if not chosen:
        return _again(request, rt, story_id, "tick the articles that form the new story")
    with using("state store or search index"):
        try:
            part, _told = split_story(rt, StoryStore(rt.store).resolve(story_id), chosen)
        except NewswatchError as exc:
            return _again(request, rt, story_id, str(exc))
    return RedirectResponse(f"/web/stories/{quote(part.id, safe='')}?notice=split",
                            status_code=303)


@router.post("/stories/{story_id}/mute", response_class=HTMLResponse)
def mute_for_watch(rt: RuntimeDep, viewer: WriterDep, story_id: StoryRef,
                   watch: Annotated[str, Form(max_length=200)] = "") -> Response:
    """The chosen watch sends nothing more about this story (``watch mute``)."""
    with using("state store"):
        _watch, target, _changed = mute_story(rt, watch, story_id)
    return RedirectResponse(f"/web/stories/{quote(target, safe='')}?notice=muted",
                            status_code=303)
