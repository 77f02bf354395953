"""GET /stories and GET /stories/{id}: one story per event, with its timeline; and
GET /stories/{id}/page, the same story as a printable HTML page for people (where alert
emails link), kept out of the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, StrictUndefined, Template

from alerts.render import describe_additions, one_line, safe_href
from api.access import RuntimeDep, StrictParams, require_read_key, using
from api.problems import NewsJSONResponse
from api.schemas import READ_PROBLEMS, StoriesPage, StoryOut, problems_for
from api.search import MAX_PAGE, MAX_PAGE_SIZE, page_offset, page_size
from core.errors import NewswatchError, NotFoundError
from core.models import Article, StoryDoc
from core.runtime import Runtime
from enrich.topics import load_taxonomy
from newswatch import console as out
from search.entities import resolve_entity
from stories.store import StoryRow, StoryStore

router = APIRouter(dependencies=[Depends(require_read_key), StrictParams])


# ---------------------------------------------------------------------------------------
# /stories


def _story_summary(doc: StoryDoc) -> dict[str, Any]:
    return {
        "id": doc.id, "title": doc.title, "article_ids": list(doc.article_ids),
        "article_count": len(doc.article_ids), "outlets": list(doc.outlets),
        "first_seen": doc.first_seen, "last_updated": doc.last_updated,
        "top_entities": [{"id": e, "name": n} for e, n in doc.entities[:8]],
        "topics": list(doc.topics),
    }


@router.get(
    "/stories", response_model=StoriesPage, tags=["stories"], summary="Stories",
    responses=problems_for(*READ_PROBLEMS),
)
def list_stories(
    rt: RuntimeDep,
    topic: Annotated[str | None, Query(description="stories with this topic tag")] = None,
    entity: Annotated[str | None, Query(description="stories about this entity")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE,
                                       description="stories per page (default 20)")] = None,
    size: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE, deprecated=True,
                                      description="the old name of limit")] = None,
) -> JSONResponse:
    """One story per event, newest development first."""
    per_page = page_size(limit, size, 20)
    entities = resolve_entity(entity) if entity else ()
    with using("search index"):
        docs = rt.index.list_stories(topic=topic, entities=entities, limit=per_page + 1,
                                     offset=page_offset(page, per_page))
    body = {"page": page, "limit": per_page, "size": per_page, "has_more": len(docs) > per_page,
            "stories": [_story_summary(d) for d in docs[:per_page]]}
    return NewsJSONResponse(body)


def story_parts(
    rt: Runtime, story_id: str
) -> tuple[StoryRow, list[Article], dict[str, dict[str, Any]]]:
    """The story that holds ``story_id``'s articles now (merges followed), its articles in
    publication order and each one's story fields (novelty, why it joined): what
    ``GET /stories/{id}``, the printable page and the web app's story page show."""
    with using("state store"):
        stories = StoryStore(rt.store)
        row = stories.get(stories.resolve(story_id))
        if row is None:
            raise NotFoundError(f"no story {story_id!r}")
        articles = stories.articles_of(row.id)
        details = {a.id: stories.story_fields(a.id) for a in articles}
    return row, articles, details


@router.get(
    "/stories/{story_id}", response_model=StoryOut, tags=["stories"], summary="One story",
    responses=problems_for(404, *READ_PROBLEMS),
)
def get_story(rt: RuntimeDep, story_id: Annotated[str, Path(max_length=200)]) -> JSONResponse:
    """The story's articles in order with what each added (novelty) and why it joined.
    A story merged into another answers with that one (header Content-Location)."""
    row, articles, details = story_parts(rt, story_id)
    with using("state store"):
        enrichments = rt.store.enrichments([a.id for a in articles])
    headers = {"Content-Location": f"/stories/{row.id}"} if row.id != story_id else None
    return NewsJSONResponse(out.story_dict(row, articles, details, enrichments), headers=headers)


# ---------------------------------------------------------------------------------------
# /stories/{id}/page: for people (alert emails link here), not part of the API's contract

PAGE_HEADERS = {  # titles come from the web: nothing on the page may run or load anything
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PAGE_SENTENCES = 3  # new sentences quoted per article

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · newswatch</title>
<style>
body { font: 16px/1.5 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #1f2937; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 .5rem; }
.meta { color: #6b7280; font-size: .9rem; margin: 0 0 .4rem; }
.chip { display: inline-block; margin: 0 .25rem .25rem 0; padding: 0 .5rem;
        border-radius: .6rem; background: #eef2ff; color: #3730a3; font-size: .85rem; }
ol { list-style: none; padding: 0; margin: 1.5rem 0 0; border-left: 3px solid #e5e7eb; }
li { margin: 0 0 1.2rem; padding-left: 1rem; }
.when { color: #6b7280; font-size: .85rem; }
.title { font-weight: 600; }
.dup { color: #9ca3af; }
blockquote { margin: .4rem 0; padding: .3rem .7rem; border-left: 3px solid #f59e0b;
             background: #fffbeb; }
ul.added { margin: .3rem 0 0; padding-left: 1.2rem; color: #374151; font-size: .95rem; }
a { color: #1d4ed8; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  a { color: inherit; text-decoration: none; }
  a[href]::after { content: " <" attr(href) ">"; font-size: 8pt; color: #6b7280; }
  li { break-inside: avoid; }
  .chip { border: 1px solid #c7d2fe; }
}
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="meta">{{ count }} from {{ outlets | length }} outlet{{ "" if outlets | length == 1 else "s" }}
 · first seen {{ first_seen }} · last development {{ last_updated }}</p>
{% if topics %}<p class="meta">Topics: {% for t in topics %}<span class="chip">{{ t }}</span>{% endfor %}</p>{% endif %}
{% if entities %}<p class="meta">Main entities: {% for e in entities %}<span class="chip">{{ e }}</span>{% endfor %}</p>{% endif %}
{% if outlets %}<p class="meta">Outlets: {{ outlets | join(", ") }}</p>{% endif %}
<ol>
{% for a in timeline %}
<li{% if a.duplicate %} class="dup"{% endif %}>
<div class="when">{{ a.when }}{% if a.when and a.source %} · {% endif %}{{ a.source }}</div>
<div class="title">{% if a.href %}<a href="{{ a.href }}">{{ a.title }}</a>{% else %}{{ a.title }}{% endif %}</div>
{% for sentence in a.sentences %}<blockquote>{{ sentence }}</blockquote>{% endfor %}
{% if a.added %}<ul class="added">{% for line in a.added %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
</li>
{% endfor %}
</ol>
</body>
</html>
"""


@cache
def _page_template() -> Template:
    """The page's template, compiled once per process (autoescaped: titles are untrusted)."""
    return Environment(autoescape=True, undefined=StrictUndefined).from_string(PAGE)


@router.get("/stories/{story_id}/page", include_in_schema=False, response_class=HTMLResponse)
def story_page(rt: RuntimeDep, story_id: Annotated[str, Path(max_length=200)]) -> HTMLResponse:
    """The story for reading and printing: title, topics, main entities and its timeline
    of articles with outlet, time and what each added."""
    row, articles, details = story_parts(rt, story_id)
    with using("state store"):
        enrichments = rt.store.enrichments([a.id for a in articles])
    data = out.story_dict(row, articles, details)
    tags = sorted({tag.tag for e in enrichments.values() for tag in e.topics})
    try:
        labels = {t.name: t.label for t in load_taxonomy(rt.settings.taxonomy_path)}
    except (NewswatchError, OSError):  # a broken taxonomy file costs the labels only
        labels = {}
    timeline = [_page_item(item) for item in data["timeline"]]
    html = _page_template().render(
        title=one_line(data["title"], 300) or "(untitled story)",
        count=f"{len(articles)} article{'' if len(articles) == 1 else 's'}",
        outlets=[one_line(o, 100) for o in data["outlets"]],
        first_seen=_page_when(data["first_seen"]), last_updated=_page_when(data["last_updated"]),
        topics=[one_line(labels.get(t, t), 80) for t in tags],
        entities=[one_line(e["name"], 80) for e in data["top_entities"]],
        timeline=timeline,
    )
    return HTMLResponse(html, headers=PAGE_HEADERS)


def _page_item(item: dict[str, Any]) -> dict[str, Any]:
    additions = item["additions"] or {}
    added = describe_additions(additions)
    if item["duplicate_of"] and not additions.get("near_duplicate"):
        added = ["nothing new (near-duplicate of an earlier article)"]
    return {
        "when": _page_when(item["published"]), "source": one_line(item["source"], 100),
        "title": one_line(item["title"], 300) or "(untitled)", "href": safe_href(item["url"]),
        "duplicate": bool(item["duplicate_of"]), "added": added,
        "sentences": [one_line(str(s), 400)
                      for s in (additions.get("new_sentences") or [])[:PAGE_SENTENCES]],
    }


def _page_when(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
