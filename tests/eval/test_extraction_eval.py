"""The extraction scorer on hand-made strings, and the eval itself on the shared dev data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from script_loader import load_script

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"


scoring = load_script("eval/scoring.py")
extraction = load_script("eval/extraction.py")


@pytest.mark.parametrize(
    ("predicted", "gold", "expected"),
    [
        ("a b c d", "a b c e", (0.75, 0.75, 0.75)),
        ("a b", "a b c d", (1.0, 0.5, 2 / 3)),
        # multiset overlap: "the" counts once, as the gold has it once
        ("the the the cat", "the cat sat", (0.5, 2 / 3, 4 / 7)),
        ("line one\nline  two", "line one line two", (1.0, 1.0, 1.0)),
        ("The", "the", (0.0, 0.0, 0.0)),  # tokens are compared as they are
        ("x y", "z", (0.0, 0.0, 0.0)),
        ("", "a b", (0.0, 0.0, 0.0)),  # nothing extracted
        ("a b", "", (0.0, 0.0, 0.0)),  # text where the gold has none
        (" \n", "", (1.0, 1.0, 1.0)),  # both empty
    ],
)
def test_token_prf(predicted: str, gold: str, expected: tuple[float, float, float]) -> None:
    assert scoring.token_prf(predicted, gold) == pytest.approx(expected)


def test_eval_skips_cleanly_without_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert extraction.main(["--data", str(tmp_path / "missing")]) == 0
    assert "extraction eval skipped" in capsys.readouterr().out


def test_newswatch_at_least_as_good_as_plain_trafilatura(tmp_path: Path) -> None:
    data = extraction.default_data_dir()
    if not (data / "ground_truth.json").is_file():
        pytest.skip(f"extraction eval skipped: no shared dev data at {data}")
    out = tmp_path / "figures.json"
    assert extraction.main(["--limit", "10", "--json", str(out)]) == 0
    systems = json.loads(out.read_text())["systems"]
    ours, plain = systems["newswatch"], systems["trafilatura"]
    assert ours["pages"] == plain["pages"] == 10
    assert ours["f1"] >= plain["f1"] - 0.01, (ours, plain)
    assert all(p["method"] in {"trafilatura", "json-ld"} for p in ours["per_page"])
