"""The gazetteer: our data files resolve the surfaces the shipped topics need, to stable ids."""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import pytest

from enrich.gazetteer import DATA_DIR, FILES, GazEntry, Gazetteer, normalise, slug

QID = re.compile(r"^Q[0-9]+$")

# Surfaces two rows are allowed to claim, with the reason; the first file read wins.
# Empty today: every ambiguity is settled in the data (see docs/gazetteer.md).
DOCUMENTED_DUPLICATES: dict[str, str] = {}


def rows(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


def resolves_to_country(gaz: Gazetteer, surface: str, qid: str) -> bool:
    entry = gaz.lookup(surface)
    return entry is not None and qid in (entry.id, entry.country_id)


def test_every_country_row_has_a_qid_and_a_name() -> None:
    for row in rows("countries.tsv"):
        assert QID.match(row["qid"]), row
        assert row["name"].strip(), row


def test_every_sovereign_state_is_there(gaz: Gazetteer) -> None:
    countries = [e for e in gaz.entries() if e.kind == "country"]
    assert len(countries) >= 195
    assert len(rows("countries.tsv")) == len(countries)
    for name in ("Tuvalu", "Vatican City", "Palestine", "Taiwan", "Kosovo", "Hong Kong",
                 "Greenland", "Western Sahara", "South Sudan", "Eswatini", "Timor-Leste"):
        entry = gaz.lookup(name)
        assert entry is not None and entry.kind == "country", name


def test_files_have_their_header_rows() -> None:
    expected = {
        "countries.tsv": ["qid", "name", "aliases", "capital", "capital_qid", "demonyms"],
        "organisations.tsv": ["qid", "name", "type", "aliases", "country_qid"],
        "people.tsv": ["qid", "name", "aliases", "role", "country_qid"],
        "products.tsv": ["name", "aliases", "type", "qid"],
    }
    for name in FILES:
        header = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()[0].split("\t")
        assert header == expected[name]


@pytest.mark.parametrize(
    "surface",
    ["North Korea", "DPRK", "D.P.R.K.", "Democratic People's Republic of Korea", "N. Korea",
     "north korea", "North Korea's"],
)
def test_the_names_of_north_korea(gaz: Gazetteer, surface: str) -> None:
    assert gaz.lookup(surface) == GazEntry("Q423", "North Korea", "place", "country")


def test_pyongyang_and_north_korean_go_through_north_korea(gaz: Gazetteer) -> None:
    capital = gaz.lookup("Pyongyang")
    assert capital == GazEntry("Q18808", "Pyongyang", "place", "capital", "Q423")
    for demonym in ("North Korean", "North Koreans"):
        entry = gaz.lookup(demonym)
        assert entry is not None and entry.kind == "demonym" and entry.country_id == "Q423"
    assert gaz.country("Q423") == gaz.lookup("North Korea")


@pytest.mark.parametrize("surface", ["Moscow", "the Kremlin", "Kremlin", "Russian", "Russians",
                                     "Russian Federation", "Kremlin's"])
def test_russia_directly_or_via_country_id(gaz: Gazetteer, surface: str) -> None:
    assert resolves_to_country(gaz, surface, "Q159")


@pytest.mark.parametrize(
    ("surface", "qid", "kind"),
    [
        ("White House", "Q35525", "body"),
        ("the White House", "Q35525", "body"),
        ("National Security Council", "Q1967415", "body"),
        ("Pentagon", "Q11209", "body"),
        ("the Pentagon", "Q11209", "body"),
        ("State Department", "Q789915", "body"),
        ("UN", "Q1065", "organisation"),
        ("U.N.", "Q1065", "organisation"),
        ("United Nations", "Q1065", "organisation"),
        ("UN Security Council", "Q37470", "organisation"),
        ("Security Council", "Q37470", "organisation"),
        ("NATO", "Q7184", "organisation"),
        ("Nato", "Q7184", "organisation"),
        ("EU", "Q458", "organisation"),
        ("IAEA", "Q41984", "organisation"),
    ],
)
def test_organisations_and_bodies_resolve(gaz: Gazetteer, surface: str, qid: str,
                                          kind: str) -> None:
    entry = gaz.lookup(surface)
    assert entry is not None and (entry.id, entry.kind, entry.type) == (qid, kind, "organisation")


def test_bodies_stand_for_a_country(gaz: Gazetteer) -> None:
    bodies = [e for e in gaz.entries() if e.kind == "body"]
    assert len(bodies) >= 10
    assert all(e.country_id and gaz.country(e.country_id) for e in bodies)
    kremlin = gaz.lookup("Kremlin")
    assert kremlin is not None and kremlin.id == "key:organisation:kremlin"


def test_the_word_us_is_not_the_united_states(gaz: Gazetteer) -> None:
    for surface in ("US", "U.S.", "USA", "U.S.A.", "the US", "US's", "United States"):
        assert resolves_to_country(gaz, surface, "Q30"), surface
    for word in ("us", "Us", "who", "Who", "is", "un", "uk", "car"):
        assert gaz.lookup(word) is None, word
    assert gaz.lookup("WHO") is not None and gaz.lookup("IS") is not None


def test_products_and_spelling_variants(gaz: Gazetteer) -> None:
    telegram = gaz.lookup("Telegram")
    assert telegram is not None and (telegram.kind, telegram.type) == ("product", "product")
    assert gaz.lookup("Telegram") == gaz.lookup("telegram")
    shahed = gaz.lookup("Shahed-136")
    assert shahed is not None and shahed == gaz.lookup("Shahed 136") == gaz.lookup("Shahed–136")
    for spelling in ("Zelensky", "Zelenskyy", "Zelenskiy", "Volodymyr Zelenskyy"):
        assert gaz.lookup(spelling) == gaz.lookup("Volodymyr Zelensky")
    assert gaz.lookup("Sergey Lavrov") == gaz.lookup("Sergei Lavrov") is not None
    assert gaz.lookup("Kim Jong-un") == gaz.lookup("Kim Jong Un’s") == gaz.lookup("Kim Jong Un")
    assert gaz.lookup("Cote d'Ivoire") == gaz.lookup("Côte d’Ivoire") is not None


def test_people_and_capitals_without_qids_get_synthesised_ids(gaz: Gazetteer) -> None:
    kim_yo_jong = gaz.lookup("Kim Yo Jong")
    assert kim_yo_jong is not None and kim_yo_jong.country_id == "Q423"
    belousov = gaz.lookup("Andrei Belousov")
    assert belousov is not None and belousov.id == "key:person:andrei-belousov"
    ngerulmud = gaz.lookup("Ngerulmud")
    assert ngerulmud is not None and ngerulmud.id == "key:place:ngerulmud"
    assert ngerulmud.country_id == "Q695"


def test_no_duplicate_surfaces_across_files_except_the_documented(gaz: Gazetteer) -> None:
    found = {d.surface: f"{d.kept.name} over {d.dropped.name} ({d.source})"
             for d in gaz.duplicates}
    assert set(found) <= set(DOCUMENTED_DUPLICATES), found


def test_every_qid_is_well_formed_and_every_country_reference_exists() -> None:
    countries = {row["qid"] for row in rows("countries.tsv")}
    for name in FILES:
        for row in rows(name):
            for column in ("qid", "capital_qid", "country_qid"):
                if row.get(column):
                    assert QID.match(row[column]), (name, row)
            if row.get("country_qid"):
                assert row["country_qid"] in countries, (name, row)


def test_ids_are_unique_per_file() -> None:
    for name in FILES:
        ids = [row["qid"] for row in rows(name) if row["qid"]]
        assert len(ids) == len(set(ids)), name
    capitals = [row["capital_qid"] for row in rows("countries.tsv") if row["capital_qid"]]
    assert len(capitals) == len(set(capitals))


@pytest.mark.parametrize(
    ("surface", "qid"),
    [("United States", "Q30"), ("Russia", "Q159"), ("North Korea", "Q423"),
     ("South Korea", "Q884"), ("China", "Q148"), ("Japan", "Q17"), ("Ukraine", "Q212"),
     ("Iran", "Q794"), ("United Kingdom", "Q145"), ("United Nations", "Q1065"),
     ("NATO", "Q7184"), ("European Union", "Q458"), ("Vladimir Putin", "Q7747"),
     ("Kim Jong Un", "Q56226"), ("Washington", "Q61"), ("Kyiv", "Q1899"), ("Seoul", "Q8684"),
     ("Beijing", "Q956"), ("London", "Q84"), ("Xi Jinping", "Q15031")],
)
def test_spot_checked_qids(gaz: Gazetteer, surface: str, qid: str) -> None:
    entry = gaz.lookup(surface)
    assert entry is not None and entry.id == qid


def test_normalise_and_slug() -> None:
    assert normalise("  The   Kremlin’s ") == "kremlin"
    assert normalise("Guinea‐Bissau") == normalise("Guinea Bissau") == "guinea bissau"
    assert normalise("Philippines'") == "philippines"
    assert normalise("U.S.") == "u.s."
    assert normalise("Türkiye") == "turkiye"
    assert slug("Élysée Palace") == "elysee-palace"
    assert slug("N'Djamena") == "ndjamena"
    assert slug("Kim Yo Jong") == "kim-yo-jong"


def test_load_is_fast_and_the_bundled_load_is_cached() -> None:
    assert Gazetteer.load() is Gazetteer.load()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        gazetteer = Gazetteer.load(DATA_DIR)
        best = min(best, time.perf_counter() - start)
    assert best < 0.05
    assert len(gazetteer) == len(Gazetteer.load())


def write(directory: Path, name: str, lines: list[str]) -> None:
    (directory / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_first_file_wins_and_duplicates_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "countries.tsv", ["qid\tname\taliases\tcapital\tcapital_qid\tdemonyms",
                                      "Q230\tGeorgia\t\tTbilisi\tQ994\tGeorgian|Georgians"])
    write(tmp_path, "people.tsv", ["qid\tname\taliases\trole\tcountry_qid",
                                   "# a comment line is skipped",
                                   "\tGeorgia Smith\tGeorgia|Ms Smith\tSinger\t"])
    gaz = Gazetteer.load(tmp_path)
    georgia = gaz.lookup("Georgia")
    assert georgia is not None and georgia.kind == "country"
    assert [(d.surface, d.kept.id, d.dropped.id, d.source) for d in gaz.duplicates] == [
        ("georgia", "Q230", "key:person:georgia-smith", "people.tsv:3")
    ]
    smith = gaz.lookup("Ms Smith")
    assert smith is not None and smith.kind == "person"


def test_bad_rows_are_refused_with_their_line(tmp_path: Path) -> None:
    write(tmp_path, "organisations.tsv", ["qid\tname\ttype\taliases\tcountry_qid",
                                          "Q1\tOne\torganisation\t\t",
                                          "q2\tTwo\torganisation\t\t"])
    with pytest.raises(ValueError, match=r"organisations.tsv:3"):
        Gazetteer.load(tmp_path)
    write(tmp_path, "organisations.tsv", ["qid\tname\taliases"])
    with pytest.raises(ValueError, match="header lacks"):
        Gazetteer.load(tmp_path)
