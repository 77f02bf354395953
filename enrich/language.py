"""Language identification (py3langid), loaded once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

SAMPLE_CHARS = 3000  # the start of an article says enough
MIN_CHARS = 40  # below this, trust the page's own declaration


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(title: str, text: str, declared: str = "") -> tuple[str, float]:
    """ISO 639-1 code and confidence in [0, 1]; ``declared`` (``<html lang>``) breaks ties."""
    sample = f"{title}\n{text}"[:SAMPLE_CHARS]
    if len(sample.strip()) < MIN_CHARS:
        return (declared or "", 0.0)
    lang, prob = _identifier().classify(sample)
    if prob < 0.5 and declared:
        return declared, float(prob)
    return str(lang), float(prob)
