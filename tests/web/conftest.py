"""The web app's tests: one real pipeline run over the demo site (once per session), then
a real server (uvicorn on loopback) over a copy of its data directory per module; the
browser tests drive Debian's Chromium with Selenium."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web app needs the api extra (fastapi, uvicorn)")
pytest.importorskip("spacy", reason="these tests need the nlp extra (spaCy) for entities")

from conftest import make_settings
from fixtures.apiserver import serving
from fixtures.webapp import web_settings

from api.app import create_app
from core.settings import Settings
from newswatch.demo.catalog import load_articles
from newswatch.demo.site import DemoSite
from newswatch.pipeline import add_feed, run_once
from newswatch.resources import open_runtime
from stories.store import StoryStore


@dataclasses.dataclass(frozen=True)
class DemoData:
    pristine: Path  # the data directory right after the run; copy it, never change it
    story_id: str  # the developing story: the most articles
    article_ids: tuple[str, ...]  # that story's articles, in publication order


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    """One real pipeline run over the demo news site; its data directory kept pristine."""
    home = tmp_path_factory.mktemp("web") / "pristine"
    with DemoSite(base_port=0) as site:
        rt = open_runtime(make_settings(home))
        try:
            for url in site.feed_urls():
                add_feed(rt, url)
            report = run_once(rt)
            assert report.failed == 0 and report.indexed == len(load_articles())
            biggest = max(StoryStore(rt.store).recent(limit=100), key=lambda s: s.article_count)
            articles = StoryStore(rt.store).articles_of(biggest.id)
        finally:
            rt.close()
    assert biggest.article_count >= 4
    return DemoData(home, biggest.id, tuple(a.id for a in articles))


@pytest.fixture(scope="module")
def copy_home(demo_data: DemoData, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Path]:
    """Copies of the pristine data directory, for tests that change it."""

    def copy() -> Path:
        target = tmp_path_factory.mktemp("webhome") / "home"
        shutil.copytree(demo_data.pristine, target)
        return target

    return copy


@pytest.fixture(scope="module")
def served(copy_home: Callable[[], Path]) -> Iterator[tuple[str, Settings]]:
    """The app (API and web) over a copy of the demo data, with an API key; read open."""
    settings = web_settings(copy_home())
    with serving(create_app(settings)) as base:
        yield base, settings
