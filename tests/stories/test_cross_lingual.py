"""Across languages: a Russian or Korean report of an event joins the English story of it, an
English follow-up joins a story a Russian outlet started, and same-kind events of the same
week between the same countries stay apart; novelty is judged on language-free facts. The
real story stage on a real SQLite store.

The articles are our own. Their entities are written by hand with the ids the gazetteer gives
(North Korea is Q423 whatever the language names it), as the enrich stage links them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from conftest import make_settings

from core.models import Article, Enrichment, Entity, Quote
from core.runtime import Runtime
from newswatch.cli import cli
from newswatch.resources import open_runtime
from stories import concepts, crosslingual, facts
from stories.evidence import evidence
from stories.novelty import assess
from stories.similarity import Profile
from stories.stage import cluster_pending
from stories.store import StoryStore

NK = ("Q423", "North Korea", "place", ("North Korea", "КНДР", "Северная Корея", "북한", "北朝鮮"))
RUSSIA = ("Q159", "Russia", "place", ("Russia", "Россия", "러시아"))
RAJIN = ("key:place:rajin", "Rajin", "place", ("Rajin", "Раджин", "나진항"))
VOSTOCHNY = ("key:place:vostochny", "Vostochny", "place", ("Vostochny", "Восточный", "보스토치니"))
ESTONIA = ("Q191", "Estonia", "place", ("Estonia", "Эстония"))
GULF = ("key:place:gulf-of-finland", "Gulf of Finland", "place", ("Gulf of Finland", "Финский залив"))
KIVI = ("key:person:tarmo-kivi", "Tarmo Kivi", "person", ("Tarmo Kivi", "Тармо Киви"))


@dataclass(frozen=True)
class Report:
    key: str
    lang: str
    published: str
    outlet: str
    title: str
    text: str
    entities: tuple[tuple[tuple[str, str, str, tuple[str, ...]], float], ...]
    quotes: tuple[Quote, ...] = ()


REPORTS = [
    Report("en-sea", "en", "2026-11-10T08:00", "Harbour Wire",
           "North Korean freighter leaves Rajin with 1,000 containers of artillery shells for Russia",
           "A North Korean cargo ship left the port of Rajin on Monday carrying about 1,000 containers "
           "of artillery shells bound for the Russian port of Vostochny, according to satellite images "
           "reviewed by analysts. The ship was loaded over three days, the images show. It is the "
           "largest single shipment of munitions from North Korea to Russia seen this autumn.",
           ((NK, 1.0), (RAJIN, 0.8), (RUSSIA, 0.7), (VOSTOCHNY, 0.5))),
    Report("ru-sea-repeat", "ru", "2026-11-11T06:00", "Восточный вестник",
           "Северокорейское судно вывезло из Раджина контейнеры со снарядами для России",
           "Грузовое судно КНДР в понедельник вышло из порта Раджин с примерно 1 тыс. контейнеров "
           "артиллерийских снарядов, которые направляются в российский порт Восточный, следует из "
           "спутниковых снимков. Судно загружали три дня. Это крупнейшая с начала осени партия "
           "боеприпасов из Северной Кореи в Россию.",
           ((NK, 1.0), (RAJIN, 0.9), (RUSSIA, 0.7), (VOSTOCHNY, 0.5))),
    Report("ko-sea-statement", "ko", "2026-11-11T09:00", "한반도 일보",
           "국방부 \"나진항에 두 번째 화물선…포탄 추가 선적 준비\"",
           "북한 화물선이 월요일 나진항에서 포탄 컨테이너 약 1천 개를 싣고 러시아 보스토치니항으로 "
           "출항한 것으로 위성사진에서 확인됐다. 전하늘 국방부 대변인은 수요일 브리핑에서 \"나진항에 "
           "두 번째 선박이 도착해 포탄 3천 발 규모의 추가 선적을 준비하고 있다\"고 말했다. 그는 북한과 "
           "러시아의 무기 거래가 유엔 안보리 제재 위반이라고 덧붙였다.",
           ((NK, 1.0), (RAJIN, 0.8), (RUSSIA, 0.6), (VOSTOCHNY, 0.4),
            (("key:person:jeon-ha-neul", "Jeon Ha-neul", "person", ("전하늘",)), 0.6),
            (("key:organisation:south-korean-ministry-of-national-defense",
              "South Korean Ministry of National Defense", "organisation", ("국방부",)), 0.5)),
           (Quote("전하늘", "나진항에 두 번째 선박이 도착해 포탄 3천 발 규모의 추가 선적을 준비하고 있다"),)),
    # hard negative: a missile launch by the same country in the same week
    Report("ko-missile", "ko", "2026-11-12T01:00", "한반도 일보",
           "북한, 동해상으로 탄도미사일 발사…한 달 만에",
           "북한이 목요일 오전 평양 인근에서 동해상으로 단거리 탄도미사일 1발을 발사했다고 합동참모본부가 "
           "밝혔다. 미사일은 약 400km를 비행한 뒤 일본 배타적경제수역 밖에 떨어졌다. 군 당국은 러시아의 "
           "기술 지원 가능성을 분석하고 있다.",
           ((NK, 1.0), (("key:place:east-sea", "East Sea", "place", ("동해",)), 0.6),
            (("key:organisation:joint-chiefs-of-staff", "Joint Chiefs of Staff", "organisation",
              ("합동참모본부",)), 0.6),
            (("Q18808", "Pyongyang", "place", ("평양",)), 0.4), (("Q17", "Japan", "place", ("일본",)), 0.4),
            (RUSSIA, 0.3))),
    # hard negative: shells to Russia again, but by rail across the border, two days later
    Report("ru-rail", "ru", "2026-11-13T07:00", "Восточный вестник",
           "КНДР отправила в Россию эшелон со снарядами через Хасан",
           "Северная Корея в четверг отправила через пограничную станцию Хасан железнодорожный эшелон "
           "из 40 вагонов с артиллерийскими снарядами, сообщили источники в Приморье. Поезд пересёк "
           "мост через реку Туманная и направился в Хабаровск. По оценке источников, в вагонах около "
           "20 тыс. снарядов калибра 152 мм.",
           ((NK, 1.0), (("key:place:khasan", "Khasan", "place", ("Хасан",)), 0.8), (RUSSIA, 0.6),
            (("key:place:tumen-river", "Tumen River", "place", ("Туманная",)), 0.5),
            (("key:place:khabarovsk", "Khabarovsk", "place", ("Хабаровск",)), 0.4))),
    # a story a Russian outlet started
    Report("ru-tanker", "ru", "2026-11-12T10:00", "Балтийский курьер",
           "Эстония задержала танкер с российской нефтью в Финском заливе",
           "Береговая охрана Эстонии в среду задержала танкер «Северный ветер», шедший под флагом "
           "Габона с 90 тыс. тонн российской нефти, сообщил представитель ВМС Эстонии Тармо Киви. "
           "По его словам, судно шло без страховки и с отключённым транспондером. МИД России назвал "
           "задержание пиратством.",
           ((ESTONIA, 1.0), (GULF, 0.7), (RUSSIA, 0.6), (KIVI, 0.6),
            (("Q1000", "Gabon", "place", ("Габона",)), 0.3)),
           (Quote("Тармо Киви", "судно шло без страховки", "key:person:tarmo-kivi"),)),
    # hard negative for it: sanctions on tankers of the same fleet in the same sea, that day
    Report("en-sanctions", "en", "2026-11-12T18:00", "Harbour Wire",
           "EU adds 40 shadow-fleet tankers to Russia sanctions list",
           "European Union governments on Thursday added 40 tankers to the list of ships barred from "
           "EU ports under sanctions on Russia's oil trade, diplomats in Brussels said. The vessels, "
           "most of them old and sailing under flags of convenience, carry Russian crude to buyers in "
           "Asia. Estonia and Finland have pressed for tougher checks on tankers passing through the "
           "Gulf of Finland.",
           ((("Q458", "European Union", "organisation", ("European Union", "EU")), 1.0), (RUSSIA, 0.8),
            (("Q239", "Brussels", "place", ("Brussels",)), 0.3), (ESTONIA, 0.3),
            (("Q33", "Finland", "place", ("Finland",)), 0.3), (GULF, 0.3))),
    Report("en-tanker", "en", "2026-11-13T09:00", "Harbour Wire",
           "Estonia holds Gabon-flagged tanker with Russian oil in the Gulf of Finland",
           "Estonian authorities on Friday kept holding the tanker Severny Veter, which the coast guard "
           "detained on Wednesday in the Gulf of Finland with 90,000 tonnes of Russian crude on board, "
           "navy spokesman Tarmo Kivi said. Investigators are checking the ship's insurance papers and "
           "why its transponder was switched off. Moscow has called the detention piracy.",
           ((ESTONIA, 1.0), (GULF, 0.8), (KIVI, 0.6), (RUSSIA, 0.5),
            (("Q1000", "Gabon", "place", ("Gabon",)), 0.3), (("Q649", "Moscow", "place", ("Moscow",)), 0.3))),
]


def _id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def _entities(report: Report) -> tuple[Entity, ...]:
    text = f"{report.title}\n\n{report.text}"
    out = []
    for (entity_id, name, kind, surfaces), salience in report.entities:
        found = [text.find(s) for s in surfaces if s in text]
        out.append(Entity(entity_id, name, kind, max(1, len(found)), min(found, default=0),
                          any(s in report.title for s in surfaces), salience, surfaces))
    return tuple(out)


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """One store for the module: the articles in date order through the real story stage."""
    runtime = open_runtime(make_settings(tmp_path_factory.mktemp("cross") / "home"))
    for report in REPORTS:
        when = datetime.fromisoformat(report.published).replace(tzinfo=UTC)
        runtime.store.save_article(Article(
            id=_id(report.key), url=f"https://{report.lang}.example.org/{report.key}",
            source=report.outlet, title=report.title, text=report.text,
            text_hash=hashlib.sha256(report.text.encode()).hexdigest(), published_at=when,
            published_source="feed", first_seen_at=when, updated_at=when, language=report.lang,
        ), [], when)
        runtime.store.save_enrichment(_id(report.key), 1, Enrichment(
            report.lang, _entities(report), (), report.quotes))
    cluster_pending(runtime)
    yield runtime
    runtime.close()


def _fields(rt: Runtime) -> dict[str, dict]:
    stories = StoryStore(rt.store)
    return {r.key: stories.story_fields(_id(r.key)) for r in REPORTS}


def test_reports_in_other_languages_join_the_story_of_their_event(rt: Runtime) -> None:
    f = _fields(rt)
    sea = f["en-sea"]["story_id"]
    assert f["ru-sea-repeat"]["story_id"] == sea  # Russian joins the English story
    assert f["ko-sea-statement"]["story_id"] == sea  # ... and Korean
    assert f["en-tanker"]["story_id"] == f["ru-tanker"]["story_id"]  # English joins Russian
    why = f["ru-sea-repeat"]["detail"]["why"]
    assert why["linked_by"].startswith("cross-lingual: shared Rajin")
    assert {"North Korea", "Russia", "Vostochny"} <= set(why["cross_lingual"]["entities"])
    assert {"shells", "ship", "port"} <= set(why["cross_lingual"]["concepts"])
    assert "1,000" in why["cross_lingual"]["figures"]
    story = StoryStore(rt.store).get(sea)
    assert story is not None and story.profile["languages"] == ["en", "ru", "ko"]


def test_same_kind_events_of_the_same_week_stay_apart_across_languages(rt: Runtime) -> None:
    f = _fields(rt)
    sea, tanker = f["en-sea"]["story_id"], f["ru-tanker"]["story_id"]
    assert f["ko-missile"]["story_id"] not in {sea, tanker}  # a launch is not a shipment
    assert f["ru-rail"]["story_id"] not in {sea, f["ko-missile"]["story_id"]}  # rail, not sea
    assert f["en-sanctions"]["story_id"] != tanker  # sanctions on the fleet, not the seizure
    refused = f["ru-rail"]["detail"]["why"]["refused"]
    assert any(r["story_id"] == sea and r["reason"] == "below the threshold"
               and r["probability"] < crosslingual.THRESHOLD for r in refused)
    assert len({f[k]["story_id"] for k in f}) == 5


def test_novelty_across_languages_counts_new_facts_only(rt: Runtime) -> None:
    f = _fields(rt)
    repeat = f["ru-sea-repeat"]
    assert repeat["novelty"] <= 0.05  # a new outlet, nothing else
    added = repeat["detail"]["additions"]
    assert added["cross_lingual"] == "ru"
    assert not (added["new_entities"] or added["new_speakers"] or added["new_numbers"]
                or added["new_concepts"])
    statement = f["ko-sea-statement"]
    assert statement["novelty"] >= 0.5
    added = statement["detail"]["additions"]
    assert "Jeon Ha-neul" in added["new_speakers"] and "Jeon Ha-neul" in added["new_entities"]
    assert "3,000" in added["new_numbers"] and "sanctions" in added["new_concepts"]


def test_why_says_what_linked_an_article_across_languages(rt: Runtime) -> None:
    sea = _fields(rt)["en-sea"]["story_id"]
    result = CliRunner().invoke(cli, ["story", sea, "--why"],
                                env={"NEWSWATCH_HOME": str(rt.settings.home),
                                     "NEWSWATCH_DATABASE_URL": rt.settings.database_url})
    assert result.exit_code == 0, result.output
    assert "cross-lingual: shared Rajin, Vostochny" in result.output
    linked = next(line for line in result.output.splitlines() if "cross-lingual: shared" in line)
    assert "shells" in linked.split("concepts")[1] and "figures 1,000" in linked


def test_figures_dates_and_concepts_read_the_same_in_every_language() -> None:
    assert facts.amounts("1,000 shells and 12 million rounds", "en") == {"1000", "12000000"}
    assert facts.amounts("1 000 снарядов, 1,5 млн патронов, 24 тыс. мин, 2026 г.", "ru") == {
        "1000", "1500000", "24000"}
    assert facts.amounts("포탄 1천 발과 100만 발, 2026년 11월 10일", "ko") == {"1000", "1000000"}
    assert facts.amounts("砲弾1000発と1万発", "ja") == facts.amounts("炮弹1千枚和1万枚", "zh") == {
        "1000", "10000"}
    published = datetime(2026, 11, 12, 9, tzinfo=UTC)  # a Thursday
    tuesday = datetime(2026, 11, 10).toordinal()
    for lang, text in [("ru", "во вторник"), ("uk", "у вівторок"), ("ko", "화요일"), ("ja", "火曜日"),
                       ("zh", "周二"), ("ru", "10 ноября"), ("ko", "11월 10일"), ("zh", "11月10日")]:
        assert tuesday in facts.mentioned_dates(text, lang, published), (lang, text)
    assert set(concepts.find("КНДР отправила снаряды на судне из порта", "ru")) == {
        "shipment", "shells", "ship", "port"}
    assert {"shells", "ship"} <= set(concepts.find("북한은 포탄을 화물선에 실었다", "ko"))
    assert "port" not in concepts.find("香港的船", "zh") and "ship" in concepts.find("香港的船", "zh")


def test_an_old_profile_loads_and_is_decided_by_the_model() -> None:
    old = Profile.from_json({"terms": {"shells": 1.0}, "entities": {"Q423": 1.0}, "count": 1})
    assert old.languages == [] and old.concepts == {}
    assert crosslingual.mode("ru", old.languages) == crosslingual.MODEL
    assert crosslingual.mode("ru", ["en"]) == crosslingual.CROSS
    assert crosslingual.mode("en", ["en", "ru"]) == crosslingual.BOTH
    assert crosslingual.mode("en", ["en"]) == crosslingual.MODEL
    assert crosslingual.mode("fr", ["en"]) == crosslingual.MODEL  # a language we cannot read
    ev = evidence("КНДР", "Снаряды", [], {}, 1, datetime(2026, 11, 12, tzinfo=UTC), language="ru")
    link = crosslingual.compare(ev, old, datetime(2026, 11, 12, tzinfo=UTC))
    assert link.score < crosslingual.THRESHOLD
    assert assess("Снаряды", [], [], "x", old, language="ru").additions.get("cross_lingual") is None
