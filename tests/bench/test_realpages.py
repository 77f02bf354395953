"""The real-page benchmark serves the pages of extraction-dev as feeds over loopback hosts,
runs the pipeline and the floor on them and reports every figure (no timing assertions:
timing goals are checked by running the benchmark, not by tests)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from script_loader import load_script

from ingest.feeds import parse_feed

realpages = load_script("bench/realpages.py")
needs_data = pytest.mark.skipif(not (realpages.DATA / "ground_truth.json").is_file(),
                                reason=f"needs the real pages of {realpages.DATA}")


def test_without_the_data_it_says_so_and_succeeds(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert realpages.main(["--data", str(tmp_path / "absent"), "--json", ""]) == 0
    assert "skipped" in capsys.readouterr().out


@needs_data
def test_the_pages_are_served_as_feeds_on_several_loopback_hosts() -> None:
    pages = realpages.load_pages(realpages.DATA, 12)
    with realpages.served(realpages.DATA, 3, 12) as feeds:
        assert len(feeds) == len(realpages.outlets(pages))
        assert len({url.split("/")[2].split(":")[0] for url in feeds}) == 3  # three addresses
        links = []
        for url in feeds:
            with urllib.request.urlopen(url, timeout=10) as answer:
                links += [e.link for e in parse_feed(answer.read(), url).entries]
        assert len(links) == 12
        with urllib.request.urlopen(links[0], timeout=10) as answer:
            assert answer.read() in {p.html for p in pages}


def test_min_median_max_over_the_repeats() -> None:
    def run(seconds: float) -> dict[str, object]:
        return {"articles_per_second": 80 / seconds, "seconds": seconds,
                "cpu": {"total": 2 * seconds, "main": seconds},
                "floor": {"seconds": 10.0, "cpu": {"total": 20.0}},
                "wall_ratio": seconds / 10, "cpu_ratio": seconds / 10,
                "stage_seconds": {"fetch": 1.0}, "memory": {"main_peak_mib": 300.0,
                                                            "worker_peak_mib": 400.0}}
    figures = realpages.summary([run(12.0), run(10.0), run(20.0)])
    assert figures["wall s"] == {"min": 10.0, "median": 12.0, "max": 20.0}
    assert figures["cpu ratio"]["median"] == 1.2
    assert figures["enrich"] == {"min": 0.0, "median": 0.0, "max": 0.0}


@needs_data
def test_a_small_run_reports_the_pipeline_the_floor_and_their_ratios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "realpages.json"
    code = realpages.main(["--pages", "6", "--repeat", "1", "--backend", "embedded",
                           "--hosts", "2", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "median" in printed and "cpu ratio" in printed
    data = json.loads(out.read_text())
    [run] = data["runs"]["embedded"]
    assert run["articles"] == run["pages"] == 6 and run["failed"] == 0
    assert run["enriched"] == 6
    assert set(realpages.STAGES) <= set(run["stage_seconds"])
    assert run["cpu"]["total"] >= run["cpu"]["main"] > 0
    assert run["cpu"]["workers"] > 0  # the enrichment workers' NER is counted
    floor = run["floor"]
    assert floor["pages"] == 6 and floor["entities"] > 0 and floor["cpu"]["workers"] > 0
    assert run["wall_ratio"] == pytest.approx(run["seconds"] / floor["seconds"], abs=0.01)
    assert run["cpu_ratio"] == pytest.approx(run["cpu"]["total"] / floor["cpu"]["total"], abs=0.01)
    assert run["memory"]["main_peak_mib"] > 50 and run["memory"]["worker_peak_mib"] > 50
    assert data["summary"]["embedded"]["art/s"]["median"] == run["articles_per_second"]
