"""Topic tagging: the engine on hand-built entities, taxonomy loading and validation, and
the full labelled-set evaluation against the per-topic targets."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from script_loader import load_script

from core.errors import ConfigError
from core.models import Entity
from enrich.topics import DEFAULT_PATH, compile_text, load_taxonomy, tag_topics

EVAL_SCRIPT = Path(__file__).resolve().parents[2] / "eval" / "topics.py"
TAXONOMY = load_taxonomy()
SHIPPED = ("arms-transfers", "sanctions", "dprk-russia", "drones", "nuclear-weapons",
           "war-in-ukraine", "markets", "sports", "weather")


def country(qid: str, name: str, salience: float, *surfaces: str, in_title: bool = False
            ) -> Entity:
    return Entity(id=qid, name=name, type="place", mentions=max(1, round(salience * 8)),
                  first_pos=0, in_title=in_title, salience=salience,
                  surfaces=(name, *surfaces))


NK = country("Q423", "North Korea", 1.0, "North Korean", "Pyongyang", in_title=True)
RU = country("Q159", "Russia", 0.9, "Russian", "Moscow", in_title=True)
UA = country("Q212", "Ukraine", 0.5, "Ukrainian", "Kyiv")


def tags(title: str, text: str, entities: list[Entity]) -> dict[str, float]:
    return {t.tag: t.score for t in tag_topics(title, text, entities, TAXONOMY)}


def test_bundled_taxonomy_has_every_shipped_topic() -> None:
    assert DEFAULT_PATH.is_file()
    assert tuple(t.name for t in TAXONOMY) == SHIPPED
    assert all(t.label and t.description and 0 < t.threshold < 1 for t in TAXONOMY)


@pytest.mark.parametrize(
    ("term", "text", "hit"),
    [
        ("sanction", "Sanctions were sanctioned by ministers sanctioning them", 3),
        ("supply", "it supplies, supplied and is supplying", 3),
        ("ship", "shipped and shipping ships", 3),
        ("=arms", "arms but not armed nor arm", 1),
        ("denucleari*", "denuclearisation or denuclearization", 2),
        ("arms transfer", "arms transfers and arms-transfer and armstransfer", 2),
        ("drone", "anti-drone guns and drones, not androne", 2),
    ],
)
def test_terms_match_light_inflections_on_word_boundaries(term: str, text: str, hit: int) -> None:
    assert len(compile_text(term).findall(text)) == hit


def test_other_country_sanctions_are_sanctions_not_dprk_russia() -> None:
    title = "US reimposes oil sanctions on Venezuela after election dispute"
    text = ("The United States said on Wednesday it would reimpose sanctions on Venezuela's oil "
            "sector. The Treasury Department gave companies 45 days to wind down dealings with "
            "PDVSA.\n\nVenezuela said the sanctions were economic aggression. Analysts said the "
            "measures would cut exports and that buyers in Asia would take more sanctioned "
            "cargoes at a discount.")
    venezuela = country("Q717", "Venezuela", 1.0, "Venezuelan", in_title=True)
    us = country("Q30", "United States", 0.8, "US")
    found = tags(title, text, [venezuela, us])
    assert "sanctions" in found
    assert "dprk-russia" not in found
    assert "arms-transfers" not in found


def test_co_mention_without_a_link_term_is_not_dprk_russia() -> None:
    title = "Japan's defence white paper names North Korea and Russia among threats"
    text = ("Japan's annual defence white paper said North Korea posed a grave threat, and "
            "warned that Russia's bomber flights near Hokkaido remained a concern.\n\n"
            "North Korea fired more missiles this year than ever. Russia held naval drills in "
            "the Sea of Okhotsk. Pyongyang and Moscow both criticised the report.")
    found = tags(title, text, [NK, RU])
    assert "dprk-russia" not in found


def test_a_linking_sentence_makes_dprk_russia_with_its_snippet_as_evidence() -> None:
    title = "North Korea shipping artillery shells to Russia, officials say"
    text = ("North Korea has shipped hundreds of thousands of artillery shells to Russia by "
            "rail and sea, US officials said. Pyongyang is also sending troops to help Moscow, "
            "and the two signed a mutual defence treaty last year.\n\nThe munitions are fired "
            "at Ukrainian positions along the front line, Ukraine's military says.")
    result = {t.tag: t for t in tag_topics(title, text, [NK, RU, UA], TAXONOMY)}
    assert {"dprk-russia", "arms-transfers", "war-in-ukraine"} <= set(result)
    dprk = result["dprk-russia"]
    assert dprk.evidence["link"] == title  # the headline links them first
    assert dprk.evidence["entities"] == ["Q159", "Q423"]
    assert dprk.evidence["terms"]["=shells"] == 2
    assert 0 < dprk.score < 1


@pytest.mark.parametrize(("nk_salience", "tagged"), [(0.15, False), (0.9, True)])
def test_the_link_needs_both_countries_salient(nk_salience: float, tagged: bool) -> None:
    title = "EU sanctions Iranian drone makers supplying Russia"
    text = ("The EU imposed sanctions on Iranian firms supplying Russia with attack drones. "
            "Russia has launched thousands of the drones at Ukraine.\n\nSeparately, officials "
            "said North Korea has shipped artillery shells to Russia. Pyongyang and Moscow "
            "signed a mutual defence treaty last year.")
    iran = country("Q794", "Iran", 1.0, "Iranian", in_title=True)
    nk = country("Q423", "North Korea", nk_salience, "Pyongyang")
    found = tags(title, text, [iran, RU, UA, nk])
    assert ("dprk-russia" in found) is tagged
    assert {"sanctions", "drones", "arms-transfers"} <= set(found)


def test_football_transfer_is_sports_not_arms_transfers() -> None:
    title = "Harborough City break transfer record to sign striker on deadline day"
    text = ("Harborough City broke their club transfer record on Monday, signing a striker "
            "from Porto for 62 million euros before the transfer window closed.\n\n"
            "\"Pace is his biggest weapon,\" the manager said. Rivals completed the transfer of "
            "a goalkeeper on loan and sold a winger, and the league's clubs spent a record sum.")
    found = tags(title, text, [])
    assert "sports" in found
    assert "arms-transfers" not in found


def test_exclusions_mask_other_senses() -> None:
    light_show = tags("1,500 drones light up the sky at the winter festival",
                      "The drone light show replaced fireworks. Each drone carries an LED. "
                      "Drone shows are quieter than fireworks, organisers said.", [])
    assert "drones" not in light_show
    nuclear_option = tags("Senate invokes the nuclear option",
                          "Republicans used the nuclear option to speed up nominations.", [])
    assert "nuclear-weapons" not in nuclear_option


def test_evidence_lists_terms_phrases_and_entities_that_fired() -> None:
    title = "Ukraine aims to build 4.5 million drones as the front line becomes a kill zone"
    text = ("Ukraine plans to produce millions of FPV drones this year. Commanders say "
            "drones have made the front line a kill zone where Russian forces are attacked "
            "within minutes.")
    result = {t.tag: t for t in tag_topics(title, text, [UA, RU], TAXONOMY)}
    war = result["war-in-ukraine"]
    assert war.evidence["phrases"] == {"front line": 2, "Russian forces": 1}
    assert war.evidence["entities"] == ["Q159", "Q212"]
    drones = result["drones"]
    assert drones.evidence["terms"]["drone"] == 3
    assert "drones" in drones.evidence["link"]


def test_tagging_is_deterministic_and_scores_are_sorted() -> None:
    title = "US sanctions Russian shipping firms for carrying North Korean munitions"
    text = ("The Treasury imposed sanctions on Russian shipping companies that carried North "
            "Korean munitions to Russia for the war in Ukraine.")
    first = tag_topics(title, text, [NK, RU, UA], TAXONOMY)
    assert first == tag_topics(title, text, [NK, RU, UA], TAXONOMY)
    assert [t.score for t in first] == sorted((t.score for t in first), reverse=True)
    assert all(0 <= t.score <= 1 for t in first)


def test_a_user_taxonomy_file_is_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "topics:\n"
        "  space:\n"
        "    label: Space\n"
        "    description: rockets and satellites\n"
        "    threshold: 0.3\n"
        "    terms: {satellite: 1.5, rocket: 1.0, orbit: 1.0}\n"
        "    phrases: {space agency: 2.0}\n"
        "    exclude: {rocket salad: veto}\n"
    )
    taxonomy = load_taxonomy(path)
    assert [t.name for t in taxonomy] == ["space"]
    found = tag_topics("Rocket puts satellite in orbit", "The space agency launched it.", [],
                       taxonomy)
    assert [t.tag for t in found] == ["space"]
    assert found[0].evidence["terms"] == {"orbit": 1, "rocket": 1, "satellite": 1}
    assert tag_topics("Rocket salad recipe", "A rocket salad with a satellite dish.", [],
                      taxonomy) == []


@pytest.mark.parametrize(
    ("topic_yaml", "field"),
    [
        ("label: X\n    terms: {war: heavy}", "terms"),
        ("label: X\n    terms: {front line: 1.0}", "terms"),
        ("label: X\n    phrases: {war: 1.0}", "phrases"),
        ("label: X\n    threshold: 2\n    terms: {war: 1}", "threshold"),
        ("terms: {war: 1}", "label"),
        ("label: X\n    terms: {war: 1}\n    colour: red", "colour"),
        ("label: X\n    terms: {war: 1}\n    entities: [{min_salience: 0.2}]", "entities"),
        ("label: X\n    terms: {war: 1}\n    link_terms: [supply]", "link"),
        ("label: X\n    terms: {war: 1}\n    exclude: {peace: -2}", "exclude"),
        ("label: X\n    terms: {'...': 1}", "terms"),
    ],
)
def test_an_invalid_topic_names_the_topic_and_the_field(
    tmp_path: Path, topic_yaml: str, field: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"topics:\n  my-topic:\n    {topic_yaml}\n")
    with pytest.raises(ConfigError) as err:
        load_taxonomy(path)
    assert "'my-topic'" in str(err.value)
    assert f"field {field!r}" in str(err.value)


def test_invalid_yaml_and_missing_files_are_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("topics:\n  sports:\n    label: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_taxonomy(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_taxonomy(tmp_path / "absent.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("settings: {}\n")
    with pytest.raises(ConfigError, match="'topics'"):
        load_taxonomy(empty)


def _eval_module() -> ModuleType:
    return load_script("eval/topics.py")


def test_labelled_set_meets_the_per_topic_targets() -> None:
    evaluation = _eval_module()
    try:
        name, extract = evaluation.make_extractor("auto")
    except (ImportError, OSError) as exc:
        pytest.skip(f"spaCy model {evaluation.MODEL} unavailable: {exc}")
    articles = evaluation.load_labelled()
    assert len(articles) >= 65
    scores, _ = evaluation.evaluate(articles, TAXONOMY, extract)
    result = evaluation.report(scores, name, len(articles))
    missed = {topic: (t["precision"], t["recall"], t["false_positives"], t["false_negatives"])
              for topic, t in result["topics"].items() if not t["meets_target"]}
    assert missed == {}, f"topics below P>=0.9/R>=0.85 with {name}"
    assert set(result["topics"]) == set(SHIPPED)
    assert all(t["support"] >= 8 for t in result["topics"].values())
