"""The bundled demo news site: seven fictional outlets (five English, one Russian, one Korean),
each on its own loopback port.

Every outlet serves a home page, a feed in its own format, ``/robots.txt`` and one HTML page
per article. The articles are data files in ``content/`` (one TOML file per article). They
include a developing story told by all seven outlets, a spun near-copy on a content farm, and
unrelated stories, with ground-truth labels (``story``, ``role``, ``topics``) for evaluation.
Everything served is deterministic, so re-polling a feed yields 304s and no changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from core.errors import NewswatchError
from newswatch.demo.catalog import (
    OUTLETS,
    DemoArticle,
    Outlet,
    canonical_url,
    feed_link,
    load_articles,
)
from newswatch.demo.feeds import FEED_CONTENT_TYPES, render_feed
from newswatch.demo.pages import AD_TEXT as AD_TEXT
from newswatch.demo.pages import COMMENT_MARKER as COMMENT_MARKER
from newswatch.demo.pages import COOKIE_TEXT as COOKIE_TEXT
from newswatch.demo.pages import render_article, render_home
from newswatch.demo.server import Route, SiteServer


def http_date(when: datetime) -> str:
    """``when`` as an HTTP-date (RFC 9110), e.g. ``Tue, 10 Nov 2026 05:30:00 GMT``."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def build_routes(outlet: Outlet, base_url: str, articles: list[DemoArticle]) -> dict[str, Route]:
    """All routes of ``outlet`` served at ``base_url``: home, feed, robots.txt, article pages."""
    base_url = base_url.rstrip("/")
    mine = sorted(
        (a for a in articles if a.outlet == outlet.slug),
        key=lambda a: (a.published, a.slug),
        reverse=True,
    )
    if not mine:
        raise NewswatchError(f"demo outlet {outlet.slug} has no articles.")
    newest = http_date(mine[0].published)
    links = {a.slug: feed_link(base_url, a) for a in mine}
    routes: dict[str, Route] = {
        "/": Route(render_home(outlet, mine, base_url), last_modified=newest),
        outlet.feed_path: Route(
            render_feed(outlet, mine, base_url, links),
            content_type=FEED_CONTENT_TYPES[outlet.feed_format],
            last_modified=newest,
        ),
        "/robots.txt": Route(
            b"User-agent: *\nAllow: /\n", content_type="text/plain; charset=utf-8"
        ),
    }
    for article in mine:
        related = [a for a in mine if a.slug != article.slug][:4]
        routes[article.path()] = Route(
            render_article(outlet, article, base_url, related),
            last_modified=http_date(article.published),
        )
    return routes


class DemoSite:
    """Starts one SiteServer per outlet on consecutive loopback ports base_port+i.

    ``base_port=0`` gives every outlet a free port instead.
    """

    def __init__(self, base_port: int = 0) -> None:
        self.base_port = base_port
        self.articles: list[DemoArticle] = load_articles()
        self.servers: dict[str, SiteServer] = {}

    def start(self) -> DemoSite:
        """Start every outlet; on failure stop those already started and raise NewswatchError."""
        try:
            for i, outlet in enumerate(OUTLETS):
                port = self.base_port + i if self.base_port else 0
                self.servers[outlet.slug] = server = self._listen(port)
                server.start()
                routes = build_routes(outlet, server.base_url, self.articles)
                for path, route in routes.items():
                    server.set(path, route)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _listen(port: int) -> SiteServer:
        if not 0 <= port <= 65535:
            raise NewswatchError(
                f"demo port {port} is out of range; set NEWSWATCH_DEMO_PORT to a lower first port."
            )
        try:
            return SiteServer(port=port)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise NewswatchError(
                f"cannot serve the demo site on 127.0.0.1:{port} ({reason}); "
                "set NEWSWATCH_DEMO_PORT to another first port."
            ) from exc

    def stop(self) -> None:
        """Stop every server that was started."""
        servers, self.servers = self.servers, {}
        for server in servers.values():
            server.stop()

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _server(self, outlet: str) -> SiteServer:
        try:
            return self.servers[outlet]
        except KeyError:
            raise NewswatchError(f"the demo outlet {outlet!r} is not running.") from None

    def feed_urls(self) -> list[str]:
        """The feed URL of every running outlet, in OUTLETS order."""
        return [self._server(o.slug).url(o.feed_path) for o in OUTLETS if o.slug in self.servers]

    def home_url(self, outlet: str) -> str:
        """The home page URL of a running outlet."""
        return self._server(outlet).url("/")

    def article_url(self, article: DemoArticle) -> str:
        """The canonical absolute URL of ``article`` on its running outlet."""
        return canonical_url(self._server(article.outlet).base_url, article)

    def articles_of(self, outlet: str) -> list[DemoArticle]:
        """The articles of one outlet, oldest first."""
        return [a for a in self.articles if a.outlet == outlet]
