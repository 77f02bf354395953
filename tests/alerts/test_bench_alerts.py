"""The alert benchmark (``bench/alerts.py``) runs end to end on a small batch and reports its
phases and a digest of what it stored (no timing assertions: timing goals are checked by
running the benchmark, not by tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from script_loader import load_script

bench = load_script("bench/alerts.py")
PHASES = {"read", "match", "decide", "write"}


def test_reports_phases_counts_and_what_was_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figures.json"
    args = ["--backend", "embedded", "--watches", "300", "--articles", "40", "--repeats", "1",
            "--json", str(out)]
    assert bench.main(args) == 0
    printed = capsys.readouterr().out
    assert "300 watches against a batch of 40 articles" in printed
    (result,) = json.loads(out.read_text())["results"]
    assert set(result["phases"]) >= PHASES
    assert result["watches_matching"] > 0 and result["matches"] >= result["watches_matching"]
    assert result["alerts"] > 0 and result["outbox"] == result["alerts"]  # one address each
    assert len(result["stored_digest"]) == 16 and result["stored_digest"] in printed
    assert bench.main([*args, "--json", str(tmp_path / "again.json")]) == 0  # the same data
    again = json.loads((tmp_path / "again.json").read_text())["results"][0]
    assert again["stored_digest"] == result["stored_digest"]
    assert again["alerts"] == result["alerts"]
