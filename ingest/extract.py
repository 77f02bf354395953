"""Article extraction: clean text and metadata from a page with trafilatura. Pure."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from core.models import Extracted, FeedEntry
from ingest.dates import stated_date
from ingest.feeds import html_to_text
from ingest.jsonld import article_from_jsonld
from ingest.outlets import site_name

_LANG_RE = re.compile(r"^[a-zA-Z]{2,3}")
# The JSON-LD articleBody replaces trafilatura's text when it is at least this long and this
# many times longer (a teaser or script-rendered page; trafilatura's own fallbacks failed).
_LD_MIN_CHARS = 250
_LD_RATIO = 1.3


def extract_article(html: bytes | str, url: str) -> Extracted | None:
    """Main text and metadata of an article page, or None when nothing usable is found.

    trafilatura's text, or the page's JSON-LD ``articleBody`` when that is clearly longer
    (``method`` says which: "trafilatura" or "json-ld"); then cleaned of the headline, list
    and table markup, inline promos, a trailing "More from …" block and a closing author
    blurb, with the page's visible standfirst put first when extraction missed it.
    """
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        return None
    # Read what we need from the raw tree first: trafilatura prunes it in place.
    canonical = _first_attr(tree, "//link[@rel='canonical']/@href")
    lang = _first_attr(tree, "/html/@lang") or _first_attr(
        tree, "//meta[@http-equiv='content-language']/@content"
    )
    h1 = " ".join(" ".join(tree.xpath("(//h1)[1]//text()")).split())
    deck = _visible_deck(tree)
    ld = article_from_jsonld(tree)
    published = stated_date(tree, canonical.strip() or url)
    site = site_name(tree)
    meta = _metadata(tree, url)  # before trafilatura prunes the tree
    doc = _trafilatura(tree, url)
    text, method = _clean(doc.text or "") if doc is not None else "", "trafilatura"
    ld_text = _clean(ld.body) if ld is not None else ""
    longer = len(ld_text) >= _LD_MIN_CHARS and len(ld_text) > _LD_RATIO * len(text)
    if longer or (ld_text and ld_text.split() == text.split()):  # same words: keep its lines
        text, method = ld_text, "json-ld"
    if not text:
        return None
    ld_title = ld.headline if ld is not None else ""
    title = (meta.title or ld_title or "").strip()
    author = (meta.author or "").strip()
    text = _drop_bio(_drop_headline(text, title, h1, ld_title), author)
    match = _LANG_RE.match(meta.language or lang or "")
    return Extracted(
        text=_with_deck(text, deck),
        title=title,
        author=author,
        published=published,
        sitename=site,
        language=match.group(0).lower() if match else "",
        canonical_url=canonical.strip(),
        method=method,
    )


def _trafilatura(tree: Any, url: str) -> Any:
    """trafilatura's main text, or None. Tables stay out: in news pages they are data boxes
    and lists of links more often than the article's prose. Its metadata pass is not asked
    for: that would run htmldate a second time over the whole page (see :func:`_metadata`)."""
    from trafilatura import bare_extraction

    try:
        return bare_extraction(
            tree,
            url=url,
            with_metadata=False,
            include_comments=False,
            include_tables=False,
        )
    except Exception:  # trafilatura can trip over pathological markup: treat as empty
        return None


def _metadata(tree: Any, url: str) -> Any:
    """The page's title, author and language as trafilatura reads them (meta tags, JSON-LD,
    headings, bylines) — its ``extract_metadata`` without the date search: the page date is
    worked out once, from what states it (:func:`ingest.dates.stated_date`)."""
    from trafilatura.metadata import (
        examine_meta,
        extract_author,
        extract_meta_json,
        extract_title,
    )
    from trafilatura.settings import Document

    try:
        meta = examine_meta(tree)
        if meta.author and " " not in meta.author:  # a lone word is a handle, not a name
            meta.author = None
        with contextlib.suppress(Exception):  # JSON-LD is a bonus: broken JSON-LD is common
            meta = extract_meta_json(tree, meta)
        meta.title = meta.title or extract_title(tree)
        meta.author = meta.author or extract_author(tree)
        meta.clean_and_trim()
        return meta
    except Exception:  # as above: metadata is a bonus, never a reason to fail
        return Document()


def fallback_from_feed(entry: FeedEntry) -> Extracted | None:
    """Text from the feed itself: its full content if any, else its summary."""
    for method, fragment in (("feed-content", entry.content), ("feed-summary", entry.summary)):
        text = html_to_text(fragment) if fragment else ""
        if text:
            return Extracted(
                text=text, title=entry.title, author=entry.author, published=entry.published,
                method=method,
            )
    return None


def choose_text(
    page: Extracted | None, entry: FeedEntry | None, min_chars: int
) -> Extracted | None:
    """The page's extraction, unless it is shorter than ``min_chars`` and the feed has more."""
    if page is not None and len(page.text) >= min_chars:
        return page
    feed = fallback_from_feed(entry) if entry is not None else None
    if feed is None:
        return page
    if page is None or len(feed.text) > len(page.text):
        if page is not None:  # keep what the page knew about itself
            return Extracted(
                text=feed.text,
                title=page.title or feed.title,
                author=page.author or feed.author,
                published=page.published,
                sitename=page.sitename,
                language=page.language,
                canonical_url=page.canonical_url,
                method=feed.method,
            )
        return feed
    return page


def _first_attr(tree: Any, xpath: str) -> str:
    found = tree.xpath(xpath)
    return str(found[0]) if found else ""


def _drop_headline(text: str, title: str, *other_titles: str) -> str:
    """Start the text after the headline when extraction kept it (and a kicker above it);
    ``other_titles``: the page's other spellings of it (its ``<h1>``, the JSON-LD headline)."""
    wanted = {_fold(t) for t in (title, *other_titles) if t.strip()}
    if not wanted:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines[:3]):
        if _fold(line) in wanted and i + 1 < len(lines):
            return "\n".join(lines[i + 1 :])
    return text


_QUOTES = str.maketrans("‘’‚‛“”„‟", "'" * 4 + '"' * 4)


def _fold(line: str) -> str:
    return " ".join(line.split()).translate(_QUOTES).casefold()


_BULLET_RE = re.compile(r"^[-*•] (?=\S)")  # trafilatura's list items
# A heading that starts the list of other stories under an article.
_TAIL_RE = re.compile(
    r"(more from\b.{0,40}|more stories|related (stories|articles|coverage|content)"
    r"|recommended (for you|stories|reading)|most (read|viewed|popular|shared)|read next"
    r"|you (may|might) (also )?like|what to read next)[:…]?",
    re.IGNORECASE,
)
# A photo credit, or a link to another story set inside the text.
_PROMO_RE = re.compile(
    r"((photo|image|picture) )?credits?:\s"
    r"|(see also|read more|related( video| story| article)?):\s",
    re.IGNORECASE,
)


def _cut_tail(lines: list[str]) -> list[str]:
    """Stop at a "More from …" / "Related" / "Most read" heading in the second half."""
    for i in range(len(lines) // 2, len(lines)):
        if i > 0 and _TAIL_RE.fullmatch(lines[i]):
            return lines[:i]
    return lines


def _shouting(line: str) -> bool:
    """An all-capitals line of headline length: an inline promo or a link to another story.
    (Not a sentence or a quotation: an all-capitals post quoted in a story is its text.)"""
    if line.endswith((".", "!", "?", '"', "”")) or line.startswith(('"', "“")):
        return False
    letters = [ch for ch in line if ch.isalpha()]
    return len(line.split()) >= 8 and len(letters) >= 25 and all(ch.isupper() for ch in letters)


def _clean(text: str) -> str:
    """One paragraph a line; no list bullets, lines of pure punctuation, promos or tail."""
    out = []
    for raw in text.splitlines():
        line = _BULLET_RE.sub("", " ".join(raw.split()))
        if any(ch.isalnum() for ch in line) and not _shouting(line) and not _PROMO_RE.match(line):
            out.append(line)
    return "\n".join(_cut_tail(out))


def _visible_deck(tree: Any) -> str:
    """The page's description when the page also shows it as a standfirst under the headline."""
    body = tree.find(".//body")
    if body is None:
        return ""
    for name in ("og:description", "description", "twitter:description"):
        found = _first_attr(tree, f"//meta[@property='{name}' or @name='{name}']/@content")
        desc = " ".join(found.split())
        if len(desc) < 20 or desc.endswith(("...", "…")):
            continue
        # Only elements whose own text holds the description's first characters can start
        # with them: XPath finds those (in document order) without visiting every element.
        piece = desc[: min(10, len(desc))].split()[0]
        for el in body.xpath("descendant-or-self::*[text()[contains(., $p)]]", p=piece):
            if el.tag in ("script", "style", "noscript", "template"):
                continue
            own = " ".join((el.text or "").split())[:20]  # cheap test before text_content()
            if len(own) < min(10, len(desc)) or not desc.startswith(own):
                continue
            if " ".join(el.text_content().split()) == desc:
                return desc
    return ""


def _with_deck(text: str, deck: str) -> str:
    """Put the standfirst first unless the extracted text already carries it."""
    if not deck or _fold(deck) in _fold(text):
        return text
    return f"{deck}\n{text}"


_BIO_RE = re.compile(r"^(?:[A-Z][\w.'’-]*\s){0,3}([A-Z][\w'’-]+) (?:is|was) (?:a|an|the)\s")


def _drop_bio(text: str, author: str) -> str:
    """Drop a closing author blurb ("Jane Roe is a reporter who covers ...")."""
    surnames = {n.split()[-1] for n in re.split(r";|,| and ", author) if len(n.split()) >= 2}
    lines = text.split("\n")
    while len(lines) > 1 and (m := _BIO_RE.match(lines[-1])) and m.group(1) in surnames:
        lines.pop()
    return "\n".join(lines)
