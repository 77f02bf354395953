"""The API load benchmark runs end to end with small numbers (no timing assertions: timing
goals are checked by running the benchmark, not by tests): the report has its shape and no
request failed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from script_loader import load_script

pytest.importorskip("fastapi", reason="the API needs the api extra (fastapi, uvicorn)")

api_load = load_script("bench/api_load.py")
ARTICLES, RATE, SECONDS = 2000, 20, 3
ENDPOINTS = ("/search", "/stories", "all")


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[str, Any]:
    out = tmp_path / "load.json"
    argv = ["--articles", str(ARTICLES), "--rate", str(RATE), "--seconds", str(SECONDS),
            "--warmup", "0", "--cache", str(tmp_path / "cache"), "--json", str(out), *extra]
    assert api_load.main(argv) == 0
    return capsys.readouterr().out, json.loads(out.read_text())


def check(figures: dict[str, Any], backend: str, printed: str) -> None:
    result = figures["backends"][backend]
    assert result["index_documents"] == ARTICLES
    endpoints = result["endpoints"]
    assert set(endpoints) == set(ENDPOINTS)
    assert endpoints["all"]["requests"] == RATE * SECONDS
    assert endpoints["/search"]["requests"] + endpoints["/stories"]["requests"] == RATE * SECONDS
    for name in ENDPOINTS:
        e = endpoints[name]
        assert e["requests"] > 0 and e["errors"] == 0, (name, e["error_kinds"])
        assert 0 < e["p50_ms"] <= e["p95_ms"] <= e["p99_ms"] <= e["max_ms"], e
        assert e["achieved_rate"] > 0
    assert endpoints["/search"]["empty_results"] < endpoints["/search"]["requests"] / 2
    for name in ENDPOINTS:
        assert re.search(rf"^{backend}\s+{re.escape(name)}\s+\d+\s+0\s", printed, re.M), printed


def test_embedded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    printed, figures = run(tmp_path, capsys, "--backend", "embedded")
    assert list(figures["backends"]) == ["embedded"] and figures["rate"] == RATE
    check(figures, "embedded", printed)
    folder, seconds = api_load.embedded_data(tmp_path / "cache", ARTICLES, 1)
    assert seconds == 0.0 and (folder / "index.sqlite").is_file()  # the second time: cached


def test_elasticsearch(tmp_path: Path, capsys: pytest.CaptureFixture[str], es_url: str) -> None:
    printed, figures = run(tmp_path, capsys, "--backend", "elastic", "--es-url", es_url)
    check(figures, "elasticsearch", printed)


def test_the_mix_and_the_data_are_deterministic() -> None:
    plans = api_load.plan_requests(500, 1)
    assert plans == api_load.plan_requests(500, 1)
    share = sum(p.endpoint == "/search" for p in plans) / len(plans)
    assert 0.7 < share < 0.9
    assert any("entity" in p.params for p in plans) and any("from" in p.params for p in plans)
    first = next(api_load.generate(50, 1))
    again = next(api_load.generate(50, 1))
    assert [d.id for d in first.docs] == [d.id for d in again.docs]
    assert sum(len(s.article_ids) for s in first.stories) == len(first.docs) == 50
    assert all(150 < len(d.body.split()) < 1200 for d in first.docs)
