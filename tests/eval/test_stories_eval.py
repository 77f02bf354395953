"""The story-clustering scorers on hand-made groupings, and the readers of the hard set and
the same-week variant on the shared dev data (skipped when it is absent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from script_loader import load_script

stories_eval = load_script("eval/stories.py")
ROOT = stories_eval.data_dir(None)


def test_bcubed_and_pairwise_on_a_small_grouping() -> None:
    gold = {"a": "x", "b": "x", "c": "y", "d": "y"}
    assert stories_eval.bcubed(gold, gold) == (1.0, 1.0, 1.0)
    merged = dict.fromkeys(gold, "s")
    p, r, _ = stories_eval.bcubed(merged, gold)
    assert (p, r) == (0.5, 1.0)
    split = {k: k for k in gold}
    assert stories_eval.pairwise(split, gold)[:2] == (1.0, 0.0)


def test_same_week_keeps_the_order_and_squeezes_the_dates_into_seven_days() -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    items = [stories_eval.Item(str(n), "t", "x", "s", start + timedelta(days=30 * n), f"e{n}")
             for n in range(10)]
    squeezed = stories_eval.same_week(items)
    assert [i.key for i in squeezed] == [i.key for i in items]
    dates = [i.published for i in squeezed]
    assert dates == sorted(dates) and dates[-1] - dates[0] == timedelta(days=7)
    assert [i.gold for i in squeezed] == [i.gold for i in items]


@pytest.mark.skipif(not (ROOT / "clustering-hard-dev").exists(),
                    reason=f"clustering-hard-dev not found under {ROOT}")
def test_the_hard_set_reads_as_many_events_in_date_order() -> None:
    items = stories_eval.hard_items(ROOT, None)
    assert len(items) == 436 and len({i.gold for i in items}) == 207
    assert [i.published for i in items] == sorted(i.published for i in items)
    assert all(i.text and i.source for i in items)
