"""Feeds of the demo outlets: RSS 2.0, Atom 1.0, RSS 1.0 (RDF) and JSON Feed 1.1.

Items are given newest first. Feeds carry the section name as a category, never the
ground-truth ``story`` or ``topics`` labels.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

from newswatch.demo.catalog import DemoArticle, Outlet
from newswatch.demo.pages import section_of

FEED_CONTENT_TYPES = {
    "rss20": "application/rss+xml; charset=utf-8",
    "atom10": "application/atom+xml; charset=utf-8",
    "rss10": "application/rdf+xml; charset=utf-8",
    "json11": "application/feed+json; charset=utf-8",
}
_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _iso(article: DemoArticle) -> str:
    return f"{article.published:%Y-%m-%dT%H:%M:%SZ}"


def _rfc822(article: DemoArticle) -> str:
    return format_datetime(article.published, usegmt=True)


def _rss20(outlet: Outlet, items: list[DemoArticle], base: str, links: dict[str, str]) -> str:
    out = [
        _XML_DECL,
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n',
        f"<title>{escape(outlet.name)}</title>\n<link>{escape(base)}/</link>\n",
        f"<description>{escape(outlet.description)}</description>\n"
        f"<language>{'en-us' if outlet.language == 'en' else outlet.language}</language>\n",
        f"<lastBuildDate>{_rfc822(items[0])}</lastBuildDate>\n",
        f'<atom:link href={quoteattr(base + outlet.feed_path)} rel="self" '
        'type="application/rss+xml"/>\n',
    ]
    for a in items:
        url = base + a.path()
        if outlet.slug == "channel9":  # opaque guids, author as "email (name)"
            guid = f'<guid isPermaLink="false">channel9-{a.published:%Y%m%d}-{a.slug}</guid>'
            author = f"<author>newsdesk@channel9.example ({escape(a.author)})</author>"
        else:
            guid = f'<guid isPermaLink="true">{escape(url)}</guid>'
            author = f"<dc:creator>{escape(a.author)}</dc:creator>"
        out.append(
            f"<item>\n<title>{escape(a.title)}</title>\n<link>{escape(links[a.slug])}</link>\n"
            f"{guid}\n<description>{escape(a.summary)}</description>\n"
            f"<pubDate>{_rfc822(a)}</pubDate>\n{author}\n"
            f"<category>{section_of(a)}</category>\n</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out)


def _atom10(outlet: Outlet, items: list[DemoArticle], base: str, links: dict[str, str]) -> str:
    tag = f"tag:{outlet.slug}.example,2026:"
    self_href = quoteattr(base + outlet.feed_path)
    out = [
        _XML_DECL,
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.language}">\n',
        f"<id>{tag}feed</id>\n<title>{escape(outlet.name)}</title>\n",
        f"<subtitle>{escape(outlet.description)}</subtitle>\n",
        f"<updated>{_iso(items[0])}</updated>\n",
        f'<link rel="self" type="application/atom+xml" href={self_href}/>\n',
        f'<link rel="alternate" type="text/html" href={quoteattr(base + "/")}/>\n',
        f"<author><name>{escape(outlet.name)}</name></author>\n",
    ]
    for a in items:
        out.append(
            f"<entry>\n<id>{tag}{a.slug}</id>\n<title>{escape(a.title)}</title>\n"
            f'<link rel="alternate" type="text/html" href={quoteattr(links[a.slug])}/>\n'
            f"<published>{_iso(a)}</published>\n<updated>{_iso(a)}</updated>\n"
            f"<author><name>{escape(a.author)}</name></author>\n"
            f'<summary type="text">{escape(a.summary)}</summary>\n'
            f"<category term={quoteattr(section_of(a))}/>\n</entry>\n"
        )
    out.append("</feed>\n")
    return "".join(out)


def _rss10(outlet: Outlet, items: list[DemoArticle], base: str, links: dict[str, str]) -> str:
    seq = "".join(f"<rdf:li rdf:resource={quoteattr(links[a.slug])}/>\n" for a in items)
    out = [
        _XML_DECL,
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">\n',
        f"<channel rdf:about={quoteattr(base + outlet.feed_path)}>\n",
        f"<title>{escape(outlet.name)}</title>\n<link>{escape(base)}/</link>\n",
        f"<description>{escape(outlet.description)}</description>\n",
        f"<dc:date>{_iso(items[0])}</dc:date>\n<items>\n<rdf:Seq>\n{seq}</rdf:Seq>\n</items>\n",
        "</channel>\n",
    ]
    for a in items:
        out.append(
            f"<item rdf:about={quoteattr(links[a.slug])}>\n<title>{escape(a.title)}</title>\n"
            f"<link>{escape(links[a.slug])}</link>\n"
            f"<description>{escape(a.summary)}</description>\n<dc:date>{_iso(a)}</dc:date>\n"
            f"<dc:creator>{escape(a.author)}</dc:creator>\n"
            f"<dc:subject>{section_of(a)}</dc:subject>\n</item>\n"
        )
    out.append("</rdf:RDF>\n")
    return "".join(out)


def _json11(outlet: Outlet, items: list[DemoArticle], base: str, links: dict[str, str]) -> str:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": outlet.name,
        "home_page_url": base + "/",
        "feed_url": base + outlet.feed_path,
        "description": outlet.description,
        "language": outlet.language,
        "authors": [{"name": outlet.name}],
        "items": [
            {
                "id": f"{outlet.slug}:{a.slug}",
                "url": links[a.slug],
                "title": a.title,
                "summary": a.summary,
                "content_text": "\n\n".join(a.paragraphs),
                "date_published": _iso(a),
                "authors": [{"name": a.author}],
                "tags": [section_of(a)],
            }
            for a in items
        ],
    }
    return json.dumps(feed, indent=2, ensure_ascii=False) + "\n"


_RENDERERS: dict[str, Callable[[Outlet, list[DemoArticle], str, dict[str, str]], str]] = {
    "rss20": _rss20,
    "atom10": _atom10,
    "rss10": _rss10,
    "json11": _json11,
}


def render_feed(
    outlet: Outlet, articles: list[DemoArticle], base_url: str, links: dict[str, str]
) -> bytes:
    """The outlet's feed of ``articles`` (newest first); ``links`` maps slug to item link."""
    items = sorted(articles, key=lambda a: (a.published, a.slug), reverse=True)
    return _RENDERERS[outlet.feed_format](outlet, items, base_url.rstrip("/"), links).encode()
