"""The Stories page: one card per story, newest development first (the index's
``list_stories``, as ``GET /stories``), filtered by topic, entity, outlet, dates and size;
each card with its outlets, topics, a sparkline of its coverage and what changed last."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from alerts.render import describe_additions, one_line
from api.access import RuntimeDep, using
from api.search import MAX_PAGE
from core.models import SearchRequest, StoryDoc
from core.runtime import Runtime
from search.entities import resolve_entity
from stories.store import StoryStore
from web import charts
from web.access import ReaderDep, WebRoute
from web.params import Filters, topic_labels
from web.render import render

router = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 20
SCAN_BATCH = 100  # stories read from the index at a time when filtering here
MAX_SCAN = 5000  # newest stories looked at for the outlet, date and size filters
SIZES = (1, 2, 3, 5, 10)
SPARK_DAYS = 7  # the shortest span a card's sparkline shows


@dataclass(frozen=True)
class Card:
    id: str
    title: str
    articles: int
    outlets: tuple[str, ...]
    topics: tuple[tuple[str, str], ...]  # (tag, label)
    entities: tuple[tuple[str, str], ...]  # (id, name)
    first_seen: datetime
    last_updated: datetime
    coverage: charts.Chart
    last_outlet: str
    last_title: str
    last_change: tuple[str, ...]  # what the newest article that is not a copy added


def cards(rt: Runtime, docs: list[StoryDoc], labels: dict[str, str]) -> list[Card]:
    """The cards of ``docs``: their articles' times (the sparkline) and what the newest of
    them added (its novelty's additions) come from the state store."""
    found = []
    with using("state store"):
        stories = StoryStore(rt.store)
        for doc in docs:
            articles = stories.articles_of(doc.id)
            times = [a.published_at or a.first_seen_at for a in articles]
            change: list[str] = []
            last_outlet = last_title = ""
            for article in reversed(articles):
                fields = stories.story_fields(article.id)
                if fields["duplicate_of"]:
                    continue
                last_outlet, last_title = article.source, article.title
                change = describe_additions(fields["detail"].get("additions") or {})
                break
            found.append(Card(
                doc.id, one_line(doc.title, 300) or "(untitled story)",
                len(doc.article_ids) or len(articles), doc.outlets,
                tuple((t, labels.get(t, t)) for t in doc.topics[:4]), doc.entities[:5],
                doc.first_seen, doc.last_updated,
                charts.timeline(times, _days(times), width=120, height=24), last_outlet,
                last_title,
                tuple(change[:3]),
            ))
    return found


def _days(times: list[datetime]) -> list[date] | None:
    """A sparkline's days: the story's span, at least :data:`SPARK_DAYS` long (ending at
    its last article), so a short story's bars keep their width."""
    if not times:
        return None
    first, last = charts.day_of(min(times)), charts.day_of(max(times))
    return charts.day_span(min(first, last - timedelta(days=SPARK_DAYS - 1)), last)


def find_stories(
    rt: Runtime, *, topic: str | None, entities: tuple[str, ...], outlet: str | None,
    since: datetime | None, until: datetime | None, min_articles: int, page: int,
    size: int = PAGE_SIZE,
) -> tuple[list[StoryDoc], bool, bool]:
    """One page of stories, newest development first: the stories, whether more follow,
    and whether the scan stopped at :data:`MAX_SCAN` stories. Topic and entity filter in
    the index; outlet, dates (the story was covered between ``since`` and ``until``) and
    size filter here, over the index's order."""
    offset = (page - 1) * size
    with using("search index"):
        if not (outlet or since or until or min_articles > 1):
            docs = rt.index.list_stories(topic=topic, entities=entities, limit=size + 1,
                                         offset=offset)
            return docs[:size], len(docs) > size, False
        wanted, scanned = offset + size + 1, 0
        found: list[StoryDoc] = []
        folded = outlet.casefold() if outlet else None
        while len(found) < wanted and scanned < MAX_SCAN:
            batch = rt.index.list_stories(topic=topic, entities=entities, limit=SCAN_BATCH,
                                          offset=scanned)
            scanned += len(batch)
            done = len(batch) < SCAN_BATCH
            for doc in batch:
                if since is not None and _utc(doc.last_updated) < since:
                    done = True  # newest development first: every later one is older
                    break
                if until is not None and _utc(doc.first_seen) > until:
                    continue
                if folded and not any(o.casefold() == folded for o in doc.outlets):
                    continue
                if len(doc.article_ids) < min_articles:
                    continue
                found.append(doc)
            if done:
                break
    return found[offset:offset + size], len(found) > offset + size, scanned >= MAX_SCAN


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@router.get("/stories", response_class=HTMLResponse)
def stories_page(
    request: Request, rt: RuntimeDep, viewer: ReaderDep,
    topic: Annotated[str | None, Query(max_length=200)] = None,
    entity: Annotated[str | None, Query(max_length=200)] = None,
    outlet: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    min_articles: Annotated[str | None, Query(max_length=6)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    filters = Filters()
    topic_, entity_, outlet_ = (filters.text("topic", topic), filters.text("entity", entity),
                                filters.text("outlet", outlet))
    start, end = filters.day("since", since), filters.day("until", until, end=True)
    smallest = int(min_articles) if min_articles and min_articles.isdigit() else 1
    if smallest > 1:
        filters.values["min_articles"] = str(smallest)
    entities = resolve_entity(entity_) if entity_ else ()
    labels = topic_labels(rt)
    if topic_ and labels and topic_ not in labels:
        filters.problems.append(f"there is no topic {topic_!r}; see the list of topics")
    docs, more, capped = find_stories(rt, topic=topic_, entities=entities, outlet=outlet_,
                                      since=start, until=end, min_articles=smallest, page=page)
    with using("search index"):
        outlets = rt.index.facets(SearchRequest(), ("source",), 50).get("source", [])
    return render(request, "stories.html", nav="stories", cards=cards(rt, docs, labels),
                  filters=filters, page=page, more=more, capped=capped, max_scan=MAX_SCAN,
                  labels=labels, outlets=[o for o, _n in outlets], sizes=SIZES)
