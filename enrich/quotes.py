"""Direct quotes and who said them, where the pattern is clear. Pure.

Recognised: ``"…," Kirby said`` · ``"…," said Kirby`` · ``Kirby said: "…"`` ·
``"…," according to Kirby`` (also with "says", "told", "added", "warned", …).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from core.models import Quote

VERBS = (
    r"(?:said|says|say|told|tells|added|adds|warned|warns|wrote|writes|stated|states|"
    r"insisted|insists|argued|argues|noted|notes|explained|explains|declared|declares|"
    r"replied|replies|asked|asks|continued|continues|claimed|claims|denied|denies)"
)
NAME = r"(?P<speaker>[A-Z][\w'’-]+(?:\s+(?:[A-Z][\w'’-]+|[A-Z]\.|de|van|von|al|bin|el)){0,4})"
QUOTE = r"[\"“](?P<text>[^\"“”]{12,800}?)[\"”]"
PATTERNS = [
    re.compile(QUOTE + r"\s*,?\s*" + NAME + r"\s+" + VERBS + r"\b"),  # "…," Kirby said
    re.compile(QUOTE + r"\s*,?\s*" + VERBS + r"\s+" + NAME),  # "…," said Kirby
    # Kirby said: "…" (a few words may come between, then a colon or comma)
    re.compile(NAME + r"\s+" + VERBS + r"(?:(?:\s+[\w'’-]+){1,6}\s*[:,]|\s*[:,]?)\s*" + QUOTE),
    re.compile(QUOTE + r"\s*,?\s*according to\s+" + NAME),  # "…," according to Kirby
]
NOT_SPEAKERS = {"He", "She", "They", "It", "We", "I", "This", "That", "The", "But", "And"}


def find_quotes(text: str, link: Callable[[str], str | None] | None = None) -> list[Quote]:
    """Quotes in ``text`` with their speakers; ``link`` maps a speaker name to an entity id."""
    found: dict[int, Quote] = {}
    for pattern in PATTERNS:
        for match in pattern.finditer(text):
            speaker = _clean_speaker(match.group("speaker"))
            quote = " ".join(match.group("text").split()).rstrip(",")
            if not speaker or match.start("text") in found:
                continue
            speaker_id = link(speaker) if link else None
            found[match.start("text")] = Quote(speaker, quote, speaker_id, match.start("text"))
    return [found[k] for k in sorted(found)]


def _clean_speaker(raw: str) -> str:
    words = raw.split()
    while words and words[0] in NOT_SPEAKERS:
        words.pop(0)
    return " ".join(words).rstrip(".,")
