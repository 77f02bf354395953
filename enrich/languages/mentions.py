"""Gazetteer names found in a text in Russian, Ukrainian, Korean, Japanese or Chinese.

A name is matched only on whole tokens of the language's tokenizer (enrich/languages/tokens.py):

- Russian and Ukrainian: word by word, where a word of the text matches a word of the name
  through its surface form or any of its pymorphy3 dictionary forms ("Северной Кореи",
  "Шойгу", "Пхеньяну", "Києві"); a name word written with a capital (or in capitals) needs
  the text to write it so ("Белый дом" is the White House, "белый дом" a white house);
- Korean (kiwipiepy morphemes, so "북한이" is "북한" + "이"), Japanese (SudachiPy, shortest
  split mode) and Chinese (jieba, with the gazetteer's Chinese names added to a tokenizer of
  its own): a run of whole tokens whose text, without spaces and middle dots, is a name
  ("러시아 국방부", "ドナルド・トランプ", "朝鲜"). In Korean a name may also end before a
  suffix glued to it ("북한산" North Korean-made, "국방정보총국장" the head of the
  directorate), and a name of one or two syllables that kiwipiepy reads as a common noun is
  not a name ("인도적 지원" is humanitarian aid, not India);
- the one-character country abbreviations of Korean, Japanese and Chinese headlines and
  compounds ("한미", "북·러", "美韩", "俄朝", "日米韓") stand for each country they join.

The longest name starting at a token wins (names.tsv also lists longer names that are no
entity, so that the country inside them is not read: 日本海, 内モンゴル) and matches do not
overlap, except that a country
named inside a longer name counts as well ("Министерство обороны России", "러시아 국방부").
A run of Latin-script words ("HIMARS", "KN-23", "Storm Shadow") is looked up in the English
gazetteer. Each match says whether the text writes it as a place ("в Пхеньяне", "평양 일대",
"在平壤"): the linker then keeps a capital as the city instead of reading it as its government.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from enrich.gazetteer import NOT_AN_ENTITY, GazEntry, Gazetteer, fold_name
from enrich.languages.tokens import (
    Token,
    fine_tokens,
    korean_tags,
    slavic_lemma,
    slavic_lemmas,
)

SLAVIC = ("ru", "uk")
MAX_TOKENS = 10  # tokens per name, at most
_SLAVIC_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")  # hyphens split ("Хвасон-18")
_LATIN = re.compile(r"[A-Za-z0-9]+(?:[ \-.'’][A-Za-z0-9]+)*\.?")
_LATIN_GAP = re.compile(r"^[ \-]?$")  # what may stand between the words of a Latin name
# Russian, Ukrainian, Chinese: the words before a capital that make it a place.
PLACE_BEFORE = {
    "ru": frozenset({"в", "во", "из", "до", "под", "около", "у", "к", "ко", "через", "над",
                     "возле", "вблизи", "близ", "на", "по", "между", "от", "за"}),
    "uk": frozenset({"в", "у", "до", "з", "із", "зі", "під", "біля", "через", "над", "поблизу",
                     "на", "по", "між", "від", "за"}),
    "zh": frozenset({"在", "到", "赴", "抵达", "抵達", "从", "從", "于", "於", "飞往", "飛往",
                     "前往", "访问", "訪問", "位于", "位於"}),
}
PLACE_AFTER = {"zh": frozenset({"附近", "郊区", "郊外", "一带", "市内", "市区", "街头", "上空"})}
# Korean and Japanese: a capital is its government only as the subject or topic of a clause
# ("평양은 부인했다", "平壌は否定した") or with a word for its authorities; else the city.
GOVERNMENT_AFTER = {
    "ko": frozenset({"은", "는", "이", "가", "측", "당국", "정부"}),
    "ja": frozenset({"は", "が", "側", "当局", "政府"}),
}
CONJUNCTIONS = {"ru": frozenset({"и", "или"}), "uk": frozenset({"і", "й", "та", "або"})}
KOREAN_SUFFIXES = ("산", "측", "장", "군", "발", "제")  # made in, side, head, army, from, made
KOREAN_COMMON = ("NNG", "NNB", "VV", "VA", "XR", "MAG")  # tags of words that are not names
# One-character country abbreviations in compounds ("한미" = South Korea and the US).
ABBREVIATIONS = {
    "ko": {"한": "Q884", "미": "Q30", "북": "Q423", "러": "Q159", "중": "Q148", "일": "Q17"},
    "ja": {"日": "Q17", "米": "Q30", "露": "Q159", "朝": "Q423", "韓": "Q884", "中": "Q148"},
    "zh": {"中": "Q148", "美": "Q30", "俄": "Q159", "朝": "Q423", "韩": "Q884", "韓": "Q884",
           "日": "Q17", "乌": "Q212", "烏": "Q212"},
}
NOT_ABBREVIATIONS = {  # compounds of those characters that mean something else
    "ko": frozenset({"북미", "중미", "남미", "일일", "한일자", "중일"}),
    "ja": frozenset({"日中", "中日", "朝露", "朝日"}),
    "zh": frozenset({"中日", "日中", "中美洲", "美中不足"}),
}
_SEPARATORS = frozenset({"·", "・", "、", "‧", "･"})


@dataclass(frozen=True)
class Match:
    start: int  # character offsets in the text
    end: int
    surface: str  # as written
    entry: GazEntry
    place: bool  # written as a place ("в Пхеньяне"): a capital is then the city


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    # names ending here: (entry, the case each word must be written in), first row first
    names: list[tuple[GazEntry, tuple[str, ...]]] = field(default_factory=list)


def find_names(text: str, lang: str, gazetteer: Gazetteer) -> list[Match]:
    """The gazetteer names of ``text`` (language ``lang``), in order of their start. A name
    names.tsv says is no entity comes with the entry `NOT_AN_ENTITY`: callers skip it, and
    let no other reading (an NER span) claim its characters."""
    found = _slavic(text, lang, gazetteer) if lang in SLAVIC else _unspaced(text, lang, gazetteer)
    return sorted(found, key=lambda m: (m.start, -m.end))


# --- Russian and Ukrainian: words and their dictionary forms -----------------------------------

def _case(word: str) -> str:
    """How a name word must be written: "upper" (КНДР, ООН), "title" (Путин) or "any"."""
    letters = [c for c in word if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return "upper"
    return "title" if letters and letters[0].isupper() else "any"


def _written(word: str, case: str) -> bool:
    if case == "upper":
        return word.isupper()
    return case == "any" or word[:1].isupper()


@lru_cache(maxsize=8)
def _trie(gazetteer: Gazetteer, lang: str) -> _Node:
    """The names of ``lang``, word by word; a name word is reached through its folded form
    and its most probable dictionary form."""
    root = _Node()
    for name, entry in gazetteer.name_rows(lang):
        words = [m.group() for m in _SLAVIC_WORD.finditer(name)]
        if not words:
            continue
        nodes = [root]
        for word in words:
            keys = {fold_name(word, lang), fold_name(slavic_lemma(word, lang), lang)}
            nodes = list({id(n): n for n in (
                node.children.setdefault(key, _Node()) for node in nodes for key in keys
            )}.values())
        for node in nodes:
            node.names.append((entry, tuple(_case(w) for w in words)))
    return root


def _slavic(text: str, lang: str, gazetteer: Gazetteer) -> list[Match]:
    root = _trie(gazetteer, lang)
    words = list(_SLAVIC_WORD.finditer(text))
    keys = [{fold_name(w.group(), lang)} | {fold_name(x, lang) for x in
                                            slavic_lemmas(w.group(), lang)} for w in words]
    out: list[Match] = []
    last_place = -2  # index of the word after the last match written as a place
    i = 0
    while i < len(words):
        found = _longest(root, words, keys, i, len(words))
        if found is None:
            found = _latin(text, words, i, gazetteer)
        if found is None:
            i += 1
            continue
        end, entry = found
        previous = words[i - 1].group().lower() if i > 0 else ""
        place = previous in PLACE_BEFORE[lang] or (  # "между Москвой и Пхеньяном"
            previous in CONJUNCTIONS[lang] and last_place == i - 1)
        out.append(_match(text, words[i].start(), words[end - 1].end(), entry, place))
        last_place = end if place else -2
        inside = range(i, end) if entry is not NOT_AN_ENTITY else range(0)
        for k in inside:  # a country inside a longer name counts too
            inner = _longest(root, words, keys, k, end)
            if inner is not None and inner[1].kind == "country" and inner[1].id != entry.id:
                out.append(_match(text, words[k].start(), words[inner[0] - 1].end(),
                                  inner[1], False))
        i = end
    return out


def _match(text: str, start: int, end: int, entry: GazEntry, place: bool) -> Match:
    return Match(start, end, text[start:end], entry, place)


def _longest(root: _Node, words: Sequence[re.Match[str]], keys: Sequence[set[str]], i: int,
             stop: int) -> tuple[int, GazEntry] | None:
    """The longest name that starts at word ``i`` and ends before word ``stop``: (index after
    its last word, entry)."""
    best: tuple[int, GazEntry] | None = None
    paths: list[_Node] = [root]
    for j in range(i, min(stop, i + MAX_TOKENS)):
        if j > i and _broken(words[j - 1], words[j]):
            break
        paths = [child for node in paths for key in keys[j]
                 if (child := node.children.get(key)) is not None]
        if not paths:
            break
        written = [w.group() for w in words[i:j + 1]]
        entry = next((e for node in paths for e, cases in node.names
                      if all(_written(w, c) for w, c in zip(written, cases, strict=True))), None)
        if entry is not None:
            best = (j + 1, entry)
    return best


def _broken(left: re.Match[str], right: re.Match[str]) -> bool:
    """True when something other than spaces, a hyphen or quotes separates two words (a name
    never runs across a comma or a full stop)."""
    gap = left.string[left.end():right.start()]
    return bool(gap.strip(" -\u2010\u2011\u2013«»\"„“”")) or "\n" in gap


def _latin(text: str, words: Sequence[re.Match[str]], i: int,
           gazetteer: Gazetteer) -> tuple[int, GazEntry] | None:
    """The longest run of Latin-script words from ``i`` that the English gazetteer knows."""
    if not words[i].group().isascii():
        return None
    last = i
    while (last + 1 < len(words) and last + 1 < i + MAX_TOKENS and words[last + 1].group().isascii()
           and _LATIN_GAP.match(text[words[last].end():words[last + 1].start()])):
        last += 1
    for j in range(last, i - 1, -1):
        entry = _english(gazetteer, text[words[i].start():words[j].end()])
        if entry is not None:
            return j + 1, entry
    return None


def _english(gazetteer: Gazetteer, surface: str) -> GazEntry | None:
    """The English entry of a Latin-script name of two characters or more (a lone "X" in
    a Korean text is a letter, not the platform)."""
    if len(surface) < 2:
        return None
    entry = gazetteer.lookup(surface)
    if entry is not None and entry.kind == "demonym":
        return None
    return entry


# --- Korean, Japanese, Chinese: runs of whole tokens -------------------------------------------

def _wordy(token: str) -> bool:
    return any(c.isalnum() for c in token)


@lru_cache(maxsize=8)
def _longest_name(gazetteer: Gazetteer, lang: str) -> int:
    return max((len(fold_name(n, lang)) for n, _ in gazetteer.name_rows(lang)), default=0)


@lru_cache(maxsize=8)
def _countries(gazetteer: Gazetteer, lang: str) -> tuple[tuple[str, GazEntry], ...]:
    """The folded country names of ``lang``, longest first."""
    found = {fold_name(n, lang): e for n, e in gazetteer.name_rows(lang)
             if e.kind == "country" and len(fold_name(n, lang)) >= 2}
    return tuple(sorted(found.items(), key=lambda kv: -len(kv[0])))


@lru_cache(maxsize=2)
def _chinese_tokenizer(gazetteer: Gazetteer) -> Any:
    """A jieba tokenizer of its own that knows the gazetteer's Chinese names (the shared one
    in tokens.py is left as it is: search indexes with it)."""
    import jieba

    fine_tokens("中文", "zh")  # the shared tokenizer, initialised once
    tokenizer = jieba.Tokenizer()
    try:  # share the loaded dictionary instead of reading it again
        tokenizer.FREQ, tokenizer.total = dict(jieba.dt.FREQ), jieba.dt.total
        tokenizer.initialized = True
    except AttributeError:
        tokenizer.initialize()
    for name, _ in gazetteer.name_rows("zh"):
        tokenizer.add_word(name)
    return tokenizer


def _tokens(text: str, lang: str, gazetteer: Gazetteer) -> list[tuple[Token, str]]:
    """Tokens with a tag: kiwipiepy's for Korean, "" for the others."""
    if lang == "ko":
        return korean_tags(text)
    if lang == "zh":
        return [(Token(w, s, e, w.lower()), "")
                for w, s, e in _chinese_tokenizer(gazetteer).tokenize(text) if w.strip()]
    return [(t, "") for t in fine_tokens(text, lang)]


def _unspaced(text: str, lang: str, gazetteer: Gazetteer) -> list[Match]:
    tagged = _tokens(text, lang, gazetteer)
    toks = [t for t, _ in tagged]
    longest = max(_longest_name(gazetteer, lang), 24)
    out: list[Match] = []
    i = 0
    while i < len(toks):
        found = _name_at(text, lang, gazetteer, tagged, i, longest)
        if found is None:
            after, abbreviated = _abbreviations(text, lang, gazetteer, toks, i)
            out += abbreviated
            i = after
            continue
        end, stop, entry = found
        start = toks[i].start
        out.append(_match(text, start, stop, entry, _cjk_place(lang, toks, i, end)))
        if entry.kind not in ("country", NOT_AN_ENTITY.kind):  # a country inside counts too
            folded = fold_name(text[start:stop], lang)
            for name, country in _countries(gazetteer, lang):
                if name in folded and name != folded and country.id != entry.id:
                    at = text.find(name, start, stop)
                    out.append(_match(text, max(at, start), max(at, start) + len(name),
                                      country, False))
                    break
        i = end
    return out


def _name_at(text: str, lang: str, gazetteer: Gazetteer, tagged: Sequence[tuple[Token, str]],
             i: int, longest: int) -> tuple[int, int, GazEntry] | None:
    """The longest name from token ``i``: (token index after it, end offset, entry)."""
    toks = [t for t, _ in tagged[i:i + MAX_TOKENS]]
    if not _wordy(toks[0].text):
        return None
    best: tuple[int, int, GazEntry] | None = None
    for n, tok in enumerate(toks):
        surface = text[toks[0].start:tok.end]
        if "\n" in surface or len(surface) > longest + 2:
            break
        if not _wordy(tok.text):
            continue  # a name neither starts nor ends with punctuation
        entry = gazetteer.lookup_lang(lang, surface)
        if entry is None and _LATIN.fullmatch(surface):
            entry = _english(gazetteer, surface)
        if entry is not None and lang == "ko" and not _korean_span(tagged[i][1],
                                                                   tagged[i + n][1]):
            entry = None  # "사랑이란": a copula and an ending, not Iran
        if entry is not None and not (n == 0 and _common_korean(lang, tagged[i][1], surface)):
            best = (i + n + 1, tok.end, entry)
        elif lang == "ko" and best is None:  # "북한산", "국방정보총국장": a suffix glued on
            for suffix in KOREAN_SUFFIXES:
                if surface.endswith(suffix) and len(surface) > len(suffix) + 1:
                    entry = gazetteer.lookup_lang(lang, surface[:-len(suffix)])
                    if entry is not None:
                        best = (i + n + 1, tok.end - len(suffix), entry)
    return best


def _korean_span(first: str, last: str) -> bool:
    """A Korean name starts with a noun, a foreign word or a number (never with a particle,
    an ending or a copula) and does not end with a particle or an ending."""
    return (first.startswith("N") or first in ("SL", "SH", "SN")) and not last.startswith(
        ("J", "E"))


def _common_korean(lang: str, tag: str, surface: str) -> bool:
    """A short Korean name that kiwipiepy reads as a common word here although it reads it as
    a proper noun on its own ("인도적 지원": aid, not India; "인도 정부": India)."""
    return (lang == "ko" and tag in KOREAN_COMMON and len(surface) <= 2
            and _korean_proper(surface))


@lru_cache(maxsize=4096)
def _korean_proper(name: str) -> bool:
    tagged = korean_tags(name)
    return len(tagged) == 1 and tagged[0][1] == "NNP"


def _cjk_place(lang: str, toks: Sequence[Token], i: int, end: int) -> bool:
    nxt = toks[end].text if end < len(toks) and toks[end].start - toks[end - 1].end <= 1 else ""
    if lang in GOVERNMENT_AFTER:
        return nxt not in GOVERNMENT_AFTER[lang]
    before = toks[i - 1].text if i > 0 else ""
    return before in PLACE_BEFORE.get(lang, ()) or nxt in PLACE_AFTER.get(lang, ())


def _abbreviations(text: str, lang: str, gazetteer: Gazetteer, toks: Sequence[Token],
                   i: int) -> tuple[int, list[Match]]:
    """Countries joined by one-character abbreviations from token ``i`` ("한미", "북·러",
    "美韩", "日米韓"): the run of touching tokens made only of them, two to four countries.
    Returns the index of the token after the run (``i + 1`` when there is none) and them."""
    table = ABBREVIATIONS.get(lang)
    if not table or not toks[i].text or toks[i].text[0] not in table:
        return i + 1, []
    j, chars = i, ""
    while j < len(toks) and all(c in table or c in _SEPARATORS for c in toks[j].text) and (
            j == i or toks[j].start == toks[j - 1].end) and (lang != "ko" or j == i or (
            toks[j - 1].text in _SEPARATORS or toks[j].text in _SEPARATORS)):
        chars += toks[j].text
        j += 1
    letters = [c for c in chars if c in table]
    if not 2 <= len(letters) <= 4 or len(set(letters)) != len(letters):
        return i + 1, []
    if "".join(letters) in NOT_ABBREVIATIONS.get(lang, ()) or (
            j < len(toks) and toks[j].start == toks[j - 1].end and toks[j].text[0] in table):
        return i + 1, []
    out = []
    offset = toks[i].start
    for n, c in enumerate(text[toks[i].start:toks[j - 1].end]):
        entry = gazetteer.country(table[c]) if c in table else None
        if entry is not None:
            out.append(_match(text, offset + n, offset + n + 1, entry, False))
    return j, out


__all__ = ["ABBREVIATIONS", "PLACE_BEFORE", "Match", "find_names"]
