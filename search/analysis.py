"""Search terms for the scripts a plain word index cannot search: Cyrillic, Hangul and CJK.

One function analyses documents and queries alike, so the embedded index (SQLite FTS5) and
Elasticsearch hold and look up exactly the same terms (see ``docs/query-language.md``):

- Cyrillic words become lemmas (pymorphy3): a document's word its most probable lemma in the
  document's language (Russian or Ukrainian; Russian for any other), a query's word every
  lemma Russian *and* Ukrainian offer for it, any of which may match;
- Hangul runs (an eojeol, a word between spaces) become their content morphemes (kiwipiepy):
  ``북한이`` → ``북한``; particles and endings are dropped;
- runs of Han and kana become overlapping character bigrams, and the last character of each
  run is also a term of its own with an end mark (``朝鲜向`` → ``朝鲜 鲜向 向_``), so that every
  character of a run starts exactly one term: a one-character query is a prefix query
  (``鲜*``) and finds every occurrence; a longer one is the phrase of its bigrams;
- other words (Latin, digits, Greek …) are folded as the word index folds them (lower case,
  accents removed) and split at anything that is not a letter or a digit.

Terms are separated by single spaces and contain letters, digits and ``_`` only, so a
whitespace tokenizer (Elasticsearch's ``whitespace`` analyzer, FTS5's ``unicode61`` with
``tokenchars '_'``) gives back exactly these terms, in order, with nothing further done.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from enrich.languages.tokens import slavic_lemma, slavic_lemmas, tokens

END = "_"  # marks the last character of a CJK run
MAX_TERM = 100  # characters; longer terms are dropped (Elasticsearch splits at 255)
MAX_VARIANTS = 8  # term sequences one query word or phrase may stand for

_CJK = (
    "\u3005-\u3007\u3021-\u3029\u3031-\u3035\u303b\u3041-\u3096\u309d-\u309f\u30a1-\u30fa"
    "\u30fc-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
)
_HANGUL = "\u1100-\u11ff\u3131-\u318e\ua960-\ua97c\uac00-\ud7a3\ud7b0-\ud7fb"
_OTHER = rf"[^\W_{_CJK}{_HANGUL}]"
_PIECE = re.compile(
    rf"(?P<cjk>[{_CJK}]+)|(?P<ko>[{_HANGUL}]+)|(?P<word>{_OTHER}+(?:[-'’]{_OTHER}+)*)"
)
_ANALYSED = re.compile(rf"[{_CJK}{_HANGUL}\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]")
_CYRILLIC = re.compile(r"[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]")
_PARTS = re.compile(r"[^\W_]+")
_SLAVIC = ("ru", "uk")


@dataclass(frozen=True)
class Variant:
    """One sequence of terms a query word or phrase may stand for: matched as a phrase, or,
    with ``prefix``, as any term starting with the one term (a lone CJK character)."""

    terms: tuple[str, ...]
    prefix: bool = False


def analysed(text: str) -> bool:
    """Whether ``text`` has letters of a script these terms exist for (Cyrillic, Hangul, CJK):
    the query words and documents that have analysed terms at all."""
    return _ANALYSED.search(text) is not None


def search_terms(text: str, lang: str) -> list[str]:
    """The terms of a document's text in language ``lang``, in order."""
    out: list[str] = []
    for kind, piece in _pieces(text):
        if kind == "cjk":
            out.extend(_grams(piece, last=False))
        elif kind == "ko":
            out.extend(_korean(piece))
        elif _CYRILLIC.search(piece):
            out.extend(_parts(slavic_lemma(piece, lang if lang in _SLAVIC else "ru")))
        else:
            out.extend(_parts(fold(piece)))
    return out


def index_terms(text: str, lang: str) -> str:
    """What the index stores for a title or body: its terms joined by spaces; empty for a
    text without Cyrillic, Hangul or CJK letters (no query could need its terms)."""
    return " ".join(search_terms(text, lang)) if analysed(text) else ""


def query_variants(text: str) -> tuple[Variant, ...]:
    """The term sequences a query word or phrase (already lower-cased) stands for, at most
    :data:`MAX_VARIANTS`; empty when it has no terms (it then matches nothing)."""
    pieces = _pieces(text)
    if len(pieces) == 1 and pieces[0][0] == "cjk" and len(pieces[0][1]) == 1:
        return (Variant((pieces[0][1],), prefix=True),)
    options: list[list[tuple[str, ...]]] = []
    for i, (kind, piece) in enumerate(pieces):
        if kind == "cjk":
            options.append([tuple(_grams(piece, last=i == len(pieces) - 1))])
        elif kind == "ko":
            options.append([tuple(_korean(piece))])
        elif _CYRILLIC.search(piece):
            readings = [slavic_lemma(piece, lang) for lang in _SLAVIC]
            readings += [r for lang in _SLAVIC for r in slavic_lemmas(piece, lang)]
            options.append(list(dict.fromkeys(tuple(_parts(r)) for r in readings)))
        else:
            options.append([tuple(_parts(fold(piece)))])
    while _product(options) > MAX_VARIANTS:  # drop the least likely reading of the widest word
        widest = max(range(len(options)), key=lambda k: (len(options[k]), -k))
        options[widest].pop()
    variants = (tuple(t for part in combo for t in part) for combo in itertools.product(*options))
    return tuple(dict.fromkeys(Variant(v) for v in variants if v))


def wildcard_pattern(text: str) -> str:
    """A wildcard word (``*`` and ``?``) as it applies to the analysed terms."""
    return normalise(text).lower()


def normalise(text: str) -> str:
    """Compatibility forms unified (full-width Latin, half-width kana), as NFKC does."""
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Lower case without accents, as the word index matches (``Zürich`` → ``zurich``)."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


def _pieces(text: str) -> list[tuple[str, str]]:
    found = _PIECE.finditer(normalise(text))
    return [(m.lastgroup or "word", m.group()) for m in found]


def _grams(run: str, last: bool) -> list[str]:
    """Bigrams of a CJK run, and its last character with the end mark unless ``last`` (the
    end of a query: the text may go on in the document); a lone character keeps its mark."""
    if len(run) == 1:
        return [run + END]
    grams = [run[i : i + 2] for i in range(len(run) - 1)]
    return grams if last else [*grams, run[-1] + END]


@lru_cache(maxsize=100_000)
def _korean(run: str) -> tuple[str, ...]:
    """The content morphemes of one Hangul run, each as lower-case parts."""
    out: list[str] = []
    for token in tokens(run, "ko"):
        if token.content:
            out.extend(_parts(token.lemma))
    return tuple(out)


def _parts(term: str) -> list[str]:
    return [p for p in _PARTS.findall(term.lower()) if len(p) <= MAX_TERM]


def _product(options: list[list[tuple[str, ...]]]) -> int:
    total = 1
    for option in options:
        total *= max(1, len(option))
    return total
