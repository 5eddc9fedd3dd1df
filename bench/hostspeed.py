"""A fixed amount of CPU work, timed: the benchmarks print it beside their figures,
so that figures taken on different machines, or at different hours of a shared
host, can be compared (the hosts of this project have varied by a factor of 2 to 3
for the same code)."""

from __future__ import annotations

import time


def reference_ms() -> float:
    """Best of 5 runs of one million multiplications and additions in Python (ms)."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.perf_counter() - started)
    return best * 1000


def describe() -> str:
    return f"host reference: {reference_ms():.0f} ms (bench/hostspeed.py; lower is faster)"
