"""The words of a text as both backends index them, reduced to what candidate selection needs.

Watch matching (``search.percolate``) needs, for each new article, a set of words that
contains every word either backend would find in it, and for each query word the words an
article must hold for that query word to match. Both sides are cut down to plain ASCII
letters and digits, where the two backends' analysers agree on what a word is:

* the embedded index tokenises with FTS5's ``unicode61 remove_diacritics 2`` (lower case,
  accents removed, every other character a separator); the fold of the characters that
  FTS5 maps onto ASCII is read from SQLite itself, once per process (:func:`fts_fold_map`);
* Elasticsearch indexes ``search.elastic_query.words`` of the text with the ``standard``
  analyser (lower case, Unicode word boundaries, tokens cut at 255 characters).

:func:`text_terms` gives the union of the ASCII words of both readings of a text (more
words than either backend sees, never fewer); :func:`query_terms` gives the words of one
query word or phrase when both readings agree and are all ASCII, and ``None`` otherwise
(that part of a query then restricts nothing). Over-inclusion only costs a query run.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import unicodedata

from search.elastic_query import words

MAX_TOKEN = 255  # the standard analyser's max_token_length
_ASCII_RUN = re.compile(r"[a-z0-9]+")
_PLAIN = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")
# Where FTS5's case and diacritic folding can give an ASCII letter from another character.
_PROBED = (range(0x80, 0x250), range(0x1E00, 0x1F00), range(0x2100, 0x2190),
           range(0xFF00, 0xFFF0))


@functools.lru_cache(maxsize=1)
def fts_fold_map() -> dict[int, str]:
    """Characters that FTS5 (``unicode61 remove_diacritics 2``) folds to an ASCII letter or
    digit, as a ``str.translate`` table (asked of SQLite once per process)."""
    chars = [chr(c) for r in _PROBED for c in r]
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize='unicode61 "
                     "remove_diacritics 2')")
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')")
        conn.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)",
                         [(i + 1, ch) for i, ch in enumerate(chars)])
        table: dict[int, str] = {}
        for term, doc in conn.execute("SELECT term, doc FROM v"):
            if term.isascii() and term.isalnum():
                table[ord(chars[doc - 1])] = term
        return table
    finally:
        conn.close()


def _fts_reading(text: str) -> str:
    """The text folded the way FTS5 folds it, as far as ASCII letters are concerned."""
    folded = text.translate(fts_fold_map()).lower()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFD", folded)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def text_terms(text: str) -> set[str]:
    """Every ASCII word either backend can find in ``text`` (and some more)."""
    found: set[str] = set()
    readings = [text.lower()] if text.isascii() else [words(text).lower(), _fts_reading(text)]
    for reading in readings:
        for run in _ASCII_RUN.findall(reading):
            if len(run) > MAX_TOKEN:
                found.update(run[i : i + MAX_TOKEN] for i in range(0, len(run), MAX_TOKEN))
            found.add(run)
    return found


def query_terms(text: str) -> tuple[str, ...] | None:
    """The words an article must contain for the query word or phrase ``text`` to match it
    on either backend, or ``None`` when that is not known for sure (non-ASCII words)."""
    es = " ".join(words(text).lower().split())
    fts = " ".join(re.sub(r"[^a-z0-9]+", " ", _fts_reading(text)).split())
    if es != fts or not _PLAIN.fullmatch(es) or any(len(w) > MAX_TOKEN for w in es.split()):
        return None
    return tuple(dict.fromkeys(es.split()))


def prefix_term(pattern: str) -> str | None:
    """The ASCII letters and digits a wildcard word starts with (``shel*`` → ``shel``), or
    ``None`` when it starts with a wildcard or they are not plain ASCII."""
    literal = re.split(r"[*?]", pattern, maxsplit=1)[0]
    if not literal:
        return None
    terms = query_terms(literal)
    return terms[0] if terms and len(terms) == 1 and terms[0] == literal.lower() else None
