"""Extraction quality: plain trafilatura vs newswatch's ``extract_article`` on real pages.

    python eval/extraction.py [--data DIR] [--json OUT] [--limit N]

Reads the development set from ``../shared/data/extraction-dev`` next to the repository (or
``$NEWSWATCH_SHARED_DATA/extraction-dev``, or ``--data DIR``): gzipped pages in ``html/`` and
gold bodies in ``ground_truth.json``. Nothing from it is copied anywhere. Scores are
token-level precision / recall / F1 (``scoring.token_prf``) macro-averaged over pages; speed
is pages per second of the extraction call alone, one process, after one untimed warm-up.
Skips with a one-line message (exit 0) when the data is absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "eval"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from scoring import token_prf  # noqa: E402

DATASET = "extraction-dev"


@dataclass(frozen=True)
class Page:
    file: str
    url: str
    html: bytes
    gold: str


@dataclass
class PageScore:
    file: str
    precision: float
    recall: float
    f1: float
    extracted_chars: int
    gold_chars: int
    seconds: float
    method: str = ""


@dataclass
class SystemResult:
    name: str
    pages: list[PageScore] = field(default_factory=list)

    def mean(self, attr: str) -> float:
        return sum(getattr(p, attr) for p in self.pages) / len(self.pages) if self.pages else 0.0

    @property
    def pages_per_second(self) -> float:
        total = sum(p.seconds for p in self.pages)
        return len(self.pages) / total if total > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "pages": len(self.pages),
            "precision": round(self.mean("precision"), 4),
            "recall": round(self.mean("recall"), 4),
            "f1": round(self.mean("f1"), 4),
            "pages_per_second": round(self.pages_per_second, 2),
        }


def default_data_dir() -> Path:
    """``$NEWSWATCH_SHARED_DATA/extraction-dev``, else ``<repo>/../shared/data/extraction-dev``."""
    root = os.environ.get("NEWSWATCH_SHARED_DATA") or str(REPO.parent / "shared" / "data")
    return Path(root) / DATASET


def load_pages(data_dir: Path, limit: int | None = None) -> list[Page]:
    truth = json.loads((data_dir / "ground_truth.json").read_text(encoding="utf-8"))
    pages = []
    for name in sorted(truth)[:limit]:
        record = truth[name]
        html = gzip.decompress((data_dir / "html" / name).read_bytes())
        pages.append(Page(name, record.get("url", ""), html, "\n".join(record.get("body", []))))
    return pages


Extractor = Callable[[Page], tuple[str, str]]  # page -> (text, method)


def plain_trafilatura(page: Page) -> tuple[str, str]:
    import trafilatura

    return trafilatura.extract(page.html, url=page.url) or "", "trafilatura-default"


def newswatch(page: Page) -> tuple[str, str]:
    from ingest.extract import extract_article

    found = extract_article(page.html, page.url)
    return (found.text, found.method) if found is not None else ("", "none")


SYSTEMS: dict[str, Extractor] = {
    "trafilatura": plain_trafilatura,
    "newswatch": newswatch,
}


def run_system(name: str, extract: Extractor, pages: list[Page]) -> SystemResult:
    """Score one system on every page, timing the extraction call alone."""
    result = SystemResult(name)
    if pages:
        extract(pages[0])  # warm-up: lazy imports and caches are not what we measure
    for page in pages:
        start = time.perf_counter()
        text, method = extract(page)
        seconds = time.perf_counter() - start
        p, r, f = token_prf(text, page.gold)
        result.pages.append(
            PageScore(page.file, p, r, f, len(text), len(page.gold), seconds, method)
        )
    return result


def evaluate(data_dir: Path, limit: int | None = None) -> dict[str, SystemResult]:
    pages = load_pages(data_dir, limit)
    return {name: run_system(name, fn, pages) for name, fn in SYSTEMS.items()}


def report(results: dict[str, SystemResult], worst: int = 10) -> str:
    lines = [f"{'system':<14}{'pages':>6}{'P':>8}{'R':>8}{'F1':>8}{'pages/s':>10}"]
    for res in results.values():
        s = res.summary()
        lines.append(
            f"{res.name:<14}{s['pages']:>6}{s['precision']:>8.3f}{s['recall']:>8.3f}"
            f"{s['f1']:>8.3f}{s['pages_per_second']:>10.1f}"
        )
    ours = results["newswatch"]
    methods: dict[str, int] = {}
    for p in ours.pages:
        methods[p.method] = methods.get(p.method, 0) + 1
    lines.append("newswatch methods: " + ", ".join(f"{m} {n}" for m, n in sorted(methods.items())))
    lines.append("")
    lines.append(f"{worst} worst pages for newswatch (by F1):")
    lines.append(f"{'file':<32}{'P':>7}{'R':>7}{'F1':>7}{'chars':>8}{'gold':>8}  method")
    for p in sorted(ours.pages, key=lambda p: (p.f1, p.file))[:worst]:
        lines.append(
            f"{p.file:<32}{p.precision:>7.3f}{p.recall:>7.3f}{p.f1:>7.3f}"
            f"{p.extracted_chars:>8}{p.gold_chars:>8}  {p.method}"
        )
    return "\n".join(lines)


def as_json(results: dict[str, SystemResult], data_dir: Path) -> dict[str, Any]:
    return {
        "dataset": DATASET,
        "data_dir": str(data_dir),
        "scoring": "token-level P/R/F1 over whitespace tokens, multiset overlap, macro average",
        "systems": {
            name: {
                **res.summary(),
                "per_page": [
                    {**vars(p), "seconds": round(p.seconds, 5)}
                    | {k: round(getattr(p, k), 4) for k in ("precision", "recall", "f1")}
                    for p in res.pages
                ],
            }
            for name, res in results.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help=f"the {DATASET} folder (default: shared data)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write all figures here")
    parser.add_argument("--limit", type=int, help="only the first N pages (by file name)")
    args = parser.parse_args(argv)
    data_dir: Path = args.data or default_data_dir()
    if not (data_dir / "ground_truth.json").is_file():
        print(f"extraction eval skipped: no {DATASET} data at {data_dir}")
        return 0
    results = evaluate(data_dir, args.limit)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(as_json(results, data_dir), indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
