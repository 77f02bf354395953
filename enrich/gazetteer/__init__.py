"""The gazetteer: our own data files mapping surface forms to canonical entities.

Four UTF-8 TSV files with a header row (``|`` separates several aliases) live beside this
module: countries (with capitals and demonyms), organisations (with government bodies),
people and products. Every entry has a stable id: the Wikidata QID when the file gives one,
otherwise ``key:<type>:<slug>`` made from the canonical name. Format, ambiguity rules and how
to add entries: docs/gazetteer.md.

Ambiguity handling, in short:
* one surface, one entity: the news-dominant reading is the one written in the files
  ("Georgia" is the country, "Washington" the US capital, "Congo" the DR Congo, "Korea" and
  "Korean" are left out on purpose); callers should still check that the entry's ``type``
  fits the NER label ("Jordan" tagged PERSON is not the country);
* when two rows claim the same normalised surface, the first one read wins, in the order
  countries > organisations > people > products, and within countries.tsv names > capitals >
  demonyms; the losers are kept in ``Gazetteer.duplicates`` so a test can list them;
* surfaces written as 1-4 capital letters (US, UK, UN, EU, WHO, IS) only match that exact
  spelling, so the English words "us", "who" and "is" never resolve.

A fifth file, names.tsv, gives the same entries' names in Russian, Ukrainian, Korean,
Japanese and Chinese (``lookup_lang``, ``name_rows``); it never changes the English lookup.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATA_DIR", "FILES", "LANGUAGES", "NAMES_FILE", "NOT_AN_ENTITY", "Duplicate",
           "GazEntry", "Gazetteer", "fold_name", "normalise", "slug"]

DATA_DIR = Path(__file__).resolve().parent
FILES = ("countries.tsv", "organisations.tsv", "people.tsv", "products.tsv")
TYPES = frozenset({"person", "organisation", "place", "group", "event", "law", "product"})
QID = re.compile(r"^Q[0-9]+$")
NAMES_FILE = "names.tsv"  # id, lang, names: the entries' names in other languages
LANGUAGES = ("ru", "uk", "ko", "ja", "zh")
UNSPACED = ("ko", "ja", "zh")  # names compared without spaces or middle dots
_COLUMNS = {
    "countries.tsv": ("qid", "name", "aliases", "capital", "capital_qid", "demonyms"),
    "organisations.tsv": ("qid", "name", "type", "aliases", "country_qid"),
    "people.tsv": ("qid", "name", "aliases", "role", "country_qid"),
    "products.tsv": ("name", "aliases", "type", "qid"),
}
_ABBREVIATION = re.compile(r"^[A-Z]{1,4}$")  # matched case-sensitively (US vs the word "us")
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2018\u2019\u02bc\u02bb\u0060\u00b4\u2032", "'"))
_DASHES = re.compile(r"[\u2010-\u2015\u2212-]+")
_EDGES = " \"\u201c\u201d\u00ab\u00bb()[]{},;:!?"
_POSSESSIVE = re.compile(r"(?:'s|(?<=s)')$", re.IGNORECASE)
_ARTICLE = re.compile(r"^the\s+", re.IGNORECASE)
_UNSPACED_JUNK = re.compile(r"[\s\u00b7\u30fb\u2027\uff65]+")  # spaces and middle dots


@dataclass(frozen=True)
class GazEntry:
    id: str  # QID, or synthesised "key:<type>:<slug>" when the file has none
    name: str  # canonical name
    type: str  # person | organisation | place | group | event | law | product
    kind: str  # country | capital | demonym | organisation | body | person | product
    country_id: str | None = None  # capital/demonym/body/person: the country it belongs to


# names.tsv rows with the id "-" name no entity: a longer name that must not be read as the
# shorter name inside it (日本海 is a sea, not Japan; 内モンゴル a Chinese region, not Mongolia)
NOT_AN_ENTITY = GazEntry("-", "", "", "none")


@dataclass(frozen=True)
class Duplicate:
    surface: str  # the normalised key both rows claim
    kept: GazEntry
    dropped: GazEntry
    source: str  # "file:line" of the dropped row


def _fold(surface: str) -> str:
    """Everything `normalise` does except case folding."""
    text = unicodedata.normalize("NFKD", surface)  # also turns odd dots and spaces into ASCII
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    text = " ".join(_DASHES.sub(" ", text).split()).strip(_EDGES)
    text = _ARTICLE.sub("", _POSSESSIVE.sub("", text))
    return text.strip(_EDGES)


def normalise(surface: str) -> str:
    """The lookup key: accents folded, apostrophes and dashes unified (dashes read as spaces),
    whitespace collapsed, leading "the " and trailing possessive removed, case folded."""
    return _fold(surface).casefold()


def fold_name(surface: str, lang: str) -> str:
    """The lookup key of a name in another language: Unicode compatibility forms unified
    (full-width Latin, half-width kana) but no marks stripped (ガ stays ガ, й stays й),
    ё read as е, apostrophes and dashes unified (dashes read as spaces), case folded;
    Korean, Japanese and Chinese names also lose their spaces and middle dots."""
    text = unicodedata.normalize("NFKC", surface).translate(_APOSTROPHES)
    text = " ".join(_DASHES.sub(" ", text).split()).strip(_EDGES).casefold()
    text = text.replace("ё", "е").replace("«", "").replace("»", "")
    return _UNSPACED_JUNK.sub("", text) if lang in UNSPACED else " ".join(text.split())


def slug(text: str) -> str:
    """Lower-case, accent-free, hyphen-separated form used in synthesised ids."""
    return re.sub(r"[\W_]+", "-", normalise(text).replace("'", "")).strip("-")


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split("|") if part.strip()]


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    lines = path.read_text(encoding="utf-8-sig").splitlines()  # tolerate a BOM
    header = lines[0].split("\t") if lines else []
    missing = [c for c in _COLUMNS[path.name] if c not in header]
    if missing:
        raise ValueError(f"{path}: header lacks column(s) {', '.join(missing)}")
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() and not line.startswith("#"):
            cells = next(csv.reader([line], delimiter="\t", quoting=csv.QUOTE_NONE))
            row = {k: (cells[i].strip() if i < len(cells) else "") for i, k in enumerate(header)}
            if not row["name"]:
                raise ValueError(f"{path}:{number}: the name is empty")
            for column in ("qid", "capital_qid", "country_qid"):
                if row.get(column) and not QID.match(row[column]):
                    raise ValueError(f"{path}:{number}: {column} {row[column]!r} is not a QID")
            yield number, row


def _entity_id(qid: str, type_: str, name: str) -> str:
    return qid or f"key:{type_}:{slug(name)}"


class Gazetteer:
    """Surface form -> GazEntry. Build with `Gazetteer.load`; instances are never mutated
    (names.tsv is read on the first call that needs it, then kept)."""

    def __init__(self) -> None:
        self._exact: dict[str, GazEntry] = {}  # case-sensitive abbreviations (US, UN, WHO)
        self._folded: dict[str, GazEntry] = {}  # everything else, by `normalise`
        self._countries: dict[str, GazEntry] = {}
        self._entries: dict[tuple[str, str], GazEntry] = {}
        self._duplicates: list[Duplicate] = []
        self._names: dict[str, dict[str, GazEntry]] = {}  # lang -> fold_name key -> entry
        self._name_rows: dict[str, list[tuple[str, GazEntry]]] = {}  # lang -> (as written, entry)
        self._name_duplicates: list[Duplicate] = []
        self._by_id: dict[str, GazEntry] = {}
        self._names_file: Path | None = None  # read on first use: English never pays for it

    @classmethod
    def load(cls, directory: Path | None = None) -> Gazetteer:
        """Read the bundled files (cached), or the files of those names found in `directory`."""
        if directory is None:
            return _bundled()
        gazetteer = cls()
        for name in FILES:
            if (Path(directory) / name).is_file():
                gazetteer._read(Path(directory) / name)
        if (Path(directory) / NAMES_FILE).is_file():
            gazetteer._names_file = Path(directory) / NAMES_FILE
        return gazetteer

    def lookup(self, surface: str) -> GazEntry | None:
        folded = _fold(surface)
        return self._exact.get(folded) or self._folded.get(folded.casefold())

    def lookup_lang(self, lang: str, surface: str) -> GazEntry | None:
        """The entry a name written in language ``lang`` stands for (names.tsv), compared by
        `fold_name`; None for a name the file does not give in that language, and
        `NOT_AN_ENTITY` for a name the file says is none ("日本海")."""
        names = self._other_names().get(lang)
        return names.get(fold_name(surface, lang)) if names else None

    def name_rows(self, lang: str) -> tuple[tuple[str, GazEntry], ...]:
        """Every name names.tsv gives in ``lang``, as written, with its entry."""
        self._other_names()
        return tuple(self._name_rows.get(lang, ()))

    def entry(self, id_: str) -> GazEntry | None:
        """The entry with that id (a country rather than its demonym entry)."""
        self._other_names()
        return self._by_id.get(id_)

    @property
    def name_duplicates(self) -> tuple[Duplicate, ...]:
        """Names of names.tsv that two rows of one language claim (the first row wins)."""
        self._other_names()
        return tuple(self._name_duplicates)

    def _other_names(self) -> dict[str, dict[str, GazEntry]]:
        """names.tsv, read the first time another language asks (a cache, filled once)."""
        if not self._by_id:
            for (id_, kind), entry in self._entries.items():
                if kind != "demonym":
                    self._by_id.setdefault(id_, entry)
        if self._names_file is not None:
            path, self._names_file = self._names_file, None
            self._read_names(path)
        return self._names

    def country(self, country_id: str) -> GazEntry | None:
        return self._countries.get(country_id)

    def entries(self) -> tuple[GazEntry, ...]:
        """Every distinct entry (a country's demonym entry counts separately)."""
        return tuple(self._entries.values())

    @property
    def duplicates(self) -> tuple[Duplicate, ...]:
        return tuple(self._duplicates)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, surface: object) -> bool:
        return isinstance(surface, str) and self.lookup(surface) is not None

    def _read(self, path: Path) -> None:
        later: list[tuple[str, GazEntry, str]] = []  # capitals, then demonyms (countries.tsv)
        demonyms: list[tuple[str, GazEntry, str]] = []
        for number, row in _rows(path):
            where = f"{path.name}:{number}"
            name, qid = row["name"], row.get("qid", "")
            country_qid = row.get("country_qid") or None
            if path.name == "countries.tsv":
                if not qid:
                    raise ValueError(f"{where}: a country needs its QID")
                entry = GazEntry(qid, name, "place", "country")
                self._countries[qid] = entry
                capital = _split(row["capital"])
                if capital:
                    cap_id = _entity_id(row["capital_qid"], "place", capital[0])
                    cap = GazEntry(cap_id, capital[0], "place", "capital", qid)
                    later += [(s, cap, where) for s in capital]
                dem = GazEntry(qid, name, "place", "demonym", qid)
                demonyms += [(s, dem, where) for s in _split(row["demonyms"])]
            elif path.name == "organisations.tsv":
                kind = row["type"] or "organisation"
                if kind not in ("organisation", "body"):
                    raise ValueError(f"{where}: type must be organisation or body, not {kind!r}")
                entry = GazEntry(_entity_id(qid, "organisation", name), name, "organisation",
                                 kind, country_qid)
            elif path.name == "people.tsv":
                entry = GazEntry(_entity_id(qid, "person", name), name, "person", "person",
                                 country_qid)
            else:
                type_ = row["type"] or "product"
                if type_ not in TYPES:
                    raise ValueError(f"{where}: unknown type {type_!r}")
                entry = GazEntry(_entity_id(qid, type_, name), name, type_, "product")
            for surface in [name, *_split(row["aliases"])]:
                self._add(surface, entry, where)
        for surface, entry, where in later + demonyms:
            self._add(surface, entry, where)

    def _read_names(self, path: Path) -> None:
        """names.tsv: each row names one entry of the English files in one language."""
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        header = lines[0].split("\t") if lines else []
        if header[:3] != ["id", "lang", "names"]:
            raise ValueError(f"{path}: the header must be id, lang, names")
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip() or line.startswith("#"):
                continue
            where = f"{path.name}:{number}"
            cells = [c.strip() for c in line.split("\t")] + ["", ""]
            id_, lang, names = cells[:3]
            found = NOT_AN_ENTITY if id_ == NOT_AN_ENTITY.id else (
                self._by_id.get(id_) or _place_key(id_))
            if found is not None and found.kind == "place":
                self._by_id.setdefault(id_, found)  # one entry for all its languages
            if found is None:
                raise ValueError(f"{where}: no entry of the English files has the id {id_!r}")
            if lang not in LANGUAGES:
                raise ValueError(f"{where}: language {lang!r} is not one of {', '.join(LANGUAGES)}")
            entry, index = found, self._names.setdefault(lang, {})
            for name in _split(names):
                key = fold_name(name, lang)
                if not key:
                    continue
                kept = index.setdefault(key, entry)
                if kept.id != entry.id:
                    self._name_duplicates.append(Duplicate(f"{lang}:{key}", kept, entry, where))
                else:
                    self._name_rows.setdefault(lang, []).append((name, entry))

    def _add(self, surface: str, entry: GazEntry, where: str) -> None:
        self._entries.setdefault((entry.id, entry.kind), entry)
        folded = _fold(surface)
        if not folded:
            return
        index, key = (
            (self._exact, folded) if _ABBREVIATION.match(folded)
            else (self._folded, folded.casefold())
        )
        kept = index.setdefault(key, entry)
        if kept.id != entry.id:
            self._duplicates.append(Duplicate(key, kept, entry, where))


def _place_key(id_: str) -> GazEntry | None:
    """A place the English files do not list but English text names with this key id
    (``key:place:tobruk``: what an unknown place "Tobruk" gets from the English extractor),
    so that its names in other languages link to the same id; None for any other id."""
    match = re.fullmatch(r"key:place:([a-z0-9]+(?:-[a-z0-9]+)*)", id_)
    if match is None:
        return None
    return GazEntry(id_, match.group(1).replace("-", " ").title(), "place", "place")


@functools.lru_cache(maxsize=1)
def _bundled() -> Gazetteer:
    return Gazetteer.load(DATA_DIR)
