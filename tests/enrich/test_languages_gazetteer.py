"""names.tsv: the gazetteer's entries named in Russian, Ukrainian, Korean, Japanese and
Chinese, linked to the ids of the English files, and the matching over each language's tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from enrich.gazetteer import (
    DATA_DIR,
    FILES,
    LANGUAGES,
    NAMES_FILE,
    NOT_AN_ENTITY,
    Gazetteer,
    fold_name,
)
from enrich.languages.mentions import find_names

G20 = ("Q414", "Q408", "Q155", "Q16", "Q148", "Q142", "Q183", "Q668", "Q252", "Q38", "Q17",
       "Q96", "Q159", "Q851", "Q258", "Q884", "Q43", "Q145", "Q30")


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


def test_every_form_of_north_korea_links_to_one_id(gaz: Gazetteer) -> None:
    for lang, name in [("ru", "КНДР"), ("ru", "Северная Корея"), ("uk", "Північна Корея"),
                       ("uk", "КНДР"), ("ko", "북한"), ("ko", "조선"), ("ja", "北朝鮮"),
                       ("zh", "朝鲜"), ("zh", "北韩"), ("zh", "北韓")]:
        entry = gaz.lookup_lang(lang, name)
        assert entry is not None and entry.id == "Q423", (lang, name)
        assert entry.name == "North Korea"


def test_inflected_russian_and_ukrainian_names_match(gaz: Gazetteer) -> None:
    cases = [("ru", "Встреча с Сергеем Шойгу", "key:person:sergei-shoigu"),
             ("ru", "Делегация Северной Кореи", "Q423"),
             ("ru", "Самолёт прилетел к Пхеньяну", "Q18808"),
             ("uk", "Зустріч у Києві", "Q1899"),
             ("uk", "Заява Міністерства оборони Росії", "key:organisation:"
                                                       "ministry-of-defence-of-the-russian-federation")]
    for lang, text, id_ in cases:
        assert id_ in {m.entry.id for m in find_names(text, lang, gaz)}, text


def test_a_country_inside_a_longer_name_counts_as_well(gaz: Gazetteer) -> None:
    ids = [m.entry.id for m in find_names("Министерство обороны России сообщило", "ru", gaz)]
    assert ids == ["key:organisation:ministry-of-defence-of-the-russian-federation", "Q159"]
    ids = [m.entry.id for m in find_names("러시아 국방부는 밝혔다", "ko", gaz)]
    assert ids == ["key:organisation:ministry-of-defence-of-the-russian-federation", "Q159"]


def test_capitals_written_as_places(gaz: Gazetteer) -> None:
    def place(text: str, lang: str) -> list[bool]:
        return [m.place for m in find_names(text, lang, gaz) if m.entry.kind == "capital"]

    assert place("Пхеньян отверг обвинения. Делегация прибыла в Пхеньян.", "ru") == [False, True]
    assert place("рейсы между Москвой и Пхеньяном", "ru") == [True, True]
    assert place("평양은 부인했다. 평양에서 열렸다.", "ko") == [False, True]
    assert place("平壌は否定した。平壌で会談した。", "ja") == [False, True]
    assert place("平壤否认。在平壤会见。", "zh") == [False, True]


def test_case_matters_where_the_name_has_capitals(gaz: Gazetteer) -> None:
    assert [m.entry.name for m in find_names("Белый дом и белый дом", "ru", gaz)] == \
        ["White House"]
    assert find_names("ударил кинжал", "ru", gaz) == []  # the weapon is "Кинжал"


def test_latin_names_in_other_scripts_use_the_english_gazetteer(gaz: Gazetteer) -> None:
    for lang, text in [("ru", "удары HIMARS и ракеты KN-23"), ("ko", "HIMARS와 KN-23 미사일"),
                       ("zh", "HIMARS和KN-23导弹"), ("ja", "HIMARSとKN-23")]:
        ids = {m.entry.id for m in find_names(text, lang, gaz)}
        assert ids == {"key:product:himars", "key:product:kn-23"}, lang


def test_names_that_are_no_entity_hide_the_country_inside(gaz: Gazetteer) -> None:
    def entries(text: str, lang: str) -> list[object]:
        return [m.entry for m in find_names(text, lang, gaz)]

    assert entries("日本海側では大雪", "ja") == [NOT_AN_ENTITY]
    assert entries("朝鲜半岛局势", "zh") == [NOT_AN_ENTITY]
    assert entries("中国地方で大雨、中国外務省は反発", "ja")[0] is NOT_AN_ENTITY
    assert gaz.lookup_lang("ja", "内モンゴル") is NOT_AN_ENTITY


def test_folding_keeps_kana_marks_and_cyrillic_letters() -> None:
    assert fold_name("ガ", "ja") == "ガ" != fold_name("カ", "ja")
    assert fold_name("Йемен", "ru") == "йемен"
    assert fold_name("Соединённые Штаты", "ru") == "соединенные штаты"
    assert fold_name("ドナルド・トランプ", "ja") == "ドナルドトランプ"
    assert fold_name("ＫＮ－２３", "ko") == "kn23"  # full-width Latin


def test_coverage_of_countries_and_g20(gaz: Gazetteer) -> None:
    named = {lang: {e.id for _, e in gaz.name_rows(lang) if e.kind == "country"}
             for lang in LANGUAGES}
    in_all = set.intersection(*named.values())
    assert len(in_all) >= 60
    assert set(G20) <= in_all


def test_every_row_names_an_entry_of_the_english_files(gaz: Gazetteer) -> None:
    assert gaz.name_duplicates == ()
    for lang in LANGUAGES:
        assert all(entry is NOT_AN_ENTITY or gaz.entry(entry.id) is entry
                   for _, entry in gaz.name_rows(lang))
    for id_, name in [("key:person:sergei-shoigu", "Sergei Shoigu"), ("Q7747", "Vladimir Putin"),
                      ("key:product:hwasong-18", "Hwasong-18"), ("Q41984", "International "
                                                                "Atomic Energy Agency")]:
        entry = gaz.entry(id_)
        assert entry is not None and entry.name == name
        assert all(any(e.id == id_ for _, e in gaz.name_rows(lang)) for lang in LANGUAGES)


def test_the_english_lookup_does_not_see_names_tsv(gaz: Gazetteer) -> None:
    assert gaz.lookup("КНДР") is None and gaz.lookup("北朝鮮") is None
    assert gaz.lookup("DPRK") is not None


def _copy(tmp: Path, names: str) -> Path:
    for name in FILES:
        (tmp / name).write_bytes((DATA_DIR / name).read_bytes())
    (tmp / NAMES_FILE).write_text(names, encoding="utf-8")
    return tmp


def test_a_bad_row_stops_the_load_with_its_line(tmp_path: Path) -> None:
    bad = _copy(tmp_path, "id\tlang\tnames\nQ423\tru\tКНДР\nQ999999999\tru\tНечто\n")
    with pytest.raises(ValueError, match=r"names.tsv:3: .*Q999999999"):
        Gazetteer.load(bad).lookup_lang("ru", "КНДР")
    bad = _copy(tmp_path, "id\tlang\tnames\nQ423\tfr\tCorée du Nord\n")
    with pytest.raises(ValueError, match=r"names.tsv:2: language 'fr'"):
        Gazetteer.load(bad).lookup_lang("ru", "КНДР")
