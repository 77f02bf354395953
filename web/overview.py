"""The Overview page, where a new user starts: the stories developing now (covered by
the most outlets within :data:`DEVELOPING_HOURS` of the newest development), articles per
day by topic, and the top entities and outlets of the period, drawn on the server.

Everything comes from the search index (``facets``, ``search``, ``list_stories``), so the
page is the same on both backends; the period ends at the newest article, so an archive
that stopped growing still shows what it holds."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.access import RuntimeDep, using
from api.search import _facet_json, _index_facets
from core.models import SearchRequest, StoryDoc
from core.runtime import Runtime
from web import charts
from web.access import ReaderDep, WebRoute
from web.params import topic_labels
from web.render import render
from web.stories import cards

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PERIODS = (7, 30, 90)  # days the charts may cover
TOPIC_ROWS = 8
TOP_SHOWN = 10
DEVELOPING_HOURS = 72
DEVELOPING_SHOWN = 5
RECENT_STORIES = 50  # newest stories among which the developing ones are picked


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def developing(docs: list[StoryDoc]) -> list[StoryDoc]:
    """The stories of more than one article whose last development is within
    :data:`DEVELOPING_HOURS` of the newest one, most outlets first, then most articles,
    then newest."""
    if not docs:
        return []
    newest = max(_utc(d.last_updated) for d in docs)
    recent = [d for d in docs if len(d.article_ids) > 1
              and _utc(d.last_updated) >= newest - timedelta(hours=DEVELOPING_HOURS)]
    recent.sort(key=lambda d: (-len(set(d.outlets)), -len(d.article_ids),
                               -_utc(d.last_updated).timestamp(), d.id))
    return recent[:DEVELOPING_SHOWN]


def daily_topics(rt: Runtime, days: list[date]) -> tuple[Counter[date], dict[str, Counter[date]]]:
    """Articles per day, in all and by topic (an article counts once for each topic)."""
    totals: Counter[date] = Counter()
    topics: dict[str, Counter[date]] = {}
    with using("search index"):
        for day in days:
            start = datetime.combine(day, time.min).replace(tzinfo=UTC)
            request = SearchRequest(since=start, until=datetime.combine(day, time.max)
                                    .replace(tzinfo=UTC), limit=1)
            totals[day] = rt.index.search(request).total
            if not totals[day]:
                continue
            for tag, n in rt.index.facets(request, ("topics",), 50).get("topics", []):
                topics.setdefault(tag, Counter())[day] = n
    return totals, topics


def overview_context(rt: Runtime, period: int) -> dict[str, Any]:
    labels = topic_labels(rt)
    with using("search index"):
        newest = rt.index.search(SearchRequest(limit=1))
        recent = rt.index.list_stories(limit=RECENT_STORIES)
    if not newest.total:
        return {"empty": True, "labels": labels}
    hit = newest.hits[0]
    last = charts.day_of(hit.published) if hit.published else rt.clock().date()
    days = [last - timedelta(days=i) for i in range(period - 1, -1, -1)]
    totals, topics = daily_topics(rt, days)
    first = next((d for d in days if totals[d]), last)
    days = [d for d in days if d >= first]  # from the first day with articles
    peak = max(totals.values(), default=0)
    ranked = sorted(topics, key=lambda t: (-sum(topics[t].values()), t))[:TOPIC_ROWS]
    topic_rows = [(t, labels.get(t, t), sum(topics[t].values()),
                   charts.per_day(topics[t], days, width=360, height=26, top=peak))
                  for t in ranked]
    window = SearchRequest(since=datetime.combine(days[0], time.min).replace(tzinfo=UTC))
    counted = _index_facets(rt, window, TOP_SHOWN) or {}
    facets = _facet_json(rt, counted)
    return {
        "empty": False, "labels": labels, "period": period, "periods": PERIODS,
        "first": days[0], "last": last, "articles": sum(totals.values()),
        "everything": newest.total,
        "all_chart": charts.per_day(totals, days, width=360, height=40),
        "topic_rows": topic_rows,
        "entities": charts.rows([(e["value"], e.get("name", e["value"]), e["count"])
                                 for e in facets.get("entities", [])]),
        "outlets": charts.rows([(o["value"], o["value"], o["count"])
                                for o in facets.get("source", [])]),
        "developing": cards(rt, developing(recent), labels),
        "developing_hours": DEVELOPING_HOURS,
    }


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    """The server's address opens the web app."""
    return RedirectResponse("/web/", status_code=307)


@router.get("/web", include_in_schema=False)
def web_root() -> RedirectResponse:
    return RedirectResponse("/web/", status_code=307)


@router.get("/web/", response_class=HTMLResponse)
def overview_page(request: Request, rt: RuntimeDep, viewer: ReaderDep,
                  days: Annotated[int, Query(ge=1, le=366)] = 30) -> HTMLResponse:
    period = days if days in PERIODS else 30
    return render(request, "overview.html", nav="overview", **overview_context(rt, period))
