"""New editions of the demo site for the fault tests: the outlets publish new articles and
revise some old ones between rounds of runs, so every round has real work in every stage."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

from ingest.urls import canonicalize
from newswatch.demo.catalog import OUTLETS, DemoArticle
from newswatch.demo.site import DemoSite, build_routes

PLACES = ("Tobruk", "Riverton", "Carlton", "Benghazi", "Vladivostok", "Geneva", "Nairobi")
REVISION_NOTE = "Update (edition"  # how a correction paragraph starts
OFFICIALS = ("port authority", "coast guard", "finance ministry", "city council", "UN panel")


def publish(site: DemoSite, articles: list[DemoArticle]) -> None:
    """Serve ``articles`` on the running demo site: feeds, home pages and article pages."""
    for outlet in OUTLETS:
        server = site.servers[outlet.slug]
        for path, route in build_routes(outlet, server.base_url, articles).items():
            server.set(path, route)


def next_edition(
    articles: list[DemoArticle], edition: int, rng: random.Random, new: int = 4, revised: int = 2
) -> list[DemoArticle]:
    """``articles`` plus ``new`` follow-up articles (each a new development of an existing
    story, from another outlet) and ``revised`` existing articles with an added paragraph
    (their feed summary changes too, as real feeds do)."""
    current = list(articles)
    for i in range(new):
        base = rng.choice(articles)
        outlet = rng.choice([o.slug for o in OUTLETS if o.slug != base.outlet])
        place, who = rng.choice(PLACES), rng.choice(OFFICIALS)
        fresh = (
            f"On day {edition} the {who} in {place} said {rng.randint(3, 900)} more cases had "
            f"been recorded and that a further review, number {edition}-{i}, would report in "
            f"{rng.randint(2, 11)} weeks."
        )
        current.append(dataclasses.replace(
            base,
            outlet=outlet,
            slug=f"{base.slug}-edition-{edition}-{i}",
            title=f"{base.title}: {who} in {place} gives new figures",
            published=base.published + timedelta(hours=edition, minutes=i),
            summary=fresh,
            role="",
            paragraphs=(fresh, *base.paragraphs[: max(2, len(base.paragraphs) // 2)]),
        ))
    for index in rng.sample(range(len(articles)), revised):  # articles already out
        old = current[index]
        note = (f"{REVISION_NOTE} {edition}): this article was corrected; an earlier version "
                f"gave the wrong figure for {rng.choice(PLACES)}.")
        current[index] = dataclasses.replace(
            old, summary=f"{old.summary} [updated, edition {edition}]",
            paragraphs=(*old.paragraphs, note),
        )
    return current


def served_urls(site: DemoSite, articles: list[DemoArticle]) -> dict[str, DemoArticle]:
    """The canonical URL of every served article, with the article."""
    return {canonicalize(site.article_url(a)): a for a in articles}
