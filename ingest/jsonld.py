"""The article a page describes in its schema.org JSON-LD (``articleBody`` and friends). Pure."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ingest.feeds import html_to_text

# schema.org types whose articleBody is the page's article: Article and its news/report kinds.
_ARTICLE_TYPES = frozenset({
    "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle",
    "BackgroundNewsArticle", "OpinionNewsArticle", "ReviewNewsArticle", "AskPublicNewsArticle",
    "SatiricalArticle", "Report", "BlogPosting", "LiveBlogPosting",
})
# Keys whose values are other things than the page's own article (live-blog entries, related
# items, the publisher's pages): an articleBody found under them is not the page's body.
_SKIP_KEYS = frozenset({"liveBlogUpdate", "hasPart", "isPartOf", "citation", "mentions", "about",
                        "itemListElement", "relatedLink", "comment", "review", "publisher"})
_TAG_RE = re.compile(r"<[a-zA-Z/!][^>]*>")


@dataclass(frozen=True)
class JsonLdArticle:
    body: str
    headline: str = ""
    description: str = ""


def article_from_jsonld(tree: Any) -> JsonLdArticle | None:
    """The longest ``articleBody`` of an Article-like JSON-LD item on the page, if any."""
    best: JsonLdArticle | None = None
    for script in tree.xpath("//script[@type='application/ld+json']"):
        data = _loads(script.text or "")
        for item in _items(data):
            body = item.get("articleBody")
            if isinstance(body, list):
                body = "\n".join(b for b in body if isinstance(b, str))
            if not isinstance(body, str):
                continue
            text = _plain(body)
            if text and (best is None or len(text) > len(best.body)):
                best = JsonLdArticle(text, _plain(_str(item.get("headline"))),
                                     _plain(_str(item.get("description"))))
    return best


def _loads(raw: str) -> Any:
    raw = raw.strip()
    for wrapper in ("<!--", "-->", "//<![CDATA[", "//]]>", "<![CDATA[", "]]>"):
        raw = raw.replace(wrapper, "")
    try:
        return json.loads(raw, strict=False)  # strict=False: raw newlines inside strings
    except ValueError:
        return None


def _items(data: Any) -> Iterator[dict[str, Any]]:
    """Every Article-like object in a JSON-LD document: top level, lists, @graph, nesting."""
    if isinstance(data, list):
        for value in data:
            yield from _items(value)
    elif isinstance(data, dict):
        kinds = data.get("@type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if any(isinstance(k, str) and k.rsplit("/", 1)[-1] in _ARTICLE_TYPES for k in kinds):
            yield data
        for key, value in data.items():
            if key not in _SKIP_KEYS and isinstance(value, dict | list):
                yield from _items(value)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _plain(text: str) -> str:
    """Text with markup (some sites put HTML in articleBody) and entities resolved, one
    paragraph a line."""
    if _TAG_RE.search(text):
        text = html_to_text(text)
    text = html.unescape(text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


_SITE_TYPES = frozenset({"WebSite", "NewsMediaOrganization"})


def site_from_jsonld(tree: Any) -> str:
    """The site's name as the page's JSON-LD gives it: a WebSite or NewsMediaOrganization
    item's ``name``, else the ``publisher`` name of its article. (A plain Organization's name
    is not used: sites put their slogan there.)"""
    sites: list[str] = []
    publishers: list[str] = []
    for script in tree.xpath("//script[@type='application/ld+json']"):
        for item in _things(_loads(script.text or "")):
            kinds = item.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            names = {k.rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)}
            if names & _SITE_TYPES:
                sites.append(_str(item.get("name")))
            if names & _ARTICLE_TYPES and isinstance(item.get("publisher"), dict):
                publishers.append(_str(item["publisher"].get("name")))
    return next((" ".join(n.split()) for n in (*sites, *publishers) if n.strip()), "")


def _things(data: Any) -> Iterator[dict[str, Any]]:
    """Every object of a JSON-LD document: top level, lists and @graph (not nested values)."""
    if isinstance(data, list):
        for value in data:
            yield from _things(value)
    elif isinstance(data, dict):
        yield data
        if isinstance(data.get("@graph"), list):
            yield from _things(data["@graph"])
