from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.models import Entity, Quote
from stories.novelty import assess, numbers, remember, sentences
from stories.similarity import Params, Profile, absorb, keys_for, similarity, term_counts, tfidf

NOW = datetime(2026, 11, 12, 12, tzinfo=UTC)
BASE = ("Two cargo ships carried 180,000 artillery shells from Nampo to Tobruk, officials said. "
        "The crates were loaded onto freighters bound for Novorossiysk.")


def _entity(id_: str, name: str, salience: float) -> Entity:
    return Entity(id_, name, "place", 2, 0, False, salience)


def _profile() -> Profile:
    vector = tfidf(term_counts("Shells to Russia", BASE), {}, 10)
    profile = absorb(Profile(), vector, [_entity("Q423", "North Korea", 1.0),
                                         _entity("Q159", "Russia", 0.9)])
    return remember(profile, BASE, [], "The Daily Ledger")


def test_similarity_parts_and_time_decay() -> None:
    profile = _profile()
    vector = tfidf(term_counts("Shells reach Russia", BASE), {}, 10)
    entities = {"Q423": 1.0, "Q159": 0.8}
    near = similarity(vector, entities, NOW, profile, NOW, Params())
    later = similarity(vector, entities, NOW + timedelta(days=5), profile, NOW, Params())
    other = similarity(tfidf(term_counts("Cup final", "The home side won the cup final 2-1."),
                             {}, 10), {"Q1": 1.0}, NOW, profile, NOW, Params())
    assert near.total > 0.5 and near.time_factor == 1.0
    assert later.total < near.total and later.time_factor < 0.3
    assert other.total < 0.05 and other.shared_entities == ()
    assert {"e:Q423", "e:Q159"} <= set(keys_for(profile.terms, profile.entities))


def test_novelty_of_a_rewrite_is_low_and_of_a_denial_high() -> None:
    profile = _profile()
    rewrite = ("Officials said two cargo ships moved 180,000 artillery shells from Nampo to "
               "Tobruk. Freighters then took the crates to Novorossiysk.")
    low = assess(rewrite, [_entity("Q423", "North Korea", 1.0)], [], "The Daily Ledger", profile)
    denial = ("Russia's ambassador to the United Nations, Vassily Nebenzia, called the reports "
              "a fabrication invented by Western intelligence agencies. North Korea's foreign "
              "ministry said no weapons had ever left the country. A third vessel switched off "
              "its transponder for 19 days in October, according to a maritime analyst.")
    quote = Quote("Vassily Nebenzia", "a fabrication")
    high = assess(denial, [Entity("key:person:vassily-nebenzia", "Vassily Nebenzia", "person",
                                  1, 0, False, 0.9)], [quote], "Capital Observer", profile)
    assert low.score < 0.15 and low.additions["new_sentence_count"] == 0
    assert high.score >= 0.7
    assert high.additions["new_speakers"] == ["Vassily Nebenzia"]
    assert "19" in high.additions["new_numbers"] and high.additions["new_outlet"] == "Capital Observer"


def test_sentences_and_numbers() -> None:
    assert sentences('He left. "Yes," she said. 3 ships.\nNew line') == [
        "He left.", '"Yes," she said.', "3 ships.", "New line"]
    assert numbers("180,000 shells, 12% more, 2 ships in 2026") == {"180000", "12%", "2026"}
