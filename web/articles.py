"""An article's page: what ``GET /articles/{id}`` answers (``api.articles.article_record``),
for reading: its text with the sentences it added to its story marked, who and what it is
about, its topics with the words that made them, its quotes and its story."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from alerts.render import describe_additions, one_line
from api.access import RuntimeDep, using
from api.articles import article_record
from stories.store import StoryStore
from web import charts
from web.access import ReaderDep, WebRoute
from web.params import topic_labels
from web.render import render

router = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)

ENTITIES_SHOWN = 24


def _evidence(evidence: Any, names: dict[str, str]) -> list[str]:
    """The words, phrases and entities that gave an article a topic, as people read them
    (``shells ×3``, ``North Korea``)."""
    if not isinstance(evidence, dict):
        return []
    found: list[str] = []
    for key in ("phrases", "terms"):
        counted = evidence.get(key)
        if isinstance(counted, dict):
            for word, n in counted.items():
                word = one_line(str(word).lstrip("="), 60)
                found.append(f"{word} ×{n}" if isinstance(n, int) and n > 1 else word)
    entities = evidence.get("entities")
    if isinstance(entities, list):
        found += [one_line(names.get(str(e), str(e)), 60) for e in entities]
    return list(dict.fromkeys(found))[:10]


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(request: Request, rt: RuntimeDep, viewer: ReaderDep,
                 article_id: Annotated[str, Path(max_length=200)]) -> HTMLResponse:
    data = article_record(rt, article_id)
    story = None
    if data["story_id"]:
        with using("state store"):
            stories = StoryStore(rt.store)
            row = stories.get(stories.resolve(data["story_id"]))
        if row is not None:
            story = {"id": row.id, "title": one_line(row.title, 300),
                     "articles": row.article_count}
    additions = data["novelty"]["additions"] or {}
    labels = topic_labels(rt)
    names = {e["id"]: e["name"] for e in data["entities"]}
    return render(
        request, "article.html", nav="stories", article=data, story=story,
        title=one_line(data["title"], 300) or "(untitled)",
        added=describe_additions(additions) if additions else [],
        novelty=(charts.meter(data["novelty"]["score"])
                 if data["novelty"]["score"] is not None else None),
        new_sentences=[str(s) for s in additions.get("new_sentences") or []],
        entities=sorted(data["entities"], key=lambda e: -(e["salience"] or 0))[:ENTITIES_SHOWN],
        topics=[(t["tag"], labels.get(t["tag"], t["tag"]), t["score"], _evidence(t["evidence"], names))
                for t in data["topics"]],
    )
