"""Which publication date to believe, and where it came from. Pure.

A page's date is only ever one the page states: its meta tags, its JSON-LD, its ``<time>``
elements, a byline or date line, or its URL (``/2024/03/05/``). htmldate's extensive search
(free text, copyright lines, a bare year anywhere, which it turns into 1 January) is never
used, and htmldate only sees those parts of the page (:func:`stated_date`).
"""

from __future__ import annotations

import re
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any

EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)  # no web news feed predates this

# htmldate's fast search, asked for publication (not modification) dates with a time of day.
DATE_PARAMS: dict[str, Any] = {
    "extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}
# Words in the class / id / itemprop of an element that holds a date or a byline.
_CUES = ("date", "datum", "time", "publish", "byline", "posted", "submitted", "meta")
_NOT_A_NAME = (  # words after "By" that start a sentence, not a byline
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    r"|(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?)\b"
)
# A byline or date line by its words: "By Jane Roe | March 5, 2024", "Published 5 March 2024".
# Not "By March 5, 2019, every ferry …" nor "By Friday …": a capitalised name follows "By".
_BYLINE_RE = re.compile(
    rf"(?:[Bb]y\s+(?!(?i:{_NOT_A_NAME}))[A-Z]|(?i:(?:first\s+)?(?:published|posted))\b)"
)
# Where a date is another page's or a reader's: related links, navigation, comments.
_ELSEWHERE_TAGS = frozenset({"aside", "nav"})
_ELSEWHERE_RE = re.compile(r"(?:^|\s)(?:comments?|related|recommended)", re.I)
_BYLINE_TAGS = frozenset({"p", "div", "span", "li", "address", "small"})
_SHORT = 200  # characters: longer than this is running text, not a byline or a date line
# Meta tags whose dates are not the page's: an image's URL, a copyright year (a bare year).
_NOT_PAGE_DATES = frozenset({
    "og:image", "og:image:url", "og:image:secure_url", "twitter:image", "copyrightyear",
})


def plausible(value: datetime | None, now: datetime, tolerance: timedelta) -> bool:
    """A date between 1995 and ``now`` plus the tolerance for clock and timezone slips."""
    return value is not None and EARLIEST <= value <= now + tolerance


def choose_published(
    page: datetime | None, feed: datetime | None, first_seen: datetime, tolerance: timedelta
) -> tuple[datetime, str]:
    """The page's date when it has a time of day, else the feed's, else the page's bare
    day, else the first-seen time; implausible dates are skipped. Returns (date, source)."""
    has_time = page is not None and (page.hour, page.minute, page.second) != (0, 0, 0)
    candidates = [
        (page if has_time else None, "page"),
        (feed, "feed"),
        (page, "page"),
    ]
    for value, source in candidates:
        if value is not None and plausible(value, first_seen, tolerance):
            return value, source
    return first_seen, "first-seen"


def stated_date(tree: Any, url: str) -> datetime | None:
    """The publication date the page states (UTC), or None when it states none.

    ``tree`` is the page's lxml tree (left unchanged), ``url`` its canonical or fetched URL."""
    from htmldate import find_date

    try:
        return parse_page_date(find_date(date_evidence(tree), url=url or None, **DATE_PARAMS))
    except Exception:  # htmldate can trip over odd markup: no date is the safe answer
        return None


def date_evidence(tree: Any) -> Any:
    """A small document of the parts of the page that state a date: its meta tags (not an
    image's or a copyright year), its JSON-LD, and its ``<time>`` and ``<abbr>`` elements,
    date lines and bylines (short elements marked as such, or that read like one)."""
    import lxml.etree
    import lxml.html

    doc = lxml.html.document_fromstring("<html><head></head><body></body></html>")
    head, body = doc[0], doc[1]
    for meta in tree.iter("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop") or ""
        if key.lower() not in _NOT_PAGE_DATES:
            head.append(_copy(meta))
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() == "application/ld+json":
            head.append(_copy(script))
    root = tree.find(".//body")
    taken: set[Any] = set()
    for el in root.iter(lxml.etree.Element) if root is not None else ():
        tag, attrib = el.tag, el.attrib
        if tag in ("script", "style", "template", "meta"):
            continue
        marked = tag in ("time", "abbr") or (bool(attrib) and _has_cue(attrib))
        byline = not marked and tag in _BYLINE_TAGS and bool(_BYLINE_RE.match(_leading_text(el)))
        if not (marked or byline) or not _own_page(el, root, taken):
            continue
        if byline and el.find(".//time") is not None:
            continue  # its <time> element says it better
        text = " ".join(el.text_content().split())
        if len(text) > _SHORT or (byline and text.endswith((".", "!", "?"))):
            continue  # running text, or a sentence that starts with "By …"
        taken.add(el)
        copied = _copy(el)
        if byline:  # let htmldate read it as the byline it is
            holder = lxml.html.Element("div", {"class": "byline"})
            holder.append(copied)
            copied = holder
        body.append(copied)
    return doc


def _has_cue(attrib: Any) -> bool:
    """Whether the element's class, id or itemprop says it holds a date or a byline."""
    folded = f"{attrib.get('class', '')} {attrib.get('id', '')} {attrib.get('itemprop', '')}"
    return any(cue in folded.lower() for cue in _CUES)


def _own_page(el: Any, root: Any, taken: set[Any]) -> bool:
    """Not inside something already taken, nor where dates are other pages' or readers'."""
    for node in (el, *el.iterancestors()):
        if node is root:
            return True
        if node is not el and (node in taken or node.tag in _ELSEWHERE_TAGS):
            return False
        if _ELSEWHERE_RE.search(f"{node.get('class') or ''} {node.get('id') or ''}"):
            return False
    return True


def _copy(el: Any) -> Any:
    copied = deepcopy(el)
    copied.tail = None
    return copied


def _leading_text(el: Any) -> str:
    """The element's first words: its own text, and its first child's when that is short
    ("<p>By <a>Jane Roe</a>", "<p><b>By</b> Jane Roe"); not the whole text below it."""
    own = (el.text or "").lstrip()
    if len(own) < 12 and len(el) and isinstance(el[0].tag, str):
        own = f"{own} {el[0].text or ''} {el[0].tail or ''}".lstrip()
    return own


def parse_page_date(value: str | None) -> datetime | None:
    """A tz-aware UTC datetime from htmldate's output (full timestamp or a bare date)."""
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None
