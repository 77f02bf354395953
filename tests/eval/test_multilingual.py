"""The multilingual evaluation set (tests/fixtures/multilingual) and eval/multilingual.py: the
set is complete and its gold labels exist; the scorers count right on hand-made predictions;
both parts run on the real stages and give well-formed figures (no quality thresholds)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from script_loader import load_script

from enrich.gazetteer import Gazetteer
from enrich.topics import load_taxonomy

ml = load_script("eval/multilingual.py")
ARTICLES = ml.load_set()
EVENTS = ml.load_events()
DOMAIN = {t.name for t in load_taxonomy()} - ml.GENERAL_TOPICS


def test_the_set_covers_every_language_with_events_shared_across_them() -> None:
    counts = Counter(a.lang for a in ARTICLES)
    assert set(counts) == set(ml.LANGUAGES)
    assert counts["en"] >= 12 and all(counts[lang] >= 8 for lang in ml.LANGUAGES[1:])
    dates = [a.published for a in ARTICLES]
    assert dates == sorted(dates) and max(dates) - min(dates) <= timedelta(days=14)
    by_event: dict[str, set[str]] = {}
    for a in ARTICLES:
        by_event.setdefault(a.event, set()).add(a.lang)
    assert set(EVENTS) == {e for e in by_event if not e.startswith("off-")}
    for event, languages in by_event.items():
        if event.startswith("off-"):
            assert len(languages) == 1, event
        else:
            assert "en" in languages and len(languages) >= 3, event
            assert EVENTS[event]["confusable"] <= set(EVENTS), event
    for lang in ml.LANGUAGES[1:]:
        mine = [a for a in ARTICLES if a.lang == lang]
        assert {a.novelty for a in mine if not a.event.startswith("off-")} == {"repeat", "adds"}
        assert sum(a.event.startswith("off-") for a in mine) >= 2, lang
    assert all(a.novelty == "first" for a in ARTICLES if a.lang == "en")


def test_gold_labels_exist_and_off_topic_articles_carry_no_domain_topic() -> None:
    known = {e.id for e in Gazetteer.load().entries()}
    topics = {t.name for t in load_taxonomy()}
    for a in ARTICLES:
        assert a.entities <= known, (a.id, sorted(a.entities - known))
        assert a.topics <= topics, (a.id, sorted(a.topics - topics))
        assert a.id.startswith(f"{a.lang}-")
        if a.event.startswith("off-"):
            assert not a.topics & DOMAIN, a.id
        else:
            assert a.topics & DOMAIN and a.entities, a.id
        size = len(a.text.split()) if a.lang in ("en", "ru", "uk") else len(a.text)
        low, high = (80, 200) if a.lang in ("en", "ru", "uk") else (150, 400)
        assert low <= size <= high, (a.id, size)


def test_a_broken_article_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load((ml.SET_DIR / "ru.yaml").read_text(encoding="utf-8"))
    del raw[0]["event"]
    (tmp_path / "ru.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="event"):
        ml.load_set(tmp_path)


def test_entity_and_topic_scorers_on_hand_made_predictions() -> None:
    mine = [a for a in ARTICLES if a.lang == "ko"]
    known = {e for a in mine for e in a.entities}
    perfect = ml.score_entities(mine, [set(a.entities) for a in mine], known)
    assert (perfect["precision"], perfect["recall"], perfect["f1"]) == (1.0, 1.0, 1.0)
    gold = sum(len(a.entities) for a in mine)
    # one gold id dropped, one wrong gazetteer id added, one non-gazetteer id ignored
    guess = [set(a.entities) for a in mine]
    first, second = [i for i, a in enumerate(mine) if a.entities][:2]
    dropped = sorted(mine[first].entities)[0]
    guess[first].discard(dropped)
    guess[second] |= {"Q1490", "key:place:kursk"}
    scored = ml.score_entities(mine, guess, known | {"Q1490"})
    assert (scored["tp"], scored["fp"], scored["fn"]) == (gold - 1, 1, 1)
    assert scored["missed"] == {dropped: 1} and scored["spurious"] == {"Q1490": 1}

    names = [t.name for t in load_taxonomy()]
    tags = [set(a.topics) for a in mine]
    off = next(i for i, a in enumerate(mine) if a.event.startswith("off-") and not a.topics)
    tags[off].add("sanctions")
    topics = ml.score_topics(mine, tags, names)
    assert topics["off_topic_tagged"] == [mine[off].id]
    assert topics["per_topic"]["sanctions"]["fp"] == 1
    assert topics["overall"]["recall"] == 1.0 and topics["overall"]["precision"] < 1.0


def test_story_scorer_counts_placement_hard_negative_merges_and_novelty() -> None:
    story = {a.id: a.event for a in ARTICLES}
    novelty = {a.id: (0.6 if a.novelty == "adds" else 0.1) for a in ARTICLES}
    right = ml.score_stories(ARTICLES, EVENTS, story, novelty)
    assert right["cross_lingual_share"] == 1.0 and right["bcubed"] == [1.0, 1.0, 1.0]
    assert right["hard_negative_merges"] == right["cross_lingual_false_merges"] == 0
    for p in right["per_language"].values():
        assert p["share"] == 1.0 and p["novelty_right"] == f"{p['same_event']}/{p['same_event']}"
    # the sea shipments folded into the rail shipments' story; the Korean repeat of the
    # rail story marked as new
    story.update({a.id: "dprk-shells-rail" for a in ARTICLES if a.event == "dprk-shells-sea"})
    ko_repeat = next(a for a in ARTICLES if a.lang == "ko" and a.event == "dprk-shells-sea")
    novelty[ko_repeat.id] = 0.9
    wrong = ml.score_stories(ARTICLES, EVENTS, story, novelty)
    sea = [a for a in ARTICLES if a.event == "dprk-shells-sea"]
    rail = [a for a in ARTICLES if a.event == "dprk-shells-rail"]
    pairs = sum(a.lang != b.lang for a in sea for b in rail)
    assert wrong["hard_negative_merges"] == wrong["cross_lingual_false_merges"] == pairs
    assert wrong["bcubed"][0] < 1.0 and wrong["per_language"]["ko"]["share"] == 1.0
    ko = wrong["per_language"]["ko"]
    assert ko["novelty_right"] == f"{ko['same_event'] - 1}/{ko['same_event']}"


def _well_formed(scores: dict[str, Any]) -> None:
    for key in ("precision", "recall", "f1"):
        assert 0.0 <= scores[key] <= 1.0


def test_enrich_part_runs_on_the_whole_set(tmp_path: Path) -> None:
    pytest.importorskip("spacy", reason="the enrich part needs the nlp extra (spaCy)")
    out = tmp_path / "report.json"
    assert ml.main(["--part", "enrich", "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))["enrich"]
    assert set(report) == set(ml.LANGUAGES)
    for lang, r in report.items():
        mine = [a for a in ARTICLES if a.lang == lang]
        assert r["articles"] == len(mine) and 0.0 <= r["language_detected"] <= 1.0
        e = r["entities"]
        _well_formed(e)
        assert e["tp"] + e["fn"] == sum(len(a.entities) for a in mine)
        _well_formed(r["topics"]["overall"])
        t = r["topics"]["overall"]
        assert t["tp"] + t["fn"] == sum(len(a.topics) for a in mine)
        for scores in r["topics"]["per_topic"].values():
            _well_formed(scores)
        assert r["speed"]["articles_per_second"] > 0


def test_stories_part_runs_on_two_confusable_events(tmp_path: Path) -> None:
    pytest.importorskip("spacy", reason="the story stage enriches first (spaCy)")
    subset = [a for a in ARTICLES if a.event in ("dprk-shells-rail", "dprk-missile-launch")]
    result = ml.evaluate_stories(subset, EVENTS, tmp_path)
    assert result["events"] == 2 and 1 <= result["stories"] <= len(subset)
    for value in (*result["bcubed"], *result["pairwise"], result["cross_lingual_share"]):
        assert 0.0 <= value <= 1.0
    assert set(result["per_language"]) == {a.lang for a in subset} - {"en"}
    for p in result["per_language"].values():
        assert 0 <= p["in_english_story"] <= p["same_event"] and 0.0 <= p["share"] <= 1.0
    assert result["hard_negative_merges"] <= result["cross_lingual_false_merges"]
    assert result["articles_per_second"] > 0
