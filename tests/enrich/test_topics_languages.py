"""Topics in Russian, Ukrainian, Korean, Japanese and Chinese: the taxonomy's language blocks
tag our own sentences, keep hard negatives out, show evidence in the article's language, and
the relational dprk-russia topic links entities whatever the language."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.models import Entity
from enrich.languages.topic_terms import LANGUAGES, Analysed, term
from enrich.topics import load_taxonomy, tag_topics

ROOT = Path(__file__).resolve().parents[2]
TAXONOMY = load_taxonomy()


def place(qid: str, name: str, salience: float, *surfaces: str) -> Entity:
    """An entity as the extractor gives it: English name, surfaces as the article wrote them."""
    return Entity(qid, name, "place", max(1, len(surfaces)), 0, True, salience, surfaces)


def tagged(lang: str, title: str, text: str, entities: list[Entity] | None = None
           ) -> dict[str, dict]:
    return {t.tag: t.evidence
            for t in tag_topics(title, text, entities or [], TAXONOMY, language=lang)}


def test_every_topic_has_terms_in_every_language() -> None:
    for topic in TAXONOMY:
        assert {lang for lang, _ in topic.languages} == set(LANGUAGES), topic.name


# --- Russian -------------------------------------------------------------------------------

RU_SHELLS = ("КНДР передала России крупную партию артиллерийских снарядов",
             "По данным разведки, за месяц Пхеньян отправил в Россию более миллиона снарядов "
             "и ракеты малой дальности. Поставки оружия шли по железной дороге через Хасан. "
             "Эксперты называют это крупнейшей передачей оружия за десятилетие.")


def test_russian_shells_are_arms_transfers_and_dprk_russia_with_russian_evidence() -> None:
    entities = [place("Q423", "North Korea", 1.0, "КНДР", "Пхеньян"),
                place("Q159", "Russia", 0.8, "России", "Россию")]
    found = tagged("ru", *RU_SHELLS, entities)
    assert set(found) == {"arms-transfers", "dprk-russia"}
    # "Поставки оружия" and "передачей оружия" counted under the phrases as listed
    assert found["arms-transfers"]["phrases"]["поставка оружия"] == 1
    assert found["arms-transfers"]["phrases"]["передача оружия"] == 1
    assert found["dprk-russia"]["terms"] == {"снаряд": 2}
    assert found["dprk-russia"]["link"].startswith("КНДР передала России")


def test_russian_word_forms_match_through_lemmas() -> None:
    found = tagged("ru", "ЕС утвердил новый пакет санкций против России",
                   "Ограничения затрагивают теневой флот танкеров и банки. Под санкции попали "
                   "ещё двадцать судов, а компаниям, помогающим обходить санкции, запрещён "
                   "экспорт электроники.", [place("Q159", "Russia", 1.0, "России")])
    assert set(found) == {"sanctions"}
    assert found["sanctions"]["terms"] == {"санкция": 3}  # санкций, санкции, санкции


def test_russian_football_transfer_is_sport_not_arms() -> None:
    found = tagged("ru", "«Спартак» оформил трансфер полузащитника из Бразилии",
                   "Сумма трансфера составила 12 миллионов евро. Игрок подписал контракт на "
                   "четыре сезона и дебютирует в матче чемпионата России в субботу. Тренер "
                   "команды доволен усилением до закрытия трансферного окна.")
    assert set(found) == {"sports"}


def test_a_court_sanction_for_an_arrest_is_not_sanctions() -> None:
    assert tagged("ru", "Суд дал санкцию на арест бизнесмена",
                  "Следователи получили санкцию суда на арест владельца строительной компании. "
                  "Его подозревают в хищении бюджетных средств.") == {}


def test_russian_co_mention_without_a_link_is_not_dprk_russia() -> None:
    found = tagged("ru", "Россия и Китай заблокировали заявление Совбеза по КНДР",
                   "Россия и Китай заблокировали в Совете Безопасности ООН заявление, "
                   "осуждающее пуск северокорейской баллистической ракеты. Западные дипломаты "
                   "выразили разочарование. КНДР провела уже пятый пуск в этом году, сообщили "
                   "в Сеуле.", [place("Q423", "North Korea", 1.0, "КНДР"),
                                place("Q159", "Russia", 0.7, "Россия")])
    assert "dprk-russia" not in found


# --- Ukrainian -----------------------------------------------------------------------------

def test_ukrainian_war_report_and_sanctions_in_ukrainian_forms() -> None:
    war = tagged("uk", "Російські війська обстріляли Харків",
                 "Унаслідок обстрілу загинули троє людей. Сили ППО збили дванадцять "
                 "безпілотників над містом. Зеленський закликав партнерів прискорити "
                 "постачання зброї Україні.",
                 [place("Q212", "Ukraine", 0.8, "Україні"), place("Q159", "Russia", 0.6)])
    assert "war-in-ukraine" in war
    assert war["war-in-ukraine"]["terms"]["обстріл"] == 1  # from "обстрілу"
    assert "постачання зброї" in war["war-in-ukraine"]["link"]
    sanctions = tagged("uk", "РНБО запровадила санкції проти постачальників дронів",
                       "Під санкціями опинилися 40 компаній і 12 осіб. Їхні активи заблоковано, "
                       "а ембарго поширюється на постачання компонентів.")
    assert sanctions["sanctions"]["terms"]["санкція"] == 2  # санкції, санкціями


# --- Korean --------------------------------------------------------------------------------

KO_NK, KO_RU = (place("Q423", "North Korea", 1.0, "북한"), place("Q159", "Russia", 0.8, "러시아"))


def test_korean_shells_link_north_korea_and_russia_through_morphemes() -> None:
    found = tagged("ko", "북한, 러시아에 포탄 수백만 발 보내",
                   "국가정보원은 북한이 지난해부터 러시아에 포탄과 탄도미사일을 공급했다고 "
                   "밝혔다. 그 대가로 러시아는 북한에 군사 기술을 이전한 것으로 알려졌다.",
                   [KO_NK, KO_RU])
    assert {"dprk-russia", "arms-transfers"} <= set(found)
    assert found["dprk-russia"]["terms"] == {"포탄": 2}  # 포탄 and 포탄과


def test_korean_domestic_regulator_sanction_is_not_sanctions() -> None:
    assert "sanctions" not in tagged(
        "ko", "공정위, 배달앱 업체에 과징금 제재",
        "공정거래위원회는 입점 업체에 불공정 계약을 강요한 배달앱 운영사에 과징금 50억 원을 "
        "부과하는 제재를 결정했다고 밝혔다. 회사 측은 제재에 불복해 행정소송을 검토하고 있다.")


def test_korean_sanctions_on_north_korean_hackers() -> None:
    found = tagged("ko", "미국, 북한 해커 조직에 독자 제재",
                   "미 재무부는 가상화폐를 탈취해 무기 개발 자금을 마련한 북한 해커 조직을 제재 "
                   "대상에 올렸다. 이번 제재로 이들의 미국 내 자산은 동결된다.", [KO_NK])
    assert found["sanctions"]["terms"] == {"제재": 3}
    assert found["sanctions"]["phrases"]["자산 동결"] == 1  # "자산은 동결된다"


def test_korean_co_mention_in_sport_is_not_dprk_russia() -> None:
    found = tagged("ko", "북한 여자축구, 러시아 꺾고 결승 진출",
                   "북한 여자 축구 대표팀이 준결승에서 러시아를 2대0으로 꺾었다. 북한은 전반에만 "
                   "두 골을 넣었고 감독은 선수들의 경기력을 칭찬했다.", [KO_NK, KO_RU])
    assert "dprk-russia" not in found
    assert "sports" in found


# --- Japanese ------------------------------------------------------------------------------

def test_japanese_shells_and_a_football_transfer() -> None:
    found = tagged("ja", "北朝鮮、ロシアに砲弾を大量供与",
                   "韓国の情報機関によると、北朝鮮は昨年からロシアに砲弾やミサイルを送っている。"
                   "見返りにロシアは軍事技術を提供しているという。",
                   [place("Q423", "North Korea", 1.0, "北朝鮮"),
                    place("Q159", "Russia", 0.8, "ロシア")])
    assert {"dprk-russia", "arms-transfers"} <= set(found)
    assert found["dprk-russia"]["link"] == "北朝鮮、ロシアに砲弾を大量供与"
    sport = tagged("ja", "サッカー日本代表のエースが移籍",
                   "移籍金は20億円とみられる。選手はシーズン後半からリーグ戦に出場する予定で、"
                   "監督も期待を寄せている。")
    assert set(sport) == {"sports"}


def test_japanese_nuclear_power_plant_is_not_nuclear_weapons() -> None:
    assert tagged("ja", "原発の再稼働を規制委が了承",
                  "原子力規制委員会は、停止中の原子力発電所の再稼働に向けた安全審査で合格を決めた。"
                  "ウラン燃料の搬入は来月始まる。") == {}
    weapons = tagged("ja", "北朝鮮が核実験の準備か", "北朝鮮が7回目の核実験を準備している兆候がある。"
                     "核兵器の小型化を進め、核戦力の増強を図っているとみられる。")
    assert "nuclear-weapons" in weapons


# --- Chinese -------------------------------------------------------------------------------

def test_chinese_shells_sanctions_and_compounds() -> None:
    found = tagged("zh", "朝鲜向俄罗斯运送大批炮弹",
                   "据韩国情报部门称，朝鲜自去年以来向俄罗斯提供了数百万发炮弹和弹道导弹。"
                   "作为回报，俄罗斯向朝鲜转让军事技术。",
                   [place("Q423", "North Korea", 1.0, "朝鲜"),
                    place("Q159", "Russia", 0.8, "俄罗斯")])
    assert {"dprk-russia", "arms-transfers"} <= set(found)
    sanctions = tagged("zh", "欧盟对俄罗斯实施新一轮制裁",
                       "新措施包括冻结资产、出口管制以及对影子船队的限制。欧盟表示，制裁措施将持续"
                       "到战争结束。")
    assert sanctions["sanctions"]["terms"]["制裁"] == 2  # the second inside 制裁措施
    assert sanctions["sanctions"]["phrases"]["影子船队"] == 1


def test_chinese_legal_punishment_and_drone_show_are_negatives() -> None:
    assert tagged("zh", "贪腐官员受到法律制裁",
                  "法院依法判处该官员有期徒刑十年。检察机关表示，腐败分子必将受到法律制裁。") == {}
    assert tagged("zh", "国庆无人机表演点亮夜空",
                  "上千架无人机在江面上空组成图案，吸引数万市民观看灯光秀。") == {}


def test_substring_fallback_keeps_to_word_boundaries() -> None:
    inside = Analysed("制裁措施已经生效", "zh")
    assert inside.find(term("制裁", 1.0, "zh"))  # inside a compound word
    across = Analysed("我们要核实数据", "zh")  # 核实 (verify) holds no 实数 (real number)
    assert not across.find(term("实数", 1.0, "zh"))


# --- the engine -----------------------------------------------------------------------------

def test_a_language_without_blocks_gets_no_tags_and_english_is_the_default() -> None:
    title, text = "EU adopts new sanctions on Russia", "The sanctions target the shadow fleet."
    assert [t.tag for t in tag_topics(title, text, [], TAXONOMY)] == ["sanctions"]
    assert tag_topics(title, text, [], TAXONOMY, language="fr") == []


def test_an_english_run_loads_no_language_tools() -> None:
    code = ("import sys; from enrich.topics import load_taxonomy, tag_topics; "
            "tag_topics('Sanctions on Russia', 'New sanctions.', [], load_taxonomy()); "
            "print(sorted(m for m in ('kiwipiepy', 'jieba', 'sudachipy', 'pymorphy3') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


def _write(tmp_path: Path, languages: str, link: bool = False) -> Path:
    path = tmp_path / "taxonomy.yaml"
    extra = "    link_terms: [supply]\n    link: {groups: [[arms]]}\n" if link else ""
    path.write_text("topics:\n  t:\n    label: T\n    terms: {sanction: 1}\n" + extra
                    + "    languages:\n" + languages, encoding="utf-8")
    return path


@pytest.mark.parametrize(("languages", "link", "field"), [
    ("      fr: {terms: {sanction: 1}}\n", False, "'languages'"),
    ("      ru: {terms: {санкция: high}}\n", False, "'terms'"),
    ("      ru: {words: {санкция: 1}}\n", False, "'languages.words'"),
    ("      ru: {terms: {санкция: 1}}\n", True, "'languages.ru.link_terms'"),
    ("      ru: {terms: {санкция: 1}, link_terms: [поставка]}\n", True, "'languages.ru.groups'"),
])
def test_invalid_language_blocks_name_the_field(tmp_path: Path, languages: str, link: bool,
                                                field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        load_taxonomy(_write(tmp_path, languages, link))


# --- thresholds in the other languages -------------------------------------------------------

def _one_topic(folder: Path, settings: str, block: str = "") -> list:
    folder.mkdir()
    path = folder / "taxonomy.yaml"
    path.write_text(f"settings: {{{settings}}}\ntopics:\n  sanctions:\n    label: Sanctions\n"
                    f"    threshold: 0.42\n    terms: {{sanction: 2.0}}\n"
                    f"    languages:\n      ru: {{terms: {{санкция: 2.0}}{block}}}\n",
                    encoding="utf-8")
    return load_taxonomy(path)


RU_ONE = ("Новости", "Евросоюз ввёл санкции против компании.")  # one mention scores ~0.40


def test_language_threshold_scales_a_block_without_its_own(tmp_path: Path) -> None:
    plain = _one_topic(tmp_path / "plain", "language_threshold: 1.0")
    scaled = _one_topic(tmp_path / "scaled", "language_threshold: 0.9")
    own = _one_topic(tmp_path / "own", "language_threshold: 0.9", ", threshold: 0.42")
    low = _one_topic(tmp_path / "low", "language_threshold: 0.9", ", threshold: 0.01")
    score = tag_topics(*RU_ONE, [], low, language="ru")[0].score
    assert 0.42 * 0.9 <= score < 0.42  # between the two thresholds
    assert not tag_topics(*RU_ONE, [], plain, language="ru")
    assert [t.tag for t in tag_topics(*RU_ONE, [], scaled, language="ru")] == ["sanctions"]
    assert not tag_topics(*RU_ONE, [], own, language="ru")  # the block's own threshold wins
    english = ("News", "The EU imposed sanctions on the company.")
    assert [t.score for t in tag_topics(*english, [], scaled)] == \
        [t.score for t in tag_topics(*english, [], plain)]


def test_language_threshold_above_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="language_threshold"):
        _one_topic(tmp_path / "bad", "language_threshold: 1.5")
