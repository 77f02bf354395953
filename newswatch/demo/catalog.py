"""What the demo site publishes: its seven fictional outlets and its articles, read from the data
files in ``content/`` (one TOML file per article) with their ground-truth labels (``story``,
``role``, ``topics``), and the URLs they are published under."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import NewswatchError

CONTENT_DIR = Path(__file__).parent / "content"


TOPICS = (
    "arms-transfers",
    "sanctions",
    "dprk-russia",
    "drones",
    "nuclear-weapons",
    "war-in-ukraine",
    "markets",
    "sports",
    "weather",
)


# The developing story's roles; the Russian and Korean outlets' articles either only repeat
# the English facts ("repeat-…") or add a new one ("follow-up-…").
ROLES = ("", "original", "spun", "wire", "tv", "roundup",
         "repeat-ru", "follow-up-ru", "repeat-ko", "follow-up-ko")


# The one article whose feed link carries tracking parameters; its page's rel=canonical
# is the clean URL, so a client must canonicalise to recognise it.
TRACKED_ARTICLE = ("ledger", "central-bank-holds-rates-signals-cut-early-next-year")


TRACKING_QUERY = "?utm_source=rss&utm_medium=feed&utm_campaign=business-briefing"


_KEYS = ("outlet", "slug", "title", "author", "published", "summary", "story", "role")


@dataclass(frozen=True)
class Outlet:
    """One fictional news outlet and the format of its feed."""

    slug: str
    name: str
    feed_path: str
    feed_format: str  # 'rss20' | 'atom10' | 'rss10' | 'json11'
    description: str
    language: str = "en"  # ISO 639-1, declared by its pages and feed


OUTLETS: tuple[Outlet, ...] = (
    Outlet(
        "ledger",
        "The Daily Ledger",
        "/feed.xml",
        "rss20",
        "Independent reporting on world affairs, business and the city of Riverton.",
    ),
    Outlet(
        "globalwire",
        "Global Wire Service",
        "/atom.xml",
        "atom10",
        "Fast, accurate news from the Global Wire Service desks around the world.",
    ),
    Outlet(
        "observer",
        "Capital Observer",
        "/rss.rdf",
        "rss10",
        "Politics, policy and life in the state capital, Carlton.",
    ),
    Outlet(
        "newsroom24",
        "Newsroom24",
        "/feed.json",
        "json11",
        "The stories everyone is talking about, 24 hours a day.",
    ),
    Outlet(
        "channel9",
        "Channel 9 News",
        "/rss",
        "rss20",
        "Channel 9 News: local news, weather and sports for Riverton and the valley.",
    ),
    Outlet(
        "vestnik",
        "Восточный вестник",
        "/rss.xml",
        "rss20",
        "Новости России и мира, политика и экономика.",
        "ru",
    ),
    Outlet(
        "hanbit",
        "한빛일보",
        "/atom.xml",
        "atom10",
        "한빛일보: 정치, 외교, 안보 뉴스를 가장 빠르게 전합니다.",
        "ko",
    ),
)


@dataclass(frozen=True)
class DemoArticle:
    """One article of the demo site, with its ground-truth labels."""

    outlet: str
    slug: str
    title: str
    author: str
    published: datetime  # tz-aware UTC
    summary: str
    story: str
    role: str
    topics: tuple[str, ...]
    paragraphs: tuple[str, ...]

    def path(self) -> str:
        """The article's page path on its outlet, e.g. ``/2026/11/10/slug.html``."""
        return f"/{self.published:%Y/%m/%d}/{self.slug}.html"


def load_articles(content_dir: Path = CONTENT_DIR) -> list[DemoArticle]:
    """Read every ``<outlet>--<slug>.toml`` file, checked, sorted by publication time."""
    outlets = {o.slug for o in OUTLETS}
    articles = [_read_article(path, outlets) for path in sorted(content_dir.glob("*.toml"))]
    articles.sort(key=lambda a: (a.published, a.outlet, a.slug))
    return articles


def _read_article(path: Path, outlets: set[str]) -> DemoArticle:
    with path.open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    missing = [k for k in (*_KEYS, "topics", "paragraphs") if k not in data]
    if missing:
        raise NewswatchError(f"demo article {path.name} lacks {', '.join(missing)}.")
    published = datetime.fromisoformat(data["published"])
    problems = []
    if path.name != f"{data['outlet']}--{data['slug']}.toml":
        problems.append("file name does not match outlet and slug")
    if data["outlet"] not in outlets:
        problems.append(f"unknown outlet {data['outlet']!r}")
    if data["role"] not in ROLES:
        problems.append(f"unknown role {data['role']!r}")
    if published.utcoffset() is None:
        problems.append("published has no time zone")
    unknown = sorted(set(data["topics"]) - set(TOPICS))
    if unknown:
        problems.append(f"unknown topics {unknown}")
    if problems:
        raise NewswatchError(f"demo article {path.name}: {'; '.join(problems)}.")
    return DemoArticle(
        outlet=data["outlet"],
        slug=data["slug"],
        title=data["title"],
        author=data["author"],
        published=published.astimezone(UTC),
        summary=data["summary"],
        story=data["story"],
        role=data["role"],
        topics=tuple(data["topics"]),
        paragraphs=tuple(data["paragraphs"]),
    )


def canonical_url(base_url: str, article: DemoArticle) -> str:
    """The article's clean absolute URL on a site served at ``base_url``."""
    return base_url.rstrip("/") + article.path()


def feed_link(base_url: str, article: DemoArticle) -> str:
    """The link the feed gives for ``article``: canonical, or with tracking parameters."""
    url = canonical_url(base_url, article)
    if (article.outlet, article.slug) == TRACKED_ARTICLE:
        url += TRACKING_QUERY
    return url
