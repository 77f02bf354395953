"""The watch form's fields, as the browser sends them (text, lists one per line) and as
``alerts.watches`` takes them: numbers checked with a message a person can act on."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts.watches import Changes
from core.errors import InvalidRequestError
from core.models import WATCH_MODES, Watch


class WatchForm(BaseModel):
    """What the create and edit forms send; every field text, as typed."""

    model_config = ConfigDict(extra="ignore")  # csrf, and fields of other forms
    name: str = Field(default="", max_length=200)
    emails: str = Field(default="", max_length=8000)  # one per line (or comma-separated)
    destinations: str = Field(default="", max_length=8000)
    remove_destinations: list[str] = Field(default_factory=list, max_length=20)
    query: str = Field(default="", max_length=2000)
    entities: str = Field(default="", max_length=4000)
    topic: str = Field(default="", max_length=64)
    source: str = Field(default="", max_length=500)
    language: str = Field(default="", max_length=16)
    story_id: str = Field(default="", max_length=200)
    mode: str = Field(default="immediate", max_length=20)
    min_novelty: str = Field(default="0.3", max_length=20)
    backfill_days: str = Field(default="", max_length=10)


def values_from(form: WatchForm) -> dict[str, Any]:
    """The form's mode, threshold and backfill, checked."""
    if form.mode not in WATCH_MODES:
        raise InvalidRequestError(f"choose a mode: {', '.join(WATCH_MODES)}")
    try:
        novelty = float(form.min_novelty.strip() or "0.3")
    except ValueError:
        raise InvalidRequestError(
            f"the minimum novelty must be a number from 0 to 1, not {form.min_novelty!r}"
        ) from None
    if not math.isfinite(novelty) or not 0.0 <= novelty <= 1.0:
        raise InvalidRequestError("the minimum novelty must lie between 0 and 1")
    days = form.backfill_days.strip()
    if days and not days.isdigit():
        raise InvalidRequestError(f"look back a whole number of days, not {days!r}")
    return {"mode": form.mode, "min_novelty": novelty, "backfill_days": int(days or 0)}


def form_of(watch: Watch) -> WatchForm:
    """The edit form of ``watch``, filled in."""
    return WatchForm(
        name=watch.name, emails="\n".join(watch.recipients), query=watch.query,
        entities="\n".join(watch.entity_names or watch.entities), topic=watch.topic or "",
        source=watch.source or "", language=watch.language or "",
        story_id=watch.story_id or "", mode=watch.mode, min_novelty=f"{watch.min_novelty:g}",
    )


def changes_from(form: WatchForm, watch: Watch, lines: Callable[[str], list[str]]) -> Changes:
    """What the edit form changes: every field it shows is given (an empty one clears);
    destinations are added and removed, since the page shows them redacted."""
    values = values_from(form)
    search: dict[str, Any] = {}
    if not watch.story_id:  # a followed story has no query or filters
        search = {"query": form.query, "entities": lines(form.entities), "topic": form.topic,
                  "source": form.source, "language": form.language}
    return Changes(
        name=form.name, emails=lines(form.emails), mode=values["mode"],
        min_novelty=values["min_novelty"], add_destinations=lines(form.destinations),
        remove_destinations=[d for d in form.remove_destinations if d.strip()], **search,
    )
