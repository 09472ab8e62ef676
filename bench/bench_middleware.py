"""The API's middleware one by one, in process: what each adds to a plain view's request.

    .venv/bin/python bench/bench_middleware.py [--rounds 5] [--requests 2000]

A handler is loaded with the first 0, 1, 2 … of the API's middleware (`MIDDLEWARE`, in its order, so each one
finds those it needs before it), and a plain Django view (`bench/layers_urls.py`, `middleware`) is asked for
through each, `--rounds` times `--requests` GETs, the handlers taking turns. Printed: the median µs of a request
through each handler and what its last middleware added to the one before. In process: no HTTP, no event loop,
no database (nothing here reads it). Over HTTP the same middleware cost more (`bench/bench_layers.py`); the
shares are what this tells.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.layers_settings"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.base import BaseHandler  # noqa: E402
from django.test import RequestFactory, override_settings  # noqa: E402

PATH = "/bench/layers/middleware"


def handler(middleware: list[str]) -> BaseHandler:
    with override_settings(MIDDLEWARE=middleware):
        loaded = BaseHandler()
        loaded.load_middleware()
    return loaded


def timed(loaded: BaseHandler, requests: int) -> list[float]:
    factory = RequestFactory()
    took = []
    for _ in range(requests):
        request = factory.get(PATH)
        began = time.perf_counter()
        response = loaded.get_response(request)
        took.append(time.perf_counter() - began)
        if response.status_code != 200:
            raise SystemExit(f"GET {PATH}: {response.status_code}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000, help="per handler and round")
    args = parser.parse_args()
    stack = list(settings.MIDDLEWARE)
    handlers = [handler(stack[:count]) for count in range(len(stack) + 1)]
    samples: list[list[float]] = [[] for _ in handlers]
    for _ in range(args.rounds):
        for index, loaded in enumerate(handlers):
            samples[index] += timed(loaded, args.requests)
    medians = [statistics.median(taken) * 1e6 for taken in samples]
    print(f"{'with':58} {'median µs':>10} {'adds µs':>8}")
    print(f"{'(no middleware)':58} {medians[0]:10.1f}")
    for name, median, before in zip(stack, medians[1:], medians[:-1], strict=True):
        print(f"{'+ ' + name:58} {median:10.1f} {median - before:8.1f}")
    print(f"all {len(stack)} add {medians[-1] - medians[0]:.1f} µs")


if __name__ == "__main__":
    main()
