"""Same-kind events in one week stay apart; a follow-up still joins its event; a site's
notice body joins nothing; the decision is explained. Real runs over a loopback feed.

The articles are our own: five different events about Iranian drones and Russia in one
week (a shipment, factory production, a strike on Odesa, an EU sanctions package, a
coast-guard seizure), then a follow-up of the strike.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from fixtures.pages import article_page, rss

from core.runtime import Runtime
from core.settings import Settings
from ingest.urls import canonicalize
from newswatch.cli import cli
from newswatch.demo.server import Route, SiteServer
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime
from stories.decision import continues, decide, probabilities, shipped
from stories.evidence import FEATURES
from stories.store import StoryStore

pytest.importorskip("spacy", reason="story tests need the nlp extra (spaCy)")

EVENTS = {
    "shipment": ("Cargo flights carried a new batch of Shahed drones from Iran to Russia", [
        "Four Il-76 cargo flights landed at Hmeimim-free routes near Astrakhan on Monday carrying "
        "about 300 Shahed-136 attack drones from Iran, according to two officials in Kyiv.",
        "The shipment, the largest since the spring, was loaded at Bandar Abbas and routed over "
        "the Caspian Sea, the officials said, citing flight records and intercepted messages.",
        "Iran's foreign ministry denied sending any weapons and called the report invented.",
    ], "Mon, 09 Nov 2026 07:00:00 GMT"),
    "factory": ("Alabuga plant now turns out 250 drones a week, satellite images suggest", [
        "The drone factory at the Alabuga special economic zone in Tatarstan has doubled its "
        "floor space since January, commercial satellite images published on Tuesday show.",
        "Analysts at a Washington research institute estimate the plant can now assemble 250 "
        "Geran-2 drones a week, a Russian copy of the Iranian Shahed, with Chinese engines.",
        "Students from local colleges work on the assembly lines, a former employee said.",
    ], "Tue, 10 Nov 2026 09:00:00 GMT"),
    "strike": ("Drone strike on Odesa port kills three and sets grain silo ablaze", [
        "A swarm of at least 40 drones struck the port of Odesa overnight into Wednesday, killing "
        "three dock workers and setting a grain silo on fire, Governor Oleh Kiper said.",
        "Ukraine's air force said it shot down 31 of the drones over the Black Sea coast.",
        "Firefighters worked until dawn at the Chornomorsk terminal, where two ships were damaged.",
    ], "Wed, 11 Nov 2026 06:00:00 GMT"),
    "sanctions": ("EU agrees 22nd sanctions package aimed at drone component suppliers", [
        "European Union ambassadors agreed on Thursday a 22nd package of sanctions against Russia, "
        "listing 45 companies in Turkey, the UAE and Hong Kong that sell drone parts to Moscow.",
        "The package also bans the export of small petrol engines and navigation modules, "
        "diplomats in Brussels said. Hungary dropped its objection after a late compromise.",
        "Kaja Kallas said the measures would make every drone more expensive to build.",
    ], "Thu, 12 Nov 2026 12:00:00 GMT"),
    "seizure": ("Coast guard seizes tanker suspected of carrying drone parts to Russia", [
        "The Estonian coast guard boarded and detained the tanker Baltic Pearl in the Gulf of "
        "Finland on Friday, saying crates in its hold held electronics for attack drones.",
        "The ship, sailing under the flag of Gabon, had left the Iranian port of Bushehr in "
        "October and was bound for Ust-Luga, the navy's spokesman Peeter Kuimet said.",
        "Russia's embassy in Tallinn called the detention an act of piracy.",
    ], "Fri, 13 Nov 2026 10:00:00 GMT"),
}
FOLLOW_UP = ("Odesa mourns dock workers as port resumes grain loading after drone strike", [
    "Odesa buried two of the three dock workers killed in Wednesday's drone strike on the port, "
    "Governor Oleh Kiper said on Friday, as loading resumed at the Chornomorsk terminal.",
    "The damaged grain silo will take a month to repair; the port authority put losses at "
    "12 million dollars. The air force said 31 of 40 drones were shot down.",
    "Investigators said the drones were launched from the Kursk region.",
], "Fri, 13 Nov 2026 16:00:00 GMT")
NOTICE = ("We have sent you a verification email. Please verify your email address to continue "
          "reading. Already a subscriber? Sign in to continue.")
STUB_TITLES = ["Man shot outside bar on Elm Street", "Teen wounded in drive-by near school",
               "Police investigate shooting at gas station"]


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = open_runtime(settings)
    yield runtime
    runtime.close()


def _serve(site: SiteServer, pages: dict[str, tuple[str, list[str], str]]) -> None:
    items = []
    for slug, (title, paragraphs, date) in pages.items():
        site.set(f"/{slug}.html", Route(article_page(title, paragraphs, site="Desk Wire").encode()))
        items.append({"title": title, "link": site.url(f"/{slug}.html"), "date": date})
    site.set("/feed.xml", Route(rss("Desk Wire", items), "application/rss+xml"))


def _story_of(rt: Runtime, site: SiteServer, slug: str) -> str:
    article_id = rt.store.article_id_for_url(canonicalize(site.url(f"/{slug}.html")))
    assert article_id, slug
    story_id = StoryStore(rt.store).story_fields(article_id)["story_id"]
    assert story_id
    return str(story_id)


def test_five_drone_events_in_one_week_are_five_stories_and_a_follow_up_joins(rt: Runtime) -> None:
    with SiteServer() as site:
        _serve(site, EVENTS)
        add_feed(rt, site.url("/feed.xml"))
        run_once(rt)
        stories = {slug: _story_of(rt, site, slug) for slug in EVENTS}
        assert len(set(stories.values())) == 5, stories

        _serve(site, {**EVENTS, "follow": FOLLOW_UP})
        run_once(rt, force=True)
        assert _story_of(rt, site, "follow") == stories["strike"]

    # --why names the decision and what came close
    result = CliRunner().invoke(cli, ["story", stories["strike"], "--why"],
                                env={"NEWSWATCH_HOME": str(rt.settings.home),
                                     "NEWSWATCH_DATABASE_URL": rt.settings.database_url})
    assert result.exit_code == 0, result.output
    assert "joined at probability" in result.output
    assert "same words" in result.output or "headline" in result.output
    detail = StoryStore(rt.store).story_fields(
        rt.store.article_id_for_url(canonicalize(site.url("/follow.html"))) or "")["detail"]["why"]
    assert detail["probability"] >= rt.settings.story_threshold
    assert set(detail["features"]) == set(FEATURES) and detail["decided_by"]


def test_a_notice_body_makes_no_duplicates_and_joins_no_story(rt: Runtime) -> None:
    pages = {f"stub{n}": (title, [NOTICE], f"Mon, {9 + 7 * n:02d} Nov 2026 08:00:00 GMT")
             for n, title in enumerate(STUB_TITLES)}
    with SiteServer() as site:
        _serve(site, pages)
        add_feed(rt, site.url("/feed.xml"))
        run_once(rt)
        stories = StoryStore(rt.store)
        ids = [rt.store.article_id_for_url(canonicalize(site.url(f"/{slug}.html"))) for slug in pages]
        fields = [stories.story_fields(i or "") for i in ids]
    assert all(f["duplicate_of"] is None for f in fields)
    assert len({f["story_id"] for f in fields}) == 3


def test_decision_contributions_add_up_and_dormant_stories_need_specific_actors() -> None:
    model = shipped()
    assert model.features == FEATURES and model.trees
    strong = {name: 0.0 for name in FEATURES}
    strong.update(similarity=0.5, text=0.6, entities=0.6, title=0.6, lede=0.5, people=0.8,
                  people_both=1.0, places=0.8, places_both=1.0, figures=0.5, figures_both=1.0)
    weak = {name: 0.0 for name in FEATURES}
    weak.update(text=0.05, similarity=0.03, gap=2.0)
    yes, no = decide(model, strong), decide(model, weak)
    assert yes.probability > model.threshold > no.probability
    import math

    base = model.base + sum(model.learning_rate * t.value[0] for t in model.trees)
    logit = base + sum(yes.contributions.values())
    assert abs(1 / (1 + math.exp(-logit)) - yes.probability) < 1e-9
    assert probabilities(model, [strong, weak]) == pytest.approx([yes.probability, no.probability])
    assert continues(model, strong, yes.probability)
    topic_only = {**strong, "people": 0.0, "places": 0.0}
    assert not continues(model, topic_only, decide(model, topic_only).probability)
