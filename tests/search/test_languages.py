"""Search in Russian, Ukrainian, Korean, Japanese and Chinese: the same queries find the same
articles on both backends (SQLite FTS5 and a real Elasticsearch), through the analysed terms
of :mod:`search.analysis`; English searches are what they were; entity and topic filters find
articles in every language. The articles are short texts of our own."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import esserver
import pytest

from core.models import IndexDoc, SearchRequest
from core.settings import Settings
from search.analysis import MAX_VARIANTS, Variant, index_terms, query_variants, search_terms
from search.backend import IndexBackend
from search.factory import open_index
from search.query import parse_query

NK = ("Q423", "North Korea", "place")
RUSSIA = ("Q159", "Russia", "place")
UKRAINE = ("Q212", "Ukraine", "place")
KYIV = ("Q1899", "Kyiv", "place")
SHOIGU = ("Q313086", "Sergei Shoigu", "person")
JAPAN = ("Q17", "Japan", "place")


def doc(doc_id: str, lang: str, title: str, body: str, day: int, **more: Any) -> IndexDoc:
    return IndexDoc(
        id=doc_id, url=f"https://news.example/{doc_id}", title=title, body=body,
        source=f"Outlet {lang}", published=datetime(2024, 9, day, tzinfo=UTC),
        ingested=datetime(2024, 9, 30, tzinfo=UTC), language=lang, **more,
    )  # fmt: skip


CORPUS = [
    doc("ru-sanctions", "ru", "Новые санкции против КНДР",
        "Министр заявил, что поставки снарядов из Северной Кореи в Россию продолжаются.",
        2, entities=(NK, RUSSIA), topics=("dprk-russia",)),
    doc("ru-shoigu", "ru", "Шойгу прибыл в Пхеньян",
        "Секретарь Совбеза обсудил с руководством КНДР военное сотрудничество и санкцию ООН.",
        3, entities=(SHOIGU, NK), topics=("dprk-russia",)),
    doc("ru-steel", "ru", "Цены на сталь выросли",
        "Металлурги стали выпускать больше проката; экспорт в Китай растёт.", 4),
    doc("uk-kyiv", "uk", "Удар по Києву",
        "У Києві пролунали вибухи: сили ППО збили п'ять ракет і два дрони.",
        5, entities=(KYIV, UKRAINE)),
    doc("uk-sanctions", "uk", "ЄС готує нові санкції",
        "Україна закликає посилити санкції проти Росії та КНДР через постачання снарядів.",
        6, entities=(UKRAINE, RUSSIA, NK), topics=("dprk-russia",)),
    doc("ko-shells", "ko", "북한이 러시아에 포탄을 보냈다",
        "국가정보원은 북한의 포탄 수백만 발이 러시아로 건너갔다고 밝혔다.",
        7, entities=(NK, RUSSIA), topics=("dprk-russia",)),
    doc("ko-launch", "ko", "북한, 동해상으로 탄도미사일 발사",
        "합동참모본부는 미사일이 약 600km를 비행했다고 전했다.", 8, entities=(NK,)),
    doc("ko-weather", "ko", "서울에 첫눈", "서울과 경기 지역에 올겨울 첫눈이 내렸다.", 9),
    doc("zh-shipment", "zh", "朝鲜向俄罗斯运送炮弹",
        "美国官员说，朝鲜已向俄罗斯运送数百万发炮弹，西方正在研究新的制裁措施。",
        10, entities=(NK, RUSSIA), topics=("dprk-russia",)),
    doc("zh-trade", "zh", "中俄贸易额创新高", "两国贸易额今年继续增长，能源出口占一半。", 11,
        entities=(RUSSIA,)),
    doc("ja-missile", "ja", "北朝鮮が弾道ミサイルを発射",
        "防衛省によると、ミサイルは日本海に落下した。政府は制裁を検討している。",
        12, entities=(NK, JAPAN)),
    doc("ja-tokyo", "ja", "東京で桜が開花", "東京都心で桜の開花が発表された。", 13, entities=(JAPAN,)),
    doc("en-shells", "en", "North Korea ships shells to Russia",
        "Officials say millions of artillery shells have crossed the border; sanctions follow.",
        14, entities=(NK, RUSSIA), topics=("dprk-russia",)),
    doc("en-weather", "en", "First snow in Seoul", "Snow fell across the capital overnight.", 15),
]  # fmt: skip
EVERYTHING = {d.id for d in CORPUS}

# (query, what it must find): the same on both backends, by the fixture's parameter
QUERIES = [
    # Russian: word forms through lemmas
    ("санкций", {"ru-sanctions", "ru-shoigu"}),  # Ukrainian spells it санкція
    ("санкция", {"ru-sanctions", "ru-shoigu"}),
    ("снаряды", {"ru-sanctions", "uk-sanctions"}),
    ("Северная Корея", {"ru-sanctions"}),
    ('"северной кореи"', {"ru-sanctions"}),
    ("кндр", {"ru-sanctions", "ru-shoigu", "uk-sanctions"}),
    ("title:кндр", {"ru-sanctions"}),
    ("body:кндр", {"ru-shoigu", "uk-sanctions"}),
    ("сталь", {"ru-steel"}),
    ("шойгу пхеньяне", {"ru-shoigu"}),
    ("санкц*", {"ru-sanctions", "ru-shoigu", "uk-sanctions"}),
    ("санкции -шойгу", {"ru-sanctions"}),
    # Ukrainian
    ("Київ", {"uk-kyiv"}),
    ("києві", {"uk-kyiv"}),
    ("ракета", {"uk-kyiv"}),
    ("дронів", {"uk-kyiv"}),
    ("санкції", {"uk-sanctions"}),
    ('"нові санкції"', {"uk-sanctions"}),
    ("україни", {"uk-sanctions"}),
    # Korean: morphemes, particles dropped
    ("북한", {"ko-shells", "ko-launch"}),
    ("북한이", {"ko-shells", "ko-launch"}),
    ("북한의 포탄", {"ko-shells"}),
    ("포탄을", {"ko-shells"}),
    ("보내다", {"ko-shells"}),
    ("미사일", {"ko-launch"}),
    ("title:미사일", {"ko-launch"}),
    ("첫눈", {"ko-weather"}),
    ("러시아 OR 서울", {"ko-shells", "ko-weather"}),
    # Chinese: bigrams
    ("朝鲜", {"zh-shipment"}),
    ("制裁", {"zh-shipment", "ja-missile"}),
    ("制裁措施", {"zh-shipment"}),
    ("俄罗斯", {"zh-shipment"}),
    ("俄", {"zh-shipment", "zh-trade"}),
    ("炮弹 -美国", set()),
    ('"朝鲜向俄罗斯"', {"zh-shipment"}),
    ("俄罗斯朝鲜", set()),  # both words are there, but not next to each other
    ("贸易额", {"zh-trade"}),
    # Japanese: bigrams over Han and kana
    ("北朝鮮", {"ja-missile"}),
    ("ミサイル", {"ja-missile"}),
    ("弾道ミサイル", {"ja-missile"}),
    ("東京", {"ja-tokyo"}),
    ("都", {"ja-tokyo"}),
    ("桜 開花", {"ja-tokyo"}),
    ("ＭＩＳＳＩＬＥ", set()),  # full-width Latin is Latin: the word index, no such word
    # mixed with English
    ("shells OR 포탄", {"ko-shells", "en-shells"}),
    ("russia", {"en-shells"}),
    ("-북한 -кндр -朝鲜", EVERYTHING - {"ko-shells", "ko-launch", "ru-sanctions", "ru-shoigu",
                                       "uk-sanctions", "zh-shipment"}),
]  # fmt: skip

BACKENDS = ["embedded", "elasticsearch"]


def _open(kind: str, request: pytest.FixtureRequest, home: Path) -> IndexBackend:
    if kind == "embedded":
        return open_index(Settings(home=home))
    settings = esserver.settings_for(request.getfixturevalue("es_url"), home)
    request.addfinalizer(lambda: esserver.drop_indices(settings))
    return open_index(settings)


@pytest.fixture(scope="module", params=BACKENDS)
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IndexBackend]:
    idx = _open(request.param, request, tmp_path_factory.mktemp("languages") / "home")
    assert idx.upsert_many(CORPUS) == len(CORPUS)
    yield idx
    idx.close()


def ids(idx: IndexBackend, query: str, **filters: Any) -> set[str]:
    result = idx.search(SearchRequest(query=query, limit=100, **filters))
    assert result.total == len(result.hits)
    return {h.id for h in result.hits}


@pytest.mark.parametrize(("query", "expected"), QUERIES, ids=[q for q, _ in QUERIES])
def test_queries_find_word_forms_in_each_language(
    corpus: IndexBackend, query: str, expected: set[str]
) -> None:
    assert ids(corpus, query) == expected


def test_watches_match_as_searches_find(corpus: IndexBackend) -> None:
    requests = [SearchRequest(query=q) for q, _ in QUERIES]
    outcomes = corpus.match(requests, [d.id for d in CORPUS])
    assert [set(o.ids) for o in outcomes] == [expected for _, expected in QUERIES]
    assert not any(o.error for o in outcomes)


def test_hits_in_the_analysed_terms_are_ranked(corpus: IndexBackend) -> None:
    result = corpus.search(SearchRequest(query="кндр"))
    assert result.hits[0].id == "ru-sanctions"  # in the title: ten times the weight
    assert all(h.score > 0 for h in result.hits)


def test_english_entity_and_topic_filters_find_every_language(corpus: IndexBackend) -> None:
    everywhere = {"ru-sanctions", "ru-shoigu", "uk-sanctions", "ko-shells", "ko-launch",
                  "zh-shipment", "ja-missile", "en-shells"}  # fmt: skip
    assert ids(corpus, "", entities=(NK[0],)) == everywhere
    tagged = {"ru-sanctions", "ru-shoigu", "uk-sanctions", "ko-shells", "zh-shipment",
              "en-shells"}  # fmt: skip
    assert ids(corpus, "", topic="dprk-russia") == tagged
    assert ids(corpus, "санкции", topic="dprk-russia") == {"ru-sanctions", "ru-shoigu"}
    assert ids(corpus, "북한", entities=(NK[0],), language="ko") == {"ko-shells", "ko-launch"}
    facets = corpus.facets(SearchRequest(query="", entities=(NK[0],)), ("language",))
    assert dict(facets["language"]) == {"ru": 2, "uk": 1, "ko": 2, "zh": 1, "ja": 1, "en": 1}


def test_english_searches_are_unchanged(corpus: IndexBackend) -> None:
    assert ids(corpus, "shells") == {"en-shells"}
    assert ids(corpus, '"north korea"') == {"en-shells"}
    assert ids(corpus, "snow -shells") == {"en-weather"}
    assert ids(corpus, "shell*") == {"en-shells"}


def test_english_queries_never_touch_the_analysed_terms() -> None:
    from search.embedded_query import QueryCompiler

    conn = sqlite3.connect(":memory:")
    for query in ("shells", '"north korea"', "title:snow OR -body:café", "zürich*"):
        compiler = QueryCompiler(conn)
        compiler.sql(parse_query(query))
        assert compiler.ranked and not compiler.ranked_terms
        assert all("docs_terms" not in m for m in compiler.params)
    es_query = pytest.importorskip("search.elastic_query")
    compiled = str(es_query.compile_query(parse_query('shells "north korea" -snow*')))
    assert "_terms" not in compiled and "_words" in compiled
    assert index_terms("North Korea ships shells to Russia", "en") == ""


def test_every_query_is_the_same_on_both_backends(es_url: str, tmp_path: Path) -> None:
    """Combinations of the words above, on both backends at once: the same ids."""
    embedded = open_index(Settings(home=tmp_path / "embedded"))
    settings = esserver.settings_for(es_url, tmp_path / "es")
    elastic = open_index(settings)
    try:
        for idx in (embedded, elastic):
            idx.upsert_many(CORPUS)
        words = ["санкций", "кндр", "Києві", "북한", "포탄을", "朝鲜", "制裁", "ミサイル",
                 "shells", "俄", "снарядов", "발사"]  # fmt: skip
        queries = [f"{a} {b}" for a in words for b in words if a < b]
        queries += [f"{a} OR -{b}" for a in words[:6] for b in words[6:]]
        queries += [f'"{a} {b}"' for a in words[:4] for b in words[4:8]]
        for query in queries:
            assert ids(embedded, query) == ids(elastic, query), query
    finally:
        embedded.close()
        elastic.close()
        esserver.drop_indices(settings)


def test_analysed_terms_are_what_both_indexes_hold(es_url: str, tmp_path: Path) -> None:
    """The whitespace analyser and FTS5's tokenizer give back exactly the terms written."""
    text = ("Северо-Западный з'їзд G7 Zürich ２０２４年 北朝鮮・ロシア 々 ヴェ 𠀋𠀌 북한이 첫눈 "
            "ẞ İstanbul covid-19")  # fmt: skip
    terms = search_terms(text, "ru")
    assert " ".join(terms) == index_terms(text, "ru")
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE docs (rowid INTEGER PRIMARY KEY, title, body, language)")
    from search.embedded_terms import ensure_terms, write_terms

    ensure_terms(conn)
    write_terms(conn, 1, text, "", "ru")
    vocab = [r[0] for r in conn.execute("SELECT term FROM docs_terms_vocab")]
    assert sorted(vocab) == sorted(set(terms))
    settings = esserver.settings_for(es_url, tmp_path)
    idx = open_index(settings)
    try:
        client = idx.client  # type: ignore[attr-defined]
        alias = idx.alias("articles")  # type: ignore[attr-defined]
        analysed = client.indices.analyze(index=alias, field="body_terms", text=" ".join(terms))
        assert [t["token"] for t in analysed["tokens"]] == terms
    finally:
        idx.close()
        esserver.drop_indices(settings)


def test_terms_of_each_language() -> None:
    assert search_terms("Санкции против КНДР", "ru") == ["санкция", "против", "кндр"]
    assert search_terms("п'ять ракет", "uk") == ["п", "ять", "ракета"]
    assert search_terms("북한이 포탄을 보냈다", "ko") == ["북한", "포탄", "보내다"]
    assert search_terms("朝鲜向俄", "zh") == ["朝鲜", "鲜向", "向俄", "俄_"]
    assert search_terms("北朝鮮が", "ja") == ["北朝", "朝鮮", "鮮が", "が_"]
    assert query_variants("鲜") == (Variant(("鲜",), prefix=True),)
    assert query_variants("朝鲜") == (Variant(("朝鲜",)),)
    assert query_variants("朝鲜 导弹") == (Variant(("朝鲜", "鲜_", "导弹")),)
    assert Variant(("санкция",)) in query_variants("санкций")
    assert query_variants("에게서") == ()  # a particle alone: nothing to look for
    many = query_variants("стали стали стали стали стали")
    assert 1 < len(many) <= MAX_VARIANTS
    assert many[0] == Variant(("стать",) * 5)  # the likeliest reading is kept


def test_nothing_to_look_for_matches_nothing(corpus: IndexBackend) -> None:
    assert ids(corpus, "에게서") == set()
    assert ids(corpus, "-에게서") == EVERYTHING


def test_an_embedded_file_without_terms_gets_them_on_opening(tmp_path: Path) -> None:
    from search.embedded import EmbeddedIndex

    path = tmp_path / "index.sqlite"
    with EmbeddedIndex(path) as idx:
        idx.upsert_many(CORPUS)
    conn = sqlite3.connect(path)  # as a file of the version before
    conn.executescript("DROP TABLE docs_terms_vocab; DROP TABLE docs_terms; "
                       "DROP TRIGGER docs_terms_ad;")
    conn.close()
    with EmbeddedIndex(path) as idx:
        assert ids(idx, "санкций") == {"ru-sanctions", "ru-shoigu"}
        assert ids(idx, "북한이") == {"ko-shells", "ko-launch"}
        idx.delete(["ko-launch"])
        assert ids(idx, "북한이") == {"ko-shells"}
        idx.upsert_many([replace(CORPUS[0], title="Погода", body="Солнечно.")])
        assert ids(idx, "санкций") == {"ru-shoigu"}


def test_an_elastic_index_without_terms_gets_the_fields(es_url: str, tmp_path: Path) -> None:
    from search.elastic_layout import TEMPLATES_DIR

    old = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, old)
    raw = (old / "articles-v1.json").read_text(encoding="utf-8")
    for name in ("title_terms", "body_terms"):
        raw = raw.replace(f'"{name}": {{"type": "text", "analyzer": "whitespace"}},\n', "")
    assert "_terms\"" not in raw
    (old / "articles-v1.json").write_text(raw, encoding="utf-8")
    settings = esserver.settings_for(es_url, tmp_path / "home")
    from search.elastic import ElasticIndex

    try:
        with ElasticIndex(settings, templates_dir=old) as idx:  # the code of before
            idx.upsert_many([d for d in CORPUS if d.language == "en"])
        with ElasticIndex(settings) as idx:  # opening adds the new fields in place
            idx.upsert_many(CORPUS)  # what `newswatch reindex` writes
            assert ids(idx, "санкций") == {"ru-sanctions", "ru-shoigu"}
            assert ids(idx, "shells") == {"en-shells"}
            assert idx.current_version("articles") == 1
    finally:
        esserver.drop_indices(settings)
