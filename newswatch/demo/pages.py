"""HTML pages of the demo outlets: realistic clutter around the article text.

Every page carries a cookie banner, navigation, a related-stories list, reader comments and a
footer, so text extraction is tested against them. Markup differs between outlets the way it
does between real sites; the content farm adds ads inside the body and a trending list.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from html import escape

from newswatch.demo.catalog import DemoArticle, Outlet

COOKIE_TEXT = (
    "We use cookies to improve your experience, to count how many people read our journalism "
    "and to show offers from a small number of carefully chosen partners."
)
COMMENT_MARKER = "Posted through the Reader Soapbox community forum"
AD_TEXT = "Sponsored: Homeowners in Riverton are switching to this little-known heating plan"

_FEED_TYPES = {
    "rss20": "application/rss+xml",
    "rss10": "application/rss+xml",
    "atom10": "application/atom+xml",
    "json11": "application/feed+json",
}
_NAV = ("World", "Business", "Local", "Sports", "Weather", "Technology", "Opinion")
_SECTIONS = {
    "dprk": "World",
    "iran": "World",
    "markets": "Business",
    "sports": "Sports",
    "weather": "Weather",
    "tech": "Technology",
    "science": "Science",
    "local": "Local",
    "health": "Health",
    "travel": "Travel",
}
_COMMENTS = (
    ("rivertonreader", "Thanks for laying this out so clearly. I had only seen the headline."),
    ("m_okafor", "I'd like to see the underlying documents before drawing any conclusions."),
    ("OldSchoolSubscriber", "This is why I still pay for local news. Keep it up."),
    ("jlindqvist", "A map or a chart would have made this much easier to follow."),
    ("CarltonCommuter", "Not surprised in the least. We were told the opposite a month ago."),
    ("t.bramwell", "Can someone explain what this means for ordinary people like me?"),
    ("north_shore_dad", "Good piece, but the comments here are getting worse every week."),
    ("AnaP", "Shared this with my book club. We argued about it for an hour."),
)
_TRENDING = (
    "Ten kitchen gadgets that pay for themselves in a month",
    "The one stretch physiotherapists wish everyone did before bed",
    "Fans spot a hidden detail in the new season trailer",
    "What your coffee order says about your personality",
    "Why airline seats are getting narrower, explained",
)


def section_of(article: DemoArticle) -> str:
    """The section an article is filed under, from its story label."""
    return _SECTIONS.get(article.story.split("-", 1)[0], "News")


def human_date(article: DemoArticle) -> str:
    """A reader-facing date, e.g. ``November 10, 2026, 05:30 UTC``."""
    d = article.published
    return f"{d:%B} {d.day}, {d.year}, {d:%H:%M} UTC"


def _e(text: str) -> str:
    return escape(text, quote=True)


def _head(outlet: Outlet, title: str, base_url: str, canonical: str, extra: str = "") -> str:
    feed = f"{base_url}{outlet.feed_path}"
    return (
        f'<!DOCTYPE html>\n<html lang="{outlet.language}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n"
        f'<meta property="og:site_name" content="{_e(outlet.name)}">\n'
        f'<link rel="canonical" href="{_e(canonical)}">\n'
        f'<link rel="alternate" type="{_FEED_TYPES[outlet.feed_format]}" '
        f'title="{_e(outlet.name)}" href="{_e(feed)}">\n'
        f"{extra}</head>\n"
    )


def _banner() -> str:
    return (
        '<div class="cookie-banner" role="dialog" aria-label="Cookie consent">\n'
        f"<p>{_e(COOKIE_TEXT)} You can change your choices at any time in Privacy settings.</p>\n"
        '<button type="button" class="accept">Accept all</button> '
        '<button type="button" class="manage">Manage preferences</button>\n</div>\n'
    )


def _site_header(outlet: Outlet) -> str:
    items = "".join(f'<li><a href="/#{n.lower()}">{n}</a></li>' for n in _NAV)
    return (
        f'<header class="site-header {outlet.slug}-masthead">\n'
        f'<a class="logo" href="/">{_e(outlet.name)}</a>\n'
        f'<nav class="main-nav" aria-label="Sections"><ul>{items}</ul></nav>\n'
        '<a class="subscribe" href="/#subscribe">Subscribe</a> <a href="/#login">Sign in</a>\n'
        "</header>\n"
    )


def _footer(outlet: Outlet) -> str:
    links = ("About us", "Contact", "Corrections", "Privacy policy", "Terms of use", "Advertise")
    items = "".join(f'<li><a href="/#{n.split()[0].lower()}">{n}</a></li>' for n in links)
    return (
        f'<footer class="site-footer">\n<ul class="footer-links">{items}</ul>\n'
        f"<p>&copy; 2026 {_e(outlet.name)}. All rights reserved. "
        "Reproduction without permission is prohibited.</p>\n</footer>\n"
    )


def _related(related: list[DemoArticle], css: str) -> str:
    items = "".join(f'<li><a href="{a.path()}">{_e(a.title)}</a></li>' for a in related)
    return f'<aside class="{css}">\n<h2>Related stories</h2>\n<ul>{items}</ul>\n</aside>\n'


def _comments(article: DemoArticle) -> str:
    start = zlib.crc32(article.slug.encode())
    count = 2 + start % 2
    picked = [_COMMENTS[(start + 3 * i) % len(_COMMENTS)] for i in range(count)]
    body = "".join(
        f'<div class="comment"><p class="comment-author">{_e(user)}</p><p>{_e(text)}</p>'
        f'<p class="comment-meta">{COMMENT_MARKER}</p></div>\n'
        for user, text in picked
    )
    return (
        f'<section class="comments" id="comments">\n<h2>Comments ({count})</h2>\n{body}'
        '<p class="comment-policy">Comments are moderated. Be civil.</p>\n</section>\n'
    )


def _paras(article: DemoArticle, ads_after: tuple[int, ...] = ()) -> str:
    out = []
    for i, para in enumerate(article.paragraphs, start=1):
        out.append(f"<p>{_e(para)}</p>\n")
        if i in ads_after and i < len(article.paragraphs):
            out.append(
                f'<div class="ad ad-inline"><span>Advertisement</span> {_e(AD_TEXT)}</div>\n'
            )
    return "".join(out)


def _time(article: DemoArticle, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    stamp = f"{article.published:%Y-%m-%dT%H:%M:%SZ}"
    return f'<time{cls} datetime="{stamp}">{human_date(article)}</time>'


def _ledger(a: DemoArticle) -> str:
    return (
        '<article class="story">\n<header class="story-header">\n'
        f'<p class="kicker">{section_of(a)}</p>\n<h1 class="headline">{_e(a.title)}</h1>\n'
        f'<p class="dek">{_e(a.summary)}</p>\n'
        f'<div class="byline">By <span class="author">{_e(a.author)}</span> | {_time(a)}</div>\n'
        f'</header>\n<div class="story-body">\n{_paras(a)}</div>\n</article>\n'
    )


def _globalwire(a: DemoArticle) -> str:
    return (
        '<article class="wire-item">\n'
        f'<h1 class="wire-item__title">{_e(a.title)}</h1>\n'
        f'<div class="wire-item__meta"><span class="wire-item__byline">By {_e(a.author)}</span> '
        f'{_time(a, "wire-item__time")} <span class="wire-item__desk">{section_of(a)} desk</span>'
        f'</div>\n<div class="article__body">\n{_paras(a)}</div>\n'
        '<p class="wire-item__rights">Copyright 2026 Global Wire Service. Not for '
        "redistribution without a licence.</p>\n</article>\n"
    )


def _observer(a: DemoArticle) -> str:
    post_id = zlib.crc32(a.slug.encode()) % 90000 + 10000
    return (
        f'<article class="post type-post" id="post-{post_id}">\n'
        f'<h1 class="entry-title">{_e(a.title)}</h1>\n'
        f'<div class="entry-meta">Posted {_time(a, "published")} by '
        f'<a rel="author" href="/#staff">{_e(a.author)}</a> in {section_of(a)}</div>\n'
        f'<div class="entry-content">\n{_paras(a)}</div>\n'
        '<div class="share-buttons">Share this: <a href="/#share-facebook">Facebook</a> '
        '<a href="/#share-x">X</a> <a href="/#share-email">Email</a></div>\n</article>\n'
    )


def _newsroom24(a: DemoArticle) -> str:
    minutes = max(1, sum(len(p.split()) for p in a.paragraphs) // 220)
    return (
        '<article class="nr24-post">\n'
        f'<h1 class="nr24-title">{_e(a.title)}</h1>\n'
        f'<div class="nr24-meta"><span class="nr24-author">{_e(a.author)}</span> | {_time(a)} '
        f"| {minutes} min read</div>\n"
        f'<div class="nr24-content">\n{_paras(a, ads_after=(2, 5))}</div>\n'
        '<div class="nr24-newsletter">Get the stories everyone is talking about in your inbox. '
        '<a href="/#newsletter">Sign up free</a></div>\n</article>\n'
    )


def _channel9(a: DemoArticle) -> str:
    return (
        '<article class="c9-article">\n<figure class="video-player">'
        '<div class="video-placeholder">Press play to watch the report</div>'
        "<figcaption>Channel 9 News video</figcaption></figure>\n"
        f"<h1>{_e(a.title)}</h1>\n"
        f'<div class="c9-byline">By {_e(a.author)}, Channel 9 News</div>\n'
        f'<p class="c9-dateline">Published {_time(a)}</p>\n'
        f'<div class="c9-article-body">\n{_paras(a)}</div>\n</article>\n'
    )


_ARTICLE_MARKUP: dict[str, Callable[[DemoArticle], str]] = {
    "ledger": _ledger,
    "globalwire": _globalwire,
    "observer": _observer,
    "newsroom24": _newsroom24,
    "channel9": _channel9,
    "vestnik": _ledger,  # the Russian outlet uses the Ledger's markup
    "hanbit": _observer,  # the Korean outlet, the Observer's
}


def _json_ld(outlet: Outlet, a: DemoArticle, canonical: str) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": a.title,
        "datePublished": f"{a.published:%Y-%m-%dT%H:%M:%SZ}",
        "url": canonical,
        "author": {"@type": "Person", "name": a.author},
        "publisher": {"@type": "Organization", "name": outlet.name},
    }
    return f'<script type="application/ld+json">{json.dumps(data)}</script>\n'


def render_article(
    outlet: Outlet, article: DemoArticle, base_url: str, related: list[DemoArticle]
) -> bytes:
    """The full HTML page of ``article`` on ``outlet``."""
    canonical = base_url + article.path()
    meta = (
        f'<meta name="description" content="{_e(article.summary)}">\n'
        f'<meta property="og:type" content="article">\n'
        f'<meta property="og:title" content="{_e(article.title)}">\n'
        f'<meta property="og:url" content="{_e(canonical)}">\n'
        f'<meta name="author" content="{_e(article.author)}">\n'
        f'<meta property="article:published_time" '
        f'content="{article.published:%Y-%m-%dT%H:%M:%SZ}">\n'
        f'<meta property="article:section" content="{section_of(article)}">\n'
    )
    if outlet.slug in ("ledger", "observer"):
        meta += _json_ld(outlet, article, canonical)
    title = f"{article.title} | {outlet.name}"
    main = _ARTICLE_MARKUP[outlet.slug](article)
    if outlet.slug == "newsroom24":
        trending = "".join(f'<li><a href="/#trending">{_e(t)}</a></li>' for t in _TRENDING)
        main = (
            f'<div class="ad ad-leaderboard"><span>Advertisement</span> {_e(AD_TEXT)}</div>\n'
            f'<div class="layout">\n{main}<aside class="trending">\n<h3>Trending now</h3>\n'
            f"<ol>{trending}</ol>\n</aside>\n</div>\n"
            '<div class="ad ad-footer"><span>Advertisement</span> Compare quotes from 40 '
            "insurers in two minutes</div>\n"
        )
    page = (
        _head(outlet, title, base_url, canonical, meta)
        + f'<body class="{outlet.slug} article-page">\n'
        + _banner()
        + _site_header(outlet)
        + f'<main id="main" class="{outlet.slug}-main">\n{main}'
        + _related(related, "related" if outlet.slug != "observer" else "col-side related-posts")
        + _comments(article)
        + "</main>\n"
        + _footer(outlet)
        + "</body>\n</html>\n"
    )
    return page.encode("utf-8")


def render_home(outlet: Outlet, articles: list[DemoArticle], base_url: str) -> bytes:
    """The outlet's home page: a list of its articles, newest first, and its feed link."""
    items = "".join(
        f'<li class="teaser"><h2><a href="{a.path()}">{_e(a.title)}</a></h2>'
        f'<p class="teaser-meta">{section_of(a)} | {_time(a)}</p><p>{_e(a.summary)}</p></li>\n'
        for a in articles
    )
    meta = f'<meta name="description" content="{_e(outlet.description)}">\n'
    page = (
        _head(outlet, outlet.name, base_url, base_url + "/", meta)
        + f'<body class="{outlet.slug} home-page">\n'
        + _banner()
        + _site_header(outlet)
        + f'<main id="main">\n<h1>{_e(outlet.name)}</h1>\n<p class="tagline">'
        + f'{_e(outlet.description)}</p>\n<ul class="latest">\n{items}</ul>\n'
        + f'<p><a href="{outlet.feed_path}">Subscribe to our feed</a></p>\n</main>\n'
        + _footer(outlet)
        + "</body>\n</html>\n"
    )
    return page.encode("utf-8")
