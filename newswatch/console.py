"""Human-readable output for the CLI: run reports, search hits, articles, a progress bar."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape as escape_markup
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from core.models import Article, Enrichment, Feed, Revision, RunReport, SearchHit, SearchResult
from enrich.languages.about import about
from ingest.health import FeedHealth
from search.backend import split_snippet

# What must never reach a terminal raw from the outside world: C0 and C1 control characters
# (ESC starts clear-screen, window-title and OSC 8 hyperlink sequences; CSI is U+009B) and the
# bidirectional overrides and isolates that make text display in another order than it reads.
# Line breaks and tabs stay (article text has paragraphs).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with every control and bidi-override character shown as an escape (``\\x1b``,
    ``\\u202e``) instead of acting on the terminal."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)


def escape(text: str) -> str:
    """The one way outside text reaches the terminal: made visible, then markup-escaped."""
    return escape_markup(visible(text))


class RichProgress:
    """The pipeline's Progress protocol as a rich progress bar on stderr (TTY only)."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._task: Any = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, label: str, total: int) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(label, total=total)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)


def print_json(console: Console, data: Any) -> None:
    console.print_json(json.dumps(data, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_report(console: Console, report: RunReport) -> None:
    console.print(
        f"Polled [bold]{report.feeds_polled}[/] feed(s) ({report.feeds_failed} failed) "
        f"in {report.seconds:.1f}s."
    )
    console.print(
        f"Articles: [green]{report.new} new[/], [cyan]{report.updated} updated[/], "
        f"{report.unchanged} unchanged, [red]{report.failed} failed[/]; "
        f"{report.indexed} indexed."
    )
    if report.pages_retried:
        console.print(
            f"Slow hosts: {report.pages_retried} page(s) tried again after the rest"
            + (f", [yellow]{report.pages_deferred} deferred to the feed's next poll[/]"
               if report.pages_deferred else ", all fetched")
            + "."
        )
    if report.alerts or report.sent or report.deferred:
        console.print(
            f"Alerts: {report.alerts} new; emails: {report.sent} sent"
            + (f", [yellow]{report.deferred} waiting for a retry[/]" if report.deferred else "")
            + "."
        )
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if report.feeds:
        table = Table("feed", "status", "entries", "new", "updated", "unchanged", "failed")
        for f in report.feeds:
            status = f.status if not f.error else f"{f.status}: {f.error}"
            table.add_row(
                escape(f.title or f.feed_url), escape(status), str(f.entries), str(f.new), str(f.updated),
                str(f.unchanged), str(f.failed),
            )
        console.print(table)
    for failure in report.failures:
        console.print(f"  [red]failed[/] {escape(failure.url)}: {escape(failure.reason)}")


def print_feeds(console: Console, feeds: list[Feed], articles: dict[int, int]) -> None:
    if not feeds:
        console.print("No feeds yet. Add one with: newswatch feeds add URL")
        return
    table = Table("id", "feed", "title", "articles", "last success", "last error")
    for f in feeds:
        table.add_row(
            str(f.id), escape(f.url), escape(f.title), str(articles.get(f.id, 0)),
            _when(f.last_success_at), escape(f.last_error or ("paused" if f.paused else "")),
        )
    console.print(table)


HEALTH_LEGEND = (
    "ok: polls work and it publishes · quiet: polls work but nothing new for 3× its usual gap "
    "(moved or stopped?) · failing: the last poll failed · unhealthy: NEWSWATCH_UNHEALTHY_AFTER "
    "polls in a row failed · new: not polled yet · paused: not polled until resumed. "
    "polled: the last poll that worked; newest item: its newest entry's date; items/day: "
    "entries published in the last 7 days, per day; every: the polling interval now (it "
    "adapts to how often the feed publishes)."
)


def print_health(console: Console, report: list[FeedHealth], now: datetime) -> None:
    if not report:
        console.print("No feeds yet. Add one with: newswatch feeds add URL")
        return
    table = Table(
        Column("id", no_wrap=True, justify="right"), Column("feed", ratio=1, min_width=12),
        Column("state", no_wrap=True), Column("polled", no_wrap=True),
        Column("newest item", no_wrap=True), Column("items/day", justify="right"),
        Column("every", no_wrap=True), Column("last error", ratio=1),
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
    )
    colours = {"ok": "green", "quiet": "yellow", "failing": "yellow", "unhealthy": "red",
               "paused": "dim", "new": "cyan"}
    for h in report:
        state = f"[{colours.get(h.state, 'default')}]{h.state}[/]"
        if h.consecutive_failures:
            state += f"\n{h.consecutive_failures} failed"
        table.add_row(
            str(h.feed_id), escape(h.title or h.url), state, ago(h.last_success, now),
            ago(h.last_item_at, now), f"{h.items_per_day:g}", _duration(h.interval_seconds),
            escape(h.last_error),
        )
    console.print(table)
    console.print(f"[dim]{HEALTH_LEGEND}[/]", soft_wrap=False)


def ago(value: datetime | None, now: datetime) -> str:
    """How long before ``now``: ``just now``, ``5 min ago``, ``3 h ago``, ``17 d ago``."""
    if value is None:
        return "never"
    seconds = (now - value).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def _duration(seconds: int) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds // 60} min"


def print_hits(console: Console, query: str, result: SearchResult, offset: int) -> None:
    if not result.hits:
        console.print(f"No articles match {escape(repr(query))}.")
        return
    shown = f"{offset + 1}–{offset + len(result.hits)}"
    console.print(f"{result.total} article(s) match {escape(repr(query))}; showing {shown}:")
    for hit in result.hits:
        console.print(
            f"\n[bold]{escape(hit.title)}[/]  [dim]{escape(hit.source)} · "
            f"{_when(hit.published)} · id {hit.id}[/]"
        )
        console.print(f"  {escape(hit.url)}")
        if hit.snippet:
            console.print(f"  {highlighted(hit.snippet)}")


def highlighted(snippet: str) -> str:
    """A snippet as console markup: its matched words bold (plain text when the output is
    not a terminal, as rich writes no styles there), everything else escaped."""
    text, spans = split_snippet(" ".join(snippet.split()))
    parts, at = [], 0
    for start, end in spans:
        parts += [escape(text[at:start]), f"[bold]{escape(text[start:end])}[/bold]"]
        at = end
    return "".join([*parts, escape(text[at:])])


def hit_dict(hit: SearchHit) -> dict[str, Any]:
    """A search hit as the CLI's ``--json`` and the API give it: ``snippet`` with the
    index's ``**`` markers, ``snippet_text`` without them and ``highlights``, the
    ``[start, end)`` offsets of the matched words in ``snippet_text``."""
    text, spans = split_snippet(hit.snippet)
    return {**vars(hit), "snippet_text": text, "highlights": [list(span) for span in spans]}


def article_dict(
    article: Article, revisions: list[Revision], enrichment: Enrichment
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": article.id,
        "url": article.url,
        "urls": list(article.urls),
        "title": article.title,
        "source": article.source,
        "author": article.author,
        "published": article.published_at,
        "published_source": article.published_source,
        "language": article.language,
        "extraction": article.method,
        "status": article.status,
        "first_seen": article.first_seen_at,
        "updated": article.updated_at,
        "revision": article.revision,
        "text": article.text,
        "revisions": [
            {"revision": r.revision, "title": r.title, "fetched_at": r.fetched_at,
             "text_hash": r.text_hash}
            for r in revisions
        ],
        "enrichment_note": enrichment.skipped,
        "entities": [
            {"id": e.id, "name": e.name, "type": e.type, "mentions": e.mentions,
             "salience": e.salience, "in_title": e.in_title, "first_pos": e.first_pos,
             "surfaces": list(e.surfaces)}
            for e in enrichment.entities
        ],
        "topics": [{"tag": t.tag, "score": t.score, "evidence": t.evidence} for t in enrichment.topics],
        "quotes": [
            {"speaker": q.speaker, "speaker_id": q.speaker_id, "text": q.text}
            for q in enrichment.quotes
        ],
    }
    # a non-English article: its language by name, its title as written, and the English
    # names of its entities and topics
    if info := about(article.language, article.title, enrichment.entities, enrichment.topics):
        data["about"] = info.as_dict()
    return data


def print_article(
    console: Console, article: Article, revisions: list[Revision], enrichment: Enrichment
) -> None:
    console.print(f"[bold]{escape(article.title)}[/]")
    if info := about(article.language, article.title, enrichment.entities, enrichment.topics):
        console.print(escape(info.header()), highlight=False)
        if summary := info.summary():
            console.print(escape(summary), highlight=False)
    console.print(f"id:         {article.id}")
    console.print(f"url:        {escape(article.url)}")
    console.print(f"source:     {escape(article.source)}")
    if article.author:
        console.print(f"author:     {escape(article.author)}")
    console.print(f"published:  {_when(article.published_at)} (from {article.published_source})")
    console.print(f"extraction: {article.method}; language: {article.language or 'unknown'}")
    console.print(f"revisions:  {', '.join(f'{r.revision} ({_when(r.fetched_at)})' for r in revisions)}")
    if enrichment.skipped:
        console.print(f"note:       {escape(enrichment.skipped)}")
    if enrichment.topics:
        tags = ", ".join(f"{t.tag} ({t.score:.2f})" for t in enrichment.topics)
        console.print(f"topics:     {escape(tags)}")
        names = {e.id: e.name for e in enrichment.entities}
        for t in enrichment.topics:
            fired = "; ".join(evidence_lines(t.evidence, names))
            console.print(f"            [dim]{escape(t.tag)}: {escape(fired)}[/]")
    if enrichment.entities:
        top = ", ".join(f"{e.name} [{e.type}] ×{e.mentions}" for e in enrichment.entities[:12])
        console.print(f"entities:   {escape(top)}")
    for q in enrichment.quotes:
        console.print(f"quote:      {escape(q.speaker)}: “{escape(q.text)}”")
    console.print()
    console.print(escape(article.text))


def evidence_lines(evidence: dict[str, Any], names: dict[str, str]) -> list[str]:
    """Why a topic was tagged, for people: the words and phrases found (without the
    taxonomy's ``=`` exact-form mark), the linking phrase, and the entities by name."""
    words: list[str] = []
    for key in ("terms", "phrases"):
        value = evidence.get(key) or {}
        found = list(value) if isinstance(value, dict | list) else [str(value)]
        words += [" ".join(w.lstrip("=") for w in str(f).split()) for f in found]
    lines = [f"words {', '.join(dict.fromkeys(words))}"] if words else []
    if evidence.get("link"):  # the sentence that links the entities: its start
        link = " ".join(str(evidence["link"]).split())
        lines.append(f"linked in “{link[:60].rstrip()}{'…' if len(link) > 60 else ''}”")
    entities = [entity_name(str(e), names) for e in evidence.get("entities") or []]
    if entities:
        lines.append(f"entities {', '.join(entities)}")
    return lines


def entity_name(entity_id: str, names: dict[str, str]) -> str:
    """An entity's name: from ``names``, else the gazetteer's, else the id itself."""
    if entity_id in names:
        return names[entity_id]
    from enrich.gazetteer import Gazetteer

    for entry in Gazetteer.load().entries():
        if entry.id == entity_id:
            return entry.name
    return entity_id


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def story_dict(
    row: Any, articles: list[Article], details: dict[str, dict[str, Any]] | None = None,
    enrichments: dict[str, Enrichment] | None = None,
) -> dict[str, Any]:
    """A story as the CLI and API show it; ``details`` adds each article's why and novelty,
    ``enrichments`` (by article id) what a non-English article is about, in English."""
    profile = row.profile or {}
    names = profile.get("entity_names", {})
    weights = profile.get("entities", {})
    top = sorted(weights, key=lambda e: -weights[e])[:8]
    data: dict[str, Any] = {
        "id": row.id,
        "title": row.title,
        "article_ids": [a.id for a in articles],
        "article_count": len(articles),
        "outlets": list(dict.fromkeys(a.source for a in articles)),
        "first_seen": row.first_seen,
        "last_updated": row.last_updated,
        "top_entities": [{"id": e, "name": names.get(e, e)} for e in top],
    }
    if details is not None:
        timeline = []
        for a in articles:
            d = details[a.id]
            why = dict(d["detail"].get("why", {}))
            if why.get("shared_entities"):
                why["shared_entities"] = [names.get(e, e) for e in why["shared_entities"]]
            why["refused"] = [
                {**r, "shared_entities": [names.get(e, e) for e in r.get("shared_entities", [])]}
                for r in why.get("refused", [])
            ]
            item = {
                "article_id": a.id, "title": a.title, "source": a.source, "url": a.url,
                "published": a.published_at, "duplicate_of": d["duplicate_of"],
                "novelty": d["novelty"], "additions": d["detail"].get("additions", {}),
                "why": why,
            }
            e = (enrichments or {}).get(a.id)
            if e is not None and (info := about(a.language, a.title, e.entities, e.topics)):
                item["about"] = info.as_dict()
            timeline.append(item)
        data["timeline"] = timeline
    return data


def print_stories(console: Console, stories: list[dict[str, Any]]) -> None:
    if not stories:
        console.print("No stories yet. Run: newswatch run")
        return
    table = Table("story", "title", "articles", "outlets", "last update")
    for s in stories:
        table.add_row(s["id"], escape(s["title"]), str(s["article_count"]),
                      escape(", ".join(s["outlets"])), _when(s["last_updated"]))
    console.print(table)


def print_story(console: Console, story: dict[str, Any], why: bool) -> None:
    console.print(f"[bold]{escape(story['title'])}[/]  [dim]{story['id']}[/]")
    console.print(f"{story['article_count']} article(s) from {escape(', '.join(story['outlets']))}; "
                  f"first seen {_when(story['first_seen'])}, last update {_when(story['last_updated'])}")
    names = ", ".join(e["name"] for e in story["top_entities"])
    console.print(f"entities: {escape(names)}\n")
    for item in story["timeline"]:
        novelty = item["novelty"]
        flag = " [dim](near-duplicate of " + item["duplicate_of"] + ")[/]" if item["duplicate_of"] else ""
        console.print(f"{_when(item['published'])}  [bold]{escape(item['source'])}[/]: "
                      f"{escape(item['title'])}  id {item['article_id']}{flag}")
        if novelty is not None:
            console.print(f"    novelty {novelty:.2f}: {escape(_additions(item['additions']))}")
        if why:
            console.print(f"    why: {escape(_why(item['why']))}")


def _additions(additions: dict[str, Any]) -> str:
    if additions.get("new_story"):
        return "first article of the story"
    if additions.get("near_duplicate"):
        return "nothing new (near-duplicate)"
    parts = []
    if additions.get("new_outlet"):
        parts.append(f"new outlet {additions['new_outlet']}")
    for key, label in (("new_speakers", "new speakers"), ("new_entities", "new entities"),
                       ("new_numbers", "new figures")):
        if additions.get(key):
            parts.append(f"{label} {', '.join(map(str, additions[key][:5]))}")
    if additions.get("new_sentence_count"):
        parts.append(f"{additions['new_sentence_count']} new sentence(s)")
    return "; ".join(parts) or "nothing new"


FEATURE_LABELS = {  # what the model's features mean, for people (stories/evidence.py)
    "similarity": "blended similarity", "text": "same words", "entities": "same entities",
    "title": "headline", "lede": "lede", "people": "same people",
    "people_both": "both name people", "places": "same places",
    "places_both": "both name places", "orgs": "same organisations",
    "orgs_both": "both name organisations", "figures": "same figures",
    "figures_both": "both give figures", "dates": "same days mentioned",
    "dates_both": "both mention days", "gap": "time gap",
    # across languages (stories/crosslingual.py)
    "xl_entities": "cross-lingual: same entities", "xl_concepts": "same concepts",
    "xl_figures": "same figures", "xl_dates": "same days mentioned",
}


def _why(why: dict[str, Any]) -> str:
    lines = []
    if "probability" in why:  # the model's decision (stories/decision.py)
        head = (f"near-duplicate of {why['duplicate_of']} (similarity {why['similarity']:.2f}); "
                if "duplicate_of" in why else "")
        lines.append(f"{head}joined at probability {why['probability']:.2f}: "
                     f"{_decided_by(why)}{_shared(why)}")
        if why.get("linked_by"):  # decided across languages: what linked it
            lines.append(str(why["linked_by"]))
    elif "duplicate_of" in why:
        lines.append(f"near-duplicate of {why['duplicate_of']} (similarity {why['similarity']:.2f})")
    elif "total" in why:  # decided before the model (similarity threshold)
        shared = ", ".join(why.get("shared_entities", [])[:6])
        lines.append(f"similarity {why['total']:.2f} = text {why['text']:.2f} and entities "
                     f"{why['entities']:.2f}, time factor {why['time_factor']:.2f}; shared: {shared}")
    else:
        lines.append("started the story" + ("" if why.get("refused") else ": no story came close"))
    if why.get("boilerplate_body"):
        lines.append("its body is a site notice or stub: decided on the headline alone")
    for refusal in why.get("refused", []):
        lines.append(f"refused {refusal['story_id']} \"{refusal['title'][:60]}\" at "
                     f"{refusal['probability']:.2f} ({refusal['reason']}): "
                     f"{_decided_by(refusal)}{_shared(refusal)}")
    return "\n         ".join(lines)


def _decided_by(why: dict[str, Any]) -> str:
    values = why.get("features", {})
    parts = []
    for name, push in why.get("decided_by", []):
        value = values.get(name)
        shown = f" {value:.2f}" if isinstance(value, int | float) else ""
        if name == "gap" and isinstance(value, int | float):  # stored as log(1 + days)
            shown = f" {math.expm1(value):.1f} days"
        parts.append(f"{FEATURE_LABELS.get(name, name)}{shown} ({push:+.1f})")
    return ", ".join(parts) or "no evidence either way"


def _shared(why: dict[str, Any]) -> str:
    shared = why.get("shared_entities", [])[:5]
    return f"; shared: {', '.join(shared)}" if shared else ""
