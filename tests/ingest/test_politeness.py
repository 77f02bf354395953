from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from itertools import pairwise

from ingest.politeness import HostGate, host_key, retry_after_seconds


def _hammer(gate: HostGate, host: str, n: int, hold: float) -> list[tuple[float, float]]:
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def one() -> None:
        with gate.slot(host):
            start = time.monotonic()
            time.sleep(hold)
            with lock:
                spans.append((start, time.monotonic()))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(spans)


def _max_overlap(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def test_in_flight_cap_per_host() -> None:
    gate = HostGate(concurrency=2, delay=0)
    spans = _hammer(gate, "a.example", n=8, hold=0.05)
    assert _max_overlap(spans) == 2


def test_minimum_gap_between_starts() -> None:
    gate = HostGate(concurrency=5, delay=0.1)
    spans = _hammer(gate, "a.example", n=5, hold=0.0)
    starts = [s for s, _ in spans]
    assert all(b - a >= 0.095 for a, b in pairwise(starts))


def test_hosts_do_not_share_a_budget() -> None:
    gate = HostGate(concurrency=1, delay=0.2)
    begin = time.monotonic()
    threads = [threading.Thread(target=_hammer, args=(gate, h, 1, 0.0)) for h in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - begin < 0.15


def test_configure_keeps_the_stricter_setting_and_defer_holds_starts() -> None:
    gate = HostGate(concurrency=4, delay=0.0)
    gate.configure("h", concurrency=1, delay=0.05)
    gate.configure("h", concurrency=3, delay=0.01)  # looser: ignored
    assert _max_overlap(_hammer(gate, "h", n=4, hold=0.02)) == 1
    gate.defer("h", 0.3)
    assert 0.2 < gate.wait_time("h") <= 0.3
    begin = time.monotonic()
    with gate.slot("h"):
        assert time.monotonic() - begin >= 0.25


def test_host_key_and_retry_after() -> None:
    assert host_key("https://News.Example/a") == "news.example"
    assert host_key("http://127.0.0.1:8765/x") == "127.0.0.1:8765"
    assert retry_after_seconds("120") == 120
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("Sat, 21 Nov 2026 12:01:00 GMT", now) == 60
    assert retry_after_seconds("Sat, 21 Nov 2026 11:00:00 GMT", now) == 0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
