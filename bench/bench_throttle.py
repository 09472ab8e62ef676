"""The rate limit's cost per request, before (DRF's list of request times) and after (a window counter).

    .venv/bin/python bench/bench_throttle.py                                    # local-memory cache
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/bench_throttle.py   # Redis (flushed)

In process, one `allow_request` after another for one caller, with the window already holding 1, 100
or 1,200 requests (1,200 a minute is the default user rate): the median and p95 in µs over 300 calls,
and the bytes kept for the caller at the end. DRF's `UserRateThrottle` is what the API ran before; it reads the
window's whole list of request times, prunes it and writes it back on every request.
"""

from __future__ import annotations

import os
import pickle
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from rest_framework import throttling  # noqa: E402
from rest_framework.request import Request  # noqa: E402

from common.throttling import UserThrottle  # noqa: E402

RATE = "5000/min"  # never refused here: every call does the full work of an allowed request
CALLS = 300


def measure(throttle_class, fill: int, user_id: int) -> tuple[float, float, int]:
    request = Request(RequestFactory().get("/api/events"))
    request.user = SimpleNamespace(pk=user_id, is_authenticated=True)

    def one() -> float:
        throttle = throttle_class()
        throttle.rate = RATE
        throttle.num_requests, throttle.duration = throttle.parse_rate(RATE)
        began = time.perf_counter()
        assert throttle.allow_request(request, None)
        return (time.perf_counter() - began) * 1e6

    for _ in range(fill):
        one()
    times = sorted(one() for _ in range(CALLS))
    throttle = throttle_class()
    key = throttle.cache_format % {"scope": "user", "ident": user_id}
    window = int(time.time() // 60)
    kept = cache.get(key) if cache.get(key) is not None else cache.get(f"{key}:{window}")
    return statistics.median(times), times[int(0.95 * len(times)) - 1], len(pickle.dumps(kept))


def main() -> None:
    cache.clear()
    backend = "Redis" if os.environ.get("REDIS_URL") else "local memory"
    print(f"cache: {backend}; {CALLS} calls after the window already holds N requests")
    print(f"{'throttle':34} {'N':>6} {'median µs':>10} {'p95 µs':>8} {'bytes kept':>11}")
    user_id = 1
    for fill in (1, 100, 1200):
        for name, throttle_class in (
            ("before: DRF list of times", throttling.UserRateThrottle),
            ("after: window counter", UserThrottle),
        ):
            user_id += 1
            median, p95, kept = measure(throttle_class, fill, user_id)
            print(f"{name:34} {fill:6} {median:10.1f} {p95:8.1f} {kept:11}")
    cache.clear()


if __name__ == "__main__":
    main()
