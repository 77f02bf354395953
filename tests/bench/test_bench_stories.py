"""The story-stage benchmark runs end to end on tiny stores (no timing assertions: timing
goals are checked by running the benchmark, not by tests)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from script_loader import load_script

from stories.similarity import STOPWORDS, term_counts

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


stories = load_script("bench/stories.py")


def test_prints_a_table_for_each_size_and_the_ratio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figures.json"
    assert stories.main(["--sizes", "200,400", "--probes", "10", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cores" in printed
    rows = [line for line in printed.splitlines() if re.match(r"\s*(200|400)\s+\d", line)]
    assert [row.split()[0] for row in rows[:2]] == ["200", "400"], printed
    assert re.search(r"ratio of medians 400 / 200 articles: \d+\.\d\d", printed), printed
    figures = json.loads(out.read_text())
    assert figures["machine"]["cores"] >= 1
    assert [s["articles"] for s in figures["sizes"]] == [200, 400]
    for size in figures["sizes"]:
        assert size["probes"] == 10
        assert size["median_ms"] > 0 and size["p95_ms"] >= size["median_ms"]
        assert size["candidates_median"] >= 0
    assert figures["ratio"]["median"] > 0


def test_synthetic_articles_are_what_the_stage_would_see() -> None:
    """The generator's shortcuts (terms from its own tokens) match the real functions, stories
    hold 1–8 articles over the span, and copies are near-duplicates of their originals."""
    assert set(stories.FUNCTION_WORDS) <= STOPWORDS
    plans = stories.plan_stories(300, seed=3)
    assert sum(len(p.times) for p in plans) == 300
    assert all(1 <= len(p.times) <= 8 for p in plans)
    span = plans[-1].times[0] - plans[0].times[0]
    assert span > 60 * 86400
    w = stories.world(3)
    copies = 0
    for plan in plans:
        for j in range(len(plan.times)):
            a = stories.generate(plan, j, w)
            assert a.terms == term_counts(a.title, a.text)
            assert stories.terms_of(plan, j, w) == a.terms
            assert 280 <= len(a.text.split()) <= 700  # copies: a sentence replaced
            assert any(e.salience >= 0.7 for e in a.entities)
            if plan.copies[j] >= 0:
                copies += 1
                original = stories.generate(plan, plan.copies[j], w)
                assert stories.dedup.is_near_duplicate(
                    stories.dedup.signature(a.text), stories.dedup.signature(original.text))
    assert copies > 0
