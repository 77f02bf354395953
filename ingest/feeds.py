"""Feed parsing: RSS 0.9x/1.0/2.0, Atom and CDF through feedparser, JSON Feed by hand.

Pure: bytes and response headers in, :class:`ParsedFeed` out, :class:`FeedParseError` for
anything else (feedparser only gets an in-memory stream: plain bytes it tries as a file name).

- Encoding: byte order mark, HTTP charset, XML declaration, UTF-8, then windows-1252 (RFC 7303
  order, not RFC 3023's "text/xml means US-ASCII"); bytes labelled Western single-byte that
  are valid non-ASCII UTF-8 are read as UTF-8 (a common server misconfiguration).
- Relative links resolve against ``Content-Location`` (itself resolved against ``url``,
  http(s) only), else ``url``; feedparser also resolves URI-like entry ids.
- Titles are plain text: HTML/XHTML title markup is dropped and entities are decoded.
- External DTDs and entities are never loaded (expat's are off; feedparser keeps only simple
  internal entities). Internal entities that would expand beyond max(1M characters, the
  document's size) get the document refused: feedparser's loose parser expands without limit.
- So is a document with thousands of attributes on an element (feedparser: quadratic time).
- Character references to non-characters become U+FFFD (feedparser crashes on them); a
  document feedparser still crashes on is retried once, repaired by lxml.
- An entry is kept if it has anything (id, link, title, text, date); its guid is the feed's
  id, else the link, else a digest of title and summary (or of content and dates).
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import html
import io
import json
import re
import time
from collections import Counter
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from core.errors import FeedParseError
from core.models import FeedEntry, ParsedFeed

JSON_FEED_PREFIX = "https://jsonfeed.org/version/"
MAX_ENTITY_EXPANSION = 1_000_000  # characters, or the document's own size if larger

_BOMS = {b"\0\0\xfe\xff": "utf-32-be", b"\xff\xfe\0\0": "utf-32-le", b"\xef\xbb\xbf": "utf-8",
         b"\xfe\xff": "utf-16-be", b"\xff\xfe": "utf-16-le"}  # fmt: skip
_UTF16_32 = {"TTTF": "utf-32-be", "FTTT": "utf-32-le", "TFTF": "utf-16-be", "FTFT": "utf-16-le"}
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']?([\w.:-]+)""")
_CHARSET = re.compile(r"""charset\s*[=:]\s*["']?([\w.:-]+)""", re.I)
_WESTERN = {"ascii", "iso8859-1", "cp1252"}
_SUPERSETS = {"iso8859-1": "cp1252", "gb2312": "gb18030", "gbk": "gb18030", "shift_jis": "cp932"}
_CP1252 = {c: bytes([c]).decode("cp1252", "ignore") or chr(c) for c in range(0x80, 0xA0)}
_ENTITY_DECL = re.compile(r"""<!ENTITY\s+([^\s%"'<>]+)\s+(?:"([^"]*)"|'([^']*)')""")
_ENTITY_REF = re.compile(r"&([^\s&;#<>\"']+);")
_CHARREF = re.compile(r"&#(x[0-9a-f]+|[0-9]+);(?:&#(x[0-9a-f]+|[0-9]+);)?", re.I)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_LONG_TAG = re.compile(r"<[^<>]{200,}>")  # feedparser's attribute lookup is quadratic


def parse_feed(
    content: bytes, url: str, content_type: str = "", headers: Mapping[str, str] | None = None
) -> ParsedFeed:
    """Parse a feed document fetched from ``url``; raises FeedParseError if it is none.

    ``headers`` are the HTTP response headers (any case); ``content_type`` wins over theirs.
    """
    try:
        content = bytes(content)
        hdrs = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        content_type = content_type or hdrs.get("content-type", "")
        head = content.removeprefix(codecs.BOM_UTF8).lstrip()[:1]
        if head == b"{" or ("json" in content_type.lower() and head != b"<"):
            return _parse_json_feed(content, url)
        return _parse_xml_feed(content, url, content_type, hdrs)
    except FeedParseError:
        raise
    except Exception as exc:  # a feed must never crash a run; say what happened, on one line
        message = f"cannot parse feed: {type(exc).__name__}: {_first_line(exc)}"
        raise FeedParseError(message) from None


def _parse_xml_feed(content: bytes, url: str, content_type: str, hdrs: dict) -> ParsedFeed:
    text = _decode(content, content_type).lstrip("\ufeff \t\r\n")
    if text[:15].lower().startswith(("<!doctype html", "<html")):
        raise FeedParseError("not a feed: the URL returned an HTML page")
    expansion = _entity_expansion(text)
    if expansion > max(MAX_ENTITY_EXPANSION, len(text)):
        raise FeedParseError(f"refused: its XML entities would expand to {expansion:,} characters")
    if sum(tag[0].count("=") ** 2 for tag in _LONG_TAG.finditer(text)) > 10**8:
        raise FeedParseError("refused: elements with thousands of attributes")  # quadratic
    response = {"content-type": "application/xml; charset=utf-8", "content-location": url}
    location = _absolute(url, hdrs.get("content-location", ""))
    if location.startswith(("http://", "https://")):
        response["content-location"] = location
    if hdrs.get("content-language"):
        response["content-language"] = hdrs["content-language"]
    data = (_CHARREF.sub(_fix_charrefs, text) if "&#" in text else text).encode("utf-8", "replace")
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers=response, sanitize_html=True)
    except Exception as exc:  # feedparser bugs on broken markup: one try on a repaired document
        try:
            repaired = io.BytesIO(_repaired(data))
            parsed = feedparser.parse(repaired, response_headers=response, sanitize_html=True)
        except Exception:
            raise exc from None
    version, feed = parsed.get("version") or "", parsed.feed
    if not version and not parsed.entries and not feed:  # CDF has no version; HTML has no feed
        reason = parsed.get("bozo_exception")
        detail = f" ({_first_line(reason)})" if reason else ""
        raise FeedParseError(f"not an RSS, Atom or JSON feed{detail}")
    entries = [e for e in map(_entry_from_feedparser, parsed.entries) if e is not None]
    warning = _first_line(parsed.get("bozo_exception")) if parsed.get("bozo") else ""
    site_url, format_ = _text(feed.get("link")), version or "unknown"
    return ParsedFeed(url, _title(feed), site_url, format_, entries, warning)


def _decode(content: bytes, content_type: str) -> str:
    """The document as text; see the module docstring for the order of evidence."""
    labels = []
    for bom, name in _BOMS.items():
        if content.startswith(bom):
            labels.append(name)
            content = content[len(bom) :]
            break
    else:  # UTF-16/32 without a BOM, told by where the zero bytes of "<?" fall
        labels.append(_UTF16_32.get("".join("FT"[b == 0] for b in content[:4]), ""))
    charset = _CHARSET.search(content_type)
    declared = _XML_ENCODING.match(content[:1024])
    labels += [charset[1] if charset else "", declared[1].decode() if declared else "", "utf-8"]
    tried = set()
    for label in labels:
        try:
            codec = codecs.lookup(label).name if label else ""
        except LookupError:
            continue
        if not codec or codec in tried:
            continue
        tried.add(codec)
        if codec in _WESTERN and not content.isascii():  # mislabelled UTF-8 is common
            with suppress(UnicodeDecodeError):
                return content.decode("utf-8")
        with suppress(UnicodeError, LookupError):  # LookupError: a codec that is not for text
            return content.decode(_SUPERSETS.get(codec, codec))
    return content.decode("latin-1").translate(_CP1252)  # windows-1252 as browsers read it


def _entity_expansion(text: str) -> int:
    """An upper bound on what the internal entities declared in ``text`` expand to."""
    if "<!ENTITY" not in text:
        return 0
    values = {m[0]: m[1] or m[2] for m in _ENTITY_DECL.findall(text)}
    sizes: dict[str, int] = {}

    def size(name: str, depth: int) -> int:
        if name not in sizes:
            if depth > 16:  # deeper nesting (or a cycle) is an attack, not a feed
                return MAX_ENTITY_EXPANSION
            refs = [r for r in _ENTITY_REF.findall(values[name]) if r in values]
            sizes[name] = len(values[name]) + sum(size(r, depth + 1) for r in refs)
        return sizes[name]

    used = Counter(m[1] for m in _ENTITY_REF.finditer(text) if m[1] in values)
    return sum(size(name, 0) * count for name, count in used.items())


def _fix_charrefs(match: re.Match[str]) -> str:
    """Join a surrogate pair written as two references; make non-characters U+FFFD."""
    refs = [r for r in match.groups() if r]
    codes = [-1 if len(r) > 9 else int(r[1:], 16) if r[0] in "xX" else int(r) for r in refs]
    if len(codes) == 2 and 0xD800 <= codes[0] < 0xDC00 <= codes[1] < 0xE000:
        return f"&#x{0x10000 + ((codes[0] - 0xD800) << 10) + codes[1] - 0xDC00:X};"
    ok = [c in (9, 10, 13) or 0x20 <= c < 0xD800 or 0xE000 <= c <= 0x10FFFF for c in codes]
    return "".join(f"&#{r};" if good else "&#xFFFD;" for r, good in zip(refs, ok, strict=True))


def _repaired(data: bytes) -> bytes:
    from lxml import etree

    parser = etree.XMLParser(
        recover=True, encoding="utf-8", resolve_entities=False, no_network=True, load_dtd=False
    )
    root = etree.fromstring(data, parser)
    return b"" if root is None else etree.tostring(root, encoding="utf-8", xml_declaration=True)


def _entry_from_feedparser(e: Any) -> FeedEntry | None:
    links = [_text(c.get("href")) for c in e.get("links", []) or []]
    link = _text(e.get("link")) or next((h for h in links if h), "")
    parts = [_text(part.get("value")) for part in e.get("content", []) or []]
    content = max(parts, key=len, default="")
    summary = _text(e.get("summary"))
    published = _struct_to_datetime(e.get("published_parsed"))
    updated = _struct_to_datetime(dict.get(e, "updated_parsed"))  # no legacy fallback
    dates = [d.isoformat() for d in (published, updated) if d]
    raw_title = _text(e.get("title"))  # guids were digested from the raw title: keep them stable
    guid = _text(e.get("id")) or link or _digest(raw_title, summary) or _digest(content, *dates)
    if not guid:
        return None
    return FeedEntry(
        guid=guid, link=link, title=_title(e), summary=summary if summary != content else "",
        content=content, author=_text(e.get("author")), published=published or updated,
        updated=updated,
    )  # fmt: skip


def _title(node: Any) -> str:
    """The node's title as plain text (feedparser keeps the markup of HTML titles)."""
    title = _text(node.get("title"))
    if not title or (node.get("title_detail") or {}).get("type") not in _HTML_TYPES:
        return title
    return " ".join((html_to_text(title) if "<" in title else html.unescape(title)).split())


def _parse_json_feed(content: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FeedParseError(f"not a valid JSON feed: {_first_line(exc)}") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(JSON_FEED_PREFIX):
        raise FeedParseError("not a JSON Feed (no https://jsonfeed.org/version/ marker)")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedParseError("JSON Feed has no items list")
    entries: list[FeedEntry] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = _absolute(url, _text(item.get("url")) or _text(item.get("external_url")))
        title, summary = _text(item.get("title")), _text(item.get("summary"))
        body = _text(item.get("content_html")) or _text(item.get("content_text"))
        guid = _text(item.get("id")) or link or _digest(title, summary)
        if not guid or not (link or title or summary or body):
            continue
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        authors = authors if isinstance(authors, list) else []
        author = ", ".join(_text(a.get("name")) for a in authors if isinstance(a, dict))
        published = _iso_datetime(item.get("date_published"))
        updated = _iso_datetime(item.get("date_modified"))
        entries.append(
            FeedEntry(guid=guid, link=link, title=title, summary=summary, content=body,
                      author=author, published=published or updated, updated=updated)
        )  # fmt: skip
    version = str(data["version"]).removeprefix(JSON_FEED_PREFIX)
    home = _absolute(url, _text(data.get("home_page_url")))
    format_ = "json" + version.replace(".", "")[:12]  # the column holds 16 characters
    return ParsedFeed(url, _text(data.get("title")), home, format_, entries)


def entry_hash(entry: FeedEntry) -> str:
    """A fingerprint of what the feed says about an entry; it changes when the entry does."""
    parts = [entry.link, entry.title, entry.summary, entry.content]
    parts.append(entry.updated.isoformat() if entry.updated else "")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment from a feed (paragraphs kept as lines)."""
    if "<" not in fragment:
        return fragment.strip()
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # lxml raises several types on junk; the raw text is a fine answer
        return fragment.strip()
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    blocks = []
    for el in root.iter("p", "li", "h1", "h2", "h3", "h4"):
        text = " ".join(el.text_content().split())
        if text:
            blocks.append(text)
    if not blocks:
        return " ".join(root.text_content().split())
    return "\n".join(blocks)


def _struct_to_datetime(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def _iso_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _absolute(base: str, link: str) -> str:
    try:
        return urljoin(base, link) if link else ""
    except ValueError:  # e.g. a malformed IPv6 host
        return link


def _text(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    if not value.isascii():  # lone surrogates (from JSON "\\ud800") cannot be stored
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value.replace("\x00", "").strip()  # nor can NUL, in PostgreSQL


def _digest(*parts: str) -> str:
    joined = "\x1f".join(parts)
    return "sha256:" + hashlib.sha256(joined.encode()).hexdigest() if joined.strip() else ""


def _first_line(value: Any) -> str:
    lines = str(value).splitlines() if value else []
    return lines[0][:200] if lines else ""
