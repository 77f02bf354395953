"""The real ``newswatch`` CLI, run as a subprocess by the fault tests, with stage marks.

    python tests/faults/child.py --marks FILE [--index-batch N]
        [--hold-upsert N | --hold-stage STAGE] [--gate FILE] -- run --once --all

As each stage begins, a line ``TIME STAGE`` is appended to FILE (one ``write`` each, so it
survives a SIGKILL), so the test knows which stage a kill landed in: ``start`` (the
interpreter is up, newswatch is being imported), ``open`` (the CLI opens the state store
and the index), ``poll``, ``fetch`` (pages and extraction), ``enrich``, ``stories``,
``index``, ``evaluate``, ``send``, and ``exit``. The stages themselves are the real ones,
unchanged; the test switches are:

* ``--index-batch N``: the index stage works in batches of N articles (not 500);
* ``--hold-upsert N --gate FILE``: before the N-th bulk write to the index, mark ``hold``
  and wait until FILE exists (the test stops Elasticsearch meanwhile), then carry on;
  ``--hold-stage STAGE --gate FILE`` does the same when STAGE begins.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MARKED = {  # module, function → the stage it begins
    ("newswatch.pipeline", "collect"): "poll",
    ("newswatch.pipeline", "_process_items"): "fetch",
    ("newswatch.pipeline", "enrich_pending"): "enrich",
    ("newswatch.pipeline", "cluster_pending"): "stories",
    ("newswatch.pipeline", "index_pending"): "index",
    ("alerts.stage", "evaluate_watches"): "evaluate",
    ("alerts.delivery", "send_outbox"): "send",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--marks", required=True)
    parser.add_argument("--index-batch", type=int, default=0)
    parser.add_argument("--hold-upsert", type=int, default=0)
    parser.add_argument("--hold-stage", default="")
    parser.add_argument("--gate", default="")
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    fd = os.open(args.marks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def mark(stage: str) -> None:
        os.write(fd, f"{time.time():.6f} {stage}\n".encode())

    mark("start")
    gate = Path(args.gate)
    for (module_name, name), stage in MARKED.items():
        module = importlib.import_module(module_name)
        hold = gate if stage == args.hold_stage else None
        setattr(module, name, _marked(getattr(module, name), stage, mark, hold))
    if args.index_batch:
        import newswatch.pipeline as pipeline

        pipeline.index_pending = functools.partial(pipeline.index_pending, batch=args.index_batch)
    if args.hold_upsert:
        _hold_before_upsert(args.hold_upsert, gate, mark)
    from newswatch.cli import main as cli_main

    mark("open")
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    try:
        cli_main(argv)
    finally:
        mark("exit")


def _marked(
    function: Callable[..., Any], stage: str, mark: Callable[[str], None], hold: Path | None
) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mark(stage)
        if hold is not None:
            _wait(hold, mark)
        return function(*args, **kwargs)

    return wrapper


def _wait(gate: Path, mark: Callable[[str], None]) -> None:
    mark("hold")
    deadline = time.monotonic() + 120
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _hold_before_upsert(n: int, gate: Path, mark: Callable[[str], None]) -> None:
    from search.elastic import ElasticIndex

    real = ElasticIndex.upsert_many
    calls = [0]

    def upsert_many(self: ElasticIndex, docs: Any) -> int:
        calls[0] += 1
        if calls[0] == n:
            _wait(gate, mark)
        return real(self, docs)

    ElasticIndex.upsert_many = upsert_many  # type: ignore[method-assign]


if __name__ == "__main__":
    sys.exit(main())
