"""Japanese named entities with GiNZA (``ja_ginza``: a spaCy pipeline over SudachiPy whose
model ships in its wheel). Only tok2vec and ner are loaded: the parser, morphologizer and
bunsetu components are excluded, which NER does not need. Loaded on the first Japanese
article of a process and kept.

GiNZA tags the Extended Named Entity hierarchy (~200 labels); only names of people, places
and organisations are kept, the other labels (dates, amounts, job titles, generic weapon
words such as 弾道ミサイル) are not entities for us.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from core.errors import NewswatchError

MODEL = "ja_ginza"
NOT_NEEDED = ["parser", "morphologizer", "compound_splitter", "bunsetu_recognizer"]
MAX_CHARS = 5_000  # GiNZA costs ~1.5 ms a character; the gazetteer still reads the whole text
PLACE = ("Country", "City", "Province", "County", "GPE_Other", "Domestic_Region",
         "Continental_Region", "Region_Other", "Island")
ORGANISATION = ("Company", "Company_Group", "Corporation_Other", "Government",
                "International_Organization", "Military", "Political_Organization_Other",
                "Political_Party", "Organization_Other", "Public_Institution", "Newspaper")
LABEL_TYPES = {"Person": "person", **dict.fromkeys(PLACE, "place"),
               **dict.fromkeys(ORGANISATION, "organisation")}
HONORIFICS = ("氏", "さん", "容疑者", "被告")


@lru_cache(maxsize=1)
def _ginza() -> Any:
    try:
        import spacy

        return spacy.load(MODEL, exclude=NOT_NEEDED)
    except (ImportError, OSError):
        raise NewswatchError("GiNZA is not installed: pip install 'newswatch[nlp]'") from None


def ner_spans(texts: Sequence[str], batch_size: int = 8) -> list[list[tuple[int, int, str]]]:
    """GiNZA's entity spans of each text: (start, end, type), type one of person, place,
    organisation; an honorific after a person's name is left out."""
    out: list[list[tuple[int, int, str]]] = []
    for doc in _ginza().pipe((t[:MAX_CHARS] for t in texts), batch_size=batch_size):
        spans = []
        for ent in doc.ents:
            kind = LABEL_TYPES.get(ent.label_)
            if kind is None or len(ent.text.strip()) < 2:
                continue
            end = ent.end_char
            for suffix in HONORIFICS if kind == "person" else ():
                if ent.text.endswith(suffix) and len(ent.text) > len(suffix) + 1:
                    end -= len(suffix)
            spans.append((ent.start_char, end, kind))
        out.append(spans)
    return out
