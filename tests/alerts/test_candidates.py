"""Watch evaluation with candidate selection gives the alerts that running every watch's own
search over the batch gives, on both backends (the generator of ``make bench-alerts``)."""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import esserver
import pytest
from conftest import make_settings
from script_loader import load_script
from sqlalchemy import select

from alerts.stage import evaluate_watches
from core import schema as t
from core.errors import QuerySyntaxError
from core.models import SearchRequest
from core.settings import Settings
from newswatch.resources import open_runtime
from search.backend import IndexBackend, MatchOutcome

AGENT = "newswatch-tests"  # no package metadata needed


def _bench() -> ModuleType:
    return load_script("bench/alerts.py")


class EveryWatchSearched:
    """The real index, but ``match`` runs each request's own ``search`` (no candidates)."""

    def __init__(self, index: IndexBackend) -> None:
        self.index = index

    def match(self, requests: Sequence[SearchRequest], ids: Sequence[str]) -> list[MatchOutcome]:
        out = []
        for r in requests:
            try:
                hits = self.index.search(replace(r, limit=1000)).hits
            except QuerySyntaxError as exc:
                out.append(MatchOutcome(error=str(exc)))
                continue
            out.append(MatchOutcome(frozenset(h.id for h in hits) & set(ids)))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.index, name)


def _alerts(settings: Settings, brute: bool) -> tuple[set[tuple[str, ...]], dict[str, float]]:
    bench = _bench()
    rng = random.Random(4)
    vocab = bench.words(rng, 800)
    articles = bench.make_articles(rng, vocab, 40)
    watches = bench.make_watches(rng, vocab, articles, 400)
    rt = open_runtime(settings)
    try:
        bench.load(rt, articles, watches)
        if brute:
            rt = replace(rt, index=EveryWatchSearched(rt.index))
        timings: dict[str, float] = {}
        evaluate_watches(rt, timings)
        with rt.store.engine.connect() as conn:
            rows = conn.execute(select(t.alerts.c.watch_id, t.alerts.c.story_id,
                                       t.alerts.c.article_id, t.alerts.c.kind)).all()
        return {tuple(r) for r in rows}, timings
    finally:
        rt.close()


@pytest.mark.parametrize("backend", ["embedded", "elasticsearch"])
def test_candidates_give_the_alerts_of_searching_every_watch(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    found = {}
    for brute in (False, True):
        home = tmp_path / f"home-{brute}"
        if backend == "embedded":
            settings = make_settings(home, user_agent=AGENT)
        else:
            settings = replace(esserver.settings_for(request.getfixturevalue("es_url"), home),
                               user_agent=AGENT)
            request.addfinalizer(functools.partial(esserver.drop_indices, settings))
        found[brute], timings = _alerts(settings, brute)
        assert set(timings) == {"read", "match", "decide", "write"}
    assert len(found[False]) > 100
    assert found[False] == found[True]
