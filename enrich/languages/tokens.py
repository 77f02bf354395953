"""Words of a text in its language, with character offsets and a lemma (dictionary form).

- Russian and Ukrainian: words by a regular expression, lemmas from pymorphy3's dictionaries
  (the most probable parse; cached per word form);
- Korean: kiwipiepy's morphemes (particles and endings are tokens of their own, so
  "북한이" gives "북한" + "이");
- Japanese: SudachiPy (GiNZA's tokenizer) in its longest split mode, lemma = dictionary form;
- Chinese: jieba's words (its default dictionary), lemma = the word;
- anything else: words by a regular expression, lemma = the word in lower case.

Every analyser is created on first use in a process and kept. Pure functions otherwise: the
same text and language give the same tokens.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core.errors import NewswatchError

WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
CJK_CHUNK = 4000  # characters per tokenizer call (SudachiPy refuses very long inputs)
_KOREAN_CONTENT = ("NNG", "NNP", "NNB", "NR", "NP", "VV", "VA", "MAG", "SL", "SH", "SN", "XR")
_KOREAN_VERBS = ("VV", "VA", "VX", "VCP", "VCN")


@dataclass(frozen=True)
class Token:
    text: str  # as written
    start: int  # character offsets in the analysed text
    end: int
    lemma: str  # dictionary form, lower case where the script has case
    content: bool = True  # False for particles, endings and punctuation


def tokens(text: str, lang: str) -> list[Token]:
    """The tokens of ``text`` read as language ``lang`` (ISO 639-1)."""
    if lang in ("ru", "uk"):
        return _slavic(text, lang)
    if lang == "ko":
        return _korean(text)
    if lang == "ja":
        return _japanese(text)
    if lang == "zh":
        return _chinese(text)
    return [Token(m.group(), m.start(), m.end(), m.group().lower()) for m in WORD.finditer(text)]


def lemmas(text: str, lang: str) -> list[str]:
    """The lemmas of the content tokens of ``text``, in order."""
    return [t.lemma for t in tokens(text, lang) if t.content]


def _need(package: str) -> NewswatchError:
    return NewswatchError(f"{package} is not installed: pip install 'newswatch[nlp]'")


# --- Russian and Ukrainian -------------------------------------------------------------------

@lru_cache(maxsize=2)
def _morph(lang: str) -> Any:
    try:
        import pymorphy3
    except ImportError:
        raise _need("pymorphy3") from None
    return pymorphy3.MorphAnalyzer(lang=lang)


@lru_cache(maxsize=200_000)
def slavic_lemma(word: str, lang: str) -> str:
    """The dictionary form of one Russian or Ukrainian word form (lower case, ё read as е)."""
    low = word.lower().replace("ё", "е").replace("’", "'")
    if not any("а" <= c <= "я" or c in "іїєґ" for c in low):
        return low  # Latin letters or digits: kept as written
    parses = _morph(lang).parse(low)
    return str(parses[0].normal_form).replace("ё", "е") if parses else low


@lru_cache(maxsize=200_000)
def slavic_lemmas(word: str, lang: str) -> tuple[str, ...]:
    """Every dictionary form pymorphy3 offers for a word form, most probable first (a name
    such as "Києві" reads as "кий" first and as "київ" further down)."""
    low = word.lower().replace("ё", "е").replace("’", "'")
    if not any("а" <= c <= "я" or c in "іїєґ" for c in low):
        return (low,)
    forms = [str(p.normal_form).replace("ё", "е") for p in _morph(lang).parse(low)]
    return tuple(dict.fromkeys(forms)) or (low,)


def _slavic(text: str, lang: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end(), slavic_lemma(m.group(), lang))
            for m in WORD.finditer(text)]


# --- Korean ---------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _kiwi() -> Any:
    try:
        from kiwipiepy import Kiwi
    except ImportError:
        raise _need("kiwipiepy") from None
    return Kiwi()


def _korean(text: str) -> list[Token]:
    out: list[Token] = []
    for offset, chunk in _chunks(text):
        for m in _kiwi().tokenize(chunk):
            tag = str(m.tag).split("-")[0]
            lemma = m.form + "다" if tag in _KOREAN_VERBS else m.form
            start = offset + m.start
            out.append(Token(text[start:start + m.len], start, start + m.len, lemma.lower(),
                             tag in _KOREAN_CONTENT))
    return out


# --- Japanese -------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _sudachi() -> Any:
    try:
        from sudachipy import dictionary
    except ImportError:
        raise _need("SudachiPy (ginza)") from None
    return dictionary.Dictionary().create()


_JA_FUNCTION = ("助詞", "助動詞", "補助記号", "空白", "記号")


def _japanese(text: str) -> list[Token]:
    from sudachipy import tokenizer as sudachi_tokenizer

    mode = sudachi_tokenizer.Tokenizer.SplitMode.C
    out: list[Token] = []
    for offset, chunk in _chunks(text):
        for m in _sudachi().tokenize(chunk, mode):
            surface = m.surface()
            if not surface.strip():
                continue
            pos = m.part_of_speech()[0]
            out.append(Token(surface, offset + m.begin(), offset + m.end(),
                             m.dictionary_form().lower(), pos not in _JA_FUNCTION))
    return out


# --- Chinese --------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _jieba() -> Any:
    try:
        import jieba
    except ImportError:
        raise _need("jieba") from None
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _chinese(text: str) -> list[Token]:
    out: list[Token] = []
    for word, start, end in _jieba().tokenize(text):
        if not word.strip():
            continue
        content = any(c.isalnum() for c in word)
        out.append(Token(word, start, end, word.lower(), content))
    return out


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """``text`` in pieces of at most CJK_CHUNK characters, cut after a line break or a
    sentence end where possible, with the offset of each piece."""
    start = 0
    while start < len(text):
        end = min(len(text), start + CJK_CHUNK)
        if end < len(text):
            cut = max(text.rfind(sep, start, end) for sep in ("\n", "。", ".", "!", "?", " "))
            if cut > start:
                end = cut + 1
        yield start, text[start:end]
        start = end


# --- added for entity linking (enrich/languages/mentions.py) ----------------------------------

def fine_tokens(text: str, lang: str) -> list[Token]:
    """Like `tokens`, but Japanese in SudachiPy's shortest split mode (A), whose boundaries
    include every boundary of the longer modes: a name is then always a run of whole tokens
    ("北朝鮮外務省" gives "北朝鮮" + "外務" + "省")."""
    if lang != "ja":
        return tokens(text, lang)
    from sudachipy import tokenizer as sudachi_tokenizer

    mode = sudachi_tokenizer.Tokenizer.SplitMode.A
    out: list[Token] = []
    for offset, chunk in _chunks(text):
        for m in _sudachi().tokenize(chunk, mode):
            surface = m.surface()
            if surface.strip():
                pos = m.part_of_speech()[0]
                out.append(Token(surface, offset + m.begin(), offset + m.end(),
                                 m.dictionary_form().lower(), pos not in _JA_FUNCTION))
    return out


def slavic_parses(word: str, lang: str) -> list[Any]:
    """pymorphy3's parses of one Russian or Ukrainian word form, most probable first."""
    return list(_morph(lang).parse(word))


def korean_tags(text: str) -> list[tuple[Token, str]]:
    """Korean tokens (as `tokens` gives them) with kiwipiepy's part-of-speech tag of each
    ("NNP" proper noun, "NNG" common noun, "JKB" adverbial particle …)."""
    out: list[tuple[Token, str]] = []
    for offset, chunk in _chunks(text):
        for m in _kiwi().tokenize(chunk):
            tag = str(m.tag).split("-")[0]
            lemma = m.form + "다" if tag in _KOREAN_VERBS else m.form
            start = offset + m.start
            out.append((Token(text[start:start + m.len], start, start + m.len, lemma.lower(),
                              tag in _KOREAN_CONTENT), tag))
    return out
